"""Every endpoint by every role: what each caller gets, asserted as a matrix.

The world: city A (Hangzhou) with the subject P (an employee with an active card, an activated
e-voucher and a login), another insured person Q of the same city, persons R and T without logins
(R's card is ready for pick-up, T's was reported lost), a hospital and a pharmacy of A whose
terminals present P's card, a settlement of P's at the hospital, a cross-city filing of P's, a
family authorisation from P to Q, and a crediting run, collection and upload of A. City B
(Fuzhou) has its own operator. Each request runs in a savepoint rolled back afterwards, so every
role meets the same world.

Roles: anon (no credential), self (P), other (Q), terminal (the hospital, presenting P's card),
bare (the hospital presenting nothing), pharmacy (presenting P's card), op (operator of A),
op_other (operator of B only), super (superuser).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import URLResolver, get_resolver
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.crediting import contribution_collection_open, crediting_run_open
from accounts.employer_payments import contribution_arrear_record
from cards.credentials import PresentedCredential
from cards.models import SocialSecurityCard
from cards.services import card_apply, card_mark_ready, card_pin_verify, card_report_lost
from claims.services import CategoryTotal, ClaimPayout, ClaimVisit, ReceiptInput, claim_submit
from common import clock
from employers.credit_code import make_credit_code
from employers.services import employer_employee_add
from employers.tests.factories import EmployerFactory
from persons.resident_id import make_resident_id
from persons.services import person_login_create
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
from settlement.tests.factories import (
    CatalogItemFactory,
    InstitutionFactory,
    PharmacyFactory,
    filing_for,
)
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from uploads.services import upload_open
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory

pytestmark = pytest.mark.django_db

ROLES = ("anon", "self", "other", "terminal", "bare", "pharmacy", "op", "op_other", "super")


def everyone(status: int, **overrides: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status) | overrides


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return everyone(status, anon=401) | overrides


def persons_row(**overrides: int) -> dict[str, int]:
    """A person-scoped read of P: P, presenting terminals, A's operator and the superuser see it."""
    return signed_in(200, other=404, bare=403, op_other=404) | overrides


def operator_of_a(success: int, **overrides: int) -> dict[str, int]:
    """A city-level write in A: only A's operator and the superuser."""
    return signed_in(403, op=success, super=success) | overrides


@dataclass
class Case:
    method: str
    route: str  # as in the URLconf
    path: str  # with {placeholders} from the world
    expected: dict[str, int]
    body: dict = field(default_factory=dict)


CASES = [
    # Public meta endpoints.
    Case("get", "api/v1/", "/api/v1/", everyone(200)),
    Case("get", "api/v1/health", "/api/v1/health", everyone(200)),
    Case("get", "api/v1/schema", "/api/v1/schema", everyone(200)),
    Case("get", "api/v1/docs", "/api/v1/docs", everyone(200)),
    Case("get", "api/v1/redoc", "/api/v1/redoc", everyone(200)),
    Case("get", "api/v1/problems", "/api/v1/problems", everyone(200)),
    Case(
        "get",
        "api/v1/balance-reasons/<str:code>",
        "/api/v1/balance-reasons/CARD_NOT_ACTIVATED",
        everyone(200),
    ),
    Case("get", "api/v1/problems/<str:code>", "/api/v1/problems/NOT_FOUND", everyone(200)),
    Case("get", "api/v1/balance-reasons", "/api/v1/balance-reasons", everyone(200)),
    # Authentication.
    Case(
        "post",
        "api/v1/auth/login",
        "/api/v1/auth/login",
        everyone(400),
        {"username": "nobody", "password": "wrong"},
    ),
    Case("post", "api/v1/auth/logout", "/api/v1/auth/logout", signed_in(204)),
    Case("get", "api/v1/me", "/api/v1/me", signed_in(200)),
    # Cities.
    Case("get", "api/v1/cities", "/api/v1/cities", signed_in(200)),
    Case(
        "get",
        "api/v1/cities/<str:city_code>",
        "/api/v1/cities/{city_a}",
        signed_in(200, op_other=404),
    ),
    Case(
        "patch",
        "api/v1/cities/<str:city_code>",
        "/api/v1/cities/{city_a}",
        operator_of_a(200),
        {"platform_busy_forced": True},
    ),
    Case(
        "get",
        "api/v1/cities/<str:city_code>/fund",
        "/api/v1/cities/{city_a}/fund",
        operator_of_a(200, op_other=404),
    ),
    # Persons.
    Case("get", "api/v1/persons", "/api/v1/persons", signed_in(200, bare=403)),
    Case(
        "post",
        "api/v1/persons",
        "/api/v1/persons",
        operator_of_a(201),
        {"resident_id": "{new_id}", "name": "New", "city": "{city_a}", "scheme": "RESIDENT"},
    ),
    Case("get", "api/v1/persons/<int:person_id>", "/api/v1/persons/{p}", persons_row()),
    Case(
        "post",
        "api/v1/persons/<int:person_id>/login",
        "/api/v1/persons/{r}/login",
        signed_in(404, bare=403, op=201, super=201),
        {"username": "r-login", "password": "a-long-password-1"},
    ),
    Case(
        "get",
        "api/v1/persons/<int:person_id>/balance",
        "/api/v1/persons/{p}/balance",
        persons_row(),
    ),
    Case(
        "get",
        "api/v1/persons/<int:person_id>/contributions",
        "/api/v1/persons/{p}/contributions",
        persons_row(),
    ),
    Case(
        "get",
        "api/v1/persons/<int:person_id>/evoucher",
        "/api/v1/persons/{p}/evoucher",
        persons_row(),
    ),
    # Cards.
    Case("get", "api/v1/cards", "/api/v1/cards", signed_in(200, bare=403)),
    Case(
        "post",
        "api/v1/cards",
        "/api/v1/cards",
        signed_in(404, bare=403, op=201, super=201),
        {"person": "{r_plain}", "site": "COUNTY_CENTER", "insured_resident_id": "{r_plain_id}"},
    ),
    Case("get", "api/v1/cards/<int:card_id>", "/api/v1/cards/{p_card}", persons_row()),
    Case(
        "post",
        "api/v1/cards/<int:card_id>/collect",
        "/api/v1/cards/{r_card}/collect",
        signed_in(404, bare=403, op=200, super=200),
    ),
    Case(
        "post",
        "api/v1/cards/<int:card_id>/activate",
        "/api/v1/cards/{q_card}/activate",
        signed_in(404, other=403, bare=403, op=200, super=200),
        {"pin": "258036"},
    ),
    Case(
        "post",
        "api/v1/cards/<int:card_id>/report-lost",
        "/api/v1/cards/{p_card}/report-lost",
        signed_in(403, self=200, other=404, op=200, op_other=404, super=200),
    ),
    Case(
        "post",
        "api/v1/cards/<int:card_id>/replace",
        "/api/v1/cards/{t_card}/replace",
        signed_in(404, bare=403, op=201, super=201),
        {"site": "COUNTY_CENTER", "insured_resident_id": "{t_id}"},
    ),
    # E-vouchers.
    Case(
        "get",
        "api/v1/evoucher-agreements/current",
        "/api/v1/evoucher-agreements/current",
        signed_in(200),
    ),
    Case(
        "post",
        "api/v1/me/evoucher/agreement",
        "/api/v1/me/evoucher/agreement",
        signed_in(403, self=409, other=200, super=404),
        {"platform": "WECHAT", "agreement_version": "2025.1"},
    ),
    Case(
        "post",
        "api/v1/me/evoucher/face-authentications",
        "/api/v1/me/evoucher/face-authentications",
        signed_in(403, self=409, other=409, super=404),
        {"sandbox_outcome": "PASS"},
    ),
    Case(
        "get",
        "api/v1/me/evoucher",
        "/api/v1/me/evoucher",
        signed_in(403, self=200, other=200, super=404),
    ),
    Case(
        "post",
        "api/v1/me/evoucher/qr-codes",
        "/api/v1/me/evoucher/qr-codes",
        signed_in(403, self=201, other=409, super=404),
    ),
    Case(
        "post",
        "api/v1/evouchers/pharmacy-activations",
        "/api/v1/evouchers/pharmacy-activations",
        signed_in(403, pharmacy=200),
        {"resident_id": "{q_id}", "name": "{q_name}"},
    ),
    # Balance.
    Case(
        "get",
        "api/v1/me/balance",
        "/api/v1/me/balance",
        signed_in(403, self=200, other=200, super=404),
    ),
    # Accounts and contributions.
    Case("get", "api/v1/accounts", "/api/v1/accounts", signed_in(200)),
    Case(
        "get",
        "api/v1/accounts/<int:account_id>",
        "/api/v1/accounts/{p_account}",
        persons_row(bare=404),
    ),
    Case(
        "get",
        "api/v1/accounts/<int:account_id>/entries",
        "/api/v1/accounts/{p_account}/entries",
        persons_row(bare=404),
    ),
    Case(
        "post",
        "api/v1/contributions",
        "/api/v1/contributions",
        signed_in(403, other=404, op=201, op_other=404, super=201),
        {"person": "{p}", "period": "2026-11-01"},
    ),
    Case(
        "get",
        "api/v1/persons/<int:person_id>/payment-months",
        "/api/v1/persons/{p}/payment-months",
        persons_row(),
    ),
    # Employers (A's employer has an unpaid month of Q's).
    Case("get", "api/v1/employers", "/api/v1/employers", signed_in(200)),
    Case(
        "post",
        "api/v1/employers",
        "/api/v1/employers",
        operator_of_a(201),
        {"name": "Matrix Co.", "credit_code": "{new_credit_code}", "city": "{city_a}"},
    ),
    Case(
        "get",
        "api/v1/employers/<int:employer_id>",
        "/api/v1/employers/{employer}",
        signed_in(404, op=200, super=200),
    ),
    Case(
        "post",
        "api/v1/employers/<int:employer_id>/employees",
        "/api/v1/employers/{employer}/employees",
        signed_in(404, op=200, super=200),
        {"person": "{r_plain}", "started_on": "2026-11-01"},
    ),
    Case(
        "post",
        "api/v1/employers/<int:employer_id>/payment-mode",
        "/api/v1/employers/{employer}/payment-mode",
        signed_in(404, op=200, super=200),
        {"payment_mode": "PAYING"},
    ),
    Case(
        "post",
        "api/v1/employers/<int:employer_id>/arrears-payment",
        "/api/v1/employers/{employer}/arrears-payment",
        signed_in(404, op=201, super=201),
    ),
    # Recorded jobs.
    Case("get", "api/v1/crediting-runs", "/api/v1/crediting-runs", signed_in(200)),
    Case(
        "post",
        "api/v1/crediting-runs",
        "/api/v1/crediting-runs",
        operator_of_a(202),
        {"city": "{city_a}", "period": "2026-11-01"},
    ),
    Case(
        "get",
        "api/v1/crediting-runs/<int:job_id>",
        "/api/v1/crediting-runs/{run}",
        signed_in(404, op=200, super=200),
    ),
    Case(
        "get", "api/v1/contribution-collections", "/api/v1/contribution-collections", signed_in(200)
    ),
    Case(
        "post",
        "api/v1/contribution-collections",
        "/api/v1/contribution-collections",
        operator_of_a(202),
        {"city": "{city_a}", "period": "2026-11-01"},
    ),
    Case(
        "get",
        "api/v1/contribution-collections/<int:job_id>",
        "/api/v1/contribution-collections/{collection}",
        signed_in(404, op=200, super=200),
    ),
    Case("get", "api/v1/uploads", "/api/v1/uploads", signed_in(200)),
    Case("post", "api/v1/uploads", "/api/v1/uploads", operator_of_a(202), {"city": "{city_a}"}),
    Case(
        "get",
        "api/v1/uploads/<int:upload_id>",
        "/api/v1/uploads/{upload}",
        signed_in(404, op=200, super=200),
    ),
    # Institutions, catalog, policy: a directory for every signed-in caller.
    Case("get", "api/v1/institutions", "/api/v1/institutions", signed_in(200)),
    Case(
        "get",
        "api/v1/institutions/<int:institution_id>",
        "/api/v1/institutions/{hospital}",
        signed_in(200),
    ),
    Case("get", "api/v1/catalog", "/api/v1/catalog", signed_in(200)),
    Case("get", "api/v1/catalog/<str:code>", "/api/v1/catalog/MATRIX-A", signed_in(200)),
    Case(
        "get",
        "api/v1/benefit-policies/<str:city_code>",
        "/api/v1/benefit-policies/{city_a}",
        signed_in(200),
    ),
    # Settlement.
    Case("get", "api/v1/settlements", "/api/v1/settlements", signed_in(200)),
    Case(
        "post",
        "api/v1/settlements",
        "/api/v1/settlements",
        signed_in(403, terminal=201, pharmacy=201),
        {
            "visit_type": "OUTPATIENT",
            "use_personal_account": True,
            "line_items": [{"code": "MATRIX-A", "quantity": "1", "unit_price": "20.00"}],
        },
    ),
    Case(
        "post",
        "api/v1/settlements/quote",
        "/api/v1/settlements/quote",
        signed_in(403, terminal=200, pharmacy=200),
        {
            "visit_type": "OUTPATIENT",
            "use_personal_account": True,
            "line_items": [{"code": "MATRIX-A", "quantity": "1", "unit_price": "20.00"}],
        },
    ),
    Case(
        "get",
        "api/v1/settlements/<int:settlement_id>",
        "/api/v1/settlements/{settlement}",
        signed_in(200, other=404, pharmacy=404, op_other=404),
    ),
    Case(
        "post",
        "api/v1/settlements/<int:settlement_id>/reversal",
        "/api/v1/settlements/{settlement}/reversal",
        signed_in(200, self=403, other=404, pharmacy=404, op_other=404),
        {"reason": "refund"},
    ),
    # The monthly clearing between cities (a statement of cities A and B).
    Case("get", "api/v1/clearing-statements", "/api/v1/clearing-statements", signed_in(200)),
    Case(
        "get",
        "api/v1/clearing-statements/<int:statement_id>",
        "/api/v1/clearing-statements/{statement}",
        signed_in(404, op=200, op_other=200, super=200),
    ),
    Case("get", "api/v1/clearing-runs", "/api/v1/clearing-runs", signed_in(200)),
    Case(
        "post",
        "api/v1/clearing-runs",
        "/api/v1/clearing-runs",
        signed_in(403, super=202),
        {"period": "2026-10-01"},
    ),
    Case(
        "get",
        "api/v1/clearing-runs/<int:job_id>",
        "/api/v1/clearing-runs/{clearing_run}",
        signed_in(404, op=200, op_other=200, super=200),
    ),
    # Cross-city filings (P's filing names city B).
    Case("get", "api/v1/filings", "/api/v1/filings", signed_in(200)),
    Case(
        "post",
        "api/v1/filings",
        "/api/v1/filings",
        signed_in(403, self=201, other=404, op=201, op_other=404, super=201),
        {"person": "{p}", "city": "{city_c}", "category": "TEMPORARY"},
    ),
    Case(
        "get",
        "api/v1/filings/<int:filing_id>",
        "/api/v1/filings/{filing}",
        signed_in(404, self=200, op=200, op_other=200, super=200),
    ),
    Case(
        "post",
        "api/v1/filings/<int:filing_id>/revocation",
        "/api/v1/filings/{filing}/revocation",
        signed_in(404, self=200, op=200, op_other=403, super=200),
    ),
    # Family mutual aid (P authorised Q; either of them may end it).
    Case("get", "api/v1/family-authorizations", "/api/v1/family-authorizations", signed_in(200)),
    Case(
        "post",
        "api/v1/family-authorizations",
        "/api/v1/family-authorizations",
        signed_in(403, self=201, other=404, op=201, op_other=404, super=201),
        {
            "account_holder": "{p}",
            "beneficiary_resident_id": "{r_id}",
            "beneficiary_name": "{r_name}",
            "relation": "PARENT",
        },
    ),
    Case(
        "get",
        "api/v1/family-authorizations/<int:authorization_id>",
        "/api/v1/family-authorizations/{family}",
        signed_in(404, self=200, other=200, op=200, super=200),
    ),
    Case(
        "post",
        "api/v1/family-authorizations/<int:authorization_id>/revocation",
        "/api/v1/family-authorizations/{family}/revocation",
        signed_in(404, self=200, other=200, op=200, super=200),
    ),
    # Sandbox (on in the test settings).
    Case("get", "api/v1/sandbox/scenarios", "/api/v1/sandbox/scenarios", signed_in(200)),
    Case(
        "post",
        "api/v1/sandbox/scenarios/<str:code>",
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE",
        signed_in(201),
    ),
    Case("get", "api/v1/sandbox/clock", "/api/v1/sandbox/clock", signed_in(200)),
    Case(
        "post",
        "api/v1/sandbox/events/trigger",
        "/api/v1/sandbox/events/trigger",
        signed_in(201, other=404, bare=404, op_other=404),
        {"type": "card.status_changed", "object_type": "card", "object_id": "{p_card}"},
    ),
    # Webhooks: each caller's own endpoints (A's operator owns the one in the world).
    Case("get", "api/v1/webhook-endpoints", "/api/v1/webhook-endpoints", signed_in(200)),
    Case(
        "post",
        "api/v1/webhook-endpoints",
        "/api/v1/webhook-endpoints",
        signed_in(201, self=403, other=403),
        {"url": "http://127.0.0.1:9/matrix-new", "event_types": ["*"]},
    ),
    Case(
        "get",
        "api/v1/webhook-endpoints/<int:endpoint_id>",
        "/api/v1/webhook-endpoints/{endpoint}",
        signed_in(404, op=200),
    ),
    Case(
        "patch",
        "api/v1/webhook-endpoints/<int:endpoint_id>",
        "/api/v1/webhook-endpoints/{endpoint}",
        signed_in(404, op=200),
        {"description": "matrix"},
    ),
    Case(
        "delete",
        "api/v1/webhook-endpoints/<int:endpoint_id>",
        "/api/v1/webhook-endpoints/{endpoint}",
        signed_in(404, op=204),
    ),
    Case(
        "post",
        "api/v1/webhook-endpoints/<int:endpoint_id>/rotate-secret",
        "/api/v1/webhook-endpoints/{endpoint}/rotate-secret",
        signed_in(404, op=200),
    ),
    Case(
        "get",
        "api/v1/webhook-endpoints/<int:endpoint_id>/deliveries",
        "/api/v1/webhook-endpoints/{endpoint}/deliveries",
        signed_in(404, op=200),
    ),
    Case(
        "post",
        "api/v1/webhook-deliveries/<int:delivery_id>/retry",
        "/api/v1/webhook-deliveries/{delivery}/retry",
        signed_in(404, op=202),
    ),
    Case(
        "post",
        "api/v1/events/<str:event_id>/resend",
        "/api/v1/events/{event}/resend",
        # Those who see P's event but have no endpoint for it: 422 WEBHOOK_NO_ENDPOINT.
        signed_in(404, self=422, terminal=422, pharmacy=422, op=202, super=422),
    ),
    # The event log: P's card event, seen by those who may see P (presenting terminals included).
    Case("get", "api/v1/events", "/api/v1/events", signed_in(200)),
    Case(
        "get",
        "api/v1/events/<str:event_id>",
        "/api/v1/events/{event}",
        signed_in(200, other=404, bare=404, op_other=404),
    ),
    # Reimbursement claims (P's emergency in city B awaits review by A's agency; B's operator,
    # the care city's, does not see it).
    Case("get", "api/v1/reimbursement-claims", "/api/v1/reimbursement-claims", signed_in(200)),
    Case(
        "post",
        "api/v1/reimbursement-claims",
        "/api/v1/reimbursement-claims",
        # Insured persons file their own; a superuser is nobody's person.
        signed_in(403, self=201, other=201, super=404),
        {
            "institution_name": "Matrix Clinic",
            "care_city": "{city_c}",
            "tier": "LEVEL_1",
            "visit_type": "OUTPATIENT",
            "visit_date": "{today}",
            "emergency": True,
            "category_totals": [{"catalog_class": "A", "amount": "50.00"}],
            "receipts": [{"number": "MATRIX-NEW", "issued_on": "{today}", "amount": "50.00"}],
            "payout": {"method": "PERSONAL_ACCOUNT"},
        },
    ),
    Case(
        "get",
        "api/v1/reimbursement-claims/<int:claim_id>",
        "/api/v1/reimbursement-claims/{claim}",
        signed_in(404, self=200, op=200, super=200),
    ),
    Case(
        "post",
        "api/v1/reimbursement-claims/<int:claim_id>/review",
        "/api/v1/reimbursement-claims/{claim}/review",
        signed_in(404, self=403, op=200, super=200),
        {"decision": "REJECT", "reason_code": "NOT_AN_EMERGENCY", "reason": "matrix"},
    ),
    Case(
        "post",
        "api/v1/reimbursement-claims/<int:claim_id>/withdrawal",
        "/api/v1/reimbursement-claims/{claim}/withdrawal",
        signed_in(404, self=200, op=403, super=200),
    ),
    # Sandbox developers and their worlds (the world belongs to a developer none of the roles
    # is; nobody else may see or erase it).
    Case("post", "api/v1/sandbox/developers", "/api/v1/sandbox/developers", everyone(201)),
    Case("get", "api/v1/sandbox/worlds", "/api/v1/sandbox/worlds", signed_in(403)),
    Case("post", "api/v1/sandbox/worlds", "/api/v1/sandbox/worlds", signed_in(403)),
    Case(
        "get",
        "api/v1/sandbox/worlds/<int:world_id>",
        "/api/v1/sandbox/worlds/{world}",
        signed_in(403),
    ),
    Case(
        "delete",
        "api/v1/sandbox/worlds/<int:world_id>",
        "/api/v1/sandbox/worlds/{world}",
        signed_in(403),
    ),
    Case(
        "post",
        "api/v1/sandbox/clock/advance",
        "/api/v1/sandbox/clock/advance",
        signed_in(403, op=200, op_other=200, super=200),
        {"days": 1},
    ),
]


def _api_operations() -> set[tuple[str, str]]:
    """Every (method, route) the URLconf serves under /api/v1/, but the catch-all for unknown routes."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    operations = set()
    for route, callback in walk(get_resolver().url_patterns):
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not route.startswith("api/v1/") or view is None or route.endswith("^.*$"):
            continue
        operations |= {
            (method, route)
            for method in ("get", "post", "put", "patch", "delete")
            if hasattr(view, method)
        }
    return operations


def test_the_matrix_covers_every_endpoint_and_method():
    covered = {(case.method, case.route) for case in CASES}
    assert covered == _api_operations()


@pytest.fixture
def world(agreement):
    set_clock(MONDAY_MORNING)
    city_a, city_b = sandbox_city("standard"), sandbox_city("abolished")
    city_c = sandbox_city("small_platform")
    subject = build_person(PersonSpec(), username="matrix-p")
    p = subject.person
    q = PersonFactory(city=city_a, resident_id=make_resident_id("110105", date(1990, 1, 1), 14))
    person_login_create(person=q, username="matrix-q", password=None)
    q_card = card_apply(
        person=q,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=q.resident_id,
        by=None,
    )
    r = PersonFactory(city=city_a, resident_id=make_resident_id("110105", date(1990, 1, 2), 16))
    r_card = card_mark_ready(
        card=card_apply(
            person=r,
            site=SocialSecurityCard.Site.STREET_POINT,
            insured_resident_id=r.resident_id,
            by=None,
        )
    )
    r_plain = PersonFactory(
        city=city_a, resident_id=make_resident_id("110105", date(1990, 1, 3), 18)
    )
    t = PersonFactory(city=city_a, resident_id=make_resident_id("110105", date(1990, 1, 4), 20))
    t_card = card_report_lost(
        card=card_apply(
            person=t,
            site=SocialSecurityCard.Site.COUNTY_CENTER,
            insured_resident_id=t.resident_id,
            by=None,
        ),
        by=None,
    )
    p_card = SocialSecurityCard.objects.get(person=p, status=SocialSecurityCard.Status.ACTIVE)
    hospital = InstitutionFactory(city=city_a, level=3)
    pharmacy = PharmacyFactory(city=city_a)
    CatalogItemFactory(code="MATRIX-A", catalog_class=CatalogItem.CatalogClass.A)
    credential = card_pin_verify(
        credential=PresentedCredential(kind="CARD", value=p_card.number, person_id=p.id),
        pin=DEMO_PIN,
        now=clock.now(),
    )
    terminal_user = TerminalFactory(institution=hospital)
    settlement = settlement_submit(
        institution=hospital,
        credential=credential,
        visit_type="OUTPATIENT",
        lines=[LineInput(code="MATRIX-A", quantity=Decimal("1"), unit_price=Decimal("30.00"))],
        use_personal_account=True,
        by=terminal_user,
    )
    filing = filing_for(p, city_b, category=CrossCityFiling.Category.TEMPORARY)
    family = FamilyAuthorization.objects.create(
        account_holder=p,
        beneficiary=q,
        relation=FamilyAuthorization.Relation.CHILD,
        granted_at=MONDAY_MORNING,
        created_by=SuperuserFactory(),
    )
    employer = EmployerFactory(city=city_a)
    employer_employee_add(employer=employer, person=q, started_on=date(2026, 11, 1))
    contribution_arrear_record(
        person=q, period=date(2026, 11, 1), employer=employer, now=clock.now()
    )
    run, _ = crediting_run_open(city=city_a, period=date(2026, 11, 1))
    collection, _ = contribution_collection_open(city=city_a, period=date(2026, 11, 1))
    upload, _ = upload_open(city=city_a, trigger=CityUpload.Trigger.OPERATOR)
    clearing_run, _ = clearing_run_open(period=date(2026, 9, 1))
    low, high = sorted([city_a, city_b], key=lambda city: city.pk)
    statement = ClearingStatement.objects.create(
        run=clearing_run, period=date(2026, 9, 1), city_a=low, city_b=high
    )

    def client(user=None, presented: str | None = None) -> APIClient:
        api = APIClient()
        if user is not None:
            _, token = AuthToken.objects.create(user)
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        if presented:
            api.defaults["HTTP_X_PRESENTED_CREDENTIAL"] = presented
            api.defaults["HTTP_X_CARD_PIN"] = DEMO_PIN  # the cardholder's, entered at the terminal
        return api

    claim = _claim_of(p, city_b)
    world = world_create(owner=developer_create()[0], name="matrix")
    webhook_owner = OperatorFactory(cities=[city_a])
    endpoint, event, delivery = _webhook_world(webhook_owner, p, p_card)
    presented = f"CARD {p_card.number}"
    clients = {
        "anon": client(),
        "self": client(p.user),
        "other": client(q.user),
        "terminal": client(terminal_user, presented),
        "bare": client(terminal_user),
        "pharmacy": client(TerminalFactory(institution=pharmacy), presented),
        "op": client(webhook_owner),
        "op_other": client(OperatorFactory(cities=[city_b])),
        "super": client(SuperuserFactory()),
    }
    values = {
        "city_a": city_a.code,
        "city_c": city_c.code,
        "new_id": make_resident_id("110105", date(1990, 1, 5), 11),
        "p": p.id,
        "r": r.id,
        "r_id": r.resident_id,
        "r_name": r.name,
        "r_plain": r_plain.id,
        "r_plain_id": r_plain.resident_id,
        "q_id": q.resident_id,
        "q_name": q.name,
        "t_id": t.resident_id,
        "p_card": p_card.id,
        "q_card": q_card.id,
        "r_card": r_card.id,
        "t_card": t_card.id,
        "p_account": p.personal_account.id,
        "run": run.id,
        "collection": collection.id,
        "upload": upload.id,
        "clearing_run": clearing_run.id,
        "statement": statement.id,
        "hospital": hospital.id,
        "settlement": settlement.id,
        "filing": filing.id,
        "family": family.id,
        "employer": employer.id,
        "new_credit_code": make_credit_code(city_a.code, "MA0000009"),
        "endpoint": endpoint.id,
        "event": event.public_id,
        "delivery": delivery.id,
        "claim": claim.id,
        "world": world.id,
        "today": clock.today().isoformat(),
    }
    assert Settlement.objects.filter(pk=settlement.pk).exists()
    return clients, values


def _claim_of(person, care_city):
    """P's emergency stay at a clinic of ``care_city``, paid in full and claimed back, awaiting
    review."""
    return claim_submit(
        person=person,
        visit=ClaimVisit(
            visit_date=clock.today(),
            visit_type="INPATIENT",
            emergency=True,
            institution_name="Harbour Clinic",
            care_city=care_city,
            tier="LEVEL_1",
        ),
        # Above any deductible: an approval pays.
        category_totals=[CategoryTotal("A", Decimal("5000.00"))],
        receipts=[ReceiptInput("MATRIX-1", clock.today(), Decimal("5000.00"))],
        payout=ClaimPayout(
            method="BANK", bank_account_holder="Holder", bank_account_number="6222020200112340123"
        ),
        by=person.user,
        now=clock.now(),
    )


def _webhook_world(owner, person, card):
    """An endpoint of A's operator, and an event about P's card delivered to it once."""
    from django.utils import timezone

    from events.models import Event, EventType
    from webhooks.models import WebhookDelivery
    from webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(
        owner=owner, url="http://127.0.0.1:9/matrix", event_types=["*"], now=timezone.now()
    )
    event = Event.objects.create(
        type=EventType.CARD_STATUS_CHANGED,
        occurred_at=MONDAY_MORNING,
        object_type="card",
        object_id=str(card.id),
        city_id=person.city_id,
        person_id=person.id,
        data={"status": {"before": "READY", "after": "ACTIVE"}},
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=WebhookDelivery.Status.SUCCEEDED,
        round_attempts=1,
        attempts_total=1,
        delivered_at=timezone.now(),
    )
    return endpoint, event, delivery


def _fill(template, values):
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        return template.format(**values)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{case.method.upper()} {case.path}" for case in CASES]
)
def test_each_role_gets_what_it_may(case, world):
    clients, values = world
    path, body = case.path.format(**values), _fill(case.body, values)
    actual = {}
    for role in ROLES:
        with transaction.atomic():
            response = getattr(clients[role], case.method)(path, body or None, format="json")
            transaction.set_rollback(True)
        actual[role] = response.status_code
        if response.status_code >= 400 and response.get("Content-Type", "").startswith(
            "application/"
        ):
            assert response["Content-Type"].startswith("application/problem+json"), (
                role,
                response.content,
            )
    assert actual == case.expected
