"""Writes to employers: registering one, taking on an employee, setting how it pays."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from common.audit import acting_user
from common.errors import DomainError, field_error
from employers.credit_code import CreditCodeError, credit_code_parse
from employers.error_codes import EmployerErrorCode
from employers.models import Employer, Employment


def employer_register(*, name: str, credit_code: str, city, by=None) -> Employer:
    """Register an employer in ``city``; registering the same code in the same city again
    returns the first one (a retried request), another name or city is refused."""
    try:
        code = credit_code_parse(credit_code)
    except CreditCodeError as exc:
        raise DomainError(
            EmployerErrorCode.CREDIT_CODE_INVALID,
            str(exc),
            errors=[field_error("credit_code", str(exc))],
        ) from None
    existing = Employer.objects.filter(credit_code=code).first()
    if existing is not None:
        if (existing.name, existing.city_id) == (name, city.id):
            return existing
        raise DomainError(EmployerErrorCode.CREDIT_CODE_TAKEN)
    try:
        with transaction.atomic():
            employer = Employer(name=name, credit_code=code, city=city)
            employer._history_user = acting_user(by)
            employer.save()
            return employer
    except IntegrityError:
        existing = Employer.objects.filter(credit_code=code).first()
        if existing is not None and (existing.name, existing.city_id) == (name, city.id):
            return existing
        raise DomainError(EmployerErrorCode.CREDIT_CODE_TAKEN) from None


def employer_employee_add(*, employer: Employer, person, started_on: date) -> Employment:
    """Make ``employer`` the employer of ``person``, an active employee insured in its city (a
    person who changes employer moves; the months already paid or owed stay with the employer of
    that month)."""
    from persons.models import InsuredPerson

    if not (
        person.scheme == InsuredPerson.Scheme.EMPLOYEE
        and person.employment_status == InsuredPerson.EmploymentStatus.ACTIVE
        and person.city_id == employer.city_id
    ):
        raise DomainError(EmployerErrorCode.EMPLOYEE_NOT_ELIGIBLE)
    with transaction.atomic():
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=person.pk).first()
        employment, created = Employment.objects.get_or_create(
            person=person, defaults={"employer": employer, "started_on": started_on}
        )
        if not created and employment.employer_id != employer.id:
            employment.employer = employer
            employment.started_on = started_on
            employment.save(update_fields=["employer", "started_on"])
    return employment


def employer_payment_mode_set(
    *, employer: Employer, mode: str, paid_base_ratio: Decimal | None = None, by=None
) -> Employer:
    """What the employer does at the next collections: pay on the declared wages, not pay, or pay
    on ``paid_base_ratio`` of each declared wage. Setting the mode it has changes nothing."""
    underpaying = mode == Employer.PaymentMode.UNDERPAYING
    if mode not in Employer.PaymentMode.values:
        raise DomainError(
            EmployerErrorCode.PAYMENT_MODE_INVALID,
            errors=[field_error("payment_mode", _("Not a payment mode."))],
        )
    if underpaying != (paid_base_ratio is not None) or (
        underpaying and not Decimal("0.01") <= paid_base_ratio <= Decimal("0.99")
    ):
        message = _("Only an underpaying employer has one: 0.01 to 0.99 of the declared wages.")
        raise DomainError(
            EmployerErrorCode.PAYMENT_MODE_INVALID,
            message,
            errors=[field_error("paid_base_ratio", message)],
        )
    with transaction.atomic():
        locked = Employer.objects.select_for_update(no_key=True).get(pk=employer.pk)
        if (locked.payment_mode, locked.paid_base_ratio) == (mode, paid_base_ratio):
            return locked
        locked.payment_mode = mode
        locked.paid_base_ratio = paid_base_ratio
        locked._history_user = acting_user(by)
        locked.save(update_fields=["payment_mode", "paid_base_ratio"])
    return locked
