"""The facts a balance answer depends on, read in one SQL statement whatever the person's history.

``BalanceFacts`` holds only the values the diagnosis reads (and, apart, what the caller asks the
city's query limiter with). They come from one literal statement: the person with their city,
the city's latest upload, e-voucher, personal account and snapshot, their latest card, whether
the account was ever credited or a contribution ever paid, the year's outpatient-pooling use, and
the employer's unpaid months and latest month received.

An insured person's own query (by login) is the platform's hottest read: on PostgreSQL it runs as
a prepared statement of the connection, so the planner does not work per request. An operator's
or a terminal's query adds the caller's visible set, compiled by the ORM, to the WHERE clause.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from common.money import ZERO
from common.names import name_in_language
from inquiry.notices import NO_EMPLOYER_PAYMENT_FACTS, EmployerPaymentFacts
from persons.models import InsuredPerson


@dataclass(frozen=True)
class AgencyContact:
    """The city's medical-insurance agency (social security bureau); blank where not recorded."""

    name: str = ""
    address: str = ""
    phone: str = ""
    name_zh: str = ""
    address_zh: str = ""

    @property
    def shown_name(self) -> str:
        """The agency's name in the language of the request."""
        return name_in_language(self.name, self.name_zh)

    @property
    def shown_address(self) -> str:
        """The counter's address in the language of the request."""
        return name_in_language(self.address, self.address_zh)


@dataclass(frozen=True)
class CityFacts:
    """What the diagnosis reads of the person's city. The schedule fields keep the City model's
    names, so the schedule rules of ``cities.selectors`` read these as they read a City."""

    name: str
    online_inquiry_launched: bool
    personal_account_shown_online: bool
    has_public_upload_channel: bool
    upload_frequency: str
    upload_day: int
    contribution_day: int
    crediting_day: int
    resident_accounts_abolished_on: date | None
    outpatient_pooling_ratio: Decimal
    outpatient_pooling_annual_quota: Decimal
    # When the data of the city's last finished upload was taken; None before its first.
    latest_upload_as_of: datetime | None
    # The city's medical-insurance agency, as far as the city has recorded it.
    agency: AgencyContact = AgencyContact()
    # The city's name in Chinese; blank where not recorded (the English name is shown then).
    name_zh: str = ""

    @property
    def shown_name(self) -> str:
        """The city's name in the language of the request."""
        return name_in_language(self.name, self.name_zh)

    def resident_accounts_abolished_by(self, day: date) -> bool:
        return (
            self.resident_accounts_abolished_on is not None
            and self.resident_accounts_abolished_on <= day
        )


@dataclass(frozen=True)
class SnapshotFacts:
    """The person's row in the city's latest upload to the national platform."""

    balance: Decimal
    as_of: datetime
    credited: bool


@dataclass(frozen=True)
class PlatformQuota:
    """What the caller asks the city's query limiter (``cities.limiter``) with; the diagnosis
    never reads it."""

    city_id: int
    capacity: int
    window_seconds: int
    forced_busy: bool


@dataclass(frozen=True)
class BalanceFacts:
    person_id: int
    is_employee: bool
    is_retired: bool
    enrolled_on: date
    city: CityFacts
    # The e-voucher's status and activation lock; status None without an e-voucher.
    evoucher_status: str | None
    evoucher_locked_until: datetime | None
    # The latest card's status and ready date; status None without any card.
    card_status: str | None
    card_ready_on: date | None
    # The live personal account's balance; None without a personal account.
    account_balance: Decimal | None
    snapshot: SnapshotFacts | None
    has_crediting: bool
    has_contribution: bool
    # Outpatient pooling paid this year; None before the first such payment.
    outpatient_pool_paid: Decimal | None
    platform: PlatformQuota
    # The employer's unpaid months and the latest month received (employees on an employer).
    employer_payments: EmployerPaymentFacts = NO_EMPLOYER_PAYMENT_FACTS


# The one balance statement. The first parameter is the year of the outpatient-pooling use, the
# others are the WHERE clause's.
_BALANCE_FACTS_SQL = """
SELECT p.id, p.scheme, p.employment_status, p.enrolled_on,
       c.id, c.name, c.online_inquiry_launched, c.personal_account_shown_online,
       c.has_public_upload_channel, c.upload_frequency, c.upload_day, c.contribution_day,
       c.crediting_day, c.resident_accounts_abolished_on, c.outpatient_pooling_ratio,
       c.outpatient_pooling_annual_quota, c.query_capacity, c.query_window_seconds,
       c.platform_busy_forced, u.as_of,
       c.agency_name, c.agency_address, c.agency_phone, c.name_zh, c.agency_name_zh,
       c.agency_address_zh,
       e.status, e.locked_until,
       k.status, k.ready_on,
       a.id, a.balance,
       s.person_id, s.balance, s.as_of, s.credited,
       EXISTS (SELECT 1 FROM accounts_crediting r WHERE r.account_id = a.id),
       EXISTS (SELECT 1 FROM accounts_contribution n WHERE n.person_id = p.id),
       (SELECT y.outpatient_pool_paid FROM settlement_annualusage y
        WHERE y.person_id = p.id AND y.year = %s LIMIT 1),
       (SELECT r.name FROM employers_employer r WHERE r.id = COALESCE(ar.employer_id, lc.employer_id)),
       ar.periods, ar.owed, ar.share, lc.period, lc.payment_base, lc.base_due, lc.account_share
FROM persons_insuredperson p
INNER JOIN cities_city c ON c.id = p.city_id
LEFT OUTER JOIN uploads_cityupload u ON u.id = c.latest_upload_id
LEFT OUTER JOIN cards_evoucher e ON e.person_id = p.id
LEFT OUTER JOIN LATERAL (
    SELECT status, ready_on FROM cards_socialsecuritycard
    WHERE person_id = p.id ORDER BY id DESC LIMIT 1
) k ON TRUE
LEFT OUTER JOIN accounts_account a ON a.person_id = p.id
LEFT OUTER JOIN uploads_balancesnapshot s ON s.person_id = p.id
LEFT OUTER JOIN LATERAL (
    SELECT MIN(employer_id) AS employer_id, ARRAY_AGG(period ORDER BY period) AS periods,
           SUM(employer_amount + individual_amount) AS owed, SUM(account_share) AS share
    FROM accounts_contributionarrear WHERE person_id = p.id AND contribution_id IS NULL
) ar ON TRUE
LEFT OUTER JOIN LATERAL (
    SELECT period, payment_base, base_due, account_share, employer_id FROM accounts_contribution
    WHERE person_id = p.id AND kind = 'EMPLOYEE_MONTHLY' ORDER BY period DESC LIMIT 1
) lc ON TRUE
"""
_BY_LOGIN = _BALANCE_FACTS_SQL + "WHERE p.user_id = %s"
_BY_PERSON = _BALANCE_FACTS_SQL + "WHERE p.id = %s"

# Django turns psycopg's preparing off (a threshold of None), which refuses prepare=True as well;
# a threshold no statement reaches lets a statement asked to prepare be prepared, and no other.
_NEVER_BY_COUNT = 2**31


class _PreparingCursor(psycopg.Cursor):
    """psycopg's server-binding cursor, running its statement with ``prepare=True``. Django's own
    cursors bind on the client, which psycopg never prepares."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def _fetch_prepared(sql: str, params: list[Any]) -> list[tuple]:
    """Up to two rows of ``sql`` run as a prepared statement of Django's connection: the one place
    that touches the driver. The cursor is wrapped as Django wraps its own, so the statement is
    logged, counted, instrumented and its errors translated like any other. psycopg keeps the
    prepared statements per connection and prepares again after a rollback or a reconnection."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    driver = connection.connection
    if driver.prepare_threshold is None:
        driver.prepare_threshold = _NEVER_BY_COUNT
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(_PreparingCursor(driver)) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchmany(2)


def _fetch_visible(person_id: int, visible: QuerySet, params: list[Any]) -> list[tuple]:
    """Up to two rows of the statement for a person in the caller's visible set (an ORM
    subquery, different per caller, so not worth preparing)."""
    try:
        subquery, subparams = (
            visible.filter(pk=person_id).order_by().values("pk").query.sql_with_params()
        )
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_BALANCE_FACTS_SQL}WHERE p.id IN ({subquery})",
            [*params, *subparams],
        )
        return cursor.fetchmany(2)


def balance_facts(
    *,
    year: int,
    person_id: int | None = None,
    user_id: int | None = None,
    visible: QuerySet | None = None,
) -> BalanceFacts:
    """The facts of one person, by their login (``user_id``) or by ``person_id``, in one SQL
    query; with ``visible`` (the caller's visible persons) a person outside it is not found.
    ``year`` is the current year on the domain's clock. Raises ``InsuredPerson.DoesNotExist``."""
    if visible is not None:
        rows = _fetch_visible(person_id, visible, [year])
    elif user_id is not None:
        rows = _fetch_prepared(_BY_LOGIN, [year, user_id])
    else:
        rows = _fetch_prepared(_BY_PERSON, [year, person_id])
    if not rows:
        raise InsuredPerson.DoesNotExist("InsuredPerson matching query does not exist.")
    if len(rows) > 1:
        raise InsuredPerson.MultipleObjectsReturned("More than one person matched the lookup.")
    return _facts_from_row(rows[0])


def balance_facts_of_persons(*, year: int, person_ids: Sequence[int]) -> dict[int, BalanceFacts]:
    """The facts of several persons (a page of the console's list), by id, in one SQL query.
    ``year`` is the current year on the domain's clock; ids that match no one are left out."""
    if not person_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"{_BALANCE_FACTS_SQL}WHERE p.id = ANY(%s)", [year, list(person_ids)])
        return {facts.person_id: facts for facts in map(_facts_from_row, cursor.fetchall())}


# The statement's columns, in order.
_COLUMNS = (
    "person_id",
    "scheme",
    "employment_status",
    "enrolled_on",
    "city_id",
    "city_name",
    "online_inquiry_launched",
    "personal_account_shown_online",
    "has_public_upload_channel",
    "upload_frequency",
    "upload_day",
    "contribution_day",
    "crediting_day",
    "resident_accounts_abolished_on",
    "outpatient_pooling_ratio",
    "outpatient_pooling_annual_quota",
    "query_capacity",
    "query_window_seconds",
    "platform_busy_forced",
    "latest_upload_as_of",
    "agency_name",
    "agency_address",
    "agency_phone",
    "city_name_zh",
    "agency_name_zh",
    "agency_address_zh",
    "evoucher_status",
    "evoucher_locked_until",
    "card_status",
    "card_ready_on",
    "account_id",
    "account_balance",
    "snapshot_person_id",
    "snapshot_balance",
    "snapshot_as_of",
    "snapshot_credited",
    "has_crediting",
    "has_contribution",
    "outpatient_pool_paid",
    "employer_name",
    "unpaid_periods",
    "unpaid_amount",
    "unpaid_account_share",
    "latest_period",
    "latest_base_used",
    "latest_base_due",
    "latest_account_share",
)


def _facts_from_row(row: tuple) -> BalanceFacts:
    value = dict(zip(_COLUMNS, row, strict=True))
    return BalanceFacts(
        person_id=value["person_id"],
        is_employee=value["scheme"] == InsuredPerson.Scheme.EMPLOYEE,
        is_retired=value["employment_status"] == InsuredPerson.EmploymentStatus.RETIRED,
        enrolled_on=value["enrolled_on"],
        city=CityFacts(
            name=value["city_name"],
            online_inquiry_launched=value["online_inquiry_launched"],
            personal_account_shown_online=value["personal_account_shown_online"],
            has_public_upload_channel=value["has_public_upload_channel"],
            upload_frequency=value["upload_frequency"],
            upload_day=value["upload_day"],
            contribution_day=value["contribution_day"],
            crediting_day=value["crediting_day"],
            resident_accounts_abolished_on=value["resident_accounts_abolished_on"],
            outpatient_pooling_ratio=value["outpatient_pooling_ratio"],
            outpatient_pooling_annual_quota=value["outpatient_pooling_annual_quota"],
            latest_upload_as_of=value["latest_upload_as_of"],
            agency=AgencyContact(
                name=value["agency_name"],
                address=value["agency_address"],
                phone=value["agency_phone"],
                name_zh=value["agency_name_zh"],
                address_zh=value["agency_address_zh"],
            ),
            name_zh=value["city_name_zh"],
        ),
        evoucher_status=value["evoucher_status"],
        evoucher_locked_until=value["evoucher_locked_until"],
        card_status=value["card_status"],
        card_ready_on=value["card_ready_on"],
        account_balance=value["account_balance"] if value["account_id"] is not None else None,
        snapshot=(
            SnapshotFacts(
                balance=value["snapshot_balance"],
                as_of=value["snapshot_as_of"],
                credited=value["snapshot_credited"],
            )
            if value["snapshot_person_id"] is not None
            else None
        ),
        has_crediting=value["has_crediting"],
        has_contribution=value["has_contribution"],
        outpatient_pool_paid=value["outpatient_pool_paid"],
        platform=PlatformQuota(
            city_id=value["city_id"],
            capacity=value["query_capacity"],
            window_seconds=value["query_window_seconds"],
            forced_busy=value["platform_busy_forced"],
        ),
        employer_payments=_employer_payment_facts(value),
    )


def _employer_payment_facts(value: dict) -> EmployerPaymentFacts:
    if value["unpaid_periods"] is None and value["latest_base_due"] is None:
        return NO_EMPLOYER_PAYMENT_FACTS
    return EmployerPaymentFacts(
        employer_name=value["employer_name"],
        unpaid_periods=tuple(value["unpaid_periods"] or ()),
        unpaid_amount=value["unpaid_amount"] or ZERO,
        unpaid_account_share=value["unpaid_account_share"] or ZERO,
        latest_period=value["latest_period"],
        latest_base_used=value["latest_base_used"],
        latest_base_due=value["latest_base_due"],
        latest_account_share=value["latest_account_share"],
    )
