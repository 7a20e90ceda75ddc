"""What every list endpoint shows each role: the exact ids, another city's and another person's
rows absent.

The list endpoints are read from the OpenAPI schema (every GET answering a page of results or an
array), so a new list must join EXPECTED below.

The world: city A (Hangzhou) with the subject P and another insured person Q (both with logins,
active cards, contributions, and a settlement each at A's hospital); city B (Fuzhou) with its own
person PB (a login), a person SB without one, a hospital and PB's settlement there; city C
(Xiamen) only named by a filing. Filings: P's naming B, Q's naming C, PB's naming A. Family
authorisations: P to Q, Q to P, PB to SB. An employer in A and in B; every city has its crediting
runs, collections and uploads.

Roles: op_a and op_b (operators of A and of B), self (P), other (Q), terminal (A's hospital
presenting P's card), terminal_b (B's hospital presenting P's card, P's filing naming B), super.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Account, Contribution, ContributionCollection, CreditingRun, Entry
from cards.credentials import PresentedCredential
from cards.models import SocialSecurityCard
from cities.models import City
from common import clock
from employers.tests.factories import EmployerFactory
from institutions.models import Institution
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from sandbox.scenarios import DEMO_PIN, PersonSpec, build_person
from sandbox.world import sandbox_city
from settlement.models import CatalogItem, CrossCityFiling, FamilyAuthorization, Settlement
from settlement.services import LineInput, settlement_submit
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory, filing_for
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory

pytestmark = pytest.mark.django_db

ROLES = ("op_a", "op_b", "self", "other", "terminal", "terminal_b", "super")
NOT_FOUND = "404"


@dataclass
class World:
    clients: dict
    city_a: City
    city_b: City
    city_c: City
    p: object
    q: object
    pb: object
    sb: object
    hospital_a: Institution
    hospital_b: Institution
    settlements: dict
    filings: dict
    families: dict
    employers: dict


def _card(person) -> SocialSecurityCard:
    return SocialSecurityCard.objects.get(person=person, status=SocialSecurityCard.Status.ACTIVE)


def _settle(person, institution, amount: str) -> Settlement:
    from cards.services import card_pin_verify

    credential = card_pin_verify(
        credential=PresentedCredential(
            kind="CARD", value=_card(person).number, person_id=person.id
        ),
        pin=DEMO_PIN,
        now=clock.now(),
    )
    return settlement_submit(
        institution=institution,
        credential=credential,
        visit_type="OUTPATIENT",
        lines=[LineInput(code="SCOPE-A", quantity=Decimal("1"), unit_price=Decimal(amount))],
        use_personal_account=True,
        by=TerminalFactory(institution=institution),
    )


def _family(holder, beneficiary, relation) -> FamilyAuthorization:
    return FamilyAuthorization.objects.create(
        account_holder=holder,
        beneficiary=beneficiary,
        relation=relation,
        granted_at=MONDAY_MORNING,
        created_by=SuperuserFactory(),
    )


@pytest.fixture
def world(agreement) -> World:
    set_clock(MONDAY_MORNING)
    city_a, city_b = sandbox_city("standard"), sandbox_city("abolished")
    city_c = sandbox_city("small_platform")
    p = build_person(PersonSpec(), username="scope-p").person
    q = build_person(PersonSpec(), username="scope-q").person
    pb = build_person(PersonSpec(city_profile="abolished"), username="scope-pb").person
    sb = PersonFactory(city=city_b, resident_id=make_resident_id("350102", date(1985, 3, 1), 12))
    hospital_a = InstitutionFactory(city=city_a, level=3)
    hospital_b = InstitutionFactory(city=city_b, level=3)
    CatalogItemFactory(code="SCOPE-A", catalog_class=CatalogItem.CatalogClass.A)
    filings = {
        "p_to_b": filing_for(p, city_b),
        "q_to_c": filing_for(q, city_c),
        "pb_to_a": filing_for(pb, city_a),
    }
    settlements = {
        "p_at_a": _settle(p, hospital_a, "30.00"),
        "q_at_a": _settle(q, hospital_a, "40.00"),
        "pb_at_b": _settle(pb, hospital_b, "50.00"),
    }
    families = {
        "p_to_q": _family(p, q, FamilyAuthorization.Relation.CHILD),
        "q_to_p": _family(q, p, FamilyAuthorization.Relation.PARENT),
        "pb_to_sb": _family(pb, sb, FamilyAuthorization.Relation.SPOUSE),
    }
    employers = {"a": EmployerFactory(city=city_a), "b": EmployerFactory(city=city_b)}
    for city in (city_a, city_b):  # a job of each kind in each city, whatever the persons made
        CreditingRun.objects.get_or_create(city=city, period=date(2025, 1, 1))
        ContributionCollection.objects.get_or_create(city=city, period=date(2025, 1, 1))
        CityUpload.objects.create(city=city, trigger=CityUpload.Trigger.OPERATOR, as_of=clock.now())

    def client(user, presented=None) -> APIClient:
        api = APIClient()
        _, token = AuthToken.objects.create(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        if presented is not None:
            api.defaults["HTTP_X_PRESENTED_CREDENTIAL"] = f"CARD {_card(presented).number}"
            api.defaults["HTTP_X_CARD_PIN"] = DEMO_PIN
        return api

    clients = {
        "op_a": client(OperatorFactory(cities=[city_a])),
        "op_b": client(OperatorFactory(cities=[city_b])),
        "self": client(p.user),
        "other": client(q.user),
        "terminal": client(TerminalFactory(institution=hospital_a), presented=p),
        "terminal_b": client(TerminalFactory(institution=hospital_b), presented=p),
        "super": client(SuperuserFactory()),
    }
    return World(
        clients,
        city_a,
        city_b,
        city_c,
        p,
        q,
        pb,
        sb,
        hospital_a,
        hospital_b,
        settlements,
        filings,
        families,
        employers,
    )


def ids(*rows) -> set:
    return {row.pk for row in rows}


def _of_city(model, city) -> set:
    return set(model.objects.filter(city=city).values_list("pk", flat=True))


def _everything(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


def _persons(w: World) -> dict:
    return {
        "op_a": ids(w.p, w.q),
        "op_b": ids(w.pb, w.sb),
        "self": ids(w.p),
        "other": ids(w.q),
        "terminal": ids(w.p),
        "terminal_b": ids(w.p),
        "super": ids(w.p, w.q, w.pb, w.sb),
    }


def _person_owned(model):
    """Rows of a person: the person's own, the person presented, and their city's operators."""

    def expected(w: World) -> dict:
        return {
            role: set(model.objects.filter(person_id__in=persons).values_list("pk", flat=True))
            for role, persons in _persons(w).items()
        }

    return expected


def _city_owned(model):
    """City-level rows: operators of the city, superusers; nobody else."""

    def expected(w: World) -> dict:
        return {role: set() for role in ROLES} | {
            "op_a": _of_city(model, w.city_a),
            "op_b": _of_city(model, w.city_b),
            "super": _everything(model),
        }

    return expected


def _accounts(w: World) -> dict:
    def personal(*persons) -> set:
        return set(Account.objects.filter(person__in=persons).values_list("pk", flat=True))

    hospital_a = set(Account.objects.filter(institution=w.hospital_a).values_list("pk", flat=True))
    hospital_b = set(Account.objects.filter(institution=w.hospital_b).values_list("pk", flat=True))
    return {
        "op_a": _of_city(Account, w.city_a),
        "op_b": _of_city(Account, w.city_b),
        "self": personal(w.p),
        "other": personal(w.q),
        "terminal": hospital_a | personal(w.p),
        "terminal_b": hospital_b | personal(w.p),
        "super": _everything(Account),
    }


def _cities(w: World) -> dict:
    return {
        "op_a": {w.city_a.code},
        "op_b": {w.city_b.code},
        "self": {w.city_a.code},
        "other": {w.city_a.code},
        "terminal": {w.city_a.code},
        "terminal_b": {w.city_b.code},
        "super": set(City.objects.values_list("code", flat=True)),
    }


def _settlements(w: World) -> dict:
    s = w.settlements
    return {
        "op_a": ids(s["p_at_a"], s["q_at_a"]),
        "op_b": ids(s["pb_at_b"]),
        "self": ids(s["p_at_a"]),
        "other": ids(s["q_at_a"]),
        "terminal": ids(s["p_at_a"], s["q_at_a"]),  # what this hospital settled
        "terminal_b": ids(s["pb_at_b"]),
        "super": ids(*s.values()),
    }


def _filings(w: World) -> dict:
    f = w.filings
    return {
        "op_a": ids(f["p_to_b"], f["q_to_c"], f["pb_to_a"]),  # A's persons', and naming A
        "op_b": ids(f["p_to_b"], f["pb_to_a"]),
        "self": ids(f["p_to_b"]),
        "other": ids(f["q_to_c"]),
        "terminal": set(),  # P has no filing naming A (P is insured there)
        "terminal_b": ids(f["p_to_b"]),
        "super": ids(*f.values()),
    }


def _families(w: World) -> dict:
    f = w.families
    return {
        "op_a": ids(f["p_to_q"], f["q_to_p"]),
        "op_b": ids(f["pb_to_sb"]),
        "self": ids(f["p_to_q"], f["q_to_p"]),
        "other": ids(f["p_to_q"], f["q_to_p"]),
        "terminal": ids(f["q_to_p"]),  # the active ones P, presented, may draw on
        "terminal_b": ids(f["q_to_p"]),
        "super": ids(*f.values()),
    }


def _employers(w: World) -> dict:
    return {role: set() for role in ROLES} | {
        "op_a": ids(w.employers["a"]),
        "op_b": ids(w.employers["b"]),
        "super": ids(*w.employers.values()),
    }


def _of_p_only(rows):
    """A nested list of P's: whoever may see P gets P's rows, anyone else 404."""

    def expected(w: World) -> dict:
        visible = {role for role, persons in _persons(w).items() if w.p.pk in persons}
        return {role: rows(w) if role in visible else NOT_FOUND for role in ROLES}

    return expected


def _same_for_everyone(source):
    def expected(w: World) -> dict:
        return dict.fromkeys(ROLES, source(w))

    return expected


@dataclass
class Listing:
    expected: object  # World -> {role: set of keys, or NOT_FOUND}
    key: str = "id"
    path: str | None = None  # with {placeholders} (the World's attributes)


EXPECTED = {
    "/api/v1/persons": Listing(_persons),
    "/api/v1/cards": Listing(_person_owned(SocialSecurityCard)),
    "/api/v1/accounts": Listing(_accounts),
    "/api/v1/cities": Listing(_cities, key="code"),
    "/api/v1/employers": Listing(_employers),
    "/api/v1/crediting-runs": Listing(_city_owned(CreditingRun)),
    "/api/v1/contribution-collections": Listing(_city_owned(ContributionCollection)),
    "/api/v1/uploads": Listing(_city_owned(CityUpload)),
    "/api/v1/settlements": Listing(_settlements),
    "/api/v1/filings": Listing(_filings),
    "/api/v1/family-authorizations": Listing(_families),
    "/api/v1/persons/{person_id}/contributions": Listing(
        _of_p_only(
            lambda w: set(Contribution.objects.filter(person=w.p).values_list("pk", flat=True))
        ),
        path="/api/v1/persons/{p.pk}/contributions",
    ),
    "/api/v1/persons/{person_id}/payment-months": Listing(
        _of_p_only(
            lambda w: {
                period.isoformat()
                for period in Contribution.objects.filter(person=w.p).values_list(
                    "period", flat=True
                )
            }
        ),
        key="period",
        path="/api/v1/persons/{p.pk}/payment-months",
    ),
    "/api/v1/accounts/{account_id}/entries": Listing(
        _of_p_only(
            lambda w: set(
                Entry.objects.filter(account=w.p.personal_account).values_list("pk", flat=True)
            )
        ),
        path="/api/v1/accounts/{p.personal_account.pk}/entries",
    ),
    # Directories and catalogues: the same for every signed-in caller, whatever their city.
    "/api/v1/institutions": Listing(_same_for_everyone(lambda w: _everything(Institution))),
    "/api/v1/catalog": Listing(
        _same_for_everyone(
            lambda w: set(CatalogItem.objects.filter(is_active=True).values_list("code", flat=True))
        ),
        key="code",
    ),
    "/api/v1/problems": Listing(None, key="code"),
    "/api/v1/balance-reasons": Listing(None, key="code"),
    "/api/v1/sandbox/scenarios": Listing(None, key="code"),
}


def _list_paths_in_schema() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found = set()
    for path, operations in schema["paths"].items():
        content = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        for media in content.values():
            body = media.get("schema", {})
            named = components.get(body.get("$ref", "").rsplit("/", 1)[-1], {})
            if body.get("type") == "array" or "results" in named.get("properties", {}):
                found.add(path)
    return found


def test_every_list_endpoint_has_its_contents_per_role():
    assert _list_paths_in_schema() == set(EXPECTED)


def _seen(client, path: str, key: str):
    """Every key the list shows, across its pages; NOT_FOUND for a 404."""
    keys, url = [], f"{path}?page_size=200"
    while url:
        response = client.get(url)
        if response.status_code == 404:
            return NOT_FOUND
        assert response.status_code == 200, (path, response.content)
        body = response.json()
        rows = body if isinstance(body, list) else body["results"]
        keys += [row[key] for row in rows]
        url = None if isinstance(body, list) else body.get("next")
    assert len(keys) == len(set(keys)), f"{path} lists a row twice"
    return set(keys)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_each_role_sees_exactly_its_rows(path, world):
    listing = EXPECTED[path]
    url = (listing.path or path).format(**vars(world))
    actual = {role: _seen(world.clients[role], url, listing.key) for role in ROLES}
    if listing.expected is None:  # a public catalogue: the same rows for everyone
        assert actual["super"] and all(seen == actual["super"] for seen in actual.values())
        return
    expected = listing.expected(world)
    assert actual == expected
    assert any(seen not in (NOT_FOUND, set()) for seen in actual.values())


def test_another_citys_and_another_persons_rows_are_in_the_world(world):
    """The absences asserted above mean something only if the rows exist: B's and Q's do."""
    assert reverse("api-root") == "/api/v1/"
    assert Settlement.objects.filter(person=world.pb, institution__city=world.city_b).exists()
    assert Account.objects.filter(city=world.city_b).exists()
    assert Contribution.objects.filter(person=world.q).exists()
    for model in (CreditingRun, ContributionCollection, CityUpload):
        assert _of_city(model, world.city_a) and _of_city(model, world.city_b)
    assert CrossCityFiling.objects.filter(person=world.pb).exists()
