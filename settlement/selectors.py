"""Reads about settlement: what each caller may see, and the lookups settling needs."""

from datetime import date

from django.db import models
from django.db.models import QuerySet

from settlement.models import CrossCityFiling, FamilyAuthorization
from users.access import (
    PRESENTED_CREDENTIAL_HEADER,
    Actor,
    presented_credential,
    settlements_visible,
)


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


def _presented_person_id(request) -> int | None:
    if not request.headers.get(PRESENTED_CREDENTIAL_HEADER):
        return None
    return presented_credential(request).person_id


def filings_visible(actor: Actor, request) -> QuerySet:
    """An insured person sees their own filings; an operator those of persons insured in their
    cities and those naming their cities; a terminal, for the person presenting a card or
    e-voucher, the filings naming its own city (to see whether it may settle directly)."""
    filings = CrossCityFiling.objects.select_related("person", "person__city", "city")
    if actor.is_superuser:
        return filings
    if actor.is_operator:
        return filings.filter(
            models.Q(person__city_id__in=actor.city_ids) | models.Q(city_id__in=actor.city_ids)
        )
    if actor.is_insured:
        return filings.filter(person_id=actor.person_id) if actor.person_id else filings.none()
    if actor.is_institution:
        person_id = _presented_person_id(request)
        if person_id is None:
            return filings.none()
        return filings.filter(person_id=person_id, city__institutions__id=actor.user.institution_id)
    return filings.none()


def family_authorizations_visible(actor: Actor, request) -> QuerySet:
    """An insured person sees the authorisations they gave and received; an operator those whose
    holder or beneficiary is insured in their cities; a terminal, for the person presenting a
    card or e-voucher, the active ones that person may draw on."""
    authorizations = FamilyAuthorization.objects.select_related("account_holder", "beneficiary")
    if actor.is_superuser:
        return authorizations
    if actor.is_operator:
        return authorizations.filter(
            models.Q(account_holder__city_id__in=actor.city_ids)
            | models.Q(beneficiary__city_id__in=actor.city_ids)
        )
    if actor.is_insured:
        if not actor.person_id:
            return authorizations.none()
        return authorizations.filter(
            models.Q(account_holder_id=actor.person_id) | models.Q(beneficiary_id=actor.person_id)
        )
    if actor.is_institution:
        person_id = _presented_person_id(request)
        if person_id is None:
            return authorizations.none()
        return authorizations.filter(beneficiary_id=person_id, revoked_at__isnull=True)
    return authorizations.none()


def settlement_list(actor: Actor, request) -> QuerySet:
    """Settlements the caller may see, with what their detail needs."""
    return (
        settlements_visible(actor, request)
        .select_related(
            "institution",
            "institution__city",
            "person",
            "insured_city",
            "pool_account",
            "paying_account",
            "transfer",
            "reversal_transfer",
        )
        .prefetch_related("lines")
        .order_by("-id")
    )
