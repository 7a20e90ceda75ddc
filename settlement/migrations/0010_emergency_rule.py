"""Emergency rescue (Social Insurance Law art. 28): each city's rule for emergency care at a
non-designated institution or in another city without a filing, and what a settlement records of
it."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("settlement", "0009_visit_fee_line_charge_batch"),
    ]

    operations = [
        migrations.AddField(
            model_name="benefitpolicy",
            name="emergency_elsewhere_route",
            field=models.CharField(choices=[("DIRECT", "Settled directly"), ("REIMBURSE", "Paid in full, then reimbursed through a claim")], db_default="DIRECT", default="DIRECT", help_text="An emergency at a non-designated institution or in another city without a filing: settled directly there, or paid in full and reimbursed through a claim.", max_length=9, verbose_name="emergency care elsewhere"),
        ),
        migrations.AddField(
            model_name="benefitpolicy",
            name="emergency_reimbursement_ratio",
            field=models.DecimalField(blank=True, decimal_places=4, help_text="The fund's share above the deductible for such an emergency. Empty: the ordinary ratio of the visit's rule.", max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)], verbose_name="emergency reimbursement ratio"),
        ),
        migrations.AddField(
            model_name="benefitpolicy",
            name="emergency_filing_within_days",
            field=models.PositiveSmallIntegerField(blank=True, help_text="An emergency in another city without a filing: a filing for that city must follow within this many days of the visit (a claim is approved only then). Empty: none.", null=True, validators=[django.core.validators.MinValueValidator(1)], verbose_name="emergency filing due within (days)"),
        ),
        migrations.AddField(
            model_name="historicalbenefitpolicy",
            name="emergency_elsewhere_route",
            field=models.CharField(choices=[("DIRECT", "Settled directly"), ("REIMBURSE", "Paid in full, then reimbursed through a claim")], db_default="DIRECT", default="DIRECT", help_text="An emergency at a non-designated institution or in another city without a filing: settled directly there, or paid in full and reimbursed through a claim.", max_length=9, verbose_name="emergency care elsewhere"),
        ),
        migrations.AddField(
            model_name="historicalbenefitpolicy",
            name="emergency_reimbursement_ratio",
            field=models.DecimalField(blank=True, decimal_places=4, help_text="The fund's share above the deductible for such an emergency. Empty: the ordinary ratio of the visit's rule.", max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)], verbose_name="emergency reimbursement ratio"),
        ),
        migrations.AddField(
            model_name="historicalbenefitpolicy",
            name="emergency_filing_within_days",
            field=models.PositiveSmallIntegerField(blank=True, help_text="An emergency in another city without a filing: a filing for that city must follow within this many days of the visit (a claim is approved only then). Empty: none.", null=True, validators=[django.core.validators.MinValueValidator(1)], verbose_name="emergency filing due within (days)"),
        ),
        migrations.AddField(
            model_name="settlement",
            name="emergency",
            field=models.BooleanField(default=False, help_text="The institution declared the visit an emergency (rescue).", verbose_name="emergency"),
        ),
        migrations.AddField(
            model_name="settlement",
            name="emergency_rule_applied",
            field=models.BooleanField(default=False, help_text="Settled under the insured city's emergency rule: an emergency at a non-designated institution or in another city without a filing.", verbose_name="emergency rule applied"),
        ),
        migrations.AddField(
            model_name="settlement",
            name="filing_due_date",
            field=models.DateField(blank=True, help_text="An emergency in another city without a filing: the last day a filing for that city may follow, where the insured city asks for one.", null=True, verbose_name="filing due by"),
        ),
    ]
