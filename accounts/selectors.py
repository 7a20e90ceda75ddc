"""Reads of accounts: the balance diagnosis, ledger history and payment records."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import Col
from django.utils import timezone

from access import Channel
from accounts.models import Account, Contribution, Crediting, Entry
from accounts.reasons import Reason, ReasonCode, in_catalogue_order
from cards.models import EVoucher, SocialSecurityCard
from cities.limiter import platform_admit
from cities.selectors import next_contribution_on, next_crediting_on, next_upload_on
from common import clock
from common.money import CURRENCY, ZERO
from persons.models import InsuredPerson

COUNTER_CHANNELS_TEXT = (
    "designated hospitals and pharmacies, and the medical-insurance agency counter"
)


@dataclass(frozen=True)
class BalanceDiagnosis:
    person_id: int
    channel: str
    visible: bool
    amount: Decimal | None
    as_of: datetime | None
    source: str | None
    reasons: list[Reason]

    @property
    def retry_after(self) -> int | None:
        waits = [reason.retry_after for reason in self.reasons if reason.retry_after]
        return max(waits) if waits else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "channel": self.channel,
            "visible": self.visible,
            "balance": (
                {
                    "amount": self.amount,
                    "currency": CURRENCY,
                    "as_of": self.as_of,
                    "source": self.source,
                }
                if self.visible
                else None
            ),
            "reasons": [reason.as_dict() for reason in self.reasons],
        }

    def as_json(self) -> dict[str, Any]:
        """``as_dict`` as ``BalanceOutputSerializer`` renders it (money with two places, times in
        the local zone, dates ISO 8601), without a serializer's per-request cost on the hottest
        read. A test holds the two to the same output."""
        data = self.as_dict()
        if data["balance"] is not None:
            as_of = timezone.localtime(self.as_of).isoformat()
            data["balance"] |= {
                "amount": f"{self.amount:.2f}",
                "as_of": as_of[:-6] + "Z" if as_of.endswith("+00:00") else as_of,
            }
        for reason in data["reasons"]:
            if reason["expected_date"] is not None:
                reason["expected_date"] = reason["expected_date"].isoformat()
        return data


# --- The balance query -----------------------------------------------------------------------

# Lookups the insured person's own query comes with, and the field each one reads.
_DIRECT_LOOKUPS = {"pk": "id", "id": "id", "user_id": "user"}
# While the balance statement runs, psycopg's counter must not prepare anything by itself.
_NOT_BY_COUNT = 2**31


# A cursor that binds on the server and prepares its statement (psycopg 3).
class _PreparedStatementCursor(ServerBindingCursor):
    """Runs its statement as a prepared statement of the connection. psycopg keeps them per
    connection (and forgets them on a rollback or a reconnection, preparing again). Django
    turns psycopg's automatic preparing off for its own queries; it stays off for them: only
    this cursor's statements are prepared, and only for the time they run."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        connection = self.connection
        threshold = connection.prepare_threshold
        if threshold is None:
            connection.prepare_threshold = _NOT_BY_COUNT
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            connection.prepare_threshold = threshold


@dataclass(frozen=True)
class _Part:
    """One model of the balance query's row: its columns' place, and its primary key's."""

    model: type
    start: int
    stop: int
    attnames: tuple[str, ...]
    pk_index: int


class _BalanceQuery:
    """The balance query without its WHERE clause, built once from the models, and how to turn
    its row into the objects ``select_related`` and ``annotate`` would give: the person with its
    city (and the city's latest upload), e-voucher, personal account and snapshot, annotated with
    its latest card, whether it was ever credited or paid a contribution, and this year's
    outpatient-pooling use. The one parameter before the WHERE clause's is the year."""

    def __init__(self, db) -> None:
        from cities.models import City
        from settlement.models import AnnualUsage
        from uploads.models import BalanceSnapshot, CityUpload

        qn = db.ops.quote_name

        def table(model) -> str:
            return qn(model._meta.db_table)

        def column(model, name: str) -> str:
            return qn(model._meta.get_field(name).column)

        select: list[str] = []
        self.converters: list[tuple[int, list, Col]] = []
        self.parts: dict[str, _Part] = {}

        def add(sql: str, expression: Col) -> None:
            functions = db.ops.get_db_converters(expression) + expression.get_db_converters(db)
            if functions:
                self.converters.append((len(select), functions, expression))
            select.append(sql)

        for alias, model in (
            ("p", InsuredPerson),
            ("c", City),
            ("u", CityUpload),
            ("e", EVoucher),
            ("a", Account),
            ("s", BalanceSnapshot),
        ):
            start = len(select)
            fields = model._meta.concrete_fields
            for field in fields:
                add(f"{alias}.{qn(field.column)}", field.get_col(alias))
            attnames = tuple(field.attname for field in fields)
            self.parts[alias] = _Part(
                model, start, len(select), attnames, attnames.index(model._meta.pk.attname)
            )

        person_id = f"p.{column(InsuredPerson, 'id')}"
        card = SocialSecurityCard
        latest_card = (
            f"FROM {table(card)} k WHERE k.{column(card, 'person')} = {person_id} "
            f"ORDER BY k.{column(card, 'id')} DESC LIMIT 1"
        )
        self.annotations = [
            (
                "card_status",
                f"(SELECT k.{column(card, 'status')} {latest_card})",
                card._meta.get_field("status"),
            ),
            (
                "card_ready_on",
                f"(SELECT k.{column(card, 'ready_on')} {latest_card})",
                card._meta.get_field("ready_on"),
            ),
            (
                "has_crediting",
                f"EXISTS (SELECT 1 FROM {table(Crediting)} k "  # noqa: S608 (names from the models)
                f"WHERE k.{column(Crediting, 'account')} = a.{column(Account, 'id')})",
                BooleanField(),
            ),
            (
                "has_contribution",
                f"EXISTS (SELECT 1 FROM {table(Contribution)} k "  # noqa: S608
                f"WHERE k.{column(Contribution, 'person')} = {person_id})",
                BooleanField(),
            ),
            (
                "outpatient_pool_paid",
                f"(SELECT y.{column(AnnualUsage, 'outpatient_pool_paid')} FROM {table(AnnualUsage)} y "  # noqa: S608
                f"WHERE y.{column(AnnualUsage, 'person')} = {person_id} "
                f"AND y.{column(AnnualUsage, 'year')} = %s LIMIT 1)",
                AnnualUsage._meta.get_field("outpatient_pool_paid"),
            ),
        ]
        self.annotation_start = len(select)
        for name, sql, field in self.annotations:
            add(f"{sql} AS {qn(name)}", Col("annotation", field))
        self.sql = (
            f"SELECT {', '.join(select)} FROM {table(InsuredPerson)} p "  # noqa: S608
            f"INNER JOIN {table(City)} c ON c.{column(City, 'id')} = p.{column(InsuredPerson, 'city')} "
            f"LEFT OUTER JOIN {table(CityUpload)} u "
            f"ON u.{column(CityUpload, 'id')} = c.{column(City, 'latest_upload')} "
            f"LEFT OUTER JOIN {table(EVoucher)} e ON e.{column(EVoucher, 'person')} = {person_id} "
            f"LEFT OUTER JOIN {table(Account)} a ON a.{column(Account, 'person')} = {person_id} "
            f"LEFT OUTER JOIN {table(BalanceSnapshot)} s "
            f"ON s.{column(BalanceSnapshot, 'person')} = {person_id}"
        )

    def build(self, row, db) -> InsuredPerson:
        from cities.models import City

        row = list(row)
        for index, functions, expression in self.converters:
            value = row[index]
            for function in functions:
                value = function(value, expression, db)
            row[index] = value
        found = {}
        for alias, part in self.parts.items():
            values = row[part.start : part.stop]
            found[alias] = (
                None
                if values[part.pk_index] is None
                else part.model.from_db(db.alias, part.attnames, values)
            )
        person = found["p"]
        InsuredPerson._meta.get_field("city").set_cached_value(person, found["c"])
        City._meta.get_field("latest_upload").set_cached_value(found["c"], found["u"])
        for alias, name in (("e", "evoucher"), ("a", "personal_account"), ("s", "snapshot")):
            relation = InsuredPerson._meta.get_field(name)
            related = found[alias]
            relation.set_cached_value(person, related)
            if related is not None:
                relation.remote_field.set_cached_value(related, person)
        for offset, (name, _, _) in enumerate(self.annotations):
            setattr(person, name, row[self.annotation_start + offset])
        return person


@lru_cache(maxsize=4)
def _balance_query(vendor: str) -> _BalanceQuery:
    return _BalanceQuery(connection)


@contextmanager
def _balance_cursor(prepared: bool):
    if prepared:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        raw = connection.connection
        factory = raw.cursor_factory
        raw.cursor_factory = _PreparedStatementCursor
        try:
            cursor = connection.cursor()
        finally:
            raw.cursor_factory = factory
    else:
        cursor = connection.cursor()
    with cursor:
        yield cursor


def person_for_balance(*, persons: QuerySet | None = None, **lookup) -> InsuredPerson:
    """Everything the diagnosis needs, in one SQL query whatever the person's history.
    ``persons`` is the caller's visible set (so visibility costs no extra query).

    An insured person's own query (by login or id, no visible set) is the platform's hottest
    read: its SQL is built once per process from the models and, on PostgreSQL, runs as a
    prepared statement, so neither the ORM's compiler nor the planner works per request. A visible
    set is compiled by the ORM into the statement's WHERE clause.
    """
    query = _balance_query(connection.vendor)
    params: list[Any] = [clock.today().year]
    (name, value), *others = lookup.items() if lookup else [(None, None)]
    prepared = persons is None and not others and name in _DIRECT_LOOKUPS and value is not None
    if prepared:
        field = InsuredPerson._meta.get_field(_DIRECT_LOOKUPS[name])
        where = f"p.{connection.ops.quote_name(field.column)} = %s"
        params.append(field.get_prep_value(value))
    else:
        visible = InsuredPerson.objects.all() if persons is None else persons
        try:
            subquery, subparams = (
                visible.filter(**lookup).order_by().values("pk").query.sql_with_params()
            )
        except EmptyResultSet:
            raise InsuredPerson.DoesNotExist(
                "InsuredPerson matching query does not exist."
            ) from None
        where = f"p.{connection.ops.quote_name('id')} IN ({subquery})"
        params.extend(subparams)
    with _balance_cursor(prepared) as cursor:
        cursor.execute(f"{query.sql} WHERE {where}", params)
        rows = cursor.fetchmany(2)
    if not rows:
        raise InsuredPerson.DoesNotExist("InsuredPerson matching query does not exist.")
    if len(rows) > 1:
        raise InsuredPerson.MultipleObjectsReturned("More than one person matched the lookup.")
    return query.build(rows[0], connection)


def _expected_first_crediting(person: InsuredPerson, today: date) -> date:
    city = person.city
    start = max(today, person.enrolled_on)
    if _awaiting_first_contribution(person):
        # The first contribution must be collected before anything can be credited.
        return next_crediting_on(city, on_or_after=next_contribution_on(city, on_or_after=start))
    return next_crediting_on(city, on_or_after=start)


def _reason_city_inquiry(person: InsuredPerson) -> Reason:
    return Reason(
        ReasonCode.CITY_INQUIRY_NOT_LAUNCHED,
        detail=f"{person.city.name} has not launched online e-insurance inquiry, so the e-voucher "
        "platforms cannot show your balance.",
        remedy="Bring your social security card to the medical-insurance agency counter, or call "
        f"the hotline ({settings.NHSA_HOTLINE}) to check it.",
        extra={"hotline": settings.NHSA_HOTLINE},
    )


def _reason_evoucher(person: InsuredPerson, now: datetime) -> Reason:
    voucher: EVoucher | None = getattr(person, "evoucher", None)
    if voucher is not None and voucher.locked_until and voucher.locked_until > now:
        detail = (
            "Activation is paused after repeated failed face authentications, until "
            f"{clock.as_text(voucher.locked_until)}." + clock.simulated_wait_note()
        )
    elif voucher is not None and voucher.status == EVoucher.Status.AGREEMENT_ACCEPTED:
        detail = "You accepted the user agreement, but face authentication has not been passed."
    else:
        detail = "Your electronic medical-insurance voucher has not been activated, so it cannot be used or show your balance."
    return Reason(
        ReasonCode.EVOUCHER_NOT_ACTIVATED,
        detail=detail,
        remedy="Activate it in WeChat, Alipay or the national medical-insurance app (accept the user "
        "agreement, then pass face authentication), or at a designated pharmacy with your ID.",
    )


def _reason_wrong_channel(person: InsuredPerson) -> Reason:
    return Reason(
        ReasonCode.WRONG_CHANNEL,
        detail=f"In {person.city.name} the personal account is not shown online; only {COUNTER_CHANNELS_TEXT} can show it.",
        remedy=f"Ask at a designated hospital or pharmacy, or at the agency counter ({settings.NHSA_HOTLINE} tells you where).",
        extra={"channels": [Channel.INSTITUTION.value, Channel.COUNTER.value]},
    )


def _reason_abolished(person: InsuredPerson) -> Reason:
    city = person.city
    used = person.outpatient_pool_paid or ZERO
    remaining = max(ZERO, city.outpatient_pooling_annual_quota - used)
    ratio = int(city.outpatient_pooling_ratio * 100)
    return Reason(
        ReasonCode.PERSONAL_ACCOUNT_ABOLISHED,
        detail=f"Since {city.resident_accounts_abolished_on:%Y-%m-%d}, {city.name} has replaced resident "
        f"personal accounts with outpatient pooling: it pays {ratio}% of eligible common outpatient "
        f"costs, up to {city.outpatient_pooling_annual_quota:.2f} CNY a year; "
        f"{remaining:.2f} CNY remains this year.",
        remedy="Nothing to do: settle at designated institutions as usual and outpatient pooling pays its share.",
        extra={
            "outpatient_pooling": {
                "ratio": f"{city.outpatient_pooling_ratio:.4f}",
                "annual_quota": f"{city.outpatient_pooling_annual_quota:.2f}",
                "used": f"{used:.2f}",
                "remaining": f"{remaining:.2f}",
                "currency": CURRENCY,
            }
        },
    )


def _reason_card(person: InsuredPerson) -> Reason:
    status = person.card_status
    expected = None
    remedy = "Activate it at the local medical-insurance agency: bring the card and your ID, and set a PIN."
    if status is None:
        detail = "You have no social security card yet."
        remedy = (
            "Apply at the county medical-insurance centre (issued on the spot) or a street service point "
            "(ready within 3 working days), then activate it at the agency."
        )
    elif status == SocialSecurityCard.Status.PENDING:
        detail = f"Your card is being made; it will be ready on {person.card_ready_on:%Y-%m-%d}."
        expected = person.card_ready_on
        remedy = "Collect it when it is ready, then activate it at the agency (bring your ID, set a PIN)."
    elif status == SocialSecurityCard.Status.READY:
        detail = "Your card is ready for pick-up but has not been collected and activated."
        remedy = "Collect it at the service point and activate it at the agency (bring your ID, set a PIN)."
    elif status == SocialSecurityCard.Status.LOST:
        detail = "Your card was reported lost and no replacement has been issued."
        remedy = "Apply for a replacement at the agency, then activate the new card."
    else:
        detail = "Your physical social security card has been issued but not activated."
    return Reason(
        ReasonCode.CARD_NOT_ACTIVATED, detail=detail, remedy=remedy, expected_date=expected
    )


def _next_upload(city, today: date) -> date | None:
    """The city's next upload after today's, when today's has already run."""
    latest = city.latest_upload
    uploaded_today = latest is not None and clock.localdate(latest.as_of) == today
    return next_upload_on(city, today=today, uploaded_today=uploaded_today)


def _awaiting_first_contribution(person: InsuredPerson) -> bool:
    """An active employee from whom no contribution has arrived: nothing can be credited yet."""
    return person.is_employee and not person.is_retired and not person.has_contribution


def _reason_not_uploaded(person: InsuredPerson, today: date) -> Reason:
    city = person.city
    latest = city.latest_upload
    if not city.has_public_upload_channel:
        return Reason(
            ReasonCode.DATA_NOT_UPLOADED,
            detail=f"{city.name} has no public channel to the national platform, so no account data reaches it.",
            remedy="Online inquiry will not show it until the city opens one; designated institutions and "
            "agency counters read the live account meanwhile.",
        )
    expected = _next_upload(city, today)
    if latest is None:
        detail = f"{city.name} has not uploaded account data to the national platform yet."
    else:
        detail = f"Your account is not in {city.name}'s latest upload (as of {clock.as_text(latest.as_of)})."
    return Reason(
        ReasonCode.DATA_NOT_UPLOADED,
        detail=detail,
        remedy=f"Wait for the city's next upload, due on {expected:%Y-%m-%d}.",
        expected_date=expected,
    )


def _reason_busy(person: InsuredPerson, retry_after: int) -> Reason:
    return Reason(
        ReasonCode.PLATFORM_BUSY,
        detail=f"Too many people are querying {person.city.name}'s platform right now.",
        remedy=f"Query again off-peak; retry in {retry_after} seconds at the earliest."
        + clock.real_wait_note(),
        retry_after=retry_after,
    )


def _reason_funds(person: InsuredPerson, today: date, *, credited_since_snapshot: bool) -> Reason:
    if credited_since_snapshot:
        expected = _next_upload(person.city, today)
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail="At the city's last upload your account had not received its first crediting; it has "
            "been credited since, and shows online after the next upload.",
            remedy="Wait for the next upload"
            + (f", due on {expected:%Y-%m-%d}." if expected else "."),
            expected_date=expected,
        )
    if not person.is_employee and not person.has_contribution:
        # Crediting only credits residents whose year is paid: no date can be promised before.
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail="Your personal account is at 0.00 because this year's resident contribution has "
            "not been received; the first crediting follows it.",
            remedy="Pay this year's resident contribution; the first crediting follows on the next "
            "crediting day.",
        )
    expected = _expected_first_crediting(person, today)
    if _awaiting_first_contribution(person):
        detail = (
            "Your personal account is at 0.00 because no contribution has been received yet; the first "
            "crediting follows the first contribution."
        )
    else:
        detail = "Your personal account is at 0.00 because the agency has not yet posted its first crediting."
    return Reason(
        ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
        detail=detail,
        remedy=f"Wait; the first crediting is expected on {expected:%Y-%m-%d}.",
        expected_date=expected,
    )


def balance_diagnose(
    *, person: InsuredPerson, channel: str, count_query: bool = True
) -> BalanceDiagnosis:
    """Evaluate every check in the catalogue's order for one person and channel.

    ``person`` comes from :func:`person_for_balance`. The online channel shows the city's latest
    uploaded snapshot; the others the live ledger. With ``count_query`` false (the admin's view)
    the online check looks at the platform's load without adding to it.
    """
    now = clock.now()
    today = clock.localdate(now)
    city = person.city
    online = channel == Channel.ONLINE
    account: Account | None = getattr(person, "personal_account", None)
    snapshot = getattr(person, "snapshot", None)
    resident_abolished = not person.is_employee and city.resident_accounts_abolished_by(today)
    reasons: list[Reason] = []

    if online and not city.online_inquiry_launched:
        reasons.append(_reason_city_inquiry(person))
    voucher = getattr(person, "evoucher", None)
    if online and (voucher is None or voucher.status != EVoucher.Status.ACTIVATED):
        reasons.append(_reason_evoucher(person, now))
    if online and not city.personal_account_shown_online:
        reasons.append(_reason_wrong_channel(person))
    if resident_abolished:
        reasons.append(_reason_abolished(person))
    if (
        channel in (Channel.ONLINE, Channel.INSTITUTION)
        and person.card_status != SocialSecurityCard.Status.ACTIVE
    ):
        reasons.append(_reason_card(person))

    # Every upload carries everyone enrolled in the city, so a person is in the latest upload
    # exactly when the platform holds a snapshot row for them.
    snapshot_current = snapshot is not None
    if online and (not city.has_public_upload_channel or not snapshot_current):
        reasons.append(_reason_not_uploaded(person, today))
    if online and city.online_inquiry_launched:
        retry_after = platform_admit(
            city_id=city.id,
            capacity=city.query_capacity,
            window_seconds=city.query_window_seconds,
            forced_busy=city.platform_busy_forced,
            count=count_query,
        )
        if retry_after is not None:
            reasons.append(_reason_busy(person, retry_after))

    amount = as_of = source = None
    if account is not None:
        if online and snapshot_current:
            amount, as_of, source = snapshot.balance, snapshot.as_of, "snapshot"
            if amount == 0 and not snapshot.credited and not resident_abolished:
                reasons.append(
                    _reason_funds(person, today, credited_since_snapshot=person.has_crediting)
                )
        else:
            amount, as_of, source = account.balance, now, "live"
            if amount == 0 and not person.has_crediting and not resident_abolished:
                reasons.append(_reason_funds(person, today, credited_since_snapshot=False))

    reasons = in_catalogue_order(reasons)
    visible = (
        account is not None
        and not resident_abolished
        and not any(reason.hides_balance for reason in reasons)
    )
    return BalanceDiagnosis(
        person_id=person.id,
        channel=str(channel),
        visible=visible,
        amount=amount if visible else None,
        as_of=as_of if visible else None,
        source=source if visible else None,
        reasons=reasons,
    )


# --- Ledger history and payment records ----------------------------------------------------


def account_entries(*, account: Account) -> QuerySet[Entry]:
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-id")


def person_contributions(*, person_id: int) -> QuerySet[Contribution]:
    return Contribution.objects.filter(person_id=person_id).order_by("-period")
