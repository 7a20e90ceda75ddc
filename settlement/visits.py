"""Writes about visits an institution registers before settling them (the national interface's
``mdtrt_id``): registration and its cancellation, the visit's description, its fee lines and their
cancellation, discharge, and settling the visit (or quoting it) from its live fee lines through
``settlement.services``. Every function takes the caller's ``now``."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cards.credentials import PresentedCredential
from common import clock
from common.context import current_request_id
from common.errors import CommonErrorCode, DomainError, field_error, violated_constraint
from common.money import MAX_DIGITS, ZERO, money
from institutions.models import Institution
from settlement.calculation import LineFigures, PricedLine, line_figures
from settlement.error_codes import SettlementErrorCode
from settlement.models import CatalogItem, Settlement, Visit, VisitFeeLine, VisitType
from settlement.selectors import settling_person_read
from settlement.services import (
    MAX_LINES,
    LineInput,
    SettlementQuote,
    _checked_decimal,
    _person_check,
    _provisioned_policy,
    _settlement_terms,
    _visit_check,
    settlement_quote,
    settlement_reverse,
    settlement_submit,
)

# The national interface's medical categories (med_type) that are an emergency: 13, emergency
# care. A visit registered under it is settled under the insured city's emergency rule.
EMERGENCY_MED_TYPES = frozenset({"13"})

# --- Registration ---------------------------------------------------------------------------


def _new_mdtrt_id(now: datetime) -> str:
    """The day, then twelve random digits: unique by the column's constraint, unguessable."""
    return f"{clock.localdate(now):%Y%m%d}{secrets.randbelow(10**12):012d}"


def visit_register(
    *,
    institution: Institution | None,
    credential: PresentedCredential | None,
    visit_type: str,
    institution_visit_no: str = "",
    med_type: str = "",
    begun_at: datetime | None = None,
    by,
    now: datetime,
) -> Visit:
    """Register a visit (or an admission) for the person presenting a card or e-voucher. Refused
    as settling it would be for who the person is: a card not activated, insurance not started,
    care in another city without a filing, no rule for this visit at this tier."""
    _visit_check(
        institution=institution,
        credential=credential,
        visit_type=visit_type,
        use_personal_account=False,
        family_account_holder_id=None,
        emergency=med_type.strip() in EMERGENCY_MED_TYPES,
    )
    today = clock.localdate(now)
    settling = settling_person_read(
        credential=credential, visit_type=visit_type, tier=institution.tier
    )
    person = _person_check(
        settling=settling, credential=credential, use_personal_account=False, today=today
    )
    _settlement_terms(
        settling=settling,
        institution=institution,
        visit_type=visit_type,
        today=today,
        emergency=med_type.strip() in EMERGENCY_MED_TYPES,
    )
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return Visit.objects.create(
                    mdtrt_id=_new_mdtrt_id(now),
                    institution=institution,
                    person=person,
                    visit_type=visit_type,
                    institution_visit_no=institution_visit_no.strip()[:64],
                    med_type=med_type.strip()[:6],
                    credential_kind=credential.kind,
                    begun_at=begun_at or now,
                    registered_at=now,
                    created_by=by,
                    request_id=current_request_id(),
                )
        except IntegrityError as exc:
            if violated_constraint(exc) == "one_open_visit_per_institution_visit_no":
                raise _visit_number_in_use(institution, institution_visit_no) from None
            if not (violated_constraint(exc) or "").endswith("mdtrt_id_key"):
                raise
    raise RuntimeError("Could not draw an unused visit id.")


def _visit_number_in_use(institution: Institution, number: str) -> DomainError:
    open_visit = Visit.objects.filter(
        institution=institution, institution_visit_no=number.strip(), status=Visit.Status.OPEN
    ).first()
    return DomainError(
        SettlementErrorCode.VISIT_NUMBER_IN_USE,
        _("Visit number %(number)s is already registered here and not cancelled.")
        % {"number": repr(number)},
        extra={"mdtrt_id": open_visit.mdtrt_id if open_visit else None},
    )


def _locked_open_visit(visit: Visit, *, unsettled: bool = True) -> Visit:
    """The visit, locked: refused once cancelled and, for a change to what it settles, while it
    has a live settlement."""
    visit = (
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .select_related("institution", "person__city")
        .get(pk=visit.pk)
    )
    # Its settlement is read after the lock, by a statement of its own: one made while this
    # waited is seen (a join in the locking statement would read it as of before the wait).
    _refuse_unless_open(visit, unsettled=unsettled)
    return visit


def _refuse_unless_open(visit: Visit, *, unsettled: bool) -> None:
    if visit.status == Visit.Status.CANCELLED:
        raise DomainError(
            SettlementErrorCode.VISIT_CANCELLED,
            _("Visit %(mdtrt_id)s was cancelled on %(cancelled_at)s.")
            % {
                "mdtrt_id": visit.mdtrt_id,
                "cancelled_at": format(clock.localdate(visit.cancelled_at), "%Y-%m-%d"),
            },
        )
    if unsettled and visit.is_settled:
        raise DomainError(
            SettlementErrorCode.VISIT_SETTLED,
            _(
                "Visit %(mdtrt_id)s is settled (settlement %(settlement_id)s); reverse the settlement first."
            )
            % {"mdtrt_id": visit.mdtrt_id, "settlement_id": visit.settlement_id},
            extra={"setl_id": str(visit.settlement_id)},
        )


def visit_cancel(*, visit: Visit, by, now: datetime) -> Visit:
    """Cancel a registration (or an admission) and its live fee lines; refused once settled."""
    with transaction.atomic():
        visit = _locked_open_visit(visit)
        visit.fee_lines.filter(cancelled_at__isnull=True).update(cancelled_at=now)
        visit.status = Visit.Status.CANCELLED
        visit.cancelled_at = now
        visit.save(update_fields=["status", "cancelled_at"])
        return visit


def visit_describe(
    *, visit: Visit, med_type: str = "", diagnosis_code: str = "", diagnosis_name: str = "", now
) -> Visit:
    """Record what the visit is for (medical category, main diagnosis); the last word counts."""
    with transaction.atomic():
        visit = _locked_open_visit(visit, unsettled=False)
        if med_type.strip():
            visit.med_type = med_type.strip()[:6]
        visit.diagnosis_code = diagnosis_code.strip()[:30]
        visit.diagnosis_name = diagnosis_name.strip()[:255]
        visit.described_at = now
        visit.save(update_fields=["med_type", "diagnosis_code", "diagnosis_name", "described_at"])
        return visit


def visit_discharge(*, visit: Visit, discharged_at: datetime | None = None, now: datetime) -> Visit:
    """Discharge an inpatient: the visit may then be settled."""
    with transaction.atomic():
        visit = _locked_open_visit(visit)
        if visit.visit_type != VisitType.INPATIENT:
            raise DomainError(SettlementErrorCode.VISIT_NOT_INPATIENT)
        if visit.discharged_at is not None:
            raise DomainError(SettlementErrorCode.VISIT_ALREADY_DISCHARGED)
        visit.discharged_at = discharged_at or now
        visit.save(update_fields=["discharged_at"])
        return visit


def visit_discharge_cancel(*, visit: Visit, now: datetime) -> Visit:
    """Take a discharge back (the person stays in): refused once settled."""
    with transaction.atomic():
        visit = _locked_open_visit(visit)
        if visit.visit_type != VisitType.INPATIENT or visit.discharged_at is None:
            raise DomainError(SettlementErrorCode.VISIT_NOT_DISCHARGED)
        visit.discharged_at = None
        visit.save(update_fields=["discharged_at"])
        return visit


# --- Fee lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeLineInput:
    feedetl_sn: str
    code: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal | None = None  # the institution's total, checked against quantity x price
    institution_item_code: str = ""
    charge_batch_no: str = ""


@dataclass(frozen=True)
class FeeLineFigures:
    """An uploaded line and how the insured city's policy splits it (step 1 of the calculation)."""

    line: VisitFeeLine
    catalog_class: str
    self_pay_ratio: Decimal
    figures: LineFigures


def _checked_fee_lines(lines: Sequence[FeeLineInput]) -> dict[str, CatalogItem]:
    """Every line's number, amounts and catalog item, every bad line reported at once."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("An upload has 1 to %(MAX_LINES)s fee lines.") % {"MAX_LINES": MAX_LINES},
            errors=[
                field_error("feedetail", _("1 to %(MAX_LINES)s lines.") % {"MAX_LINES": MAX_LINES})
            ],
        )
    numbers = [line.feedetl_sn.strip() for line in lines]
    repeated = [
        field_error(f"feedetail.{index}.feedetl_sn", _("Missing or repeated."))
        for index, number in enumerate(numbers)
        if not number or len(number) > 30 or numbers.count(number) > 1
    ]
    if repeated:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, errors=repeated)
    for index, line in enumerate(lines):
        _checked_decimal(line.quantity, digits=10, places=3, field=f"feedetail.{index}.cnt")
        _checked_decimal(
            line.unit_price, digits=MAX_DIGITS, places=2, field=f"feedetail.{index}.pric"
        )
        if not ZERO < money(line.quantity * line.unit_price) < Decimal(10) ** (MAX_DIGITS - 2):
            raise DomainError(
                SettlementErrorCode.LINE_AMOUNT_INVALID,
                errors=[field_error(f"feedetail.{index}", _("Amount out of range."))],
            )
    mismatched = [
        field_error(
            f"feedetail.{index}.det_item_fee_sumamt",
            _("%(quantity)s x %(unit_price)s is %(value)s.")
            % {
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "value": money(line.quantity * line.unit_price),
            },
        )
        for index, line in enumerate(lines)
        if line.amount is not None and line.amount != money(line.quantity * line.unit_price)
    ]
    if mismatched:
        raise DomainError(SettlementErrorCode.FEE_LINE_AMOUNT_MISMATCH, errors=mismatched)
    items = CatalogItem.objects.in_bulk({line.code for line in lines}, field_name="code")
    unknown = [
        field_error(
            f"feedetail.{index}.med_list_codg",
            _("%(line_code)s is not a settleable catalog item.") % {"line_code": repr(line.code)},
            "unknown",
        )
        for index, line in enumerate(lines)
        if line.code not in items or not items[line.code].is_active
    ]
    if unknown:
        raise DomainError(
            SettlementErrorCode.CATALOG_ITEM_UNKNOWN,
            _(
                "Some fee lines name an item that is not in the catalog (or no longer settleable); see errors."
            ),
            errors=unknown,
        )
    return items


def fee_line_figures(visit: Visit, lines: Sequence[VisitFeeLine]) -> list[FeeLineFigures]:
    """How the insured city's policy splits each line: class C all self-paid, class B its first
    share, the rest within the policy's scope."""
    ratio = _provisioned_policy(city=visit.person.city).class_b_self_pay_ratio
    self_pay_ratios = {"A": ZERO, "B": ratio, "C": Decimal("1")}
    return [
        FeeLineFigures(
            line=line,
            catalog_class=line.item.catalog_class,
            self_pay_ratio=self_pay_ratios[line.item.catalog_class],
            figures=line_figures(
                PricedLine(line.item.catalog_class, line.quantity, line.unit_price),
                class_b_self_pay_ratio=ratio,
            ),
        )
        for line in lines
    ]


def visit_fee_lines_upload(
    *, visit: Visit, lines: Sequence[FeeLineInput], by, now: datetime
) -> list[FeeLineFigures]:
    """Add fee lines to an open, unsettled visit; a number already live on it is refused."""
    items = _checked_fee_lines(lines)
    with transaction.atomic():
        visit = _locked_open_visit(visit)
        taken = set(
            visit.fee_lines.filter(
                cancelled_at__isnull=True,
                feedetl_sn__in=[line.feedetl_sn.strip() for line in lines],
            ).values_list("feedetl_sn", flat=True)
        )
        if taken:
            raise DomainError(
                SettlementErrorCode.FEE_LINE_DUPLICATE,
                errors=[
                    field_error(f"feedetail.{index}.feedetl_sn", _("Already uploaded."))
                    for index, line in enumerate(lines)
                    if line.feedetl_sn.strip() in taken
                ],
            )
        created = VisitFeeLine.objects.bulk_create(
            [
                VisitFeeLine(
                    visit=visit,
                    feedetl_sn=line.feedetl_sn.strip(),
                    item=items[line.code],
                    code=line.code,
                    institution_item_code=line.institution_item_code.strip()[:50],
                    charge_batch_no=line.charge_batch_no.strip()[:30],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=money(line.quantity * line.unit_price),
                    uploaded_at=now,
                    created_by=by,
                    request_id=current_request_id(),
                )
                for line in lines
            ]
        )
        return fee_line_figures(visit, created)


def visit_fee_lines_cancel(
    *,
    visit: Visit,
    numbers: Sequence[str] | None = None,
    charge_batch_no: str = "",
    missing_ok: bool = False,
    now: datetime,
) -> list[VisitFeeLine]:
    """Cancel the visit's live fee lines with these numbers (None: all of them), of this charge
    batch if one is named, while it is unsettled; a number or a batch with no live line is
    refused (unless ``missing_ok``: taking back an upload whose lines were since cancelled)."""
    with transaction.atomic():
        visit = _locked_open_visit(visit)
        live = visit.fee_lines.filter(cancelled_at__isnull=True).select_related("item")
        if charge_batch_no:
            live = live.filter(charge_batch_no=charge_batch_no)
            if not live.exists():
                raise DomainError(
                    SettlementErrorCode.FEE_LINE_NOT_FOUND,
                    _("No live fee line of charge batch %(charge_batch_no)s on visit %(mdtrt_id)s.")
                    % {"charge_batch_no": repr(charge_batch_no), "mdtrt_id": visit.mdtrt_id},
                )
        if numbers is not None:
            wanted = {number.strip() for number in numbers}
            live = live.filter(feedetl_sn__in=wanted)
            missing = wanted - {line.feedetl_sn for line in live}
            if missing and not missing_ok:
                raise DomainError(
                    SettlementErrorCode.FEE_LINE_NOT_FOUND,
                    _("No live fee line numbered %(join)s on visit %(mdtrt_id)s.")
                    % {"join": ", ".join(sorted(missing)), "mdtrt_id": visit.mdtrt_id},
                )
        cancelled = list(live)
        VisitFeeLine.objects.filter(pk__in=[line.pk for line in cancelled]).update(cancelled_at=now)
        return cancelled


# --- Settling the visit ---------------------------------------------------------------------


def _settleable(
    visit: Visit, credential: PresentedCredential | None, expected_total: Decimal | None = None
) -> list[LineInput]:
    """The visit's live lines to settle, once the presented person is the visit's, an inpatient
    has been discharged and the total the caller expects (if any) is theirs."""
    if credential is not None and credential.person_id != visit.person_id:
        raise DomainError(SettlementErrorCode.VISIT_PERSON_MISMATCH)
    if visit.visit_type == VisitType.INPATIENT and visit.discharged_at is None:
        raise DomainError(SettlementErrorCode.VISIT_NOT_DISCHARGED)
    lines = [
        LineInput(code=line.code, quantity=line.quantity, unit_price=line.unit_price)
        for line in visit.fee_lines.filter(cancelled_at__isnull=True).order_by("id")
    ]
    if not lines:
        raise DomainError(SettlementErrorCode.VISIT_HAS_NO_FEE_LINES)
    total = sum((money(line.quantity * line.unit_price) for line in lines), ZERO)
    if expected_total is not None and expected_total != total:
        raise DomainError(
            SettlementErrorCode.VISIT_TOTAL_MISMATCH,
            _("The visit's live fee lines come to %(total)s, not %(expected_total)s.")
            % {"total": total, "expected_total": expected_total},
            extra={"medfee_sumamt": str(total)},
        )
    return lines


def visit_quote(
    *,
    visit: Visit,
    credential: PresentedCredential | None,
    use_personal_account: bool,
    family_account_holder_id: int | None = None,
    expected_total: Decimal | None = None,
    by,
    now: datetime,
) -> SettlementQuote:
    """What settling the visit now would give (settlement_quote on its live lines)."""
    visit = Visit.objects.select_related("settlement", "institution").get(pk=visit.pk)
    _refuse_unless_open(visit, unsettled=True)
    return settlement_quote(
        institution=visit.institution,
        credential=credential,
        visit_type=visit.visit_type,
        lines=_settleable(visit, credential, expected_total),
        use_personal_account=use_personal_account,
        family_account_holder_id=family_account_holder_id,
        visit_reference=visit.mdtrt_id,
        emergency=visit.med_type in EMERGENCY_MED_TYPES,
        by=by,
        now=now,
    )


def visit_settle(
    *,
    visit: Visit,
    credential: PresentedCredential | None,
    use_personal_account: bool,
    family_account_holder_id: int | None = None,
    expected_total: Decimal | None = None,
    by,
    now: datetime,
) -> Settlement:
    """Settle the visit from its live fee lines (settlement_submit, with the visit's id as its
    reference); the visit is then settled until that settlement is reversed."""
    with transaction.atomic():
        # The visit first, then every lock settling takes: one settling of a visit at a time.
        visit = _locked_open_visit(visit)
        settlement = settlement_submit(
            institution=visit.institution,
            credential=credential,
            visit_type=visit.visit_type,
            lines=_settleable(visit, credential, expected_total),
            use_personal_account=use_personal_account,
            family_account_holder_id=family_account_holder_id,
            visit_reference=visit.mdtrt_id,
            emergency=visit.med_type in EMERGENCY_MED_TYPES,
            by=by,
            now=now,
        )
        visit.settlement = settlement
        visit.save(update_fields=["settlement"])
        return settlement


def visit_settlement_reverse(
    *, visit: Visit, setl_id: str, reason: str, by, now: datetime
) -> Settlement:
    """Reverse a settlement of this visit (settlement_reverse); the visit is open again, with its
    fee lines, to be settled anew or cancelled. Reversing it twice is refused."""
    settlement = Settlement.objects.filter(
        pk=int(setl_id) if str(setl_id).isdigit() and len(str(setl_id)) <= 18 else 0,
        institution_id=visit.institution_id,
        visit_reference=visit.mdtrt_id,
    ).first()
    if settlement is None:
        raise DomainError(
            SettlementErrorCode.SETTLEMENT_NOT_OF_VISIT,
            _("Visit %(mdtrt_id)s has no settlement %(setl_id)s.")
            % {"mdtrt_id": visit.mdtrt_id, "setl_id": repr(setl_id)},
        )
    return settlement_reverse(settlement=settlement, reason=reason, by=by, now=now)
