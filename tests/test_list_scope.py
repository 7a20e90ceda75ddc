"""What every list endpoint shows each role: the exact ids, another city's and another person's
rows absent.

The list endpoints are read from the OpenAPI schema (every GET answering a page of results or an
array), so a new list must join EXPECTED below.

The world: city A (Hangzhou) with the subject P and another insured person Q (both with logins,
active cards, contributions, and a settlement each at A's hospital); city B (Fuzhou) with its own
person PB (a login), a person SB without one, a hospital and PB's settlement there; city C
(Xiamen) only named by a filing (and a clearing statement). Filings: P's naming B, Q's naming C, PB's naming A. Family
authorisations: P to Q, Q to P, PB to SB. An employer in A and in B; every city has its crediting
runs, collections and uploads.

Roles: op_a and op_b (operators of A and of B), self (P), other (Q), terminal (A's hospital
presenting P's card), terminal_b (B's hospital presenting P's card, P's filing naming B), super.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Account, Contribution, ContributionCollection, CreditingRun, Entry
from cards.credentials import PresentedCredential
from cards.models import SocialSecurityCard
from cities.models import City
from claims.models import ReimbursementClaim
from claims.services import CategoryTotal, ClaimPayout, ClaimVisit, ReceiptInput, claim_submit
from common import clock
from employers.tests.factories import EmployerFactory
from events.models import Event, EventType
from institutions.models import Institution
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from sandbox.scenarios import DEMO_PIN, PersonSpec, build_person
from sandbox.world import sandbox_city
from sandbox.worlds import developer_create, world_create
from settlement.clearing import clearing_run_open
from settlement.models import (
    CatalogItem,
    ClearingStatement,
    CrossCityFiling,
    FamilyAuthorization,
    Settlement,
)
from settlement.services import LineInput, settlement_submit
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory, filing_for
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

ROLES = ("op_a", "op_b", "self", "other", "terminal", "terminal_b", "super")
NOT_FOUND = "404"
FORBIDDEN = "403"


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
    events: dict = field(default_factory=dict)
    claims: dict = field(default_factory=dict)
    endpoints: dict = field(default_factory=dict)
    deliveries: list = field(default_factory=list)
    clearing_run: object = None
    statements: dict = field(default_factory=dict)
    worlds: dict = field(default_factory=dict)


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


def _event(city, *, person=None, institution=None, is_test=False, triggered_by=None) -> Event:
    return Event.objects.create(
        type=EventType.CARD_STATUS_CHANGED,
        occurred_at=MONDAY_MORNING,
        object_type="card",
        object_id="1",
        city_id=city.pk,
        person_id=person.pk if person else None,
        institution_id=institution.pk if institution else None,
        is_test=is_test,
        triggered_by=triggered_by,
        data={},
    )


def _endpoint(owner) -> WebhookEndpoint:
    endpoint, _ = endpoint_create(
        owner=owner, url=f"http://127.0.0.1:9/{owner.pk}", event_types=["*"], now=timezone.now()
    )
    return endpoint


def _delivered(endpoint, event) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=WebhookDelivery.Status.SUCCEEDED,
        round_attempts=1,
        attempts_total=1,
        delivered_at=timezone.now(),
    )


def _statement(run, city, other_city) -> ClearingStatement:
    low, high = sorted([city, other_city], key=lambda each: each.pk)
    return ClearingStatement.objects.create(run=run, period=run.period, city_a=low, city_b=high)


def _claim(person, care_city) -> ReimbursementClaim:
    """An emergency at a clinic of ``care_city``, paid in full and claimed back."""
    return claim_submit(
        person=person,
        visit=ClaimVisit(
            visit_date=clock.today(),
            visit_type="OUTPATIENT",
            emergency=True,
            institution_name="Harbour Clinic",
            care_city=care_city,
            tier="LEVEL_1",
        ),
        category_totals=[CategoryTotal("A", Decimal("80.00"))],
        receipts=[ReceiptInput(f"SCOPE-{person.pk}", clock.today(), Decimal("80.00"))],
        payout=ClaimPayout(
            method="BANK", bank_account_holder="Holder", bank_account_number="6222020200112340123"
        ),
        by=person.user,
        now=clock.now(),
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

    op_a, op_b = OperatorFactory(cities=[city_a]), OperatorFactory(cities=[city_b])
    terminal_a = TerminalFactory(institution=hospital_a)
    developer, other_developer = developer_create()[0], developer_create()[0]
    clients = {
        "op_a": client(op_a),
        "op_b": client(op_b),
        "self": client(p.user),
        "other": client(q.user),
        "terminal": client(terminal_a, presented=p),
        "terminal_b": client(TerminalFactory(institution=hospital_b), presented=p),
        "super": client(SuperuserFactory()),
        "developer": client(developer),  # only where a listing asks for it (sandbox worlds)
    }
    events = {
        "pb": _event(city_b, person=pb),
        "hospital_a": _event(city_a, institution=hospital_a),
        "p_test": _event(city_a, person=p, is_test=True, triggered_by=p.user),
    }
    endpoints = {"op_a": _endpoint(op_a), "terminal": _endpoint(terminal_a)}
    deliveries = [
        _delivered(endpoints["op_a"], events["pb"]),
        _delivered(endpoints["op_a"], events["hospital_a"]),
    ]
    _delivered(endpoints["terminal"], events["hospital_a"])  # the terminal's, listed nowhere else
    clearing_run, _ = clearing_run_open(period=date(2026, 9, 1))
    statements = {
        "ab": _statement(clearing_run, city_a, city_b),
        "bc": _statement(clearing_run, city_b, city_c),
    }
    worlds = {
        "developer": world_create(owner=developer, name="scope"),
        "other_developer": world_create(owner=other_developer, name="scope-other"),
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
        events=events,
        claims={"p_in_b": _claim(p, city_b), "pb_in_a": _claim(pb, city_a)},
        endpoints=endpoints,
        deliveries=deliveries,
        clearing_run=clearing_run,
        statements=statements,
        worlds=worlds,
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


def _events(w: World) -> dict:
    """The events of each caller's scope; P's test event is P's alone (and the superuser's)."""
    real = Event.objects.filter(is_test=False)

    def keys(rows) -> set:
        return set(rows.values_list("public_id", flat=True))

    test = w.events["p_test"].public_id
    return {
        "op_a": keys(real.filter(city=w.city_a)),
        "op_b": keys(real.filter(city=w.city_b)),
        "self": keys(real.filter(person_id=w.p.pk)) | {test},
        "other": keys(real.filter(person_id=w.q.pk)),
        "terminal": keys(real.filter(Q(institution=w.hospital_a) | Q(person_id=w.p.pk))),
        "terminal_b": keys(real.filter(Q(institution=w.hospital_b) | Q(person_id=w.p.pk))),
        "super": keys(Event.objects.all()),
    }


def _claims(w: World) -> dict:
    """The person who filed, the insured city's operators; never the care city's."""
    c = w.claims
    return {role: set() for role in ROLES} | {
        "op_a": ids(c["p_in_b"]),
        "op_b": ids(c["pb_in_a"]),
        "self": ids(c["p_in_b"]),
        "super": ids(*c.values()),
    }


def _clearing_runs(w: World) -> dict:
    """One run for every city pair: operators follow it, nobody else."""
    return {role: set() for role in ROLES} | {
        role: ids(w.clearing_run) for role in ("op_a", "op_b", "super")
    }


def _statements(w: World) -> dict:
    st = w.statements
    return {role: set() for role in ROLES} | {
        "op_a": ids(st["ab"]),
        "op_b": ids(st["ab"], st["bc"]),
        "super": ids(*st.values()),
    }


def _endpoints(w: World) -> dict:
    """Each caller's own endpoints, the superuser's included (none)."""
    return {role: set() for role in ROLES} | {
        "op_a": ids(w.endpoints["op_a"]),
        "terminal": ids(w.endpoints["terminal"]),
    }


def _deliveries(w: World) -> dict:
    """The deliveries of A's operator's endpoint: theirs alone; to anyone else it does not exist."""
    return dict.fromkeys(ROLES, NOT_FOUND) | {"op_a": ids(*w.deliveries)}


def _sandbox_worlds(w: World) -> dict:
    """A developer's own worlds; every other role is refused."""
    return dict.fromkeys(ROLES, FORBIDDEN) | {"developer": ids(w.worlds["developer"])}


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
    extra_roles: tuple = ()  # roles asked besides ROLES


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
    "/api/v1/events": Listing(_events),
    "/api/v1/reimbursement-claims": Listing(_claims),
    "/api/v1/clearing-runs": Listing(_clearing_runs),
    "/api/v1/clearing-statements": Listing(_statements),
    "/api/v1/webhook-endpoints": Listing(_endpoints),
    "/api/v1/webhook-endpoints/{endpoint_id}/deliveries": Listing(
        _deliveries, path="/api/v1/webhook-endpoints/{endpoints[op_a].pk}/deliveries"
    ),
    "/api/v1/sandbox/worlds": Listing(_sandbox_worlds, extra_roles=("developer",)),
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
        if response.status_code == 403:
            return FORBIDDEN
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
    roles = ROLES + listing.extra_roles
    actual = {role: _seen(world.clients[role], url, listing.key) for role in roles}
    if listing.expected is None:  # a public catalogue: the same rows for everyone
        assert actual["super"] and all(seen == actual["super"] for seen in actual.values())
        return
    expected = listing.expected(world)
    assert actual == expected
    assert any(seen not in (NOT_FOUND, FORBIDDEN, set()) for seen in actual.values())


def test_another_citys_and_another_persons_rows_are_in_the_world(world):
    """The absences asserted above mean something only if the rows exist: B's and Q's do."""
    assert reverse("api-root") == "/api/v1/"
    assert Settlement.objects.filter(person=world.pb, institution__city=world.city_b).exists()
    assert Account.objects.filter(city=world.city_b).exists()
    assert Contribution.objects.filter(person=world.q).exists()
    for model in (CreditingRun, ContributionCollection, CityUpload):
        assert _of_city(model, world.city_a) and _of_city(model, world.city_b)
    assert CrossCityFiling.objects.filter(person=world.pb).exists()
    # B's person's claim for care in A: A's operators, the care city's, must not see it.
    assert ReimbursementClaim.objects.filter(person=world.pb, care_city=world.city_a).exists()
