"""The interface's own records (sign-ins, corrections) and the reads its transactions make over
the project's services. Each transaction handler makes one call here or into another part."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

import access
from cards.credentials import PRESENTED_CREDENTIAL_HEADER, PresentedCredential
from common.errors import DomainError, field_error
from common.money import ZERO
from fsi.error_codes import FsiErrorCode
from fsi.models import Message, SignIn
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from inquiry.diagnosis import Diagnosis
from persons.models import InsuredPerson
from settlement.models import AnnualUsage, BenefitPolicy, Settlement

# --- Sign-in ---------------------------------------------------------------------------------


def sign_in_open(
    *,
    institution,
    user,
    opter_no: str,
    opter_name: str,
    opter_type: str,
    mac: str,
    ip: str,
    msgid: str,
    request_id: str,
    now: datetime,
) -> SignIn:
    """A new sign-in of the terminal's operator, with a fresh sign_no (30 digits: the time, then
    16 random digits)."""
    sign_no = f"{timezone.localtime(now):%Y%m%d%H%M%S}{secrets.randbelow(10**16):016d}"
    return SignIn.objects.create(
        institution=institution,
        user=user,
        sign_no=sign_no,
        opter_no=opter_no,
        opter_name=opter_name,
        opter_type=opter_type,
        mac=mac,
        ip=ip,
        signed_in_at=now,
        sign_in_msgid=msgid,
        request_id=request_id,
    )


def sign_in_close(*, institution, sign_no: str, msgid: str, now: datetime) -> SignIn:
    """Sign out the institution's open sign-in ``sign_no``."""
    with transaction.atomic():
        sign_in = (
            SignIn.objects.select_for_update()
            .filter(institution=institution, sign_no=sign_no, signed_out_at__isnull=True)
            .first()
        )
        if sign_in is None:
            raise DomainError(
                FsiErrorCode.SIGN_IN_REQUIRED,
                f"sign_no {sign_no} is not an open sign-in of this institution.",
                errors=[field_error("input.signOut.sign_no", "Not an open sign-in here.")],
            )
        sign_in.signed_out_at = now
        sign_in.sign_out_msgid = msgid
        sign_in.save(update_fields=["signed_out_at", "sign_out_msgid"])
        return sign_in


# --- Who is presented ------------------------------------------------------------------------

# mdtrt_cert_type: what identifies the person at the terminal.
CERT_EVOUCHER, CERT_RESIDENT_ID, CERT_CARD = "01", "02", "03"
_CREDENTIAL_KIND = {CERT_EVOUCHER: "EVOUCHER", CERT_CARD: "CARD"}


class _Presented:
    """What a terminal's request presents, as the access policy reads it from a header."""

    def __init__(self, kind: str, value: str) -> None:
        self.headers = {PRESENTED_CREDENTIAL_HEADER: f"{kind} {value}"}


def presented(*, cert_type: str, cert_no: str, prefix: str = "input.data.") -> PresentedCredential:
    """The person a terminal identifies by their e-voucher code (01) or card number (03), by the
    same rules as the REST API's ``X-Presented-Credential``. A resident ID (02) identifies nobody
    at a terminal here, as in the REST API."""
    kind = _CREDENTIAL_KIND.get(cert_type)
    if kind is None:
        raise DomainError(
            FsiErrorCode.CERT_TYPE_NOT_ACCEPTED,
            "mdtrt_cert_type 02 (resident ID) does not identify a person at a terminal here: "
            "present the e-voucher (01, its current code) or the social security card (03, its "
            "number).",
            errors=[field_error(prefix + "mdtrt_cert_type", "01 or 03.")],
        )
    credential = access.presented_credential(_Presented(kind, cert_no))
    assert credential is not None  # a header was given, so it names a person or refuses
    return credential


@dataclass(frozen=True)
class PersonDetails:
    """Checks the person's details a message sends against the presented person."""

    psn_no: str = ""
    certno: str = ""
    psn_name: str = ""
    # Where the fields were read, for the errors' field names.
    prefix: str = "input.data."


def psn_no_of(person_id: int) -> str:
    """The person's number on this interface: their id in this project."""
    return str(person_id)


def _details_check(person: InsuredPerson, details: PersonDetails) -> None:
    mismatches = []
    if details.psn_no and details.psn_no != psn_no_of(person.pk):
        mismatches.append(
            field_error(details.prefix + "psn_no", "Not the presented person's psn_no.")
        )
    if details.certno and details.certno.upper() != person.resident_id.upper():
        mismatches.append(
            field_error(details.prefix + "certno", "Not the presented person's ID number.")
        )
    if details.psn_name and details.psn_name != person.name:
        mismatches.append(
            field_error(details.prefix + "psn_name", "Not the presented person's name.")
        )
    if mismatches:
        raise DomainError(
            FsiErrorCode.PERSON_MISMATCH,
            "The details sent are not those of the person whose credential is presented.",
            errors=mismatches,
        )


@dataclass(frozen=True)
class PersonInformation:
    person: InsuredPerson
    credential: PresentedCredential
    diagnosis: Diagnosis


def person_information(
    *, cert_type: str, cert_no: str, details: PersonDetails, now: datetime
) -> PersonInformation:
    """The presented person and what the institution channel answers about their balance at
    ``now`` (the same answer as the REST API's for a terminal)."""
    credential = presented(cert_type=cert_type, cert_no=cert_no, prefix=details.prefix)
    person = InsuredPerson.objects.select_related("city").get(pk=credential.person_id)
    _details_check(person, details)
    diagnosis = balance_inquire(
        channel=Channel.INSTITUTION, now=now, person_id=person.pk, **_credential_kind(credential)
    )
    return PersonInformation(person=person, credential=credential, diagnosis=diagnosis)


def _credential_kind(credential: PresentedCredential) -> dict:
    """The credential kind, where the balance answer takes one (an e-voucher needs no card)."""
    import inspect

    if "credential" in inspect.signature(balance_inquire).parameters:
        return {"credential": credential.kind}
    return {}


# --- The year's figures (5206) ----------------------------------------------------------------


@dataclass(frozen=True)
class YearFigures:
    person: InsuredPerson
    year: int
    usage: AnnualUsage | None
    annual_cap: Decimal | None
    outpatient_quota: Decimal | None

    @property
    def pool_paid(self) -> Decimal:
        return self.usage.pool_paid if self.usage else ZERO

    @property
    def outpatient_pool_paid(self) -> Decimal:
        return self.usage.outpatient_pool_paid if self.usage else ZERO

    @property
    def annual_cap_left(self) -> Decimal | None:
        if self.annual_cap is None:
            return None
        return max(self.annual_cap - self.pool_paid, ZERO)

    @property
    def outpatient_quota_left(self) -> Decimal | None:
        if self.outpatient_quota is None:
            return None
        return max(self.outpatient_quota - self.outpatient_pool_paid, ZERO)


def year_figures(*, cert_type: str, cert_no: str, details: PersonDetails, year: int) -> YearFigures:
    """What the presented person has used of ``year`` (deductibles, pooled payments) and what is
    left of the annual cap and the outpatient quota under the city's policy now."""
    credential = presented(cert_type=cert_type, cert_no=cert_no, prefix=details.prefix)
    person = InsuredPerson.objects.select_related("city").get(pk=credential.person_id)
    _details_check(person, details)
    usage = AnnualUsage.objects.filter(person=person, year=year).first()
    policy = BenefitPolicy.objects.filter(city_id=person.city_id).first()
    if policy is None:
        annual_cap = outpatient_quota = None
    else:
        annual_cap = policy.annual_cap_for(person.scheme)
        outpatient_quota = (
            policy.employee_outpatient_annual_quota
            if person.is_employee
            else person.city.outpatient_pooling_annual_quota
        )
    return YearFigures(
        person=person,
        year=year,
        usage=usage,
        annual_cap=annual_cap,
        outpatient_quota=outpatient_quota,
    )


# --- Reconciliation (3201) --------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionTotals:
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    fixmedins_setl_cnt: int
    acct_mulaid_pay: Decimal


def institution_totals(
    *, institution, begin: date, end: date, setl_optins: str = "", scheme: str = ""
) -> InstitutionTotals:
    """The institution's settlements in force (not reversed) settled from ``begin`` to ``end``
    (local days, both included): their total, the pooled funds' part, the person's own personal
    account's part, their number, and apart the part relatives' accounts paid (family mutual
    aid), as each settlement's ``setlinfo`` gives them. ``setl_optins`` limits them to
    one insured city (its code), ``scheme`` to one scheme."""
    settlements = Settlement.objects.filter(
        institution=institution,
        status=Settlement.Status.SETTLED,
        settled_at__date__gte=begin,
        settled_at__date__lte=end,
    )
    if setl_optins:
        settlements = settlements.filter(insured_city__code=setl_optins)
    if scheme:
        settlements = settlements.filter(scheme=scheme)
    totals = settlements.aggregate(
        medfee=Coalesce(Sum("total_amount"), ZERO),
        fund=Coalesce(Sum("pool_amount"), ZERO),
        acct=Coalesce(
            Sum("personal_account_amount", filter=Q(family_authorization__isnull=True)), ZERO
        ),
        mulaid=Coalesce(
            Sum("personal_account_amount", filter=Q(family_authorization__isnull=False)), ZERO
        ),
        count=Count("id"),
    )
    return InstitutionTotals(
        medfee_sumamt=totals["medfee"],
        fund_pay_sumamt=totals["fund"],
        acct_pay=totals["acct"],
        fixmedins_setl_cnt=totals["count"],
        acct_mulaid_pay=totals["mulaid"],
    )


# --- Correction (2601) ------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectionTarget:
    """The original message a correction found (None: it never arrived), locked until the
    correction commits, and whether an earlier correction already handled it."""

    original: Message | None
    already_corrected_by: Message | None
    # No message carried the msgid out, but it did arrive and was refused.
    arrived_refused: bool = False


def correction_target(*, institution, omsgid: str, correction_msgid: str, now: datetime):
    """The institution's message that carried ``omsgid`` out, locked. If none did, the msgid is
    voided (claimed by a row that answers MESSAGE_CORRECTED), so a copy arriving late is not
    carried out after its correction said it did nothing. Call inside the correction's
    transaction."""
    for _attempt in range(3):
        original = (
            Message.objects.select_for_update()
            .filter(institution=institution, msgid=omsgid, claims_msgid=True)
            .first()
        )
        if original is not None:
            corrected_by = (
                Message.objects.filter(pk=original.corrected_by_id).first()
                if original.corrected_by_id
                else None
            )
            return CorrectionTarget(original=original, already_corrected_by=corrected_by)
        try:
            with transaction.atomic():
                Message.objects.create(
                    institution=institution,
                    msgid=omsgid,
                    claims_msgid=True,
                    outcome=Message.Outcome.VOIDED,
                    infcode=-1,
                    error_code=FsiErrorCode.MESSAGE_CORRECTED.code,
                    business_time=now,
                    received_at=timezone.now(),
                    request={"voided_by_msgid": correction_msgid},
                )
            arrived_refused = Message.objects.filter(
                institution=institution, msgid=omsgid, outcome=Message.Outcome.REFUSED
            ).exists()
            return CorrectionTarget(
                original=None, already_corrected_by=None, arrived_refused=arrived_refused
            )
        except IntegrityError:
            # The original arrived meanwhile and has committed: correct it instead.
            continue
    raise RuntimeError(f"msgid {omsgid} could be neither found nor voided")


def correction_record(*, original: Message, correction_msgid: str, institution, now) -> None:
    """Mark ``original`` corrected by the message claiming ``correction_msgid`` (the correction
    itself, whose row exists in the same transaction)."""
    correction = Message.objects.get(
        institution=institution, msgid=correction_msgid, claims_msgid=True
    )
    Message.objects.filter(pk=original.pk).update(corrected_by=correction, corrected_at=now)
