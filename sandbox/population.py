"""A large generated population for load and scale work (``seed_demo --persons N``).

Bulk inserts in batches, so memory stays bounded whatever N: persons with ``bulk_create``, then
their personal accounts and e-vouchers with ``INSERT ... SELECT`` over the batch's id range.
Generated persons have resident ID numbers from a division code of their own (the city's code
with ``06`` as its last two digits), so they never collide with scenario persons; generation is
resumable: it continues from the number already generated.
"""

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from cards.models import EVoucher
from cities.models import City
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id

PERSON = InsuredPerson._meta.db_table
ACCOUNT = Account._meta.db_table
EVOUCHER = EVoucher._meta.db_table
SEQUENCES_PER_DAY = 999
_FIRST_BIRTH_DATE = date(1950, 1, 1)
_WAGES = [
    Decimal(w)
    for w in ("4800.00", "6500.00", "8200.00", "9800.00", "12500.00", "18000.00", "32000.00")
]


def population_prefix(city: City) -> str:
    return city.code[:4] + "06"


def population_count(city: City) -> int:
    return InsuredPerson.objects.filter(
        city=city, resident_id__startswith=population_prefix(city)
    ).count()


def _person(index: int, city: City, prefix: str, enrolled_on: date) -> InsuredPerson:
    rng = random.Random(index)
    birth = _FIRST_BIRTH_DATE + timedelta(days=index // SEQUENCES_PER_DAY)
    resident_id = make_resident_id(prefix, birth, index % SEQUENCES_PER_DAY + 1)
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
    return InsuredPerson(
        resident_id=resident_id,
        name=f"Resident {index:07d}",
        sex="M" if (index % SEQUENCES_PER_DAY + 1) % 2 else "F",
        birth_date=birth,
        city=city,
        scheme=scheme,
        employment_status=status,
        declared_wage=wage,
        enrolled_on=enrolled_on,
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
    residents_have_accounts = (
        city.resident_accounts_abolished_on is None
        or city.resident_accounts_abolished_on > enrolled_on
    )
    for batch_start in range(start, persons, batch_size):
        batch_end = min(batch_start + batch_size, persons)
        with transaction.atomic():
            created = InsuredPerson.objects.bulk_create(
                _person(index, city, prefix, enrolled_on) for index in range(batch_start, batch_end)
            )
            low, high = min(p.id for p in created), max(p.id for p in created)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {ACCOUNT} (kind, city_id, person_id, balance, created_at) "  # noqa: S608
                    f"SELECT 'PERSONAL', city_id, id, 0, %s FROM {PERSON} "
                    "WHERE id BETWEEN %s AND %s AND (scheme = 'EMPLOYEE' OR %s)",
                    [timezone.now(), low, high, residents_have_accounts],
                )
                cursor.execute(
                    f"INSERT INTO {EVOUCHER} (person_id, status, platform, consecutive_failures) "  # noqa: S608
                    f"SELECT id, 'NOT_ACTIVATED', '', 0 FROM {PERSON} WHERE id BETWEEN %s AND %s",
                    [low, high],
                )
        if progress:
            progress(batch_end - batch_start)
        del created
    return max(0, persons - start)
