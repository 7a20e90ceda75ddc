"""Each city's cross-city clearing accounts: the payable its fund pays into for care elsewhere, the
receivable that pays its institutions for persons insured elsewhere, and the account the monthly
clearing settles them against. Opened for every city that exists; new cities open them with their
other accounts."""

from django.db import migrations, models

CLEARING_KINDS = ("XC_PAYABLE", "XC_RECEIVABLE", "XC_SETTLED")


def open_clearing_accounts(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    City = apps.get_model("cities", "City")
    Account.objects.bulk_create(
        [
            Account(city_id=city_id, kind=kind)
            for city_id in City.objects.values_list("id", flat=True)
            for kind in CLEARING_KINDS
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_bank_payout_account"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="account",
            name="one_city_account_per_kind",
        ),
        migrations.AlterField(
            model_name="account",
            name="kind",
            field=models.CharField(
                choices=[
                    ("PERSONAL", "Personal account"),
                    ("EMPLOYEE_POOL", "Employee pooled fund"),
                    ("RESIDENT_POOL", "Resident pooled fund"),
                    ("OUTPATIENT_POOL", "Resident outpatient pooling"),
                    ("PA_CLEARING", "Personal-account clearing (awaiting crediting)"),
                    ("SOURCE", "Contributions received (employers, individuals, government)"),
                    ("INSTITUTION", "Owed to a designated institution"),
                    ("BANK_PAYOUT", "Reimbursements paid to bank accounts (bank clearing)"),
                    ("XC_PAYABLE", "Cross-city clearing payable (owed to other cities for care there)"),
                    (
                        "XC_RECEIVABLE",
                        "Cross-city clearing receivable (paid to institutions for persons insured elsewhere)",
                    ),
                    (
                        "XC_SETTLED",
                        "Cross-city settlement account (clearing paid to and received from other cities)",
                    ),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="kind",
            field=models.CharField(
                choices=[
                    ("OPENING", "Opening balance"),
                    ("CONTRIBUTION", "Contribution received"),
                    ("CREDITING", "Monthly crediting"),
                    ("SETTLEMENT", "Settlement"),
                    ("REVERSAL", "Settlement reversal"),
                    ("ADJUSTMENT", "Adjustment"),
                    ("CLAIM_PAYOUT", "Reimbursement claim payout"),
                    ("CLEARING", "Cross-city clearing"),
                ],
                max_length=12,
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "EMPLOYEE_POOL",
                            "RESIDENT_POOL",
                            "OUTPATIENT_POOL",
                            "PA_CLEARING",
                            "SOURCE",
                            "BANK_PAYOUT",
                            "XC_PAYABLE",
                            "XC_RECEIVABLE",
                            "XC_SETTLED",
                        ],
                    )
                ),
                fields=("city", "kind"),
                name="one_city_account_per_kind",
            ),
        ),
        migrations.RunPython(open_clearing_accounts, migrations.RunPython.noop),
    ]
