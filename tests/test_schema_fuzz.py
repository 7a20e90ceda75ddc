"""Property-based fuzzing of every operation in the project's own OpenAPI schema, in a seeded world
and as each role in turn, with schemathesis's default checks: no server errors, and every
response (problems included) conforms to the schema.

The world is the demo world (every sandbox scenario's person with their card and e-voucher,
institutions with their terminals, operators, a superuser) plus settlements made through the
API. Generated requests are made valid where they can be: path ids are drawn from the world's real
rows, ids and resident IDs in bodies from real persons, headers from their documented formats
(Idempotency-Key, X-Presented-Credential, X-Card-PIN), a terminal presents a real card or a fresh
e-voucher code. Then the stateful phase follows the schema's OpenAPI links (create, then read, act,
reverse). Afterwards the ledger's invariants are checked by SQL, and a table says per operation
how many responses were 2xx: every operation must reach one, except the few in
``NEVER_2XX_BY_DESIGN``.

Size: ``FUZZ_EXAMPLES`` generated requests per operation and role (default 14) and
``FUZZ_STATEFUL_EXAMPLES`` link scenarios per role (default 20); an operation with no 2xx gets up
to ``FUZZ_RETRY_ROUNDS`` further rounds (default 3) before the run fails; ``FUZZ_SEED`` replays a
run (the seed is printed)."""

import os
import random
import uuid
from collections import Counter, defaultdict

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", application)
# The default checks, with one setting: a request valid by the schema may still be refused with a
# problem, 400 (a rule JSON Schema cannot say: a credit code's check digit, a scenario's own
# parameters, a wrong password) or 422 (a business rule). The other checks still hold those
# answers to the schema (documented status, content type and body).
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx",
    "400",
    "401",
    "403",
    "404",
    "409",
    "422",
    "429",
]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "14"))
# Further rounds, at most, for an operation that answered no 2xx in the first one.
RETRY_ROUNDS = int(os.environ.get("FUZZ_RETRY_ROUNDS", "3"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "20"))
ROLES = ("operator", "person", "terminal", "superuser")

# Operations that cannot answer 2xx in this world, each for a structural reason.
# Operations none of the four roles can succeed at in the seeded world: they are the sandbox
# developers' own, or act on objects that world does not hold (no claim, no clearing, no webhook
# endpoint of the caller's). Each is exercised by its own tests and the access matrix instead.
NEVER_2XX_BY_DESIGN: dict[str, str] = {
    "GET /api/v1/sandbox/worlds": "Sandbox developers only (DEVELOPER_ONLY); none of the four roles is one",
    "POST /api/v1/sandbox/worlds": "Sandbox developers only (DEVELOPER_ONLY); none of the four roles is one",
    "GET /api/v1/sandbox/worlds/{world_id}": "Sandbox developers only (DEVELOPER_ONLY); none of the four roles is one",
    "DELETE /api/v1/sandbox/worlds/{world_id}": "Sandbox developers only (DEVELOPER_ONLY); none of the four roles is one",
    "GET /api/v1/clearing-statements/{statement_id}": "The seeded world has no clearing yet",
    "GET /api/v1/events/{event_id}": "Event ids are not guessable; the list is reached instead",
    "POST /api/v1/events/{event_id}/resend": "Needs an event id and an endpoint of the caller's",
    "POST /api/v1/reimbursement-claims": "Only insured persons file; a valid claim needs receipts "
    "of care elsewhere that generated data does not make (claims/tests file them)",
    "GET /api/v1/reimbursement-claims/{claim_id}": "The seeded world holds no claim",
    "POST /api/v1/reimbursement-claims/{claim_id}/review": "The seeded world holds no claim",
    "POST /api/v1/reimbursement-claims/{claim_id}/withdrawal": "The seeded world holds no claim",
    "DELETE /api/v1/webhook-endpoints/{endpoint_id}": "The seeded world holds no endpoint",
    "GET /api/v1/webhook-endpoints/{endpoint_id}/deliveries": "The seeded world holds no endpoint",
    "POST /api/v1/webhook-endpoints/{endpoint_id}/rotate-secret": "The seeded world holds no "
    "endpoint",
    "POST /api/v1/webhook-deliveries/{delivery_id}/retry": "The seeded world holds no delivery",
    "POST /api/v1/sandbox/events/trigger": "Needs an object that already has an event the caller "
    "sees, which generated object ids seldom name",
}

# The share of generated requests whose ids and headers are replaced by valid ones; the rest go
# as generated, to keep exercising the refusals.
REALISTIC_SHARE = 0.85
# The share of requests generated invalid on purpose (each must be refused with a 4xx problem).
NEGATIVE_SHARE = 0.2


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go straight into the WSGI application: keep Django from closing the test's
    database connection at the end of each request (its own test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _settle(terminal_token: str, card_number: str) -> None:
    from sandbox.scenarios import DEMO_PIN

    case = schema["/api/v1/settlements"]["POST"].Case(
        body={
            "visit_type": "OUTPATIENT",
            "use_personal_account": True,
            "line_items": [{"code": "XJ01CAA040A001", "quantity": "2", "unit_price": "18.50"}],
        },
        headers={
            "Authorization": f"Token {terminal_token}",
            "X-Presented-Credential": f"CARD {card_number}",
            "X-Card-PIN": DEMO_PIN,
            "Idempotency-Key": str(uuid.uuid4()),
        },
        media_type="application/json",
    )
    response = case.call()
    assert response.status_code == 201, response.text


class World:
    """The seeded world's logins and real ids, re-read as the fuzzing creates rows."""

    def __init__(self):
        from cards.models import SocialSecurityCard
        from persons.models import InsuredPerson
        from sandbox.demo import (
            INSTITUTIONS,
            OPERATORS,
            SUPERUSER,
            demo_token,
            demo_world_build,
            person_username,
        )
        from sandbox.scenarios import SCENARIOS

        demo_world_build()
        self.tokens = {
            "superuser": [demo_token(SUPERUSER[0])],
            "operator": [demo_token(name) for name in OPERATORS],
            "person": [demo_token(person_username(code)) for code in SCENARIOS],
            "terminal": [demo_token(spec.terminal) for spec in INSTITUTIONS],
        }
        self.pharmacy_tokens = [
            demo_token(spec.terminal) for spec in INSTITUTIONS if spec.kind == "PHARMACY"
        ]
        self.terminal_city = {demo_token(spec.terminal): spec.city_code for spec in INSTITUTIONS}
        self.person_of_token = {
            demo_token(person_username(code)): InsuredPerson.objects.get(
                user__username=person_username(code)
            ).id
            for code in SCENARIOS
        }
        # Cards ready for pick-up, for the counter's collect: made at a street point, then
        # marked ready as the card maker does.
        from cards.services import card_mark_ready, card_report_lost
        from sandbox.scenarios import scenario_create

        pending = [code for code, scenario in SCENARIOS.items() if scenario.spec.card == "PENDING"]
        for index in range(3):
            made = scenario_create(pending[0], rng=random.Random(f"fuzz ready card {index}"))
            card_mark_ready(card=made.person.cards.get())
        # Cards reported lost, for the counter's replacement.
        for index in range(3):
            made = scenario_create("BALANCE_VISIBLE", rng=random.Random(f"fuzz lost card {index}"))
            card_report_lost(card=made.person.cards.get(), by=None)
        # Settlements at each hospital, from every activated card of its city.
        for spec in INSTITUTIONS:
            if spec.kind != "HOSPITAL":
                continue
            cards = SocialSecurityCard.objects.filter(
                status="ACTIVE", person__city__code=spec.city_code
            ).values_list("number", flat=True)
            for number in cards:
                _settle(demo_token(spec.terminal), number)
        self.refresh()

    def fresh_token(self, token: str) -> str:
        from knox.models import AuthToken
        from knox.settings import CONSTANTS

        user = AuthToken.objects.get(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).user
        return AuthToken.objects.create(user, expiry=None)[1]

    def endpoints_of_token(self, token: str) -> list[int]:
        from knox.models import AuthToken
        from knox.settings import CONSTANTS

        from webhooks.models import WebhookEndpoint

        owner = AuthToken.objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).values(
            "user_id"
        )
        return list(WebhookEndpoint.objects.filter(owner__in=owner).values_list("pk", flat=True))

    def evoucher_states(self) -> dict[int, str]:
        from cards.models import EVoucher

        return dict(EVoucher.objects.values_list("person_id", "status"))

    def refresh(self):
        from accounts.models import Account, ContributionCollection, CreditingRun
        from cards.models import SocialSecurityCard
        from cities.models import City
        from employers.models import Employer
        from institutions.models import Institution
        from persons.models import InsuredPerson
        from settlement.models import (
            CatalogItem,
            ClearingRun,
            CrossCityFiling,
            FamilyAuthorization,
            Settlement,
        )
        from uploads.models import CityUpload
        from webhooks.models import WebhookEndpoint

        def ids(model, **filters):
            return list(model.objects.filter(**filters).values_list("pk", flat=True))

        self.persons = list(
            InsuredPerson.objects.values("id", "resident_id", "name", "city__code", "user_id")
        )
        self.cards = list(
            SocialSecurityCard.objects.values(
                "id", "number", "status", "person_id", "person__city__code"
            )
        )
        self.path_ids = {
            "person_id": [p["id"] for p in self.persons],
            "card_id": [c["id"] for c in self.cards],
            "account_id": ids(Account),
            "settlement_id": ids(Settlement),
            "institution_id": ids(Institution),
            "employer_id": ids(Employer),
            "filing_id": ids(CrossCityFiling),
            "authorization_id": ids(FamilyAuthorization),
            "upload_id": ids(CityUpload),
            "city_code": list(City.objects.values_list("code", flat=True)),
        }
        self.collections = ids(ContributionCollection)
        self.clearing_runs = ids(ClearingRun)
        self.endpoints = ids(WebhookEndpoint)
        self.crediting_runs = ids(CreditingRun)
        self.catalog_codes = list(CatalogItem.objects.values_list("code", flat=True)[:50])


def _problem_codes():
    from api.views import all_error_codes

    return list(all_error_codes())


_CARD_ACTION_STATES = {
    "collect": ("READY",),
    "activate": ("ISSUED",),
    "report-lost": ("ISSUED", "ACTIVE", "READY"),
    "replace": ("LOST",),
}
# Person logins by the e-voucher operation their state allows.
_EVOUCHER_STEP_STATES = {
    "agreement": ("NOT_ACTIVATED",),
    "face-authentications": ("AGREEMENT_ACCEPTED",),
    "qr-codes": ("ACTIVATED",),
}


def realistic_token(operation, role: str, world: World, rng: random.Random) -> str:
    """The role's login to act with: for a person's own e-voucher steps, mostly a person whose
    e-voucher is at that step."""
    tokens = world.tokens[role]
    step = operation.path.rsplit("/", 1)[-1]
    if role == "terminal" and step == "pharmacy-activations" and rng.random() < 0.8:
        return rng.choice(world.pharmacy_tokens)
    if role == "person" and "/me/evoucher/" in operation.path:
        states = world.evoucher_states()
        fitting = [
            t for t in tokens if states.get(world.person_of_token[t]) in _EVOUCHER_STEP_STATES[step]
        ]
        if fitting and rng.random() < 0.8:
            return rng.choice(fitting)
    return rng.choice(tokens)


def _make_realistic(
    case, role: str, token: str, world: World, rng: random.Random, *, keep_path: bool = False
) -> None:
    """Replace generated ids, people and headers by the world's real ones (in place); with
    ``keep_path`` the path's ids stay (a link chose them)."""
    from cards.services import evoucher_presentation_code_issue
    from sandbox.scenarios import DEMO_PIN, SCENARIOS

    path = case.operation.path
    for name in [] if keep_path else list(case.path_parameters or {}):
        pool = world.path_ids.get(name)
        if name == "job_id":
            if "collections" in path:
                pool = world.collections
            elif "clearing-runs" in path:
                pool = world.clearing_runs
            else:
                pool = world.crediting_runs
        elif name == "endpoint_id":
            # Mostly one of the caller's own endpoints; the rest are someone else's (refused).
            own = world.endpoints_of_token(token)
            pool = own if own and rng.random() < 0.8 else world.endpoints
        elif name == "code":
            if "scenarios" in path:
                pool = list(SCENARIOS)
            elif "problems" in path:
                pool = _problem_codes()
            else:
                pool = world.catalog_codes
        if name == "card_id":
            # Mostly a card in the state the action starts from, so the action can succeed.
            action = path.rsplit("/", 1)[-1]
            wanted = _CARD_ACTION_STATES.get(action)
            fitting = [c["id"] for c in world.cards if c["status"] in (wanted or ())]
            if action == "replace":
                # A lost card whose holder has no other card yet.
                held = {c["person_id"] for c in world.cards if c["status"] != "LOST"}
                fitting = [
                    c["id"]
                    for c in world.cards
                    if c["status"] == "LOST" and c["person_id"] not in held
                ] or fitting
            if fitting and rng.random() < 0.8:
                pool = fitting
        if name == "employer_id" and path.endswith("/arrears-payment"):
            from accounts.models import ContributionArrear

            owing = list(ContributionArrear.objects.values_list("employer_id", flat=True))
            if owing and rng.random() < 0.8:
                pool = owing
        if name == "person_id" and path.endswith("/login"):
            without_login = [p["id"] for p in world.persons if p["user_id"] is None]
            if without_login and rng.random() < 0.8:
                pool = without_login
        if pool:
            case.path_parameters[name] = rng.choice(pool)

    headers = case.headers if case.headers is not None else {}
    if "Idempotency-Key" in headers or case.method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    if role == "terminal":
        city = world.terminal_city[token]
        local = [c for c in world.cards if c["person__city__code"] == city]
        active = [c for c in local if c["status"] == "ACTIVE"]
        if active and rng.random() < 0.8:
            # Mostly a card that pays; the rest are refused with their reason.
            local = active
        if rng.random() < 0.5 and local:
            card = rng.choice(local)
            headers["X-Presented-Credential"] = f"CARD {card['number']}"
            headers["X-Card-PIN"] = DEMO_PIN
        else:
            from cards.models import EVoucher

            holders = list(
                EVoucher.objects.filter(status="ACTIVATED", person__city__code=city).values_list(
                    "person_id", flat=True
                )
            )
            if holders:
                from persons.models import InsuredPerson

                person = InsuredPerson.objects.get(pk=rng.choice(holders))
                code = evoucher_presentation_code_issue(person=person).code
                headers["X-Presented-Credential"] = f"EVOUCHER {code}"
    else:
        headers.pop("X-Presented-Credential", None)
        headers.pop("X-Card-PIN", None)
    case.headers = headers

    if not isinstance(case.body, dict):
        return
    body = case.body
    me = world.person_of_token.get(token)
    person = rng.choice(world.persons)
    if role == "person" and me is not None:
        person = next(p for p in world.persons if p["id"] == me)
    if path.endswith("/cards") and rng.random() < 0.8:
        # Mostly someone who holds no card (or only a lost one), who may apply for one.
        held = {c["person_id"] for c in world.cards if c["status"] != "LOST"}
        cardless = [p for p in world.persons if p["id"] not in held]
        if cardless:
            person = rng.choice(cardless)
    for key in ("person", "account_holder"):
        if key in body:
            body[key] = person["id"]
    if "family_account_holder" in body:
        # Mostly one's own account; sometimes a relative's (refused unless authorised).
        if rng.random() < 0.7:
            del body["family_account_holder"]
        else:
            body["family_account_holder"] = rng.choice(world.persons)["id"]
    if "visit_type" in body and rng.random() < 0.6:
        body["visit_type"] = "OUTPATIENT"
    if "insured_resident_id" in body:
        owner = person
        if "card_id" in (case.path_parameters or {}):
            card = next(
                (c for c in world.cards if c["id"] == case.path_parameters["card_id"]), None
            )
            if card:
                owner = next(p for p in world.persons if p["id"] == card["person_id"])
        body["insured_resident_id"] = owner["resident_id"]
        for agent_field in ("agent_name", "agent_resident_id"):
            body.pop(agent_field, None)
    if "beneficiary_resident_id" in body:
        # Mostly someone else insured in the account holder's city.
        holder = person
        relatives = [
            p
            for p in world.persons
            if p["city__code"] == holder["city__code"] and p["id"] != holder["id"]
        ]
        beneficiary = rng.choice(relatives if relatives and rng.random() < 0.8 else world.persons)
        body["beneficiary_resident_id"] = beneficiary["resident_id"]
        body["beneficiary_name"] = beneficiary["name"]
    if path.endswith("/pharmacy-activations"):
        # Mostly someone whose e-voucher is not activated yet, with the sandbox's default face check.
        states = world.evoucher_states()
        waiting = [p for p in world.persons if states.get(p["id"]) != "ACTIVATED"]
        someone = rng.choice(waiting if waiting and rng.random() < 0.8 else world.persons)
        body["resident_id"], body["name"] = someone["resident_id"], someone["name"]
        if rng.random() < 0.7:
            body.pop("sandbox_face_outcome", None)
    if path.endswith("/persons") and "resident_id" in body:
        from datetime import date, timedelta

        from persons.resident_id import make_resident_id

        born = date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
        body["resident_id"] = make_resident_id("330100", born, rng.randrange(1, 1000))
    if "city" in body and isinstance(body["city"], str):
        body["city"] = rng.choice(world.path_ids["city_code"])
    if "line_items" in body and isinstance(body["line_items"], list):
        ordinary = rng.random() < 0.8
        for line in body["line_items"]:
            if isinstance(line, dict) and world.catalog_codes:
                line["code"] = rng.choice(world.catalog_codes)
                if ordinary:
                    # Mostly an ordinary visit's figures; the rest keep the generated ones.
                    line["quantity"] = str(rng.randrange(1, 4))
                    line["unit_price"] = f"{rng.randrange(100, 9000) / 100:.2f}"
    if path.endswith("/contributions") and rng.random() < 0.7:
        # Mostly a month of this year the person may owe (the simulated clock starts in November
        # 2026); the payment base mostly left to the rules.
        body["period"] = f"2026-{rng.randrange(1, 13):02d}-01"
        if rng.random() < 0.7:
            body.pop("payment_base", None)
    if path.endswith("/employers") and "credit_code" in body and rng.random() < 0.7:
        # A new company's valid code: the example's is taken after its first use.
        from employers.credit_code import make_credit_code

        organisation = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        body["credit_code"] = make_credit_code("330100", organisation)
    if "visit_reference" in body:
        body["visit_reference"] = f"FZ-{uuid.uuid4().hex[:16]}"
    if path.endswith("/auth/login"):
        from sandbox.demo import PERSON_PASSWORD, STAFF_PASSWORD

        who = rng.choice(["op-all", "hz-hospital", "standard"])
        body["username"] = who
        body["password"] = PERSON_PASSWORD if who == "standard" else STAFF_PASSWORD
    if path.endswith("/login") and "persons" in path:
        body["username"] = f"fuzz-{uuid.uuid4().hex[:10]}"
        body["password"] = f"Fz-{uuid.uuid4().hex}"
    if path.endswith("/activate") and "pin" in body:
        body["pin"] = f"{rng.randrange(10**6):06d}"
    if "agreement_version" in body:
        from cards.services import evoucher_agreement_current

        body["agreement_version"] = evoucher_agreement_current().version
    if path.endswith("/clock/advance"):
        # Keep each clock step small: a year of simulated days per example is slow, not wrong.
        body.pop("to", None)
        for name, most in (("days", 3), ("hours", 72), ("minutes", 4320)):
            if isinstance(body.get(name), int):
                body[name] = min(body[name], most)


def _is_negative(case) -> bool:
    return case.meta is not None and "NEGATIVE" in str(case.meta.generation.mode).upper()


class Run:
    """Per operation: each response's status, and the checks that failed."""

    def __init__(self):
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.problems: dict[str, Counter] = defaultdict(Counter)
        self.stateful: dict[str, Counter] = defaultdict(Counter)
        self.stateful_cut_short = 0
        self.failures: list[str] = []

    def record(self, case, response, role: str) -> None:
        self.statuses[case.operation.label][response.status_code // 100 * 100] += 1
        if response.status_code >= 400:
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
            self.problems[case.operation.label][code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{role} {case.operation.label}: {response.status_code}")

    def call(self, case, role: str, token: str) -> None:
        # The role's own login, not a generated one: no generated token or session cookie. The
        # default checks then also prove the login is required (the same request without it,
        # and with an invalid one, is refused).
        response = self.call_response(case, role, token, "generated")
        self.validate(case, response, role)

    def call_response(self, case, role: str, token: str, phase: str):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}
        case.cookies = {}
        case._has_explicit_auth = True
        response = case.call()
        self.record(case, response, role)
        if phase == "stateful":
            self.stateful[case.operation.label][response.status_code // 100 * 100] += 1
        return response

    def validate(self, case, response, role: str, **kwargs) -> None:
        from schemathesis.core.failures import FailureGroup
        from schemathesis.core.parameters import ParameterLocation

        if (
            role != "terminal"
            and _is_negative(case)
            and case.meta.is_negative_at(ParameterLocation.HEADER)
        ):
            # Only a terminal's X-Presented-Credential and X-Card-PIN are read; any other caller's
            # are ignored by design, so a malformed one is no invalid request from them. (No 5xx
            # is still checked, in record.)
            return
        try:
            case.validate_response(response, **kwargs)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.failures.append(
                    f"{role} {case.operation.label}: {getattr(failure, 'code', '')} "
                    f"{type(failure).__name__}: {response.status_code} {response.text[:400]} "
                    f"{str(failure)[:600]}"
                )

    def table(self) -> str:
        lines = [f"{'operation':<70} {'2xx':>5} {'4xx':>5} {'5xx':>5}"]
        for label in sorted(self.statuses):
            counts = self.statuses[label]
            lines.append(f"{label:<70} {counts[200]:>5} {counts[400]:>5} {counts[500]:>5}")
        return "\n".join(lines)


def _fuzz_operation(operation, role, world, run, rng):
    explicit = operation.get_strategies_from_examples()
    positive = operation.as_strategy()
    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

    @hypothesis.given(data=st.data())
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def generated(data):
        if data.draw(st.integers(0, 99)) < NEGATIVE_SHARE * 100:
            case = data.draw(negative)
        else:
            case = data.draw(st.one_of(positive, *explicit))
        token = realistic_token(operation, role, world, rng)
        if not _is_negative(case) and rng.random() < REALISTIC_SHARE:
            _make_realistic(case, role, token, world, rng)
        if operation.path.endswith("/auth/logout"):
            # Logging out revokes the token: log out a fresh one of the same login.
            token = world.fresh_token(token)
        run.call(case, role, token)

    generated()


def _follow_links(role: str, world: World, run: Run, rng: random.Random) -> None:
    """The stateful phase: sequences of calls that follow the schema's OpenAPI links, each
    created row then read, acted on or reversed through the id its creation answered."""

    class Machine(schema.as_state_machine()):
        def setup(self):
            # One login per sequence: what a person creates, the same person reads.
            self.token = None

        def call(self, case, **kwargs):
            if self.token is None:
                self.token = realistic_token(case.operation, role, world, rng)
            token = self.token
            if not _is_negative(case):
                _make_realistic(case, role, token, world, rng, keep_path=True)
            if case.operation.path.endswith("/auth/logout"):
                token = world.fresh_token(token)
            return run.call_response(case, role, token, "stateful")

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            run.validate(case, response, role, additional_checks=additional_checks)

    try:
        Machine.run(
            settings=hypothesis.settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                database=None,
                phases=[hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    except hypothesis.errors.FlakyStrategyDefinition:
        # The world is not rolled back between sequences (that is the point: each one acts on
        # what the earlier ones left), so Hypothesis may find a sequence it replays take another
        # turn, and stops there. The calls made until then were recorded and checked.
        run.stateful_cut_short += 1


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.django_db
def test_every_operation_reaches_the_logic_as_every_role(agreement, settings):
    from tests.support import MONDAY_MORNING, set_clock

    # Logins are fuzzed many times a minute; the throttle has tests of its own.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "100000/min",
            "pharmacy_activation": "100000/hour",
        },
    }
    seed = int(os.environ.get("FUZZ_SEED", random.randrange(2**32)))
    print(f"\nFUZZ_SEED={seed}")
    rng = random.Random(seed)
    set_clock(MONDAY_MORNING)
    world = World()
    run = Run()
    operations = [result.ok() for result in schema.get_all_operations()]
    for role in ROLES:
        for operation in operations:
            _fuzz_operation(operation, role, world, run, rng)
            world.refresh()
    # An operation that succeeds only from a narrow state (arrears to pay, a card ready for
    # pick-up) may draw no valid request in one round: it gets more rounds of its own, with
    # new draws, before the run says it never reached the logic.
    extra_rounds = Counter()
    for _ in range(RETRY_ROUNDS):
        missed = [op for op in operations if run.statuses[op.label][200] == 0]
        for operation in missed:
            extra_rounds[operation.label] += 1
            for role in ROLES:
                _fuzz_operation(operation, role, world, run, rng)
                world.refresh()
    for role in ROLES:
        _follow_links(role, world, run, rng)
        world.refresh()

    print(run.table())
    print("operations given extra rounds (rounds):", dict(extra_rounds))
    followed = {label: counts[200] for label, counts in sorted(run.stateful.items())}
    print("stateful phase, 2xx per operation:", followed)
    print(
        f"stateful runs stopped early by a replay that took another turn: {run.stateful_cut_short}"
    )
    # The stateful phase calls an operation on a path id only with a generated id (which finds
    # nothing) or with one a link took from what an earlier call created: a 2xx there is a
    # link followed to the end.
    assert any(counts[200] for label, counts in run.stateful.items() if "{" in label), (
        "the stateful phase never followed a link to a 2xx"
    )
    _assert_ledger_invariants()
    kinds = Counter(line.split(": ")[1].split(" ")[0] for line in run.failures)
    print("failures by check:", dict(kinds))
    assert not run.failures, "\n\n".join(run.failures[:40])
    never = sorted(
        op.label
        for op in operations
        if run.statuses[op.label][200] == 0 and op.label not in NEVER_2XX_BY_DESIGN
    )
    reached = sum(1 for op in operations if run.statuses[op.label][200])
    print(f"{reached} of {len(operations)} operations answered 2xx")
    assert not never, "never answered 2xx: " + "; ".join(
        f"{label} {dict(run.problems[label])}" for label in never
    )


def _assert_ledger_invariants():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT transfer_id, SUM(amount) FROM accounts_entry GROUP BY transfer_id "
            "HAVING SUM(amount) <> 0"
        )
        assert cursor.fetchall() == [], "a transfer whose entries do not sum to zero"
        cursor.execute(
            "SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) FROM accounts_account a "
            "LEFT JOIN accounts_entry e ON e.account_id = a.id GROUP BY a.id "
            "HAVING a.balance + COALESCE((SELECT SUM(s.balance) FROM accounts_accountstripe s "
            "WHERE s.account_id = a.id), 0) <> COALESCE(SUM(e.amount), 0)"
        )
        assert cursor.fetchall() == [], "an account whose balance is not the sum of its entries"
        cursor.execute(
            "SELECT id, balance FROM accounts_account WHERE kind = 'PERSONAL' AND balance < 0"
        )
        assert cursor.fetchall() == [], "a personal account below zero"
