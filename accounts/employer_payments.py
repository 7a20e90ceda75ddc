"""An employer's monthly payment for its employees (Social Insurance Law art. 4), as the
collection receives it or not.

At each month's collection an employee's month is either a contribution (paid on the declared
wage, or underpaid: on a lower base than the base due) or, when the employer does not pay, an
arrear: what was due, no money, nothing to credit. When the employer pays its arrears, each unpaid
month becomes a contribution on its base due, once (the contribution's (person, month)
uniqueness and the transfer's key), and the next crediting run credits the months it missed,
once (the crediting's (account, month) uniqueness).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Contribution, ContributionArrear
from accounts.services import contribution_record, employee_contribution_figures
from common import clock
from common.audit import acting_user
from common.errors import DomainError
from common.money import ZERO, MoneyField, money
from employers.error_codes import EmployerErrorCode
from employers.models import Employer, Employment


class EmployerState:
    PAYING = "PAYING"
    IN_ARREARS = "IN_ARREARS"
    UNDERPAYING = "UNDERPAYING"


class MonthStatus:
    PAID = "PAID"
    UNPAID = "UNPAID"
    UNDERPAID = "UNDERPAID"


def employers_with_state(queryset: QuerySet[Employer]) -> QuerySet[Employer]:
    """Each employer with ``employees_count``, and over its unpaid months ``arrears_since`` (the
    first, or None), ``arrears_months`` and ``arrears_amount`` (what they owe)."""
    unpaid = ContributionArrear.objects.filter(
        employer=OuterRef("pk"), contribution__isnull=True
    ).order_by()
    employees = Employment.objects.filter(employer=OuterRef("pk")).order_by()
    return queryset.select_related("city").annotate(
        employees_count=Coalesce(
            Subquery(employees.values("employer").annotate(n=Count("*")).values("n")), 0
        ),
        arrears_since=Subquery(unpaid.values("employer").annotate(m=Min("period")).values("m")),
        arrears_months=Coalesce(
            Subquery(unpaid.values("employer").annotate(n=Count("*")).values("n")), 0
        ),
        arrears_amount=Coalesce(
            Subquery(
                unpaid.values("employer")
                .annotate(total=Sum(F("employer_amount") + F("individual_amount")))
                .values("total")
            ),
            Value(ZERO),
            output_field=MoneyField(),
        ),
    )


def employer_state(employer: Employer) -> str:
    """In arrears while any month is unpaid; else underpaying while it pays below the wages.
    ``employer`` comes from ``employers_with_state``."""
    if employer.arrears_since is not None:
        return EmployerState.IN_ARREARS
    if employer.payment_mode == Employer.PaymentMode.UNDERPAYING:
        return EmployerState.UNDERPAYING
    return EmployerState.PAYING


def _employer_of(person) -> Employer | None:
    employment = Employment.objects.filter(person=person).select_related("employer").first()
    return employment.employer if employment else None


def contribution_arrear_record(
    *, person, period: date, employer: Employer, now: datetime
) -> ContributionArrear | Contribution:
    """The month ``employer`` did not pay for ``person``: recorded once. A month already paid
    stays paid (its contribution is returned)."""
    paid = Contribution.objects.filter(person=person, period=period).first()
    if paid is not None:
        return paid
    figures = employee_contribution_figures(person=person, payment_base=person.declared_wage)
    try:
        with transaction.atomic():
            arrear, _ = ContributionArrear.objects.get_or_create(
                person=person,
                period=period,
                defaults={
                    "employer": employer,
                    "base_due": figures.payment_base,
                    "employer_amount": figures.employer_amount,
                    "individual_amount": figures.individual_amount,
                    "account_share": figures.account_share,
                    "recorded_at": now,
                },
            )
    except IntegrityError:
        arrear = ContributionArrear.objects.get(person=person, period=period)
    return arrear


def employee_month_collect(
    *, person, period: date, today: date, now: datetime | None = None, by=None
) -> Contribution | ContributionArrear:
    """What the month's collection does for one active employee, by their employer's payment
    mode: a contribution on the declared wage, or on the employer's lower base, or an arrear.
    (The collection job does the same for a whole city in SQL; the sandbox builds one person's
    history with this.)"""
    employer = _employer_of(person)
    mode = employer.payment_mode if employer else Employer.PaymentMode.PAYING
    if mode == Employer.PaymentMode.NOT_PAYING:
        return contribution_arrear_record(
            person=person, period=period, employer=employer, now=now or clock.now()
        )
    base = None
    if mode == Employer.PaymentMode.UNDERPAYING and person.declared_wage is not None:
        base = money(person.declared_wage * employer.paid_base_ratio)
    return contribution_record(person=person, period=period, payment_base=base, by=by, today=today)


@dataclass(frozen=True)
class ArrearsPaid:
    employer: Employer
    months: int
    persons: int
    amount: Decimal
    contributions: list[Contribution]


def employer_arrears_pay(*, employer: Employer, today: date, by=None) -> ArrearsPaid:
    """The employer pays every unpaid month of its employees on its base due, and resumes paying:
    each month becomes a contribution, once, and the next crediting run (or this month's run
    again) credits the shares those months missed, once. Concurrent or retried payments take
    turns on the employer's row; the second finds nothing owed (409 ``NO_ARREARS``)."""
    with transaction.atomic():
        locked = Employer.objects.select_for_update(no_key=True).get(pk=employer.pk)
        arrears = list(
            ContributionArrear.objects.filter(employer=locked, contribution__isnull=True)
            .select_related("person")
            .order_by("person_id", "period")
        )
        if not arrears:
            raise DomainError(EmployerErrorCode.NO_ARREARS)
        contributions = [
            contribution_record(person=arrear.person, period=arrear.period, by=by, today=today)
            for arrear in arrears
        ]
        if locked.payment_mode == Employer.PaymentMode.NOT_PAYING:
            locked.payment_mode = Employer.PaymentMode.PAYING
            locked._history_user = acting_user(by)
            locked.save(update_fields=["payment_mode"])
    return ArrearsPaid(
        employer=locked,
        months=len(contributions),
        persons=len({arrear.person_id for arrear in arrears}),
        amount=sum((c.employer_amount + c.individual_amount for c in contributions), ZERO),
        contributions=contributions,
    )


# --- A person's payment records, month by month ----------------------------------------------


@dataclass(frozen=True)
class PaymentMonth:
    period: date
    kind: str
    status: str
    base_due: Decimal | None
    base_used: Decimal | None
    employer_amount: Decimal
    individual_amount: Decimal
    subsidy_amount: Decimal
    account_share: Decimal
    # What the personal account misses for the month: its share on the base due, less what came.
    account_share_missing: Decimal
    employer_id: int | None
    employer_name: str | None
    paid_at: datetime | None
    paid_late: bool
    contribution_id: int | None


def _month_of_contribution(contribution: Contribution) -> PaymentMonth:
    missing = ZERO
    if contribution.underpaid and contribution.payment_base:
        due_share = money(
            contribution.base_due * contribution.account_share / contribution.payment_base
        )
        missing = max(ZERO, due_share - contribution.account_share)
    arrear = getattr(contribution, "arrear", None)
    return PaymentMonth(
        period=contribution.period,
        kind=contribution.kind,
        status=MonthStatus.UNDERPAID if contribution.underpaid else MonthStatus.PAID,
        base_due=contribution.base_due,
        base_used=contribution.payment_base,
        employer_amount=contribution.employer_amount,
        individual_amount=contribution.individual_amount,
        subsidy_amount=contribution.subsidy_amount,
        account_share=contribution.account_share,
        account_share_missing=missing,
        employer_id=contribution.employer_id,
        employer_name=contribution.employer.name if contribution.employer else None,
        paid_at=contribution.received_at,
        paid_late=arrear is not None,
        contribution_id=contribution.id,
    )


def _month_of_arrear(arrear: ContributionArrear) -> PaymentMonth:
    return PaymentMonth(
        period=arrear.period,
        kind=Contribution.Kind.EMPLOYEE_MONTHLY,
        status=MonthStatus.UNPAID,
        base_due=arrear.base_due,
        base_used=None,
        employer_amount=ZERO,
        individual_amount=ZERO,
        subsidy_amount=ZERO,
        account_share=ZERO,
        account_share_missing=arrear.account_share,
        employer_id=arrear.employer_id,
        employer_name=arrear.employer.name,
        paid_at=None,
        paid_late=False,
        contribution_id=None,
    )


def person_payment_months(
    *, person_id: int, period_from: date | None = None, period_to: date | None = None
) -> list[PaymentMonth]:
    """Every recorded month (or resident year) of a person, newest first: paid, underpaid (a
    base used below the base due) or unpaid (the employer's arrear), with both bases."""
    bounds = Q()
    if period_from is not None:
        bounds &= Q(period__gte=period_from)
    if period_to is not None:
        bounds &= Q(period__lte=period_to)
    contributions = (
        Contribution.objects.filter(bounds, person_id=person_id)
        .select_related("employer", "arrear")
        .order_by("-period")
    )
    arrears = ContributionArrear.objects.filter(
        bounds, person_id=person_id, contribution__isnull=True
    ).select_related("employer")
    months = [_month_of_contribution(c) for c in contributions]
    months += [_month_of_arrear(a) for a in arrears]
    return sorted(months, key=lambda month: month.period, reverse=True)
