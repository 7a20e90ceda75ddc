"""Writes about settlement: institutions and their terminals, the policy grid's defaults,
cross-city filings, family mutual aid, and settlements with their reversals."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.models import Account, Entry, Transfer
from accounts.services import (
    MAX_AMOUNT,
    AccountsHeld,
    Leg,
    LockFirst,
    accounts_find_and_lock,
    city_account,
    institution_account_open,
    ledger_refusal,
    ledger_refused,
    lock_accounts,
    transfer_post,
    transfer_rows,
)
from cards.credentials import PresentedCredential
from cards.error_codes import CardErrorCode
from common import clock
from common.context import current_request_id
from common.dates import MAX_DAYS_AHEAD, latest_allowed
from common.errors import CommonErrorCode, DomainError, field_error, violated_constraint
from common.money import MAX_DIGITS, ZERO, money
from common.statements import (
    column_count,
    columns_sql,
    row_instance,
    row_update,
    rows_insert,
    writes_execute,
)
from events.services import events_written
from institutions.models import Institution, Tier
from persons.models import InsuredPerson
from settlement.calculation import (
    PolicyFigures,
    PricedLine,
    SettlementFigures,
    personal_account_payment,
    settlement_figures,
)
from settlement.error_codes import SettlementErrorCode
from settlement.events import (
    family_authorization_event_record,
    filing_event_record,
    revocation_event_record,
    settlement_event_record,
    settlement_event_row,
)
from settlement.models import (
    AnnualUsage,
    BenefitPolicy,
    BenefitRule,
    CatalogItem,
    CrossCityFiling,
    EmergencyRoute,
    FamilyAuthorization,
    Settlement,
    SettlementLine,
    VisitType,
)
from settlement.selectors import (
    SettlingPerson,
    benefit_policy_of,
    filing_overlapping,
    filing_valid_for,
    settling_person_read,
)
from users.error_codes import UserErrorCode

MAX_LINES = 200

# --- The policy grid's defaults ----------------------------------------------------------------
#
# Representative figures (spec section 7). They are copied into each new city's own rows once;
# from then on the city's rows are the only truth and operators change them in the console.
# Migration 0006 keeps its own copy, as they stood then, for the cities created before.

EMPLOYEE, RESIDENT = InsuredPerson.Scheme.EMPLOYEE, InsuredPerson.Scheme.RESIDENT
OUT, IN = VisitType.OUTPATIENT, VisitType.INPATIENT

DEFAULT_CLASS_B_SELF_PAY_RATIO = Decimal("0.1000")
# "About six times the average wage": the city's average monthly wage times 72 months.
DEFAULT_CAP_IN_MONTHS_OF_AVERAGE_WAGE = 72
# Residents' caps follow residents' incomes, roughly half the employees' average wage.
DEFAULT_RESIDENT_CAP_SHARE = Decimal("0.5")
DEFAULT_EMPLOYEE_OUTPATIENT_QUOTA = Decimal("4000.00")

# (scheme, visit type, tier) -> (annual deductible, reimbursement ratio). Ratios rise as the level
# falls; a ratio of None (residents' outpatient care) means the city's outpatient-pooling ratio.
DEFAULT_RULES: dict[tuple[str, str, str], tuple[Decimal, Decimal | None]] = {
    (EMPLOYEE, IN, Tier.LEVEL_3): (Decimal("1300.00"), Decimal("0.8500")),
    (EMPLOYEE, IN, Tier.LEVEL_2): (Decimal("800.00"), Decimal("0.9000")),
    (EMPLOYEE, IN, Tier.LEVEL_1): (Decimal("400.00"), Decimal("0.9500")),
    (EMPLOYEE, OUT, Tier.LEVEL_3): (Decimal("1000.00"), Decimal("0.5000")),
    (EMPLOYEE, OUT, Tier.LEVEL_2): (Decimal("800.00"), Decimal("0.6000")),
    (EMPLOYEE, OUT, Tier.LEVEL_1): (Decimal("500.00"), Decimal("0.7000")),
    (EMPLOYEE, OUT, Tier.PHARMACY): (Decimal("500.00"), Decimal("0.5000")),
    (RESIDENT, IN, Tier.LEVEL_3): (Decimal("1000.00"), Decimal("0.6000")),
    (RESIDENT, IN, Tier.LEVEL_2): (Decimal("600.00"), Decimal("0.7000")),
    (RESIDENT, IN, Tier.LEVEL_1): (Decimal("300.00"), Decimal("0.8000")),
    (RESIDENT, OUT, Tier.LEVEL_3): (Decimal("0.00"), None),
    (RESIDENT, OUT, Tier.LEVEL_2): (Decimal("0.00"), None),
    (RESIDENT, OUT, Tier.LEVEL_1): (Decimal("0.00"), None),
    (RESIDENT, OUT, Tier.PHARMACY): (Decimal("0.00"), None),
}


def benefit_policy_ensure(*, city) -> BenefitPolicy:
    """Provision the city's benefit policy: created with the default figures and the full rule grid
    if the city has none yet. Called where a city or an institution is provisioned, never on a
    read (readers use ``_provisioned_policy``; migration 0006 provisioned the cities created
    before this). Idempotent and safe under concurrency."""
    policy = benefit_policy_of(city_id=city.pk)
    if policy is not None:
        return policy
    employee_cap = money(city.average_wage * DEFAULT_CAP_IN_MONTHS_OF_AVERAGE_WAGE)
    with transaction.atomic():
        policy, created = BenefitPolicy.objects.get_or_create(
            city=city,
            defaults={
                "class_b_self_pay_ratio": DEFAULT_CLASS_B_SELF_PAY_RATIO,
                "employee_annual_cap": employee_cap,
                "resident_annual_cap": money(employee_cap * DEFAULT_RESIDENT_CAP_SHARE),
                "employee_outpatient_annual_quota": DEFAULT_EMPLOYEE_OUTPATIENT_QUOTA,
            },
        )
        if created:
            # Only with a new policy: a rule an operator deleted on purpose stays deleted.
            bulk_create_with_history(
                [
                    BenefitRule(
                        policy=policy,
                        scheme=scheme,
                        visit_type=visit_type,
                        tier=tier,
                        annual_deductible=deductible,
                        reimbursement_ratio=ratio,
                    )
                    for (scheme, visit_type, tier), (deductible, ratio) in DEFAULT_RULES.items()
                ],
                BenefitRule,
            )
        return policy


def _policy_missing(city) -> DomainError:
    return DomainError(
        SettlementErrorCode.BENEFIT_POLICY_MISSING,
        gettext("%(city_name)s (%(city_code)s) has no benefit policy; ask the agency.")
        % {"city_name": city.shown_name, "city_code": city.code},
    )


def _provisioned_policy(*, city) -> BenefitPolicy:
    """The city's benefit policy as provisioned with the city; refused, never created, if missing."""
    policy = benefit_policy_of(city_id=city.pk)
    if policy is None:
        raise _policy_missing(city)
    return policy


# --- Cross-city filings -----------------------------------------------------------------------


def _filing_start_checked(valid_from: date, *, today: date) -> date:
    """A filing's first day: not in the past, at most MAX_DAYS_AHEAD ahead."""
    if valid_from < today:
        raise DomainError(
            SettlementErrorCode.FILING_VALIDITY_INVALID,
            gettext("A filing cannot start in the past."),
            errors=[
                field_error(
                    "valid_from",
                    gettext("On or after %(today)s.") % {"today": format(today, "%Y-%m-%d")},
                )
            ],
        )
    if valid_from > latest_allowed(today):
        raise DomainError(
            SettlementErrorCode.FILING_VALIDITY_INVALID,
            gettext("A filing can start at most %(MAX_DAYS_AHEAD)s days ahead.")
            % {"MAX_DAYS_AHEAD": MAX_DAYS_AHEAD},
            errors=[
                field_error(
                    "valid_from",
                    gettext("On or before %(latest_allowed)s.")
                    % {"latest_allowed": format(latest_allowed(today), "%Y-%m-%d")},
                )
            ],
        )
    return valid_from


def _filing_overlap_check(
    *, person_id: int, city_id: int, valid_from: date, valid_until: date
) -> None:
    """Refuse a period that shares a day with a live filing of the person's for the city."""
    overlapping = filing_overlapping(
        person_id=person_id, city_id=city_id, valid_from=valid_from, valid_until=valid_until
    )
    if overlapping is not None:
        raise DomainError(
            SettlementErrorCode.FILING_OVERLAPS,
            gettext(
                "Filing #%(overlapping_pk)s already covers %(valid_from)s to %(valid_until)s; revoke it first to change the period."
            )
            % {
                "overlapping_pk": overlapping.pk,
                "valid_from": format(overlapping.valid_from, "%Y-%m-%d"),
                "valid_until": format(overlapping.valid_until, "%Y-%m-%d"),
            },
            extra={"filing_id": overlapping.pk},
        )


def filing_period(
    *,
    person: InsuredPerson,
    city,
    category: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
    today: date | None = None,
) -> tuple[date, date]:
    """Check a filing's city, category and dates; the validity it will have. Without an end date
    it is valid for the insured city's default period. ``today`` is the caller's clock.today()
    (read here when not given)."""
    today = clock.today() if today is None else today
    if city.pk == person.city_id:
        raise DomainError(
            SettlementErrorCode.FILING_CITY_INVALID,
            gettext("The person is insured in that city; no filing is needed there."),
            errors=[field_error("city", gettext("Must differ from the insured city."))],
        )
    if category not in CrossCityFiling.Category.values:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("category", gettext("Unknown category."))],
        )
    valid_from = _filing_start_checked(valid_from or today, today=today)
    if valid_until is None:
        days = _provisioned_policy(city=person.city).filing_validity_days
        valid_until = valid_from + timedelta(days=days - 1)
    if valid_until < valid_from:
        raise DomainError(
            SettlementErrorCode.FILING_VALIDITY_INVALID,
            gettext("A filing must end on or after the day it starts."),
            errors=[field_error("valid_until", gettext("Before valid_from."))],
        )
    _filing_overlap_check(
        person_id=person.pk, city_id=city.pk, valid_from=valid_from, valid_until=valid_until
    )
    return valid_from, valid_until


def filing_record(
    *,
    person: InsuredPerson,
    city,
    category: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
    by,
    now: datetime | None = None,
) -> CrossCityFiling:
    """Record a cross-city filing: the person may then be settled directly in ``city`` on the days
    it is valid. ``now`` is the caller's clock.now() (read here when not given)."""
    now = clock.now() if now is None else now
    with transaction.atomic():
        # One filing at a time per person, so the overlap check cannot race.
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=person.pk).first()
        valid_from, valid_until = filing_period(
            person=person,
            city=city,
            category=category,
            valid_from=valid_from,
            valid_until=valid_until,
            today=clock.localdate(now),
        )
        filing = CrossCityFiling.objects.create(
            person=person,
            city=city,
            category=category,
            valid_from=valid_from,
            valid_until=valid_until,
            note=note[:255],
            recorded_at=now,
            created_by=by,
            request_id=current_request_id(),
        )
        filing_event_record(filing, now=now)
        return filing


def _revoke(record, *, by, already_revoked):
    """Revoke a filing or a family authorisation, once: who, when and through which request."""
    with transaction.atomic():
        record = type(record).objects.select_for_update(no_key=True).get(pk=record.pk)
        if record.revoked_at is not None:
            raise DomainError(already_revoked)
        record.revoked_at = clock.now()
        record.revoked_by = by
        record.revocation_request_id = current_request_id()
        record.save(update_fields=["revoked_at", "revoked_by", "revocation_request_id"])
        revocation_event_record(record, now=record.revoked_at)
        return record


def filing_revoke(*, filing: CrossCityFiling, by) -> CrossCityFiling:
    return _revoke(filing, by=by, already_revoked=SettlementErrorCode.FILING_ALREADY_REVOKED)


# --- Family mutual aid ------------------------------------------------------------------------


def family_authorization_grant(
    *, account_holder: InsuredPerson, beneficiary: InsuredPerson, relation: str, by
) -> FamilyAuthorization:
    """An employee lets a close relative's settlements draw on their personal account (settlements
    only: never wellness spending, which this backend does not pay from accounts at all)."""
    if account_holder.pk == beneficiary.pk:
        raise DomainError(SettlementErrorCode.FAMILY_BENEFICIARY_IS_HOLDER)
    if relation not in FamilyAuthorization.Relation.values:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("relation", gettext("Unknown relation."))],
        )
    has_account = Account.objects.filter(person=account_holder, kind=Account.Kind.PERSONAL).exists()
    if not account_holder.is_employee or not has_account:
        raise DomainError(SettlementErrorCode.FAMILY_HOLDER_NOT_ELIGIBLE)
    policy = _provisioned_policy(city=account_holder.city)
    if beneficiary.city_id != account_holder.city_id and not policy.family_aid_across_cities:
        raise DomainError(SettlementErrorCode.FAMILY_AID_OTHER_CITY)
    with transaction.atomic():
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=account_holder.pk).first()
        if FamilyAuthorization.objects.filter(
            account_holder=account_holder, beneficiary=beneficiary, revoked_at__isnull=True
        ).exists():
            raise DomainError(SettlementErrorCode.FAMILY_AUTHORIZATION_EXISTS)
        authorization = FamilyAuthorization.objects.create(
            account_holder=account_holder,
            beneficiary=beneficiary,
            relation=relation,
            granted_at=clock.now(),
            created_by=by,
            request_id=current_request_id(),
        )
        family_authorization_event_record(authorization, now=authorization.granted_at)
        return authorization


def family_authorization_revoke(*, authorization: FamilyAuthorization, by) -> FamilyAuthorization:
    return _revoke(
        authorization, by=by, already_revoked=SettlementErrorCode.FAMILY_AUTHORIZATION_REVOKED
    )


# --- Settlement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    code: str
    quantity: Decimal
    unit_price: Decimal


def _checked_decimal(value, *, digits: int, places: int, field: str) -> Decimal:
    """Positive, finite, and fitting its column (``digits`` in all, ``places`` after the point)."""
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or value <= 0
        or value.as_tuple().exponent < -places
        or value >= Decimal(10) ** (digits - places)
    ):
        raise DomainError(
            SettlementErrorCode.LINE_AMOUNT_INVALID,
            errors=[
                field_error(
                    field,
                    gettext(
                        "A positive number below %(value)s with at most %(places)s decimal places."
                    )
                    % {"value": Decimal(10) ** (digits - places), "places": places},
                )
            ],
        )
    return value


def _priced_lines(lines: Sequence[LineInput]) -> list[tuple[CatalogItem, PricedLine]]:
    """Resolve every line against the catalog, reporting every bad line at once."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            gettext("A settlement has 1 to %(MAX_LINES)s line items.") % {"MAX_LINES": MAX_LINES},
            errors=[
                field_error(
                    "line_items", gettext("1 to %(MAX_LINES)s items.") % {"MAX_LINES": MAX_LINES}
                )
            ],
        )
    for index, line in enumerate(lines):
        _checked_decimal(line.quantity, digits=10, places=3, field=f"line_items.{index}.quantity")
        _checked_decimal(
            line.unit_price, digits=MAX_DIGITS, places=2, field=f"line_items.{index}.unit_price"
        )
    items = CatalogItem.objects.in_bulk({line.code for line in lines}, field_name="code")
    unknown = [
        field_error(
            f"line_items.{index}.code",
            gettext("%(line_code)s is not a settleable catalog item.")
            % {"line_code": repr(line.code)},
            "unknown",
        )
        for index, line in enumerate(lines)
        if line.code not in items or not items[line.code].is_active
    ]
    if unknown:
        raise DomainError(
            SettlementErrorCode.CATALOG_ITEM_UNKNOWN,
            gettext(
                "Some line items are not in the catalog (or no longer settleable); see errors."
            ),
            errors=unknown,
        )
    priced = []
    for index, line in enumerate(lines):
        item = items[line.code]
        priced_line = PricedLine(item.catalog_class, line.quantity, line.unit_price)
        if not ZERO < priced_line.amount < MAX_AMOUNT:
            raise DomainError(
                SettlementErrorCode.LINE_AMOUNT_INVALID,
                gettext("quantity x unit price must come to at least 0.01 CNY and fit the ledger."),
                errors=[field_error(f"line_items.{index}", gettext("Amount out of range."))],
            )
        priced.append((item, priced_line))
    if sum(p.amount for _, p in priced) >= MAX_AMOUNT:
        raise DomainError(
            SettlementErrorCode.LINE_AMOUNT_INVALID,
            gettext("The settlement's total does not fit the ledger."),
            errors=[field_error("line_items", gettext("Total out of range."))],
        )
    return priced


def _locked_usage(*, person_id: int, year: int) -> AnnualUsage:
    """The person's usage row for the year, created if need be and locked: concurrent settlements
    of one person take turns, so none applies a deductible or a cap already used up."""
    usage = (
        AnnualUsage.objects.select_for_update(no_key=True)
        .filter(person_id=person_id, year=year)
        .first()
    )
    if usage is not None:
        return usage
    AnnualUsage.objects.bulk_create(
        [AnnualUsage(person_id=person_id, year=year)], ignore_conflicts=True
    )
    return AnnualUsage.objects.select_for_update(no_key=True).get(person_id=person_id, year=year)


def _pool_kind(person: InsuredPerson, visit_type: str) -> str:
    if person.is_employee:
        return Account.Kind.EMPLOYEE_POOL
    if visit_type == VisitType.OUTPATIENT:
        return Account.Kind.OUTPATIENT_POOL
    return Account.Kind.RESIDENT_POOL


def _check_presented(
    credential: PresentedCredential, *, active_card: bool, use_personal_account: bool
) -> None:
    if not active_card:
        raise DomainError(SettlementErrorCode.CARD_NOT_ACTIVE)
    # A card number is no secret (whoever once saw the card has it): it pays from an account only
    # with the PIN the cardholder enters. A cash-only settlement needs none, as at a real terminal.
    if credential.kind == "CARD" and use_personal_account and not credential.pin_verified:
        raise DomainError(CardErrorCode.CARD_PIN_REQUIRED)


def _cross_city_refusal(person: InsuredPerson, institution: Institution) -> DomainError:
    return DomainError(
        SettlementErrorCode.CROSS_CITY_FILING_REQUIRED,
        gettext(
            "The person is insured in %(city_name)s (%(city_code)s) and has no cross-city filing valid today for %(city_name2)s (%(city_code2)s), so the visit cannot be settled directly. The person (online, POST /api/v1/filings) or the agency of %(city_name)s records a filing for %(city_code2)s; then settle again. Until then the person pays in full and claims reimbursement from the agency of %(city_name)s (online, POST /api/v1/reimbursement-claims, with the receipts)."
        )
        % {
            "city_name": person.city.shown_name,
            "city_code": person.city.code,
            "city_name2": institution.city.shown_name,
            "city_code2": institution.city.code,
        },
        extra={
            "insured_city": person.city.code,
            "care_city": institution.city.code,
            "how_to_file": {
                "endpoint": "/api/v1/filings",
                "method": "POST",
                "body": {"city": institution.city.code, "category": "TEMPORARY"},
                "categories": CrossCityFiling.Category.values,
            },
            "how_to_claim": _how_to_claim(institution, emergency=False),
        },
    )


def _how_to_claim(institution: Institution, *, emergency: bool) -> dict:
    """Where a person who paid in full claims the fund's share (art. 29): the claim endpoint."""
    return {
        "endpoint": "/api/v1/reimbursement-claims",
        "method": "POST",
        "body": {"institution_code": institution.code, "emergency": emergency},
    }


def _emergency_reimbursement_refusal(
    person: InsuredPerson, institution: Institution
) -> DomainError:
    return DomainError(
        SettlementErrorCode.EMERGENCY_REIMBURSEMENT_REQUIRED,
        _(
            "%(city)s (%(code)s) does not settle emergency care outside its network directly: the "
            "person pays in full here and claims the fund's share from its agency (online, POST "
            "/api/v1/reimbursement-claims with emergency true and the receipts)."
        )
        % {"city": person.city.shown_name, "code": person.city.code},
        extra={
            "insured_city": person.city.code,
            "care_city": institution.city.code,
            "how_to_claim": _how_to_claim(institution, emergency=True),
        },
    )


def emergency_rule_applies(*, institution: Institution, has_filing: bool, insured_city_id: int):
    """Whether care here is outside the insured city's network (art. 28's emergency rescue): a
    non-designated institution, or another city without a valid filing."""
    return not institution.is_designated or (
        institution.city_id != insured_city_id and not has_filing
    )


def _settlement_legs(
    settlement: Settlement,
    *,
    pool_account_id: int,
    paying_account_id: int | None,
    institution_account_id: int,
) -> list[Leg]:
    """The pool and the personal account pay the institution (the legs that move money)."""
    legs = [
        Leg(pool_account_id, -settlement.pool_amount),
        Leg(paying_account_id or 0, -settlement.personal_account_amount),
        Leg(institution_account_id, settlement.pool_amount + settlement.personal_account_amount),
    ]
    return [leg for leg in legs if leg.amount != 0]


@dataclass(frozen=True)
class ClearingAccounts:
    """Care in another city: the insured city's clearing payable, which its fund and the personal
    account pay into, and the care city's clearing receivable, which pays the institution. The
    two cities settle with each other in the monthly clearing (settlement.clearing)."""

    payable_account_id: int
    receivable_account_id: int


def _clearing_accounts(*, insured_city_id: int, care_city_id: int) -> ClearingAccounts | None:
    """The clearing accounts care in ``care_city_id`` goes through; None within one city."""
    if insured_city_id == care_city_id:
        return None
    return ClearingAccounts(
        payable_account_id=city_account(
            city_id=insured_city_id, kind=Account.Kind.CLEARING_PAYABLE
        ).id,
        receivable_account_id=city_account(
            city_id=care_city_id, kind=Account.Kind.CLEARING_RECEIVABLE
        ).id,
    )


def _settlement_postings(
    settlement: Settlement,
    *,
    institution_account_id: int,
    clearing: ClearingAccounts | None,
) -> list[tuple[str, list[Leg]]]:
    """The transfers a settlement posts, as (key suffix, legs), each inside one city. Within a
    city: the pool and the personal account pay the institution. Across cities: they pay the
    insured city's clearing payable, and the care city's clearing receivable pays the
    institution; no transfer has legs in two cities."""
    if clearing is None:
        legs = _settlement_legs(
            settlement,
            pool_account_id=settlement.pool_account_id,
            paying_account_id=settlement.paying_account_id,
            institution_account_id=institution_account_id,
        )
        return [("", legs)] if legs else []
    insured_city_legs = _settlement_legs(
        settlement,
        pool_account_id=settlement.pool_account_id,
        paying_account_id=settlement.paying_account_id,
        institution_account_id=clearing.payable_account_id,
    )
    if not insured_city_legs:
        return []
    paid = settlement.pool_amount + settlement.personal_account_amount
    care_city_legs = [
        Leg(clearing.receivable_account_id, -paid),
        Leg(institution_account_id, paid),
    ]
    return [("", insured_city_legs), (":care", care_city_legs)]


def _usage_added(usage: AnnualUsage, *, visit_type: str, deductible, pool) -> list[str]:
    """Add a settlement's deductible and pooled payment to the year's usage, unsaved (negative
    amounts give them back, on a reversal); answers the fields changed."""
    deductible_field = (
        "deductible_outpatient" if visit_type == VisitType.OUTPATIENT else "deductible_inpatient"
    )
    setattr(usage, deductible_field, getattr(usage, deductible_field) + deductible)
    usage.pool_paid += pool
    if visit_type == VisitType.OUTPATIENT:
        usage.outpatient_pool_paid += pool
    return [deductible_field, "pool_paid", "outpatient_pool_paid"]


def _usage_add(usage: AnnualUsage, *, visit_type: str, deductible, pool) -> None:
    """``_usage_added``, saved."""
    usage.save(
        update_fields=_usage_added(usage, visit_type=visit_type, deductible=deductible, pool=pool)
    )


@dataclass(frozen=True)
class SettlementTerms:
    """What a settlement is allowed and paid under: the filing that lets a person insured elsewhere
    settle here, and the insured city's policy, rule and pool, wherever the care happens."""

    filing: CrossCityFiling | None
    policy: BenefitPolicy
    rule: BenefitRule
    # The kind of the insured city's pool that pays (Account.Kind).
    pool_kind: str
    # An emergency outside the insured city's network, settled under its emergency rule.
    emergency_rule_applied: bool = False
    filing_due_date: date | None = None

    def ratio_for(self, city) -> Decimal:
        """The fund's share above the deductible: the emergency ratio where the emergency rule
        applies and the city sets one, else the rule's."""
        if self.emergency_rule_applied and self.policy.emergency_reimbursement_ratio is not None:
            return self.policy.emergency_reimbursement_ratio
        return self.rule.ratio_for(city)


@dataclass(frozen=True)
class SettlementPayer:
    """Whether the person asked an account to pay their share, and whose personal account does,
    if any (a relative's, under a live authorisation): with none, the person pays cash."""

    use_personal_account: bool
    authorization: FamilyAuthorization | None
    paying_person_id: int | None


@dataclass(frozen=True)
class SettlementCalculation:
    """The priced lines, the year's usage row (locked), the policy figures read from it, and the
    figures they give."""

    priced: Sequence[tuple[CatalogItem, PricedLine]]
    usage: AnnualUsage
    policy_figures: PolicyFigures
    figures: SettlementFigures


@dataclass(frozen=True)
class SettlementPayment:
    """How the person's share is paid, decided with every account of the transfer locked."""

    pool_account_id: int
    institution_account_id: int
    # The personal account that pays (None: the person pays cash).
    paying_account_id: int | None
    personal_account_amount: Decimal
    personal_account_balance_after: Decimal | None
    clearing: ClearingAccounts | None
    # The accounts locked for it (lock_accounts), which its transfers post against.
    locked: dict[int, Account]
    # (settlement id, transfer ids) when it is to be written, else (None, []).
    reserved_ids: tuple[int | None, list[int]]


def _visit_check(
    *,
    institution: Institution | None,
    credential: PresentedCredential | None,
    visit_type: str,
    use_personal_account: bool,
    family_account_holder_id: int | None,
    emergency: bool = False,
) -> None:
    """Refuse a visit this terminal cannot settle as asked, before anything is read or locked."""
    if institution is None:
        raise DomainError(SettlementErrorCode.TERMINAL_REQUIRED)
    # A non-designated institution settles an emergency only, under the insured city's rule.
    if not institution.is_designated and not emergency:
        raise DomainError(SettlementErrorCode.INSTITUTION_NOT_DESIGNATED)
    if visit_type not in VisitType.values:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("visit_type", gettext("Unknown."))],
        )
    if institution.kind == Institution.Kind.PHARMACY and visit_type != VisitType.OUTPATIENT:
        raise DomainError(
            SettlementErrorCode.VISIT_TYPE_NOT_OFFERED,
            gettext("Pharmacies settle outpatient visits only."),
        )
    if family_account_holder_id is not None and not use_personal_account:
        raise DomainError(
            SettlementErrorCode.FAMILY_AID_NEEDS_PERSONAL_ACCOUNT,
            errors=[
                field_error("use_personal_account", gettext("Must be true with a family account."))
            ],
        )
    if credential is None:
        raise DomainError(UserErrorCode.CREDENTIAL_REQUIRED)


def _person_check(
    *,
    settling: SettlingPerson,
    credential: PresentedCredential,
    use_personal_account: bool,
    today: date,
) -> InsuredPerson:
    """The person the credential presents (read by ``settling_person_read``), whose credential
    may pay as asked and whose insurance has started."""
    person = settling.person
    _check_presented(
        credential, active_card=settling.active_card, use_personal_account=use_personal_account
    )
    if person.enrolled_on > today:
        raise DomainError(
            SettlementErrorCode.NOT_YET_ENROLLED,
            gettext("The person's insurance starts on %(enrolled_on)s.")
            % {"enrolled_on": format(person.enrolled_on, "%Y-%m-%d")},
        )
    return person


def _settlement_terms(
    *,
    settling: SettlingPerson,
    institution: Institution,
    visit_type: str,
    today: date,
    emergency: bool = False,
) -> SettlementTerms:
    """The filing care in another city needs (an emergency goes by the insured city's emergency
    rule instead), then the insured city's policy, its rule for this visit at this tier (read by
    ``settling_person_read``), and the pool that pays."""
    person = settling.person
    filing = None
    if institution.city_id != person.city_id:
        filing = filing_valid_for(person_id=person.pk, city_id=institution.city_id, on=today)
        if filing is None and not emergency:
            raise _cross_city_refusal(person, institution)
    rule = settling.rule
    policy = rule.policy if rule is not None else settling.policy
    if policy is None:
        raise _policy_missing(person.city)
    emergency_rule_applied = emergency and emergency_rule_applies(
        institution=institution, has_filing=filing is not None, insured_city_id=person.city_id
    )
    filing_due_date = None
    if emergency_rule_applied:
        if policy.emergency_elsewhere_route == EmergencyRoute.REIMBURSE:
            raise _emergency_reimbursement_refusal(person, institution)
        days = policy.emergency_filing_within_days
        if days and institution.city_id != person.city_id and filing is None:
            filing_due_date = today + timedelta(days=days)
    if rule is None:
        raise DomainError(
            SettlementErrorCode.BENEFIT_RULE_MISSING,
            gettext("%(city_name)s has no %(lower)s rule for %(lower2)s care at a %(lower3)s.")
            % {
                "city_name": person.city.shown_name,
                "lower": person.get_scheme_display().lower(),
                "lower2": visit_type.lower(),
                "lower3": Tier(institution.tier).label.lower(),
            },
        )
    return SettlementTerms(
        filing=filing,
        policy=policy,
        rule=rule,
        pool_kind=_pool_kind(person, visit_type),
        emergency_rule_applied=emergency_rule_applied,
        filing_due_date=filing_due_date,
    )


def _settlement_payer(
    *, person: InsuredPerson, use_personal_account: bool, family_account_holder_id: int | None
) -> SettlementPayer:
    """A relative's account under a live authorisation, the person's own, or none (cash)."""
    if family_account_holder_id is None:
        return SettlementPayer(
            use_personal_account=use_personal_account,
            authorization=None,
            paying_person_id=person.pk if use_personal_account else None,
        )
    # Locked so that a revocation in flight either lands before this settlement or after.
    authorization = (
        FamilyAuthorization.objects.select_for_update(no_key=True)
        .filter(
            account_holder_id=family_account_holder_id,
            beneficiary=person,
            revoked_at__isnull=True,
        )
        .first()
    )
    if authorization is None:
        raise DomainError(
            SettlementErrorCode.FAMILY_AUTHORIZATION_MISSING,
            errors=[field_error("family_account_holder", gettext("No active authorisation."))],
        )
    return SettlementPayer(
        use_personal_account=use_personal_account,
        authorization=authorization,
        paying_person_id=family_account_holder_id,
    )


def _settlement_calculation(
    *,
    person: InsuredPerson,
    terms: SettlementTerms,
    visit_type: str,
    priced: Sequence[tuple[CatalogItem, PricedLine]],
    usage: AnnualUsage,
) -> SettlementCalculation:
    """The figures, from the policy and what the person has used this year (``usage``, locked
    until the settlement commits)."""
    policy = terms.policy
    outpatient = visit_type == VisitType.OUTPATIENT
    if not outpatient:
        outpatient_quota = None
    elif person.is_employee:
        outpatient_quota = policy.employee_outpatient_annual_quota
    else:
        outpatient_quota = person.city.outpatient_pooling_annual_quota
    policy_figures = PolicyFigures(
        class_b_self_pay_ratio=policy.class_b_self_pay_ratio,
        annual_deductible=terms.rule.annual_deductible,
        deductible_paid_before=usage.deductible_paid(visit_type),
        reimbursement_ratio=terms.ratio_for(person.city),
        annual_cap=policy.annual_cap_for(person.scheme),
        pool_paid_before=usage.pool_paid,
        outpatient_quota=outpatient_quota,
        outpatient_pool_paid_before=usage.outpatient_pool_paid if outpatient else None,
    )
    figures = settlement_figures([line for _, line in priced], policy_figures)
    return SettlementCalculation(
        priced=priced, usage=usage, policy_figures=policy_figures, figures=figures
    )


@dataclass(frozen=True)
class SettlementAccounts:
    """The accounts a settlement's transfers move money through, found and locked in one
    statement, with the ids reserved for its rows when it is to be written."""

    pool_account_id: int
    institution_account_id: int
    # The personal account that pays (None: the person pays cash).
    paying_account_id: int | None
    clearing: ClearingAccounts | None
    # The accounts locked (lock_accounts' answer), which its transfers post against.
    locked: dict[int, Account]
    # (settlement id, transfer ids) when it is to be written, else (None, []).
    reserved_ids: tuple[int | None, list[int]]
    # The person's usage row for the year, locked before the accounts.
    usage: AnnualUsage


def _usage_locked_first(*, person_id: int, year: int) -> LockFirst:
    """The year's usage row, locked before the accounts (the order every settling path takes)."""
    table = connection.ops.quote_name(AnnualUsage._meta.db_table)
    sql = f"SELECT {columns_sql(AnnualUsage, 'u')} FROM {table} u WHERE u.person_id = %s AND u.year = %s FOR NO KEY UPDATE"  # noqa: S608 (a name, not a value)
    return LockFirst(sql, [person_id, year], column_count(AnnualUsage))


def _settlement_accounts_wanted(
    *, insured_city_id: int, pool_kind: str, institution: Institution, paying_person_id
) -> Q:
    wanted = Q(city_id=insured_city_id, kind=pool_kind) | Q(institution_id=institution.pk)
    if paying_person_id is not None:
        wanted |= Q(person_id=paying_person_id, kind=Account.Kind.PERSONAL)
    if institution.city_id != insured_city_id:
        wanted |= Q(city_id=insured_city_id, kind=Account.Kind.CLEARING_PAYABLE)
        wanted |= Q(city_id=institution.city_id, kind=Account.Kind.CLEARING_RECEIVABLE)
    return wanted


def _settlement_accounts(
    *,
    insured_city_id: int,
    pool_kind: str,
    institution: Institution,
    paying_person_id: int | None,
    reserve_ids: bool,
    usage_of: tuple[int, int],
) -> SettlementAccounts:
    """The person's usage row for the year (``usage_of``: person id, year; created if need be)
    and the insured city's pool, the institution's account (opened on its first settlement), the
    paying personal account and, for care in another city, the two cities' clearing accounts:
    found, the usage row and then the accounts locked in id order before what the figures and
    the personal account's share rest on is read (concurrent settlements of one person, or
    against one account, take turns and each sees what the previous one left), and the ids to
    write the settlement under, in one statement."""
    across = institution.city_id != insured_city_id
    wanted = _settlement_accounts_wanted(
        insured_city_id=insured_city_id,
        pool_kind=pool_kind,
        institution=institution,
        paying_person_id=paying_person_id,
    )
    # One transfer within a city, one in each city across cities (unused if paid in cash).
    reserve = [(Settlement, 1), (Transfer, 2 if across else 1)] if reserve_ids else []
    person_id, year = usage_of
    held = accounts_find_and_lock(
        wanted,
        reserve=reserve,
        lock_first=_usage_locked_first(person_id=person_id, year=year),
        # The institution's account is opened, on its first settlement, before anything is held.
        required=Q(institution_id=institution.pk),
    )
    if _missing_rows_made(held, institution=institution, usage_of=usage_of):
        return _settlement_accounts(
            insured_city_id=insured_city_id,
            pool_kind=pool_kind,
            institution=institution,
            paying_person_id=paying_person_id,
            reserve_ids=reserve_ids,
            usage_of=usage_of,
        )
    by_owner = {(a.kind, a.institution_id, a.person_id): a.id for a in held.found.values()}
    clearing = None
    if across:
        clearing = ClearingAccounts(
            payable_account_id=by_owner[(Account.Kind.CLEARING_PAYABLE, None, None)],
            receivable_account_id=by_owner[(Account.Kind.CLEARING_RECEIVABLE, None, None)],
        )
    return SettlementAccounts(
        pool_account_id=by_owner[(pool_kind, None, None)],
        institution_account_id=by_owner[(Account.Kind.INSTITUTION, institution.pk, None)],
        paying_account_id=by_owner.get((Account.Kind.PERSONAL, None, paying_person_id)),
        clearing=clearing,
        locked=held.locked,
        reserved_ids=(held.reserved_ids[0][0], held.reserved_ids[1]) if reserve_ids else (None, []),
        usage=row_instance(AnnualUsage, held.first_row),
    )


def _missing_rows_made(
    held: AccountsHeld, *, institution: Institution, usage_of: tuple[int, int]
) -> bool:
    """In the person's first settlement of the year, or the institution's first, make the year's
    usage row or the institution's account (nothing was locked for want of it); whether either
    was missing, to ask again."""
    usage_missing = held.first_row is None
    institution_missing = not any(
        account.institution_id == institution.pk for account in held.found.values()
    )
    if usage_missing:
        person_id, year = usage_of
        AnnualUsage.objects.bulk_create(
            [AnnualUsage(person_id=person_id, year=year)], ignore_conflicts=True
        )
    if institution_missing:
        institution_account_open(institution=institution)
    return usage_missing or institution_missing


def _settlement_payment(
    *,
    accounts: SettlementAccounts,
    terms: SettlementTerms,
    payer: SettlementPayer,
    figures: SettlementFigures,
) -> SettlementPayment:
    """The personal account's part of the person's share, on its balance as it stands locked."""
    paying_account_id = accounts.paying_account_id
    if payer.authorization is not None and paying_account_id is None:
        raise DomainError(SettlementErrorCode.FAMILY_HOLDER_NOT_ELIGIBLE)
    account_amount = ZERO
    balance_after = None
    if paying_account_id is not None:
        balance = accounts.locked[paying_account_id].balance
        account_amount = personal_account_payment(
            figures, balance=balance, class_c_payable=terms.policy.personal_account_pays_class_c
        )
        balance_after = balance - account_amount
    return SettlementPayment(
        pool_account_id=accounts.pool_account_id,
        institution_account_id=accounts.institution_account_id,
        paying_account_id=paying_account_id,
        personal_account_amount=account_amount,
        personal_account_balance_after=balance_after,
        clearing=accounts.clearing,
        locked=accounts.locked,
        reserved_ids=accounts.reserved_ids,
    )


def _settlement_figure_fields(
    calculation: SettlementCalculation, payment: SettlementPayment
) -> dict[str, Decimal | None]:
    """A settlement row's figures: the policy figures it was calculated with, and the result."""
    policy_figures, figures = calculation.policy_figures, calculation.figures
    return {
        "class_b_self_pay_ratio": policy_figures.class_b_self_pay_ratio,
        "annual_deductible": policy_figures.annual_deductible,
        "deductible_paid_before": policy_figures.deductible_paid_before,
        "reimbursement_ratio": policy_figures.reimbursement_ratio,
        "annual_cap": policy_figures.annual_cap,
        "pool_paid_before": policy_figures.pool_paid_before,
        "outpatient_quota": policy_figures.outpatient_quota,
        "outpatient_pool_paid_before": policy_figures.outpatient_pool_paid_before,
        "total_amount": figures.total_amount,
        "class_c_amount": figures.class_c_amount,
        "class_b_self_pay_amount": figures.class_b_self_pay_amount,
        "eligible_amount": figures.eligible_amount,
        "deductible_amount": figures.deductible_amount,
        "copay_amount": figures.copay_amount,
        "over_cap_amount": figures.over_cap_amount,
        "pool_amount": figures.pool_amount,
        "personal_account_amount": payment.personal_account_amount,
        "cash_amount": figures.person_share - payment.personal_account_amount,
        "personal_account_balance_after": payment.personal_account_balance_after,
    }


@dataclass(frozen=True)
class SettlementDraft:
    """A settlement as it would be made now: its row and its lines, unsaved, with the year's usage
    row (locked) and the payment they were decided with. Settling saves and posts it; a quote only
    shows it."""

    settlement: Settlement
    lines: list[SettlementLine]
    usage: AnnualUsage
    payment: SettlementPayment


@dataclass(frozen=True)
class SettlementRequest:
    """What a terminal asks to settle (or to quote), checked before anything is read or locked."""

    institution: Institution
    credential: PresentedCredential
    visit_type: str
    visit_reference: str
    priced: Sequence[tuple[CatalogItem, PricedLine]]
    use_personal_account: bool
    family_account_holder_id: int | None
    emergency: bool = False


def _settlement_request(
    *,
    institution: Institution | None,
    credential: PresentedCredential | None,
    visit_type: str,
    lines: Sequence[LineInput],
    use_personal_account: bool,
    family_account_holder_id: int | None,
    visit_reference: str,
    emergency: bool = False,
) -> SettlementRequest:
    """Refuse what this terminal cannot settle as asked, and price the lines on the catalog."""
    _visit_check(
        institution=institution,
        credential=credential,
        visit_type=visit_type,
        use_personal_account=use_personal_account,
        family_account_holder_id=family_account_holder_id,
        emergency=emergency,
    )
    return SettlementRequest(
        institution=institution,
        credential=credential,
        visit_type=visit_type,
        visit_reference=visit_reference,
        priced=_priced_lines(lines),
        use_personal_account=use_personal_account,
        family_account_holder_id=family_account_holder_id,
        emergency=emergency,
    )


def _settlement_row(
    *,
    request: SettlementRequest,
    person: InsuredPerson,
    terms: SettlementTerms,
    payer: SettlementPayer,
    calculation: SettlementCalculation,
    payment: SettlementPayment,
    by,
    now: datetime,
    today: date,
) -> Settlement:
    """The settlement's row, unsaved: what was settled, under which terms, every figure."""
    return Settlement(
        institution=request.institution,
        person=person,
        insured_city=person.city,
        scheme=person.scheme,
        visit_type=request.visit_type,
        visit_reference=request.visit_reference,
        credential_kind=request.credential.kind,
        year=today.year,
        settled_at=now,
        filing=terms.filing,
        emergency=request.emergency,
        emergency_rule_applied=terms.emergency_rule_applied,
        filing_due_date=terms.filing_due_date,
        family_authorization=payer.authorization,
        use_personal_account=payer.use_personal_account,
        pool_account_id=payment.pool_account_id,
        paying_account_id=payment.paying_account_id,
        through_clearing=payment.clearing is not None,
        **_settlement_figure_fields(calculation, payment),
        created_by=by,
        request_id=current_request_id(),
    )


def _person_and_terms(
    *, request: SettlementRequest, today: date
) -> tuple[InsuredPerson, SettlementTerms]:
    """The person presented, checked, and the terms they settle under, from one read."""
    settling = settling_person_read(
        credential=request.credential,
        visit_type=request.visit_type,
        tier=request.institution.tier,
    )
    person = _person_check(
        settling=settling,
        credential=request.credential,
        use_personal_account=request.use_personal_account,
        today=today,
    )
    terms = _settlement_terms(
        settling=settling,
        institution=request.institution,
        visit_type=request.visit_type,
        today=today,
        emergency=request.emergency,
    )
    return person, terms


def _settlement_draft(
    *, request: SettlementRequest, by, now: datetime, reserve_ids: bool = False
) -> SettlementDraft:
    """Every step of settling short of writing it: the person, the terms, the payer, the figures
    and the payment, with the rows they rest on locked (inside the caller's transaction); with
    ``reserve_ids``, the ids it is to be written under."""
    today = clock.localdate(now)
    person, terms = _person_and_terms(request=request, today=today)
    # Locks in the order of every settling path: authorisation, usage, accounts by id.
    payer = _settlement_payer(
        person=person,
        use_personal_account=request.use_personal_account,
        family_account_holder_id=request.family_account_holder_id,
    )
    accounts = _settlement_accounts(
        insured_city_id=person.city_id,
        pool_kind=terms.pool_kind,
        institution=request.institution,
        paying_person_id=payer.paying_person_id,
        reserve_ids=reserve_ids,
        usage_of=(person.pk, today.year),
    )
    calculation = _settlement_calculation(
        person=person,
        terms=terms,
        visit_type=request.visit_type,
        priced=request.priced,
        usage=accounts.usage,
    )
    payment = _settlement_payment(
        accounts=accounts, terms=terms, payer=payer, figures=calculation.figures
    )
    settlement = _settlement_row(
        request=request,
        person=person,
        terms=terms,
        payer=payer,
        calculation=calculation,
        payment=payment,
        by=by,
        now=now,
        today=today,
    )
    return SettlementDraft(
        settlement=settlement,
        lines=_settlement_lines(settlement=settlement, calculation=calculation),
        usage=calculation.usage,
        payment=payment,
    )


def _settlement_lines(
    *, settlement: Settlement, calculation: SettlementCalculation
) -> list[SettlementLine]:
    """The settlement's lines, each with the catalog item's code, name and class as settled."""
    return [
        SettlementLine(
            settlement=settlement,
            line_no=number,
            item=item,
            code=item.code,
            name=item.name,
            catalog_class=item.catalog_class,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line_figure.amount,
            self_pay_amount=line_figure.self_pay_amount,
            eligible_amount=line_figure.eligible_amount,
        )
        for number, ((item, line), line_figure) in enumerate(
            zip(calculation.priced, calculation.figures.lines, strict=True), start=1
        )
    ]


def _settlement_transfer_rows(
    settlement: Settlement, *, payment: SettlementPayment, transfer_ids: Sequence[int], by, now
) -> list[tuple[Transfer, list[Entry]]]:
    """The settlement's transfers (see ``_settlement_postings``) as unsaved rows, under the ids
    reserved for them and keys named after the settlement's id, checked against the accounts
    locked in drafting."""
    postings = _settlement_postings(
        settlement,
        institution_account_id=payment.institution_account_id,
        clearing=payment.clearing,
    )
    memo = (
        f"Settlement #{settlement.pk}: {settlement.visit_type.lower()} visit of person "
        f"{settlement.person_id} at {settlement.institution.code}"
    )
    return [
        transfer_rows(
            transfer_id=transfer_id,
            kind=Transfer.Kind.SETTLEMENT,
            key=f"settlement:{settlement.pk}{suffix}",
            memo=memo,
            legs=legs,
            locked=payment.locked,
            by=by,
            posted_at=now,
        )
        for transfer_id, (suffix, legs) in zip(transfer_ids[: len(postings)], postings, strict=True)
    ]


def _already_settled(visit_reference: str) -> DomainError:
    return DomainError(
        SettlementErrorCode.VISIT_ALREADY_SETTLED,
        gettext(
            "Visit %(visit_reference)s is already settled here; reverse that settlement first to settle it again."
        )
        % {"visit_reference": repr(visit_reference)},
    )


def _settlement_write(draft: SettlementDraft, *, by, now: datetime) -> Settlement:
    """Write the drafted settlement in one statement (``common.statements``): its row, its lines,
    its transfers and their entries (the pool's and the personal account's payments to the
    institution: none when the person pays everything in cash, one within a city, one inside each
    city across cities), the year's usage and the event. A visit reference already settled here
    is refused; so is whatever the ledger refuses, and then nothing is written."""
    settlement, payment = draft.settlement, draft.payment
    settlement_id, transfer_ids = payment.reserved_ids
    if settlement_id is None:
        raise RuntimeError("a settlement is written from a draft with its ids reserved")
    settlement.pk = settlement_id
    transfers = _settlement_transfer_rows(
        settlement, payment=payment, transfer_ids=transfer_ids, by=by, now=now
    )
    if transfers:
        settlement.transfer = transfers[0][0]
        settlement.care_transfer = transfers[1][0] if len(transfers) > 1 else None
    for line in draft.lines:
        line.settlement = settlement
    changed = _usage_added(
        draft.usage,
        visit_type=settlement.visit_type,
        deductible=settlement.deductible_amount,
        pool=settlement.pool_amount,
    )
    event = settlement_event_row(settlement, now=now)
    writes = [
        *([rows_insert([transfer for transfer, _ in transfers])] if transfers else []),
        *(
            [rows_insert([entry for _, entries in transfers for entry in entries])]
            if transfers
            else []
        ),
        rows_insert([settlement]),
        rows_insert(draft.lines),
        row_update(draft.usage, changed),
        *([rows_insert([event])] if event is not None else []),
    ]
    try:
        writes_execute(writes)
    except IntegrityError as exc:
        # No savepoint: a refusal ends the settling transaction, whose block rolls it back.
        if violated_constraint(exc) == "one_live_settlement_per_visit_reference":
            raise _already_settled(settlement.visit_reference) from None
        if ledger_refused(exc):
            raise ledger_refusal(exc, key=f"settlement:{settlement.pk}") from exc
        raise
    for saved in (settlement, *(transfer for transfer, _entries in transfers)):
        saved._state.adding = False
        saved._state.db = DEFAULT_DB_ALIAS
    if event is not None:
        events_written()
    return settlement


def settlement_submit(
    *,
    institution: Institution | None,
    credential: PresentedCredential | None,
    visit_type: str,
    lines: Sequence[LineInput],
    use_personal_account: bool,
    family_account_holder_id: int | None = None,
    visit_reference: str = "",
    emergency: bool = False,
    by,
    now: datetime | None = None,
) -> Settlement:
    """Settle a visit for the person whose card or e-voucher is presented, at ``now`` (the caller's
    clock.now(), read here when not given), in one balanced transfer; see settlement.calculation."""
    now = clock.now() if now is None else now
    request = _settlement_request(
        institution=institution,
        credential=credential,
        visit_type=visit_type,
        lines=lines,
        use_personal_account=use_personal_account,
        family_account_holder_id=family_account_holder_id,
        visit_reference=visit_reference,
        emergency=emergency,
    )
    with transaction.atomic():
        draft = _settlement_draft(request=request, by=by, now=now, reserve_ids=True)
        return _settlement_write(draft, by=by, now=now)


@dataclass(frozen=True)
class SettlementQuote:
    """What settling would give: the settlement's row and lines, never saved."""

    settlement: Settlement
    lines: list[SettlementLine]


def settlement_quote(
    *,
    institution: Institution | None,
    credential: PresentedCredential | None,
    visit_type: str,
    lines: Sequence[LineInput],
    use_personal_account: bool,
    family_account_holder_id: int | None = None,
    visit_reference: str = "",
    emergency: bool = False,
    by,
    now: datetime | None = None,
) -> SettlementQuote:
    """What ``settlement_submit`` would settle with the same arguments at ``now``, to the cent, by
    the same steps and refusals, writing and posting nothing."""
    now = clock.now() if now is None else now
    request = _settlement_request(
        institution=institution,
        credential=credential,
        visit_type=visit_type,
        lines=lines,
        use_personal_account=use_personal_account,
        family_account_holder_id=family_account_holder_id,
        visit_reference=visit_reference,
        emergency=emergency,
    )
    with transaction.atomic():
        if (
            visit_reference
            and Settlement.objects.filter(
                institution=institution,
                visit_reference=visit_reference,
                status=Settlement.Status.SETTLED,
            ).exists()
        ):
            raise _already_settled(visit_reference)
        draft = _settlement_draft(request=request, by=by, now=now)
        # Nothing is left behind, not even the year's usage row the figures read (and the locks
        # taken to read them are let go at once).
        transaction.set_rollback(True)
    return SettlementQuote(settlement=draft.settlement, lines=draft.lines)


def _reversal_transfers_post(
    *, settlement: Settlement, reason: str, by, posted_at: datetime
) -> list[Transfer]:
    """The settlement's transfers the other way, each inside its city as it was posted (none if
    it moved no money). A cross-city settlement's reversal goes through the same clearing
    accounts; the clearing carries it as a negative item (settlement.clearing)."""
    institution_account = Account.objects.get(institution_id=settlement.institution_id)
    clearing = (
        _clearing_accounts(
            insured_city_id=settlement.insured_city_id,
            care_city_id=settlement.institution.city_id,
        )
        if settlement.through_clearing
        else None
    )
    postings = [
        (suffix, [Leg(leg.account_id, -leg.amount) for leg in legs])
        for suffix, legs in _settlement_postings(
            settlement, institution_account_id=institution_account.id, clearing=clearing
        )
    ]
    # Every account of both transfers locked at once, in id order, as settling locks them.
    lock_accounts([leg.account_id for _, legs in postings for leg in legs])
    return [
        transfer_post(
            kind=Transfer.Kind.REVERSAL,
            key=f"reversal:{settlement.pk}{suffix}",
            memo=f"Reversal of settlement #{settlement.pk}: {reason}",
            legs=legs,
            by=by,
            posted_at=posted_at,
        )
        for suffix, legs in postings
    ]


def settlement_reverse(
    *, settlement: Settlement, reason: str, by, now: datetime | None = None
) -> Settlement:
    """Refund a settlement: a new transfer the other way (never an edit), and the year's
    deductible, cap and quota usage given back exactly as the settlement took it. ``now`` is the
    caller's clock.now() (read here when not given)."""
    now = clock.now() if now is None else now
    if not reason.strip():
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR, errors=[field_error("reason", gettext("Required."))]
        )
    with transaction.atomic():
        # Same lock order as settling: settlement, usage row, then accounts by id.
        settlement = Settlement.objects.select_for_update(no_key=True).get(pk=settlement.pk)
        if settlement.status != Settlement.Status.SETTLED:
            raise DomainError(
                SettlementErrorCode.SETTLEMENT_ALREADY_REVERSED,
                gettext("Settlement #%(settlement_pk)s was reversed on %(reversed_at)s.")
                % {
                    "settlement_pk": settlement.pk,
                    "reversed_at": format(clock.localdate(settlement.reversed_at), "%Y-%m-%d"),
                },
            )
        usage = _locked_usage(person_id=settlement.person_id, year=settlement.year)
        transfers = _reversal_transfers_post(
            settlement=settlement, reason=reason.strip(), by=by, posted_at=now
        )
        _usage_add(
            usage,
            visit_type=settlement.visit_type,
            deductible=-settlement.deductible_amount,
            pool=-settlement.pool_amount,
        )

        settlement.reverse(
            at=now, by=by, reason=reason.strip()[:255], request_id=current_request_id()
        )
        settlement.reversal_transfer = transfers[0] if transfers else None
        settlement.care_reversal_transfer = transfers[1] if len(transfers) > 1 else None
        settlement.save(
            update_fields=[
                "status",
                "reversed_at",
                "reversed_by",
                "reversal_reason",
                "reversal_request_id",
                "reversal_transfer",
                "care_reversal_transfer",
            ]
        )
        settlement_event_record(settlement, now=now)
        return settlement
