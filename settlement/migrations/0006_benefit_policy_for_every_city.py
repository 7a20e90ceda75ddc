"""Give every city that has no benefit policy its default one, with the full rule grid.

A city gets its policy when it is created; cities created before that got theirs the first time
someone read it, and reading no longer writes. The default figures are copied here as they stood
when this migration was written, so later changes to the defaults do not change what it did."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations
from django.utils import timezone

CENT = Decimal("0.01")
CLASS_B_SELF_PAY_RATIO = Decimal("0.1000")
CAP_IN_MONTHS_OF_AVERAGE_WAGE = 72
RESIDENT_CAP_SHARE = Decimal("0.5")
EMPLOYEE_OUTPATIENT_QUOTA = Decimal("4000.00")

# (scheme, visit type, tier, annual deductible, reimbursement ratio or None for the city's
# outpatient-pooling ratio)
RULES = [
    ("EMPLOYEE", "INPATIENT", "LEVEL_3", Decimal("1300.00"), Decimal("0.8500")),
    ("EMPLOYEE", "INPATIENT", "LEVEL_2", Decimal("800.00"), Decimal("0.9000")),
    ("EMPLOYEE", "INPATIENT", "LEVEL_1", Decimal("400.00"), Decimal("0.9500")),
    ("EMPLOYEE", "OUTPATIENT", "LEVEL_3", Decimal("1000.00"), Decimal("0.5000")),
    ("EMPLOYEE", "OUTPATIENT", "LEVEL_2", Decimal("800.00"), Decimal("0.6000")),
    ("EMPLOYEE", "OUTPATIENT", "LEVEL_1", Decimal("500.00"), Decimal("0.7000")),
    ("EMPLOYEE", "OUTPATIENT", "PHARMACY", Decimal("500.00"), Decimal("0.5000")),
    ("RESIDENT", "INPATIENT", "LEVEL_3", Decimal("1000.00"), Decimal("0.6000")),
    ("RESIDENT", "INPATIENT", "LEVEL_2", Decimal("600.00"), Decimal("0.7000")),
    ("RESIDENT", "INPATIENT", "LEVEL_1", Decimal("300.00"), Decimal("0.8000")),
    ("RESIDENT", "OUTPATIENT", "LEVEL_3", Decimal("0.00"), None),
    ("RESIDENT", "OUTPATIENT", "LEVEL_2", Decimal("0.00"), None),
    ("RESIDENT", "OUTPATIENT", "LEVEL_1", Decimal("0.00"), None),
    ("RESIDENT", "OUTPATIENT", "PHARMACY", Decimal("0.00"), None),
]


def _history_of(historical_model, instance, *, at):
    """A "created" history record of ``instance``, as django-simple-history writes one."""
    values = {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}
    return historical_model(**values, history_date=at, history_type="+")


def provision_missing_policies(apps, schema_editor):
    City = apps.get_model("cities", "City")
    BenefitPolicy = apps.get_model("settlement", "BenefitPolicy")
    BenefitRule = apps.get_model("settlement", "BenefitRule")
    HistoricalBenefitPolicy = apps.get_model("settlement", "HistoricalBenefitPolicy")
    HistoricalBenefitRule = apps.get_model("settlement", "HistoricalBenefitRule")
    now = timezone.now()
    for city in City.objects.filter(benefit_policy__isnull=True).order_by("id"):
        employee_cap = (city.average_wage * CAP_IN_MONTHS_OF_AVERAGE_WAGE).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        policy = BenefitPolicy.objects.create(
            city=city,
            class_b_self_pay_ratio=CLASS_B_SELF_PAY_RATIO,
            employee_annual_cap=employee_cap,
            resident_annual_cap=(employee_cap * RESIDENT_CAP_SHARE).quantize(
                CENT, rounding=ROUND_HALF_UP
            ),
            employee_outpatient_annual_quota=EMPLOYEE_OUTPATIENT_QUOTA,
        )
        rules = BenefitRule.objects.bulk_create(
            BenefitRule(
                policy=policy,
                scheme=scheme,
                visit_type=visit_type,
                tier=tier,
                annual_deductible=deductible,
                reimbursement_ratio=ratio,
            )
            for scheme, visit_type, tier, deductible, ratio in RULES
        )
        _history_of(HistoricalBenefitPolicy, policy, at=now).save()
        HistoricalBenefitRule.objects.bulk_create(
            _history_of(HistoricalBenefitRule, rule, at=now) for rule in rules
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cities", "0003_initial"),
        ("settlement", "0005_starter_catalog"),
    ]

    operations = [migrations.RunPython(provision_missing_policies, migrations.RunPython.noop)]
