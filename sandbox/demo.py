"""The demo world: deterministic, built by ``manage.py seed_demo``; building it again changes nothing.

Seven real cities with different switches, designated hospitals and a pharmacy with their
terminals, operators, a superuser, and one insured person for every scenario, each with a login
and a ready-made API token. The same table is printed by the command and shown at ``/``.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction

from cards.models import SocialSecurityCard
from sandbox.scenarios import SCENARIOS, build_person, fixed_token_ensure
from sandbox.world import CITY_PROFILES, sandbox_city
from settlement.models import Institution
from settlement.services import institution_register
from users.models import User
from users.services import operator_create, operator_group_ensure, terminal_create

DEMO_START = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STAFF_PASSWORD = "demo-staff-2026"
PERSON_PASSWORD = "demo-person-2026"
SUPERUSER = ("admin", "admin-demo-2026")

OPERATORS = {
    "op-zhejiang": ["330100"],
    "op-fujian": ["350100", "350200", "350500", "350700"],
    "op-south": ["440300", "411700"],
    "op-all": [profile.code for profile in CITY_PROFILES.values()],
}


@dataclass(frozen=True)
class DemoInstitution:
    code: str
    name: str
    kind: str
    level: int | None
    city_code: str
    terminal: str


INSTITUTIONS = [
    DemoInstitution(
        "H330100001",
        "Hangzhou First People's Hospital",
        Institution.Kind.HOSPITAL,
        3,
        "330100",
        "hz-hospital",
    ),
    DemoInstitution(
        "H330100002",
        "Xihu District Community Hospital",
        Institution.Kind.HOSPITAL,
        1,
        "330100",
        "hz-clinic",
    ),
    DemoInstitution(
        "P330100001",
        "Hangzhou Minsheng Pharmacy",
        Institution.Kind.PHARMACY,
        None,
        "330100",
        "hz-pharmacy",
    ),
    DemoInstitution(
        "H350100001",
        "Fujian Provincial Hospital",
        Institution.Kind.HOSPITAL,
        3,
        "350100",
        "fz-hospital",
    ),
]


def demo_token(username: str) -> str:
    """A fixed API token per demo login (the demo is public by design; never do this elsewhere)."""
    return hashlib.sha256(f"yibao demo world: {username}".encode()).hexdigest()


def _ensure_token(user: User) -> str:
    return fixed_token_ensure(user, demo_token(user.username))


def person_username(code: str) -> str:
    return code.lower().replace("_", "-")


@transaction.atomic
def demo_world_build() -> None:
    from common import clock

    clock.simulated_clock_ensure(starting_at=DEMO_START)
    clock.forget_cached_now()
    cities = {profile.code: sandbox_city(key) for key, profile in CITY_PROFILES.items()}
    operator_group_ensure()

    if not User.objects.filter(username=SUPERUSER[0]).exists():
        User.objects.create_superuser(SUPERUSER[0], password=SUPERUSER[1], role=User.Role.OPERATOR)
    _ensure_token(User.objects.get(username=SUPERUSER[0]))
    for username, codes in OPERATORS.items():
        _ensure_token(
            operator_create(
                username=username, password=STAFF_PASSWORD, cities=[cities[c] for c in codes]
            )
        )

    for spec in INSTITUTIONS:
        institution = institution_register(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            level=spec.level,
            city=cities[spec.city_code],
        )
        _ensure_token(
            terminal_create(
                username=spec.terminal, password=STAFF_PASSWORD, institution=institution
            )
        )

    for code in SCENARIOS:
        username = person_username(code)
        if User.objects.filter(username=username).exists():
            continue
        build_person(
            SCENARIOS[code].spec,
            rng=random.Random(f"demo:{code}"),
            username=username,
            password=PERSON_PASSWORD,
            token=demo_token(username),
        )


@dataclass(frozen=True)
class DemoRow:
    who: str
    username: str
    password: str
    authorization: str
    notes: str


def demo_world_table() -> list[DemoRow]:
    rows = [
        DemoRow(
            "Superuser",
            SUPERUSER[0],
            SUPERUSER[1],
            f"Token {demo_token(SUPERUSER[0])}",
            "Everything, every city",
        )
    ]
    for username, codes in OPERATORS.items():
        names = ", ".join(
            CITY_PROFILES[key].name for key, p in CITY_PROFILES.items() if p.code in codes
        )
        rows.append(
            DemoRow(
                "Operator",
                username,
                STAFF_PASSWORD,
                f"Token {demo_token(username)}",
                f"Administers {names}",
            )
        )
    for spec in INSTITUTIONS:
        rows.append(
            DemoRow(
                "Institution terminal",
                spec.terminal,
                STAFF_PASSWORD,
                f"Token {demo_token(spec.terminal)}",
                spec.name,
            )
        )
    users = User.objects.filter(
        username__in=[person_username(code) for code in SCENARIOS]
    ).select_related("person", "person__city", "person__evoucher")
    by_username = {user.username: user for user in users}
    cards = {
        card.person_id: card.number
        for card in SocialSecurityCard.objects.filter(person__user__in=users).exclude(
            status=SocialSecurityCard.Status.LOST
        )
    }
    for code, scenario in SCENARIOS.items():
        username = person_username(code)
        user = by_username.get(username)
        if user is None or not hasattr(user, "person"):
            continue
        person = user.person
        reasons = ", ".join(reason.value for reason in scenario.reasons) or "none: balance visible"
        presented = []
        if person.id in cards:
            presented.append(f"card {cards[person.id]}")
        if person.evoucher.code:
            presented.append(f"e-voucher {person.evoucher.code}")
        notes = f"{scenario.title}: person #{person.id} in {person.city.name}; online reasons: {reasons}"
        if presented:
            notes += "; presents " + " or ".join(presented)
        rows.append(
            DemoRow(
                f"Insured: {scenario.title}",
                username,
                PERSON_PASSWORD,
                f"Token {demo_token(username)}",
                notes,
            )
        )
    return rows
