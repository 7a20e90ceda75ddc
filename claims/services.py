"""Writes about reimbursement claims: a person files one with the receipts; the insured city's
agency approves it (in full or in part) or rejects it; an approval pays in the same transaction."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from accounts.models import Account, Transfer
from accounts.services import Leg, transfer_post
from cities.models import City
from claims.error_codes import ClaimErrorCode
from claims.models import ClaimLine, ClaimReceipt, ReimbursementClaim
from common import clock
from common.audit import acting_user
from common.context import current_request_id
from common.errors import CommonErrorCode, DomainError, field_error, violated_constraint
from common.money import ZERO, money
from institutions.models import Institution, Tier
from persons.models import InsuredPerson
from settlement.calculation import PricedLine
from settlement.models import CrossCityFiling, VisitType
from settlement.reimbursement import catalog_lines, fund_share_compute, fund_share_count
from settlement.selectors import benefit_policy_of, filing_valid_for
from settlement.services import MAX_LINES, LineInput

MAX_RECEIPTS = 50
MAX_ATTACHMENTS = 20
_BANK_ACCOUNT = re.compile(r"^[0-9]{8,34}$")


class Decision:
    APPROVE = "APPROVE"
    PARTLY_APPROVE = "PARTLY_APPROVE"
    REJECT = "REJECT"
    ALL = (APPROVE, PARTLY_APPROVE, REJECT)


@dataclass(frozen=True)
class ReceiptInput:
    number: str
    issued_on: date
    amount: Decimal


@dataclass(frozen=True)
class CategoryTotal:
    """A receipt's total for one catalog class, when it shows no item lines."""

    catalog_class: str
    amount: Decimal


@dataclass(frozen=True)
class ClaimVisit:
    """Where and when the care was, as the claim states it (checked by ``claim_submit``)."""

    visit_date: date
    visit_type: str
    emergency: bool = False
    institution_code: str = ""
    institution_name: str = ""
    care_city: City | None = None
    tier: str = ""
    description: str = ""


@dataclass(frozen=True)
class ClaimPayout:
    method: str
    bank_name: str = ""
    bank_account_holder: str = ""
    bank_account_number: str = ""


def _save_with_history(claim: ReimbursementClaim, by, **kwargs) -> None:
    claim._history_user = acting_user(by)
    claim.save(**kwargs)


# --- Filing a claim --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    institution: Institution | None
    name: str
    code: str
    care_city: City
    tier: str
    designated: bool


def _place(visit: ClaimVisit) -> _Place:
    """The institution this system knows by its code, or the one the receipts name."""
    if visit.institution_code:
        institution = (
            Institution.objects.select_related("city").filter(code=visit.institution_code).first()
        )
        if institution is None:
            raise DomainError(
                ClaimErrorCode.CLAIM_INSTITUTION_UNKNOWN,
                errors=[field_error("institution_code", _("Unknown institution."))],
            )
        if visit.care_city is not None and visit.care_city.pk != institution.city_id:
            raise DomainError(
                CommonErrorCode.VALIDATION_ERROR,
                errors=[field_error("care_city", _("Not the institution's city."))],
            )
        return _Place(
            institution=institution,
            name=institution.name,
            code=institution.code,
            care_city=institution.city,
            tier=institution.tier,
            designated=institution.is_designated,
        )
    missing = [
        field_error(name, _("Required without an institution_code."))
        for name, value in (
            ("institution_name", visit.institution_name.strip()),
            ("care_city", visit.care_city),
            ("tier", visit.tier),
        )
        if not value
    ]
    if missing:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, errors=missing)
    if visit.tier not in Tier.values:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR, errors=[field_error("tier", _("Unknown tier."))]
        )
    # An institution this system does not know is not one of the designated ones.
    return _Place(
        institution=None,
        name=visit.institution_name.strip()[:128],
        code="",
        care_city=visit.care_city,
        tier=visit.tier,
        designated=False,
    )


def claim_route(*, person: InsuredPerson, place: _Place, visit: ClaimVisit) -> tuple[str, bool]:
    """Whether this care is reimbursed through a claim, and how: (route, emergency rule applies).
    An emergency outside the network goes by the emergency rule; other care in another city is a
    cross-city claim; care at home at a designated institution is settled there, and care at a
    non-designated institution is covered only in an emergency."""
    cross_city = place.care_city.pk != person.city_id
    filing = (
        filing_valid_for(person_id=person.pk, city_id=place.care_city.pk, on=visit.visit_date)
        if cross_city
        else None
    )
    outside = not place.designated or (cross_city and filing is None)
    if visit.emergency and outside:
        return ReimbursementClaim.Route.EMERGENCY, True
    if not place.designated:
        raise DomainError(
            ClaimErrorCode.CLAIM_ROUTE_NOT_AVAILABLE,
            _(
                "%(name)s is not designated: basic medical insurance pays care there only in an "
                "emergency (art. 28)."
            )
            % {"name": place.name},
        )
    if cross_city:
        return ReimbursementClaim.Route.CROSS_CITY, False
    raise DomainError(
        ClaimErrorCode.CLAIM_ROUTE_NOT_AVAILABLE,
        _(
            "%(name)s is a designated institution of the insured city: the visit is settled "
            "directly there (present the card or e-voucher); a claim is for care elsewhere or an "
            "emergency outside the network."
        )
        % {"name": place.name},
    )


def _claim_lines(
    *, line_items: Sequence[LineInput], category_totals: Sequence[CategoryTotal]
) -> list[ClaimLine]:
    """The receipts' fee lines: catalog items, or totals by class (one or the other)."""
    if bool(line_items) == bool(category_totals):
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("Give the fee lines either as line_items or as category_totals."),
            errors=[field_error("line_items", _("One of line_items or category_totals."))],
        )
    if line_items:
        return [
            ClaimLine(
                line_no=number,
                code=code,
                name=name,
                catalog_class=catalog_class,
                quantity=priced.quantity,
                unit_price=priced.unit_price,
                amount=priced.amount,
            )
            for number, (code, name, catalog_class, priced) in enumerate(
                catalog_lines(line_items), start=1
            )
        ]
    classes = [total.catalog_class for total in category_totals]
    if len(set(classes)) != len(classes) or not set(classes) <= {"A", "B", "C"}:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("category_totals", _("Classes A, B and C, each at most once."))],
        )
    return [
        ClaimLine(
            line_no=number,
            catalog_class=total.catalog_class,
            quantity=Decimal("1.000"),
            unit_price=total.amount,
            amount=total.amount,
        )
        for number, total in enumerate(category_totals, start=1)
    ]


def _claim_receipts(receipts: Sequence[ReceiptInput], *, total: Decimal, visit_date: date):
    if not 1 <= len(receipts) <= MAX_RECEIPTS:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("receipts", _("1 to %(n)s receipts.") % {"n": MAX_RECEIPTS})],
        )
    numbers = [receipt.number.strip() for receipt in receipts]
    if len(set(numbers)) != len(numbers) or not all(numbers):
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("receipts", _("Each receipt once, with its number."))],
        )
    if any(receipt.issued_on < visit_date for receipt in receipts):
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("receipts", _("A receipt is issued on or after the visit date."))],
        )
    receipts_total = sum((receipt.amount for receipt in receipts), ZERO)
    if receipts_total != total:
        raise DomainError(
            ClaimErrorCode.CLAIM_RECEIPTS_MISMATCH,
            _("The receipts come to %(receipts)s CNY and the fee lines to %(lines)s CNY.")
            % {"receipts": f"{receipts_total:.2f}", "lines": f"{total:.2f}"},
        )


def _personal_account_id(person: InsuredPerson) -> int | None:
    return (
        Account.objects.filter(person=person, kind=Account.Kind.PERSONAL)
        .values_list("id", flat=True)
        .first()
    )


def _payout_check(person: InsuredPerson, payout: ClaimPayout) -> None:
    if payout.method == ReimbursementClaim.Payout.BANK:
        errors = []
        if not payout.bank_account_holder.strip():
            errors.append(field_error("payout.bank_account_holder", _("Required for a bank.")))
        if not _BANK_ACCOUNT.match(payout.bank_account_number):
            errors.append(field_error("payout.bank_account_number", _("8 to 34 digits.")))
        if errors:
            raise DomainError(ClaimErrorCode.CLAIM_PAYOUT_INVALID, errors=errors)
    elif payout.method == ReimbursementClaim.Payout.PERSONAL_ACCOUNT:
        if _personal_account_id(person) is None:
            raise DomainError(
                ClaimErrorCode.CLAIM_PAYOUT_INVALID,
                _("The person has no personal account; choose a bank account."),
                errors=[field_error("payout.method", _("No personal account."))],
            )
    else:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("payout.method", _("Unknown method."))],
        )


@dataclass(frozen=True)
class CheckedClaim:
    """What checking a claim found: where the care was, its route, whether the emergency rule
    applies, and its lines (unsaved) with their total."""

    place: _Place
    route: str
    emergency_rule: bool
    lines: list[ClaimLine]
    # What the lines come to: the amount claimed.
    total: Decimal


def _claim_checked(
    *,
    person: InsuredPerson,
    visit: ClaimVisit,
    line_items: Sequence[LineInput],
    category_totals: Sequence[CategoryTotal],
    receipts: Sequence[ReceiptInput],
    payout: ClaimPayout,
    attachments: Sequence[dict],
    today,
) -> CheckedClaim:
    """Everything about a claim that can be checked without the agency: the visit, the route, the
    lines, the receipts' sum and dates, where the money would go, and the attachments. Answers the
    place, the route, whether the emergency rule applies and the lines."""
    if visit.visit_type not in VisitType.values:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR, errors=[field_error("visit_type", _("Unknown."))]
        )
    if not person.enrolled_on <= visit.visit_date <= today:
        raise DomainError(
            ClaimErrorCode.CLAIM_VISIT_DATE_INVALID,
            errors=[
                field_error(
                    "visit_date",
                    _("From %(start)s to today.") % {"start": f"{person.enrolled_on:%Y-%m-%d}"},
                )
            ],
        )
    place = _place(visit)
    if place.tier == Tier.PHARMACY and visit.visit_type != VisitType.OUTPATIENT:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("visit_type", _("A pharmacy visit is outpatient."))],
        )
    route, emergency_rule = claim_route(person=person, place=place, visit=visit)
    lines = _claim_lines(line_items=line_items, category_totals=category_totals)
    if len(lines) > MAX_LINES:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("line_items", _("At most %(n)s lines.") % {"n": MAX_LINES})],
        )
    total = sum((line.amount for line in lines), ZERO)
    _claim_receipts(receipts, total=total, visit_date=visit.visit_date)
    _payout_check(person, payout)
    if len(attachments) > MAX_ATTACHMENTS:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("attachments", _("At most %(n)s.") % {"n": MAX_ATTACHMENTS})],
        )
    return CheckedClaim(
        place=place, route=route, emergency_rule=emergency_rule, lines=lines, total=total
    )


def _claim_receipts_record(
    claim: ReimbursementClaim, person: InsuredPerson, receipts: Sequence[ReceiptInput]
) -> None:
    """The claim's receipts, each in one live claim only (the database has the last word)."""
    try:
        with transaction.atomic():
            ClaimReceipt.objects.bulk_create(
                [
                    ClaimReceipt(
                        claim=claim,
                        person=person,
                        number=receipt.number.strip()[:64],
                        issued_on=receipt.issued_on,
                        amount=receipt.amount,
                    )
                    for receipt in receipts
                ]
            )
    except IntegrityError as exc:
        if violated_constraint(exc) == "one_live_claim_per_receipt":
            raise _receipt_already_claimed([]) from None
        raise


def _claim_row(
    *,
    person: InsuredPerson,
    visit: ClaimVisit,
    checked: CheckedClaim,
    attachments: Sequence[dict],
    payout: ClaimPayout,
    by,
    now: datetime,
) -> ReimbursementClaim:
    """The claim's row, unsaved, from what ``_claim_checked`` answered."""
    place = checked.place
    return ReimbursementClaim(
        person=person,
        insured_city_id=person.city_id,
        care_city=place.care_city,
        institution=place.institution,
        institution_name=place.name,
        institution_code=place.code,
        institution_designated=place.designated,
        tier=place.tier,
        visit_type=visit.visit_type,
        visit_date=visit.visit_date,
        emergency=visit.emergency,
        route=checked.route,
        emergency_rule_applied=checked.emergency_rule,
        description=visit.description[:500],
        attachments=list(attachments),
        claimed_amount=checked.total,
        payout_method=payout.method,
        bank_name=payout.bank_name[:64],
        bank_account_holder=payout.bank_account_holder.strip()[:64],
        bank_account_number=payout.bank_account_number,
        submitted_at=now,
        submitted_by=by,
        request_id=current_request_id(),
    )


def claim_submit(
    *,
    person: InsuredPerson,
    visit: ClaimVisit,
    line_items: Sequence[LineInput] = (),
    category_totals: Sequence[CategoryTotal] = (),
    receipts: Sequence[ReceiptInput],
    payout: ClaimPayout,
    attachments: Sequence[dict] = (),
    by,
    now: datetime,
) -> ReimbursementClaim:
    """File a claim for care the person paid in full, at ``now`` (the caller's clock.now()). It
    is checked as far as it can be without the agency: the route, the lines, the receipts (each in
    one live claim only) and where the money would go."""
    checked = _claim_checked(
        person=person,
        visit=visit,
        line_items=line_items,
        category_totals=category_totals,
        receipts=receipts,
        payout=payout,
        attachments=attachments,
        today=clock.localdate(now),
    )
    with transaction.atomic():
        # One filing at a time per person: the receipts check below cannot race.
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=person.pk).first()
        claimed = list(
            ClaimReceipt.objects.filter(
                person=person, live=True, number__in=[r.number.strip() for r in receipts]
            ).values_list("number", "claim_id")
        )
        if claimed:
            raise _receipt_already_claimed(claimed)
        claim = _claim_row(
            person=person,
            visit=visit,
            checked=checked,
            attachments=attachments,
            payout=payout,
            by=by,
            now=now,
        )
        _save_with_history(claim, by)
        for line in checked.lines:
            line.claim = claim
        ClaimLine.objects.bulk_create(checked.lines)
        _claim_receipts_record(claim, person, receipts)
        return claim


def _receipt_already_claimed(claimed: list[tuple[str, int]]) -> DomainError:
    return DomainError(
        ClaimErrorCode.CLAIM_RECEIPT_ALREADY_CLAIMED,
        _("Receipt %(numbers)s is already claimed; withdraw that claim first to claim it again.")
        % {"numbers": ", ".join(number for number, _claim in claimed) or "?"},
        extra={"claims": sorted({claim_id for _number, claim_id in claimed})},
    )


# --- Reviewing a claim -----------------------------------------------------------------------


def _locked_submitted(claim_id: int) -> ReimbursementClaim:
    """The claim, locked: two reviewers at once take turns, and the second finds it reviewed."""
    claim = (
        ReimbursementClaim.objects.select_for_update(no_key=True)
        .select_related("person", "person__city", "insured_city", "care_city")
        .get(pk=claim_id)
    )
    if claim.status != ReimbursementClaim.Status.SUBMITTED:
        raise DomainError(
            ClaimErrorCode.CLAIM_ALREADY_REVIEWED,
            _("Claim #%(id)s is %(status)s.")
            % {"id": claim.pk, "status": claim.get_status_display().lower()},
            extra={"current_status": claim.status},
        )
    return claim


def _filing_followed(claim: ReimbursementClaim) -> None:
    """An emergency in another city, where the insured city asks for a filing to follow within N
    days: one for the care city recorded by then (and not revoked in that time)."""
    policy = benefit_policy_of(city_id=claim.insured_city_id)
    days = policy.emergency_filing_within_days if policy else None
    if not days or claim.route != ReimbursementClaim.Route.EMERGENCY:
        return
    if claim.care_city_id == claim.insured_city_id:
        return
    due = claim.visit_date + timedelta(days=days)
    followed = [
        filing
        for filing in CrossCityFiling.objects.filter(
            person_id=claim.person_id, city_id=claim.care_city_id
        )
        if claim.visit_date <= clock.localdate(filing.recorded_at) <= due
        and (filing.revoked_at is None or clock.localdate(filing.revoked_at) > due)
    ]
    if not followed:
        raise DomainError(
            ClaimErrorCode.CLAIM_FILING_NOT_FOLLOWED,
            _(
                "%(city)s asks for a cross-city filing for %(care)s within %(days)s days of an "
                "emergency there (by %(due)s), and none was recorded. If the day has passed, "
                "reject the claim with FILING_NOT_FOLLOWED."
            )
            % {
                "city": claim.insured_city.shown_name,
                "care": claim.care_city.shown_name,
                "days": days,
                "due": f"{due:%Y-%m-%d}",
            },
            extra={"filing_due_date": f"{due:%Y-%m-%d}", "care_city": claim.care_city.code},
        )


def _priced(claim: ReimbursementClaim) -> list[PricedLine]:
    return [
        PricedLine(line.catalog_class, line.quantity, line.unit_price) for line in claim.lines.all()
    ]


def _payout_account(claim: ReimbursementClaim) -> Account:
    if claim.payout_method == ReimbursementClaim.Payout.PERSONAL_ACCOUNT:
        return Account.objects.get(person_id=claim.person_id, kind=Account.Kind.PERSONAL)
    account, _created = Account.objects.get_or_create(
        city_id=claim.insured_city_id, kind=Account.Kind.BANK_PAYOUT
    )
    return account


def claim_decision_check(decision: str, *, amount, reason_code: str, reason: str) -> None:
    """Whether a review decision is complete (CLAIM_DECISION_INVALID with field errors if not),
    before any claim is read: the API and the console's form check it the same way."""
    errors = []
    if decision not in Decision.ALL:
        errors.append(field_error("decision", _("APPROVE, PARTLY_APPROVE or REJECT.")))
    if decision == Decision.REJECT:
        if reason_code not in ReimbursementClaim.RejectionReason.values:
            errors.append(field_error("reason_code", _("A rejection reason code.")))
        if not reason.strip():
            errors.append(field_error("reason", _("Required when rejecting.")))
    if decision == Decision.PARTLY_APPROVE:
        if amount is None:
            errors.append(field_error("amount", _("Required when partly approving.")))
        if not reason.strip():
            errors.append(field_error("reason", _("Required when partly approving.")))
    if reason_code and reason_code not in ReimbursementClaim.RejectionReason.values:
        errors.append(field_error("reason_code", _("Unknown reason code.")))
    if decision != Decision.PARTLY_APPROVE and amount is not None:
        errors.append(field_error("amount", _("Only when partly approving.")))
    if errors:
        raise DomainError(ClaimErrorCode.CLAIM_DECISION_INVALID, errors=errors)


def _approved_amount(decision: str, *, amount: Decimal | None, share) -> Decimal:
    """What an approval pays: the fund's whole share, or a partial amount below it."""
    share_amount = share.figures.pool_amount
    if decision != Decision.PARTLY_APPROVE:
        return share_amount
    if not ZERO < amount < share_amount or money(amount) != amount:
        raise DomainError(
            ClaimErrorCode.CLAIM_PARTIAL_AMOUNT_INVALID,
            _("The fund's share is %(share)s CNY.") % {"share": f"{share_amount:.2f}"},
            extra={"fund_share_amount": f"{share_amount:.2f}"},
            errors=[field_error("amount", _("Above 0.00 and below the fund's share."))],
        )
    return amount


def _payout_post(claim: ReimbursementClaim, *, paid: Decimal, by, now: datetime) -> Transfer:
    """The approved amount from the insured city's pool to where the claim is paid, once."""
    return transfer_post(
        kind=Transfer.Kind.CLAIM_PAYOUT,
        key=f"claim:{claim.pk}",
        memo=f"Reimbursement claim #{claim.pk} of person {claim.person_id}: "
        f"{claim.visit_type.lower()} care at {claim.institution_name} on "
        f"{claim.visit_date:%Y-%m-%d}, to the "
        f"{claim.get_payout_method_display().lower()}",
        legs=[Leg(claim.pool_account.id, -paid), Leg(claim.payout_account.id, paid)],
        by=by,
        posted_at=now,
    )


def claim_review(
    *,
    claim: ReimbursementClaim,
    decision: str,
    amount: Decimal | None = None,
    reason_code: str = "",
    reason: str = "",
    by,
    now: datetime,
) -> ReimbursementClaim:
    """The insured city's agency decides a claim at ``now`` (the caller's clock.now()). An approval
    computes the fund's share as a settlement of the same care would (the city's deductible, ratio
    or emergency ratio, caps and the year's usage, which it then counts), and pays the approved
    amount from the pool in one balanced transfer, in this transaction: to the person's personal
    account, or to the city's bank-payout clearing account. A claim is reviewed once."""
    claim_decision_check(decision, amount=amount, reason_code=reason_code, reason=reason)
    with transaction.atomic():
        claim = _locked_submitted(claim.pk)
        if decision == Decision.REJECT:
            _transition(
                claim, "reject", at=now, by=by, reason_code=reason_code, reason=reason.strip()
            )
            claim.receipts.update(live=False)
            _save_with_history(claim, by)
            return claim
        _filing_followed(claim)
        share = fund_share_compute(
            person=claim.person,
            visit_type=claim.visit_type,
            tier=claim.tier,
            lines=_priced(claim),
            year=claim.visit_date.year,
            emergency_rule_applied=claim.emergency_rule_applied,
        )
        paid = _approved_amount(decision, amount=amount, share=share)
        _figures_set(claim, share)
        claim.approved_amount = paid
        claim.pool_account = share.pool_account
        claim.payout_account = _payout_account(claim)
        if paid > 0:
            claim.payout_transfer = _payout_post(claim, paid=paid, by=by, now=now)
        figures = share.figures
        fund_share_count(
            share, visit_type=claim.visit_type, deductible=figures.deductible_amount, pool=paid
        )
        if decision == Decision.APPROVE:
            _transition(claim, "approve", at=now, by=by)
        else:
            _transition(
                claim,
                "approve_partly",
                at=now,
                by=by,
                reason=reason.strip(),
                reason_code=reason_code,
            )
        _save_with_history(claim, by)
        return claim


def _figures_set(claim: ReimbursementClaim, share) -> None:
    policy, figures = share.policy_figures, share.figures
    claim.year = claim.visit_date.year
    claim.class_b_self_pay_ratio = policy.class_b_self_pay_ratio
    claim.annual_deductible = policy.annual_deductible
    claim.deductible_paid_before = policy.deductible_paid_before
    claim.reimbursement_ratio = policy.reimbursement_ratio
    claim.annual_cap = policy.annual_cap
    claim.pool_paid_before = policy.pool_paid_before
    claim.outpatient_quota = policy.outpatient_quota
    claim.outpatient_pool_paid_before = policy.outpatient_pool_paid_before
    claim.class_c_amount = figures.class_c_amount
    claim.class_b_self_pay_amount = figures.class_b_self_pay_amount
    claim.eligible_amount = figures.eligible_amount
    claim.deductible_amount = figures.deductible_amount
    claim.copay_amount = figures.copay_amount
    claim.over_cap_amount = figures.over_cap_amount
    claim.fund_share_amount = figures.pool_amount


def _transition(claim: ReimbursementClaim, method: str, **kwargs) -> None:
    try:
        getattr(claim, method)(**kwargs)
    except TransitionNotAllowed:
        raise DomainError(
            ClaimErrorCode.CLAIM_ALREADY_REVIEWED, extra={"current_status": claim.status}
        ) from None


def claim_withdraw(*, claim: ReimbursementClaim, by) -> ReimbursementClaim:
    """The person withdraws a claim still awaiting review; its receipts may be claimed again."""
    with transaction.atomic():
        claim = _locked_submitted(claim.pk)
        _transition(claim, "withdraw")
        claim.receipts.update(live=False)
        _save_with_history(claim, by)
        return claim
