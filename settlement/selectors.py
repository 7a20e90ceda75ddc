"""Reads about settlement: what each caller may see, and the lookups settling needs."""

from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from common.errors import DomainError
from settlement.error_codes import SettlementErrorCode
from settlement.models import BenefitPolicy, CrossCityFiling, Visit


def benefit_policy_of(*, city_id: int) -> BenefitPolicy | None:
    """The city's benefit policy, provisioned with the city (None only for a city never
    provisioned). Reads, never creates."""
    return BenefitPolicy.objects.filter(city_id=city_id).first()


def filing_valid_for(*, person_id: int, city_id: int, on: date) -> CrossCityFiling | None:
    """The person's filing that lets them be settled directly in ``city_id`` on ``on``."""
    return (
        CrossCityFiling.objects.filter(
            person_id=person_id,
            city_id=city_id,
            revoked_at__isnull=True,
            valid_from__lte=on,
            valid_until__gte=on,
        )
        .order_by("-valid_until")
        .first()
    )


def filing_overlapping(
    *, person_id: int, city_id: int, valid_from: date, valid_until: date
) -> CrossCityFiling | None:
    """A live filing for the same person and city sharing a day with the given period."""
    return CrossCityFiling.objects.filter(
        person_id=person_id,
        city_id=city_id,
        revoked_at__isnull=True,
        valid_from__lte=valid_until,
        valid_until__gte=valid_from,
    ).first()


def settlement_list(*, visible: QuerySet) -> QuerySet:
    """The settlements of ``visible`` (what the caller may see, as the access policy decides),
    with what their detail needs."""
    return (
        visible.select_related(
            "institution",
            "institution__city",
            "insured_city",
            "pool_account",
            "paying_account",
        )
        .prefetch_related("lines")
        .order_by("-id")
    )


def visit_of(*, institution_id: int, mdtrt_id: str) -> Visit:
    """The institution's visit with this id; another institution's visits are not found."""
    visit = (
        Visit.objects.select_related("institution", "person__city", "settlement")
        .filter(institution_id=institution_id, mdtrt_id=str(mdtrt_id).strip())
        .first()
    )
    if visit is None:
        raise DomainError(
            SettlementErrorCode.VISIT_NOT_FOUND,
            _("No visit %(mdtrt_id)s at this institution.") % {"mdtrt_id": repr(mdtrt_id)},
        )
    return visit
