"""The demo world: deterministic, built by ``manage.py seed_demo``; building it again changes nothing.

Seven real cities' names and codes, each with a profile of switches the sandbox configures (not
the real city's state; see ``sandbox.world``), designated hospitals and a pharmacy with their
terminals, operators, a superuser, and one insured person for every scenario. In sandbox mode
outside production every login has a published password and a ready-made API token (the demo is
public by design); a staging world on production settings gets random passwords, shown once, and
no tokens. The same table is printed by the command and shown at ``/``; what each person's online
balance query answers is read live from the balance diagnosis, so it stays true as the clock and
the flows move the world on.
"""

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy
from knox.models import AuthToken
from knox.settings import CONSTANTS

from cards.models import EVoucher, SocialSecurityCard
from common import clock
from common.names import name_in_language
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from institutions.models import Institution
from provisioning.services import institution_register
from sandbox.names import pinyin
from sandbox.scenarios import DEMO_PIN, SCENARIOS, build_person, fixed_token_ensure
from sandbox.world import CITY_PROFILES, sandbox_city
from uploads.models import CityUpload
from uploads.services import upload_execute, upload_open
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


def demo_credentials_public() -> bool:
    """Whether the demo's logins carry their published passwords and derivable tokens: only in
    sandbox mode outside production."""
    return settings.SANDBOX_MODE and not settings.IS_PRODUCTION


class _Logins:
    """The demo's logins: the published passwords and tokens, or (``public`` false) a random
    password for each login created now, kept to be shown once, and no API token; a login an
    earlier public run left behind loses its published password and token."""

    def __init__(self, *, public: bool):
        self.public = public
        self.passwords: dict[str, str] = {}

    def password(self, username: str, published: str) -> str:
        """The password ``username`` gets if it is created now (remembered, to be shown once)."""
        if self.public:
            return published
        password = secrets.token_urlsafe(12)
        if not User.objects.filter(username=username).exists():
            self.passwords[username] = password
        return password

    def settle(self, user: User, published: str) -> None:
        """After the login exists: its token (public), or no trace of the published credentials."""
        if self.public:
            fixed_token_ensure(user, demo_token(user.username))
            return
        derivable = demo_token(user.username)[: CONSTANTS.TOKEN_KEY_LENGTH]
        AuthToken.objects.filter(user=user, token_key=derivable).delete()
        if user.username not in self.passwords and user.check_password(published):
            self.passwords[user.username] = secrets.token_urlsafe(12)
            user.set_password(self.passwords[user.username])
            user.save(update_fields=["password"])


def person_username(code: str) -> str:
    return code.lower().replace("_", "-")


@transaction.atomic
def demo_world_build(*, public_credentials: bool = True) -> dict[str, str]:
    """Build the world (again: nothing changes). With ``public_credentials`` false, the logins
    created now get random passwords, returned (username to password) to be shown once, and no
    login keeps a published password or token."""
    logins = _Logins(public=public_credentials)
    clock.simulated_clock_ensure(starting_at=DEMO_START)
    clock.forget_cached_now()
    cities = {profile.code: sandbox_city(key) for key, profile in CITY_PROFILES.items()}
    operator_group_ensure()

    username, published = SUPERUSER
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(
            username, password=logins.password(username, published), role=User.Role.OPERATOR
        )
    superuser = User.objects.get(username=username)
    logins.settle(superuser, published)
    _first_uploads_ensure(cities.values(), by=superuser, now=clock.now())
    for username, codes in OPERATORS.items():
        operator = operator_create(
            username=username,
            password=logins.password(username, STAFF_PASSWORD),
            cities=[cities[c] for c in codes],
        )
        logins.settle(operator, STAFF_PASSWORD)

    for spec in INSTITUTIONS:
        institution = institution_register(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            level=spec.level,
            city=cities[spec.city_code],
        )
        terminal = terminal_create(
            username=spec.terminal,
            password=logins.password(spec.terminal, STAFF_PASSWORD),
            institution=institution,
        )
        logins.settle(terminal, STAFF_PASSWORD)

    for code in SCENARIOS:
        username = person_username(code)
        user = User.objects.filter(username=username).first()
        if user is None:
            built = build_person(
                SCENARIOS[code].spec,
                rng=random.Random(f"demo:{code}"),
                username=username,
                password=logins.password(username, PERSON_PASSWORD),
                token=demo_token(username) if logins.public else None,
                api_token=logins.public,
            )
            user = built.person.user
        logins.settle(user, PERSON_PASSWORD)
    return logins.passwords


def _first_uploads_ensure(cities, *, by: User, now: datetime) -> None:
    """Each city with a public channel has uploaded once before anyone is enrolled, so a person
    enrolled since is told they are not in its latest upload, not that it never uploaded."""
    for city in cities:
        if city.has_public_upload_channel and city.latest_upload_id is None:
            upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR, by=by, now=now)
            upload_execute(upload_id=upload.id, now=now)


@dataclass(frozen=True)
class DemoRow:
    who: str
    username: str
    password: str
    authorization: str
    notes: str
    # Insured persons: what GET /api/v1/me/balance answers at this moment.
    online_now: str = ""


def online_answer_now(person_id: int, *, now: datetime) -> str:
    """What the person's online balance query answers at ``now``, without counting as a query."""
    diagnosis = balance_inquire(
        channel=Channel.ONLINE, now=now, person_id=person_id, count_query=False
    )
    codes = ", ".join(reason.code.value for reason in diagnosis.reasons)
    if not diagnosis.visible:
        return gettext("hidden: %(codes)s") % {"codes": codes}
    shown = gettext("visible, %(amount)s CNY") % {"amount": f"{diagnosis.amount:.2f}"}
    return f"{shown}; {codes}" if codes else shown


@dataclass(frozen=True)
class DemoCity:
    code: str
    name: str
    name_zh: str
    # The sandbox's configured profile, said as such (not the real city's state).
    profile: str
    # The agency contact the sandbox configured, or what the remedies fall back on.
    agency: str


def demo_city_table() -> list[DemoCity]:
    """The demo's cities as the sandbox configures them."""
    rows = []
    for profile in CITY_PROFILES.values():
        contact = profile.agency
        agency = (
            gettext("%(name)s, %(phone)s (configured)")
            % {
                "name": name_in_language(contact["agency_name"], contact["agency_name_zh"]),
                "phone": contact["agency_phone"],
            }
            if contact
            else gettext("none configured: remedies give the national hotline 12393")
        )
        rows.append(
            DemoCity(profile.code, profile.name, profile.name_zh, profile.description, agency)
        )
    return rows


PASSWORD_NOT_SHOWN = gettext_lazy("(shown once, when the login was created)")
NO_TOKEN = gettext_lazy("none: log in with POST /api/v1/auth/login for an expiring token")


def demo_world_table(*, passwords: dict[str, str] | None = None) -> list[DemoRow]:
    """Who is who. With ``passwords`` None the logins are the public ones (sandbox mode);
    otherwise they are not public, and ``passwords`` are those of the logins just created."""

    def credentials(username: str, published: str) -> tuple[str, str]:
        if passwords is None:
            return published, f"Token {demo_token(username)}"
        return passwords.get(username, str(PASSWORD_NOT_SHOWN)), str(NO_TOKEN)

    rows = [
        DemoRow(
            gettext("Superuser"),
            SUPERUSER[0],
            *credentials(*SUPERUSER),
            gettext("Everything, every city"),
        )
    ]
    for username, codes in OPERATORS.items():
        names = ", ".join(
            name_in_language(p.name, p.name_zh) for p in CITY_PROFILES.values() if p.code in codes
        )
        rows.append(
            DemoRow(
                gettext("Operator"),
                username,
                *credentials(username, STAFF_PASSWORD),
                gettext("Administers %(cities)s") % {"cities": names},
            )
        )
    for spec in INSTITUTIONS:
        rows.append(
            DemoRow(
                gettext("Institution terminal"),
                spec.terminal,
                *credentials(spec.terminal, STAFF_PASSWORD),
                spec.name,
            )
        )
    users = User.objects.filter(
        username__in=[person_username(code) for code in SCENARIOS]
    ).select_related("person", "person__city", "person__evoucher")
    by_username = {user.username: user for user in users}
    cards = {
        card.person_id: card
        for card in SocialSecurityCard.objects.filter(person__user__in=users).exclude(
            status=SocialSecurityCard.Status.LOST
        )
    }
    now = clock.now()
    for code, scenario in SCENARIOS.items():
        username = person_username(code)
        user = by_username.get(username)
        if user is None or not hasattr(user, "person"):
            continue
        person = user.person
        presented = []
        card = cards.get(person.id)
        if card is not None:
            # The PIN a settlement from the personal account needs, where the logins are public.
            shown_pin = passwords is None and card.status == SocialSecurityCard.Status.ACTIVE
            presented.append(
                gettext("card %(number)s (PIN %(pin)s)") % {"number": card.number, "pin": DEMO_PIN}
                if shown_pin
                else gettext("card %(number)s") % {"number": card.number}
            )
        if person.evoucher.status == EVoucher.Status.ACTIVATED:
            presented.append(gettext("an e-voucher code from POST /api/v1/me/evoucher/qr-codes"))
        profile = CITY_PROFILES[scenario.spec.city_profile].key
        latin = pinyin(person.name)
        notes = gettext(
            "%(scenario)s: %(name)s, person #%(id)s in %(city)s (sandbox profile '%(profile)s')"
        ) % {
            "scenario": scenario.title,
            "name": f"{person.name} ({latin})" if latin else person.name,
            "id": person.id,
            "city": person.city.shown_name,
            "profile": profile,
        }
        if presented:
            notes += gettext("; presents %(credentials)s") % {
                "credentials": gettext(" or ").join(presented)
            }
        rows.append(
            DemoRow(
                gettext("Insured: %(scenario)s") % {"scenario": scenario.title},
                username,
                *credentials(username, PERSON_PASSWORD),
                notes,
                online_answer_now(person.id, now=now),
            )
        )
    return rows
