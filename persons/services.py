"""Writes about insured persons: their records and logins. Enrolment (the person with their
e-voucher and personal account) is ``provisioning.services.person_enrol``."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from common import clock
from common.audit import acting_user
from common.dates import check_date_bounds
from common.errors import DomainError, field_error
from persons.error_codes import PersonErrorCode
from persons.models import InsuredPerson
from persons.resident_id import InvalidResidentId, ResidentId, parse_resident_id
from persons.subsidy import subsidy_category_refusal


def person_create(
    *,
    resident_id: str,
    name: str,
    city,
    scheme: str,
    employment_status: str = "",
    subsidy_category: str = InsuredPerson.SubsidyCategory.NONE,
    declared_wage: Decimal | None = None,
    enrolled_on: date | None = None,
    by=None,
) -> tuple[InsuredPerson, bool]:
    """Check and create the insured person's record, and say whether it was created: the same ID
    number again with the same data returns the first record (created False), with other data
    is refused (ALREADY_ENROLLED)."""
    today = clock.today()
    parsed = _resident_id_parsed(resident_id, today=today)
    enrolled_on = enrolled_on or today
    check_date_bounds("enrolled_on", enrolled_on, earliest=parsed.birth_date, today=today)
    _check_scheme_fields(
        scheme=scheme,
        employment_status=employment_status,
        subsidy_category=subsidy_category,
        declared_wage=declared_wage,
    )
    subsidy_category_check(subsidy_category, scheme=scheme, birth_date=parsed.birth_date, on=today)
    is_employee = scheme == InsuredPerson.Scheme.EMPLOYEE
    with transaction.atomic():
        existing = InsuredPerson.objects.filter(resident_id=parsed.number).first()
        if existing is not None:
            same = (existing.name, existing.city_id, existing.scheme, existing.employment_status)
            if same == (name, city.id, scheme, employment_status):
                return existing, False
            raise DomainError(PersonErrorCode.ALREADY_ENROLLED)
        person = InsuredPerson(
            resident_id=parsed.number,
            name=name,
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            city=city,
            scheme=scheme,
            employment_status=employment_status if is_employee else "",
            subsidy_category=subsidy_category,
            declared_wage=declared_wage if is_employee else None,
            enrolled_on=enrolled_on,
        )
        person._history_user = acting_user(by)
        person.save()
        return person, True


def subsidy_category_check(category: str, *, scheme: str, birth_date: date, on: date) -> None:
    """Refuse a subsidy category the person does not qualify for on ``on`` (see persons.subsidy)."""
    refusal = subsidy_category_refusal(category, scheme=scheme, birth_date=birth_date, on=on)
    if refusal is not None:
        raise DomainError(
            PersonErrorCode.SUBSIDY_CATEGORY_NOT_QUALIFIED,
            refusal,
            errors=[field_error("subsidy_category", refusal, "not_qualified")],
        )


def _resident_id_parsed(resident_id: str, *, today: date) -> ResidentId:
    try:
        return parse_resident_id(resident_id, today=today)
    except InvalidResidentId as exc:
        raise DomainError(
            PersonErrorCode.RESIDENT_ID_INVALID,
            str(exc),
            errors=[field_error("resident_id", str(exc), "invalid")],
        ) from None


def _check_scheme_fields(
    *, scheme: str, employment_status: str, subsidy_category: str, declared_wage: Decimal | None
) -> None:
    """Employees are ACTIVE or RETIRED and have no subsidy category; residents have no employment
    status or declared wage."""
    if scheme == InsuredPerson.Scheme.EMPLOYEE:
        if employment_status not in InsuredPerson.EmploymentStatus.values:
            raise DomainError(
                PersonErrorCode.SCHEME_FIELDS_INVALID,
                _("Employees are ACTIVE or RETIRED."),
                errors=[
                    field_error(
                        "employment_status", _("Required for employees: ACTIVE or RETIRED.")
                    )
                ],
            )
        if subsidy_category != InsuredPerson.SubsidyCategory.NONE:
            raise DomainError(
                PersonErrorCode.SCHEME_FIELDS_INVALID,
                _("Subsidy categories apply to residents only."),
                errors=[field_error("subsidy_category", _("Residents only."))],
            )
    elif employment_status or declared_wage is not None:
        raise DomainError(
            PersonErrorCode.SCHEME_FIELDS_INVALID,
            _("Residents have no employment status or declared wage."),
            errors=[
                field_error(
                    "employment_status" if employment_status else "declared_wage",
                    _("Employees only."),
                )
            ],
        )


def person_login_create(*, person: InsuredPerson, username: str, password: str | None):
    """Give a person their own login (the online channel)."""
    from users.models import User

    if person.user_id is not None:
        raise DomainError(PersonErrorCode.LOGIN_EXISTS)
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(
            PersonErrorCode.USERNAME_TAKEN, errors=[field_error("username", _("Taken."))]
        )
    user = User(username=username, role=User.Role.INSURED, first_name=person.name[:150])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        InsuredPerson.objects.filter(pk=person.pk).update(user=user)
    person.user = user
    return user
