"""A large generated population for load and scale work (``seed_demo --persons N``).

Bulk inserts in batches, so memory stays bounded whatever N. Each batch is one transaction: the
persons, then their personal accounts and e-vouchers. On PostgreSQL the batch's persons are
streamed with ``COPY`` into a temporary table and moved into place by one statement that also
opens their accounts and e-vouchers (from the ids it has just assigned); elsewhere (the embedded
demo) persons go in with ``bulk_create`` and accounts and e-vouchers with ``INSERT ... SELECT``
over the batch's id range. Generated persons have resident ID numbers from a division code of
their own (the city's code with ``06`` as its last two digits), so they never collide with
scenario persons; each person is a function of its number alone, and generation is resumable:
it continues from the number already generated.
"""

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from cards.models import EVoucher
from cities.models import City
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from sandbox.names import numbered_name

PERSON = InsuredPerson._meta.db_table
ACCOUNT = Account._meta.db_table
EVOUCHER = EVoucher._meta.db_table
SEQUENCES_PER_DAY = 999
_FIRST_BIRTH_DATE = date(1950, 1, 1)
_WAGES = [
    Decimal(w)
    for w in ("4800.00", "6500.00", "8200.00", "9800.00", "12500.00", "18000.00", "32000.00")
]
# The fields a generated person sets, in the order _person_values gives them.
_PERSON_FIELDS = (
    "resident_id",
    "name",
    "sex",
    "birth_date",
    "city_id",
    "scheme",
    "employment_status",
    "subsidy_category",
    "declared_wage",
    "enrolled_on",
)
_STAGING = "population_batch"


def population_prefix(city: City) -> str:
    return city.code[:4] + "06"


def population_count(city: City) -> int:
    return InsuredPerson.objects.filter(
        city=city, resident_id__startswith=population_prefix(city)
    ).count()


def _person_values(index: int, city_id: int, prefix: str, enrolled_on: date) -> tuple:
    """Generated person number ``index``: the values of ``_PERSON_FIELDS``."""
    rng = random.Random(index)
    birth = _FIRST_BIRTH_DATE + timedelta(days=index // SEQUENCES_PER_DAY)
    sequence = index % SEQUENCES_PER_DAY + 1
    roll = rng.random()
    if roll < 0.8:
        scheme, status, wage = (
            InsuredPerson.Scheme.EMPLOYEE,
            InsuredPerson.EmploymentStatus.ACTIVE,
            rng.choice(_WAGES),
        )
    elif roll < 0.95:
        scheme, status, wage = (
            InsuredPerson.Scheme.EMPLOYEE,
            InsuredPerson.EmploymentStatus.RETIRED,
            None,
        )
    else:
        scheme, status, wage = InsuredPerson.Scheme.RESIDENT, "", None
    return (
        make_resident_id(prefix, birth, sequence),
        numbered_name(index, "M" if sequence % 2 else "F").hanzi,
        "M" if sequence % 2 else "F",
        birth,
        city_id,
        str(scheme),
        str(status),
        str(InsuredPerson.SubsidyCategory.NONE),
        wage,
        enrolled_on,
    )


def _insert_batch(rows: Iterator[tuple], *, residents_have_accounts: bool) -> None:
    """COPY the batch into a temporary table, then one statement moves the persons into place
    (in number order, so ids follow numbers) and opens their accounts and e-vouchers."""
    columns = ", ".join(_PERSON_FIELDS)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT 0 AS number, {columns} FROM {PERSON} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {_STAGING}")
        with cursor.copy(f"COPY {_STAGING} (number, {columns}) FROM STDIN") as copy:
            for number, row in enumerate(rows):
                copy.write_row((number, *row))
        cursor.execute(
            f"""
            WITH persons AS (
                INSERT INTO {PERSON} ({columns}, created_at)
                SELECT {columns}, %(now)s FROM {_STAGING} ORDER BY number
                RETURNING id, city_id, scheme
            ), accounts AS (
                INSERT INTO {ACCOUNT} (kind, city_id, person_id, balance, created_at)
                SELECT 'PERSONAL', city_id, id, 0, %(now)s FROM persons
                 WHERE scheme = 'EMPLOYEE' OR %(residents)s
            )
            INSERT INTO {EVOUCHER} (person_id, status, platform, consecutive_failures)
            SELECT id, 'NOT_ACTIVATED', '', 0 FROM persons
            """,  # noqa: S608
            {"now": now, "residents": residents_have_accounts},
        )


def population_generate(
    *,
    city: City,
    persons: int,
    enrolled_on: date,
    batch_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Grow the city's generated population to ``persons``. Returns how many were added."""
    prefix = population_prefix(city)
    start = population_count(city)
    residents_have_accounts = not city.resident_accounts_abolished_by(enrolled_on)
    for batch_start in range(start, persons, batch_size):
        batch_end = min(batch_start + batch_size, persons)
        rows = (
            _person_values(index, city.id, prefix, enrolled_on)
            for index in range(batch_start, batch_end)
        )
        with transaction.atomic():
            _insert_batch(rows, residents_have_accounts=residents_have_accounts)
        if progress:
            progress(batch_end - batch_start)
    return max(0, persons - start)
