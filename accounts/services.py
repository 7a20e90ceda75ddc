"""Writes to the ledger: opening accounts, posting transfers, recording contributions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Q
from django.utils.translation import gettext

from accounts.error_codes import LedgerErrorCode
from accounts.events import contribution_event_record
from accounts.models import (
    STRIPES,
    Account,
    AccountStripe,
    Contribution,
    ContributionArrear,
    Entry,
    Transfer,
)
from common import clock
from common.audit import acting_user
from common.context import current_request_id
from common.errors import DomainError, violated_constraint
from common.money import MAX_DIGITS, ZERO, money
from common.statements import ids_reserved_sql, ids_split
from employers.models import Employment

# PostgreSQL's SQLSTATE for an entry naming an account that does not exist.
FOREIGN_KEY_VIOLATION = "23503"
UNIQUE_VIOLATION = "23505"
# The largest amount a ledger column holds (14 digits, 2 of them after the point).
MAX_AMOUNT = Decimal(10) ** (MAX_DIGITS - 2)


@dataclass(frozen=True)
class Leg:
    """One side of a transfer: a signed amount on an account (credit > 0, debit < 0)."""

    account_id: int
    amount: Decimal


def _checked_amount(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value == 0:
        raise DomainError(LedgerErrorCode.TRANSFER_INVALID_AMOUNT)
    if value.as_tuple().exponent < -2 or abs(value) >= MAX_AMOUNT:
        raise DomainError(LedgerErrorCode.TRANSFER_INVALID_AMOUNT)
    return money(value)


def _same_legs(transfer: Transfer, legs: Sequence[Leg]) -> bool:
    posted = sorted(transfer.entries.values_list("account_id", "amount"))
    return posted == sorted((leg.account_id, money(leg.amount)) for leg in legs)


def striping_on() -> bool:
    """Whether postings spread over striped accounts' stripes (settings.LEDGER_STRIPING; off, every
    posting writes and locks the accounts' own rows, as before striping)."""
    return getattr(settings, "LEDGER_STRIPING", True)


def lock_accounts(account_ids: Sequence[int]) -> dict[int, Account]:
    """Lock, in id order (every posting path does, so concurrent postings cannot deadlock), the
    accounts whose own row a posting writes: those that are not striped. A striped account is not
    locked: a posting writes one of its stripes that no other transaction holds (migration 0014).
    Returns the accounts locked."""
    accounts = Account.objects.select_for_update(no_key=True).filter(id__in=set(account_ids))
    if striping_on():
        accounts = accounts.filter(stripes=1)
    return {account.id: account for account in accounts.order_by("id")}


@dataclass(frozen=True)
class AccountsHeld:
    """The accounts a posting goes through, found and locked in one statement
    (``accounts_find_and_lock``)."""

    # Every account found, by id (the unlocked ones carry only their id, kind and owners).
    found: dict[int, Account]
    # Those locked (the accounts lock_accounts would lock), each read by its lock.
    locked: dict[int, Account]
    # The ids reserved in the same statement, per (model, how many) asked for.
    reserved_ids: list[list[int]]
    # The columns of the row the caller's own locking read found first (None: no row).
    first_row: tuple | None = None


@dataclass(frozen=True)
class LockFirst:
    """A caller's locking read (``SELECT ... FOR NO KEY UPDATE`` of one row at most) that its lock
    order puts before the accounts': ``accounts_find_and_lock`` runs it in the same statement,
    before any account is locked, and locks no account when it finds no row."""

    sql: str
    params: Sequence
    columns: int


_NOTHING_FIRST = LockFirst("SELECT WHERE FALSE", (), 0)


def _accounts_statement(
    inner_sql: str, *, reserve, first: LockFirst, required_sql: str | None
) -> str:
    unstriped = "AND a.stripes = 1" if striping_on() else ""
    first_columns = "first.*, " if first.columns else ""
    # Without the caller's row, or without an account the caller needs, nothing is locked: the
    # caller makes what is missing and asks again, so no account is ever held while the caller
    # waits for that row or inserts that account (holding one then could deadlock).
    ready = [
        "(SELECT COUNT(*) FROM first) > 0" if first.columns else "TRUE",
        f"EXISTS ({required_sql})" if required_sql else "TRUE",
    ]
    return f"""
        WITH first AS MATERIALIZED ({first.sql}),
        wanted AS MATERIALIZED ({inner_sql}),
        -- The caller's row first (the conditions are evaluated once, before any account is read),
        -- then the accounts in id order.
        locked AS MATERIALIZED (
            SELECT a.id, a.balance FROM accounts_account a
             WHERE a.id IN (SELECT id FROM wanted) {unstriped}
               AND {ready[0]} AND {ready[1]}
             ORDER BY a.id FOR NO KEY UPDATE
        ),
        -- Drawn once the locks are held: rows written under them are numbered in the order
        -- their postings take effect.
        ids AS MATERIALIZED (
            SELECT {ids_reserved_sql(reserve) or "1"} FROM (SELECT COUNT(*) FROM locked) held
        )
        SELECT ids.*, {first_columns}a.id, a.kind, a.city_id, a.person_id, a.institution_id,
               a.stripes, l.id IS NOT NULL, l.balance
          FROM ids LEFT JOIN first ON TRUE LEFT JOIN (
               accounts_account a JOIN wanted w ON w.id = a.id LEFT JOIN locked l ON l.id = a.id
          ) ON TRUE
    """  # noqa: S608 (the filters' SQL is the ORM's and the caller's, values are parameters)


def _account_held(values: Sequence) -> tuple[Account, bool]:
    account_id, kind, city_id, person_id, institution_id, stripes, is_locked, balance = values
    account = Account(
        id=account_id,
        kind=kind,
        city_id=city_id,
        person_id=person_id,
        institution_id=institution_id,
        # The row's part as the lock read it; a striped account's balance (``balance``) adds
        # its stripes, read when asked (only with striping off is a striped account locked).
        row_balance=balance if is_locked else ZERO,
        stripes=stripes,
    )
    account._state.adding = False
    return account, is_locked


def accounts_find_and_lock(
    wanted: Q,
    *,
    reserve: Sequence[tuple[type[Model], int]] = (),
    lock_first: LockFirst | None = None,
    required: Q | None = None,
) -> AccountsHeld:
    """The accounts ``wanted`` names, those lock_accounts would lock locked in its order, new ids
    of other tables reserved (``common.statements.ids_reserved_sql``) and the caller's own row locked
    before them (``lock_first``), in one statement of the caller's transaction: a busy flow's
    reads in one round trip. A locked row is read by its lock, after any transaction it waited
    for. When ``lock_first`` finds no row, or no account matches ``required``, no account is
    locked: the caller makes what is missing and asks again."""
    if not connection.in_atomic_block:
        raise RuntimeError("accounts_find_and_lock runs inside the caller's transaction")
    first = lock_first or _NOTHING_FIRST
    inner_sql, inner_params = (
        Account.objects.filter(wanted).values_list("id").query.sql_with_params()
    )
    required_sql, required_params = None, ()
    if required is not None:
        required_sql, required_params = (
            Account.objects.filter(required).values_list("id").query.sql_with_params()
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _accounts_statement(inner_sql, reserve=reserve, first=first, required_sql=required_sql),
            [*first.params, *inner_params, *required_params],
        )
        rows = cursor.fetchall()
    width = sum(count for _, count in reserve) or 1
    found, locked = {}, {}
    for row in rows:
        if row[width + first.columns] is None:
            continue
        account, is_locked = _account_held(row[width + first.columns :])
        found[account.id] = account
        if is_locked:
            locked[account.id] = account
    first_row = tuple(rows[0][width : width + first.columns])
    return AccountsHeld(
        found=found,
        locked=locked,
        reserved_ids=ids_split(rows[0][:width], reserve),
        first_row=first_row if first.columns and any(v is not None for v in first_row) else None,
    )


def _accounts_of(legs: Sequence[Leg]) -> dict[int, Account]:
    """The legs' unstriped accounts, locked. An account not among them is striped, or does not
    exist: then its entry's foreign key refuses the transfer (see _transfer_insert)."""
    wanted = {leg.account_id for leg in legs}
    accounts = lock_accounts(list(wanted))
    if len(accounts) != len(wanted) and not striping_on():
        raise DomainError(LedgerErrorCode.ACCOUNT_NOT_FOUND)
    return accounts


def _checked_legs(*, legs: Sequence[Leg]) -> list[Leg]:
    """The legs with their amounts checked, refused unless there are two or more summing to 0."""
    checked = [Leg(leg.account_id, _checked_amount(leg.amount)) for leg in legs]
    if len(checked) < 2 or sum(leg.amount for leg in checked) != 0:
        raise DomainError(LedgerErrorCode.TRANSFER_UNBALANCED)
    return checked


def _key_conflict(key: str) -> DomainError:
    return DomainError(
        LedgerErrorCode.TRANSFER_KEY_CONFLICT,
        gettext("Transfer key %(key)s is already used.") % {"key": repr(key)},
    )


def _transfer_already_posted(*, key: str, legs: Sequence[Leg]) -> Transfer | None:
    """The transfer posted under this key before, if its legs are these; refused if they differ."""
    existing = Transfer.objects.filter(key=key).first()
    if existing is not None and not _same_legs(existing, legs):
        raise _key_conflict(key)
    return existing


def _check_no_overdraft(*, accounts: dict[int, Account], legs: Sequence[Leg]) -> None:
    deltas: dict[int, Decimal] = {}
    for leg in legs:
        deltas[leg.account_id] = deltas.get(leg.account_id, ZERO) + leg.amount
    for account_id, delta in deltas.items():
        # A striped account is not held: the database checks its rule at the posting.
        account = accounts.get(account_id)
        if account is None:
            continue
        if account.kind in Account.NEVER_NEGATIVE_KINDS and account.balance + delta < 0:
            raise DomainError(
                LedgerErrorCode.INSUFFICIENT_FUNDS,
                gettext("%(get_kind_display)s #%(account_id)s holds %(balance)s CNY.")
                % {
                    "get_kind_display": account.get_kind_display(),
                    "account_id": account.id,
                    "balance": format(account.balance, ".2f"),
                },
            )


def _transfer_row(
    *,
    kind: str,
    key: str,
    memo: str,
    by,
    posted_at: datetime | None,
    transfer_id: int | None = None,
) -> Transfer:
    return Transfer(
        id=transfer_id,
        kind=kind,
        key=key,
        memo=memo[:255],
        posted_at=posted_at or clock.now(),
        created_by=acting_user(by),
        request_id=current_request_id(),
    )


def _transfer_create(
    *, kind: str, key: str, memo: str, legs: Sequence[Leg], by, posted_at: datetime | None
) -> Transfer:
    transfer = _transfer_row(kind=kind, key=key, memo=memo, by=by, posted_at=posted_at)
    transfer.save(force_insert=True)
    Entry.objects.bulk_create(
        [Entry(transfer=transfer, account_id=leg.account_id, amount=leg.amount) for leg in legs]
    )
    return transfer


def _transfer_insert(
    *, kind: str, key: str, memo: str, legs: Sequence[Leg], by, posted_at: datetime | None
) -> Transfer:
    try:
        with transaction.atomic():
            transfer = _transfer_create(
                kind=kind, key=key, memo=memo, legs=legs, by=by, posted_at=posted_at
            )
    except IntegrityError as exc:
        # The database is the last word: a concurrent transfer took the key (the same movement,
        # posted once: it is the answer; another: refused), or a rule Python did not see refused
        # it (a striped account's balance is checked only there).
        if getattr(exc.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
            raise DomainError(LedgerErrorCode.ACCOUNT_NOT_FOUND) from exc
        concurrent = Transfer.objects.filter(key=key).first()
        if concurrent is not None:
            if _same_legs(concurrent, legs):
                return concurrent
            raise _key_conflict(key) from exc
        raise DomainError(
            LedgerErrorCode.INSUFFICIENT_FUNDS, gettext("The ledger refused the transfer.")
        ) from exc
    return transfer


def transfer_post(
    *,
    kind: str,
    key: str,
    memo: str,
    legs: Sequence[Leg],
    by=None,
    posted_at: datetime | None = None,
) -> Transfer:
    """Post one balanced transfer, once. The same key with the same legs returns the first
    transfer; the same key with different legs is refused. Never overdraws an account that may
    not go negative."""
    legs = _checked_legs(legs=legs)
    with transaction.atomic():
        accounts = _accounts_of(legs)
        existing = _transfer_already_posted(key=key, legs=legs)
        if existing is not None:
            return existing
        _check_no_overdraft(accounts=accounts, legs=legs)
        return _transfer_insert(
            kind=kind, key=key, memo=memo, legs=legs, by=by, posted_at=posted_at
        )


def transfer_rows(
    *,
    transfer_id: int,
    kind: str,
    key: str,
    memo: str,
    legs: Sequence[Leg],
    locked: dict[int, Account],
    by=None,
    posted_at: datetime,
) -> tuple[Transfer, list[Entry]]:
    """One balanced transfer as unsaved rows, for a flow that posts it as one step of its own
    transaction and writes it in one statement with its own rows (``common.statements``): the
    transfer, under its reserved id and a key no transfer can hold yet (it names a row of the
    flow's), and its entries, checked against the accounts the flow locked
    (``accounts_find_and_lock`` or ``lock_accounts``, whose answer is ``locked``). No look-up of
    the key, no second lock, no savepoint: a refusal by the database when they are written
    (``ledger_refusal``) leaves the flow's transaction unusable, for its atomic block to roll
    back."""
    legs = _checked_legs(legs=legs)
    _check_no_overdraft(accounts=locked, legs=legs)
    transfer = _transfer_row(
        kind=kind, key=key, memo=memo, by=by, posted_at=posted_at, transfer_id=transfer_id
    )
    entries = [
        Entry(transfer=transfer, account_id=leg.account_id, amount=leg.amount) for leg in legs
    ]
    return transfer, entries


# The ledger's tables: a violation on one of them, or of a rule its triggers raise (named
# ledger_*, or the balance rules they check for striped accounts), is the ledger refusing.
_LEDGER_TABLES = {model._meta.db_table for model in (Account, AccountStripe, Transfer, Entry)}
_LEDGER_RULES = {"account_balance_not_negative", "source_account_only_gives"}


def ledger_refused(exc: IntegrityError) -> bool:
    """Whether the database refused a write because of the ledger's rules (``ledger_refusal``
    says how), not because of another table's."""
    name = violated_constraint(exc) or ""
    table = getattr(getattr(exc.__cause__, "diag", None), "table_name", None)
    return name.startswith("ledger_") or name in _LEDGER_RULES or table in _LEDGER_TABLES


def ledger_refusal(exc: IntegrityError, *, key: str) -> DomainError:
    """The refusal a fresh transfer's rows met in the database: an account that does not exist,
    its key taken, or a ledger rule (a striped account's balance is checked only there)."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate == FOREIGN_KEY_VIOLATION:
        return DomainError(LedgerErrorCode.ACCOUNT_NOT_FOUND)
    if sqlstate == UNIQUE_VIOLATION:
        return _key_conflict(key)  # the transfer's only unique column
    return DomainError(
        LedgerErrorCode.INSUFFICIENT_FUNDS, gettext("The ledger refused the transfer.")
    )


# --- Accounts ------------------------------------------------------------------------------


def city_accounts_open(*, city) -> dict[str, Account]:
    """Create the city's pools, clearing and source accounts, striped (idempotent)."""
    opened = {}
    for kind in Account.CITY_KINDS:
        account, _ = Account.objects.get_or_create(
            city=city, kind=kind, defaults={"stripes": STRIPES}
        )
        opened[kind] = account
    return opened


def city_account(*, city_id: int, kind: str) -> Account:
    return Account.objects.get(city_id=city_id, kind=kind)


def city_account_ids(*, city_id: int) -> dict[str, int]:
    """The ids of a city's pools, clearing and source accounts, by kind."""
    return dict(
        Account.objects.filter(city_id=city_id, kind__in=Account.CITY_KINDS).values_list(
            "kind", "id"
        )
    )


def personal_account_open(*, person) -> Account:
    account, _ = Account.objects.get_or_create(
        person=person, defaults={"kind": Account.Kind.PERSONAL, "city_id": person.city_id}
    )
    return account


def institution_account_open(*, institution) -> Account:
    account, _ = Account.objects.get_or_create(
        institution=institution,
        defaults={
            "kind": Account.Kind.INSTITUTION,
            "city_id": institution.city_id,
            "stripes": STRIPES,
        },
    )
    return account


# --- Contributions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionFigures:
    payment_base: Decimal | None
    employer_amount: Decimal
    individual_amount: Decimal
    subsidy_amount: Decimal
    account_share: Decimal


def employee_contribution_figures(*, person, payment_base: Decimal) -> ContributionFigures:
    """Employer and individual shares on the base clamped to the city's bounds. Since the 2021
    outpatient mutual-aid reform the individual 2 % goes to the personal account."""
    city = person.city
    base = min(max(money(payment_base), city.payment_base_min), city.payment_base_max)
    individual = money(base * city.individual_rate)
    return ContributionFigures(
        payment_base=base,
        employer_amount=money(base * city.employer_rate),
        individual_amount=individual,
        subsidy_amount=ZERO,
        account_share=individual,
    )


def resident_contribution_figures(*, person) -> ContributionFigures:
    """The yearly individual amount (less or nothing for subsidised groups) and the government
    subsidy, which also covers what a subsidised person does not pay."""
    city = person.city
    standard = city.resident_individual_contribution
    subsidised = person.subsidy_category != person.SubsidyCategory.NONE
    individual = min(city.subsidized_individual_contribution, standard) if subsidised else standard
    return ContributionFigures(
        payment_base=None,
        employer_amount=ZERO,
        individual_amount=individual,
        subsidy_amount=city.resident_government_subsidy + (standard - individual),
        account_share=ZERO,
    )


def _period_refused(detail: str) -> DomainError:
    return DomainError(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID, detail)


def _check_enrolled_by(*, period: date, enrolled_period: date) -> None:
    if period < enrolled_period:
        raise DomainError(LedgerErrorCode.CONTRIBUTION_BEFORE_ENROLMENT)


def _employee_contribution_due(
    *, person, period: date, payment_base: Decimal | None, today: date | None
) -> ContributionFigures:
    """An employee's month: begun (on ``today``), on the given base or the declared wage."""
    if person.is_retired:
        raise _period_refused("Retirees do not pay contributions.")
    if period.day != 1:
        raise _period_refused("Employees contribute per month (day 1).")
    today = clock.today() if today is None else today
    if period > today.replace(day=1):
        raise _period_refused("Employers pay a month once it has begun, not ahead.")
    base = payment_base if payment_base is not None else person.declared_wage
    if base is None:
        raise _period_refused("No payment base given or declared.")
    figures = employee_contribution_figures(person=person, payment_base=base)
    _check_enrolled_by(period=period, enrolled_period=person.enrolled_on.replace(day=1))
    return figures


def _resident_contribution_due(*, person, period: date) -> ContributionFigures:
    if (period.month, period.day) != (1, 1):
        raise _period_refused("Residents contribute per year (1 January).")
    figures = resident_contribution_figures(person=person)
    _check_enrolled_by(period=period, enrolled_period=person.enrolled_on.replace(month=1, day=1))
    return figures


def _contribution_already_recorded(
    *, person, period: date, figures: ContributionFigures
) -> Contribution | None:
    """The period's contribution recorded before, if it has these figures; refused if not."""
    existing = Contribution.objects.filter(person=person, period=period).first()
    if existing is not None and (
        existing.employer_amount,
        existing.individual_amount,
        existing.subsidy_amount,
    ) != (figures.employer_amount, figures.individual_amount, figures.subsidy_amount):
        raise DomainError(LedgerErrorCode.CONTRIBUTION_ALREADY_RECORDED)
    return existing


def _contribution_legs(*, person, figures: ContributionFigures) -> list[Leg]:
    """Employees: the employer's share and the individual's rest to the employee pool, the
    personal-account share to its clearing account. Residents: the outpatient share to the
    outpatient pool, the rest to the resident pool. All of it from the contribution source."""
    accounts = city_account_ids(city_id=person.city_id)
    total = figures.employer_amount + figures.individual_amount + figures.subsidy_amount
    if person.is_employee:
        legs = [
            Leg(accounts[Account.Kind.EMPLOYEE_POOL], figures.employer_amount),
            Leg(accounts[Account.Kind.PERSONAL_ACCOUNT_CLEARING], figures.account_share),
            Leg(
                accounts[Account.Kind.EMPLOYEE_POOL],
                figures.individual_amount - figures.account_share,
            ),
        ]
    else:
        outpatient = money(total * person.city.resident_outpatient_pool_share)
        legs = [
            Leg(accounts[Account.Kind.OUTPATIENT_POOL], outpatient),
            Leg(accounts[Account.Kind.RESIDENT_POOL], total - outpatient),
        ]
    legs = [leg for leg in legs if leg.amount != 0]
    legs.append(Leg(accounts[Account.Kind.CONTRIBUTION_SOURCE], -total))
    return legs


@dataclass(frozen=True)
class _MonthOwed:
    """An employee's month as owed: the base due, the employer paying it, and its arrear when
    the employer did not pay it at the collection."""

    base_due: Decimal | None
    employer_id: int | None
    arrear: ContributionArrear | None


def _employee_month_owed(*, person, period: date) -> _MonthOwed:
    if not person.is_employee:
        return _MonthOwed(base_due=None, employer_id=None, arrear=None)
    arrear = ContributionArrear.objects.filter(
        person=person, period=period, contribution__isnull=True
    ).first()
    if arrear is not None:
        return _MonthOwed(base_due=arrear.base_due, employer_id=arrear.employer_id, arrear=arrear)
    base_due = None
    if person.declared_wage is not None:
        base_due = employee_contribution_figures(
            person=person, payment_base=person.declared_wage
        ).payment_base
    employer_id = (
        Employment.objects.filter(person=person).values_list("employer_id", flat=True).first()
    )
    return _MonthOwed(base_due=base_due, employer_id=employer_id, arrear=None)


def contribution_record(
    *,
    person,
    period: date,
    payment_base: Decimal | None = None,
    by=None,
    today: date | None = None,
) -> Contribution:
    """Record one period's contribution and move its money, once per person and period.

    Employees: monthly (``period`` is the first of the month, one that has begun on ``today``,
    the caller's clock.today(), read here when not given), on the given base or the declared
    wage. Residents: yearly (``period`` is 1 January). Retirees do not contribute.
    An employee's month the employer left unpaid (an arrear) is paid by this receipt, on its base
    due unless a base is given. The base due and the employer are recorded with it.
    """
    from persons.models import InsuredPerson

    person = InsuredPerson.objects.select_related("city").get(pk=person.pk)
    owed = _employee_month_owed(person=person, period=period)
    if person.is_employee:
        kind = Contribution.Kind.EMPLOYEE_MONTHLY
        figures = _employee_contribution_due(
            person=person,
            period=period,
            payment_base=owed.base_due if payment_base is None and owed.arrear else payment_base,
            today=today,
        )
    else:
        kind = Contribution.Kind.RESIDENT_YEARLY
        figures = _resident_contribution_due(person=person, period=period)

    with transaction.atomic():
        # One receipt at a time per person, so a retried or concurrent receipt finds the first.
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=person.pk).first()
        if owed.arrear is not None:
            # A month received meanwhile (a receipt racing the collection) pays its arrear as is.
            received = Contribution.objects.filter(person=person, period=period).first()
            if received is not None:
                return _arrear_paid_by(owed.arrear, received)
        existing = _contribution_already_recorded(person=person, period=period, figures=figures)
        if existing is not None:
            return existing
        contribution = _contribution_insert(
            person=person, kind=kind, period=period, figures=figures, owed=owed, by=by
        )
        return _arrear_paid_by(owed.arrear, contribution) if owed.arrear else contribution


def _arrear_paid_by(arrear: ContributionArrear, contribution: Contribution) -> Contribution:
    """The employer's unpaid month is paid by this receipt (once: an arrear paid stays so)."""
    ContributionArrear.objects.filter(pk=arrear.pk, contribution__isnull=True).update(
        contribution=contribution, paid_at=contribution.received_at
    )
    return contribution


def _contribution_insert(
    *, person, kind: str, period: date, figures: ContributionFigures, owed: _MonthOwed, by
) -> Contribution:
    """The period's transfer, then its payment record."""
    label = f"{period:%Y-%m}" if person.is_employee else f"{period:%Y}"
    transfer = transfer_post(
        kind=Transfer.Kind.CONTRIBUTION,
        key=f"contribution:{person.id}:{period:%Y-%m}",
        memo=f"Contribution {label} of person {person.id}",
        legs=_contribution_legs(person=person, figures=figures),
        by=by,
    )
    contribution = Contribution.objects.create(
        person=person,
        kind=kind,
        period=period,
        payment_base=figures.payment_base,
        employer_amount=figures.employer_amount,
        individual_amount=figures.individual_amount,
        subsidy_amount=figures.subsidy_amount,
        account_share=figures.account_share,
        base_due=owed.base_due,
        employer_id=owed.employer_id,
        received_at=transfer.posted_at,
        transfer=transfer,
        created_by=acting_user(by),
    )
    contribution_event_record(contribution, city_id=person.city_id)
    return contribution
