"""Reads about settlement: what each caller may see, and the lookups settling needs."""

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cards.models import SocialSecurityCard
from cities.models import City
from common.errors import DomainError
from common.statements import column_count, columns_sql, row_instance
from persons.models import InsuredPerson
from settlement.error_codes import SettlementErrorCode
from settlement.models import BenefitPolicy, BenefitRule, CrossCityFiling, Visit


def benefit_policy_of(*, city_id: int) -> BenefitPolicy | None:
    """The city's benefit policy, provisioned with the city (None only for a city never
    provisioned). Reads, never creates."""
    return BenefitPolicy.objects.filter(city_id=city_id).first()


@dataclass(frozen=True)
class SettlingPerson:
    """What settling reads of the person a credential presents, in one statement: the person
    with their city, whether the card presented is theirs and active (true for an e-voucher),
    and the insured city's policy with its rule for this visit at this tier (None where
    missing)."""

    person: InsuredPerson
    active_card: bool
    policy: BenefitPolicy | None
    rule: BenefitRule | None


def _card_active_sql(credential) -> tuple[str, list]:
    if credential.kind != "CARD":
        return "TRUE", []
    card = connection.ops.quote_name(SocialSecurityCard._meta.db_table)
    where = "k.number = %s AND k.person_id = p.id AND k.status = %s"
    sql = f"EXISTS (SELECT 1 FROM {card} k WHERE {where})"  # noqa: S608 (a name, not a value)
    return sql, [credential.value, SocialSecurityCard.Status.ACTIVE]


def settling_person_read(*, credential, visit_type: str, tier: str) -> SettlingPerson:
    """The person ``credential`` presents (``InsuredPerson.DoesNotExist`` if none), read with
    everything settling decides by that does not change while it settles."""
    card_sql, card_params = _card_active_sql(credential)
    table = {m: connection.ops.quote_name(m._meta.db_table) for m in (InsuredPerson, City)}
    policies = connection.ops.quote_name(BenefitPolicy._meta.db_table)
    rules = connection.ops.quote_name(BenefitRule._meta.db_table)
    sql = f"""
        SELECT {columns_sql(InsuredPerson, "p")}, {columns_sql(City, "c")},
               {columns_sql(BenefitPolicy, "pol")}, {columns_sql(BenefitRule, "r")}, {card_sql}
          FROM {table[InsuredPerson]} p
          JOIN {table[City]} c ON c.id = p.city_id
          LEFT JOIN {policies} pol ON pol.city_id = p.city_id
          LEFT JOIN {rules} r ON r.policy_id = pol.id AND r.scheme = p.scheme
                             AND r.visit_type = %s AND r.tier = %s
         WHERE p.id = %s
    """  # noqa: S608 (names from the models, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*card_params, visit_type, tier, credential.person_id])
        row = cursor.fetchone()
    if row is None:
        raise InsuredPerson.DoesNotExist
    parts, start = [], 0
    for model in (InsuredPerson, City, BenefitPolicy, BenefitRule):
        parts.append(row_instance(model, row[start : start + column_count(model)]))
        start += column_count(model)
    person, city, policy, rule = parts
    person.city = city
    if rule is not None:
        rule.policy = policy
    return SettlingPerson(person=person, active_card=row[start], policy=policy, rule=rule)


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
