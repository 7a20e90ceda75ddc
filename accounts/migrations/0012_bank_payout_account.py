"""A city's bank-payout clearing account: reimbursement claims paid to a person's bank account are
posted from the pool to it (the bank settles it outside the ledger). Opened for every city that
exists; new cities open it with their other accounts."""

from django.db import migrations, models


def open_bank_payout_accounts(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    City = apps.get_model("cities", "City")
    Account.objects.bulk_create(
        [Account(city_id=city_id, kind="BANK_PAYOUT") for city_id in City.objects.values_list("id", flat=True)],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_employer_payments'),
        ('cities', '0005_city_interface_busy_forced'),
        ('institutions', '0001_initial'),
        ('persons', '0002_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='account',
            name='one_city_account_per_kind',
        ),
        migrations.AlterField(
            model_name='account',
            name='kind',
            field=models.CharField(choices=[('PERSONAL', 'Personal account'), ('EMPLOYEE_POOL', 'Employee pooled fund'), ('RESIDENT_POOL', 'Resident pooled fund'), ('OUTPATIENT_POOL', 'Resident outpatient pooling'), ('PA_CLEARING', 'Personal-account clearing (awaiting crediting)'), ('SOURCE', 'Contributions received (employers, individuals, government)'), ('INSTITUTION', 'Owed to a designated institution'), ('BANK_PAYOUT', 'Reimbursements paid to bank accounts (bank clearing)')], max_length=16),
        ),
        migrations.AlterField(
            model_name='transfer',
            name='kind',
            field=models.CharField(choices=[('OPENING', 'Opening balance'), ('CONTRIBUTION', 'Contribution received'), ('CREDITING', 'Monthly crediting'), ('SETTLEMENT', 'Settlement'), ('REVERSAL', 'Settlement reversal'), ('ADJUSTMENT', 'Adjustment'), ('CLAIM_PAYOUT', 'Reimbursement claim payout')], max_length=12),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ['EMPLOYEE_POOL', 'RESIDENT_POOL', 'OUTPATIENT_POOL', 'PA_CLEARING', 'SOURCE', 'BANK_PAYOUT'])), fields=('city', 'kind'), name='one_city_account_per_kind'),
        ),
        migrations.RunPython(open_bank_payout_accounts, migrations.RunPython.noop),
    ]
