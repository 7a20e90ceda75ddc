"""The claim API: a person files and lists their own claims, the insured city's operator reviews
them; replays, races and strangers change nothing."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from accounts.models import Account, Transfer
from claims.models import ReimbursementClaim
from claims.tests.helpers import client_for, ledger_balanced
from common import clock
from settlement.tests.helpers import balance

pytestmark = pytest.mark.django_db


def claim_body(institution, **overrides) -> dict:
    body = {
        "institution_code": institution.code,
        "visit_type": "INPATIENT",
        "visit_date": f"{clock.today():%Y-%m-%d}",
        "category_totals": [
            {"catalog_class": "A", "amount": "4000.00"},
            {"catalog_class": "B", "amount": "1000.00"},
        ],
        "receipts": [
            {"number": "SH-1", "issued_on": f"{clock.today():%Y-%m-%d}", "amount": "5000.00"}
        ],
        "attachments": [
            {
                "file_name": "receipt.jpg",
                "content_type": "image/jpeg",
                "size_bytes": 1234,
                "sha256": "a" * 64,
            }
        ],
        "payout": {
            "method": "BANK",
            "bank_name": "ICBC",
            "bank_account_holder": "Li Hua",
            "bank_account_number": "6222020200112340123",
        },
    }
    body.update(overrides)
    return body


@pytest.fixture
def filed(traveller, far_hospital):
    client = client_for(traveller.user)
    response = client.post("/api/v1/reimbursement-claims", claim_body(far_hospital), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_person_files_a_claim_and_sees_it(traveller, far_hospital, filed):
    assert filed["status"] == "SUBMITTED"
    assert filed["route"] == "CROSS_CITY"
    assert filed["claimed_amount"] == "5000.00"
    assert filed["payout"]["bank_account_number"] == "**** 0123"
    assert filed["review"] is None and filed["figures"] is None
    client = client_for(traveller.user)
    listed = client.get("/api/v1/reimbursement-claims").json()["results"]
    assert [claim["id"] for claim in listed] == [filed["id"]]
    assert client.get(f"/api/v1/reimbursement-claims/{filed['id']}").status_code == 200


def test_the_operator_approves_and_the_fund_pays(traveller, filed, operator):
    response = client_for(operator).post(
        f"/api/v1/reimbursement-claims/{filed['id']}/review",
        {"decision": "APPROVE"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="review-1",
    )
    assert response.status_code == 200, response.content
    claim = response.json()
    assert claim["status"] == "APPROVED"
    assert claim["approved_amount"] == "3060.00"
    assert claim["figures"]["fund_share_amount"] == "3060.00"
    assert claim["figures"]["deductible_amount"] == "1300.00"
    assert claim["review"]["reviewed_by"] == operator.username
    bank = Account.objects.get(city=traveller.city, kind=Account.Kind.BANK_PAYOUT)
    assert claim["payout"]["account_id"] == bank.pk
    assert balance(bank) == D("3060.00")
    # The person sees the decision.
    mine = client_for(traveller.user).get(f"/api/v1/reimbursement-claims/{filed['id']}").json()
    assert mine["status"] == "APPROVED"
    ledger_balanced()


def test_partly_approving_and_rejecting_through_the_api(traveller, far_hospital, filed, operator):
    client = client_for(operator)
    partly = client.post(
        f"/api/v1/reimbursement-claims/{filed['id']}/review",
        {"decision": "PARTLY_APPROVE", "amount": "1000.00", "reason": "One night only."},
        format="json",
    )
    assert partly.status_code == 200, partly.content
    assert (partly.json()["status"], partly.json()["approved_amount"]) == (
        "PARTLY_APPROVED",
        "1000.00",
    )
    second = client_for(traveller.user).post(
        "/api/v1/reimbursement-claims",
        claim_body(
            far_hospital,
            category_totals=[{"catalog_class": "A", "amount": "50.00"}],
            receipts=[
                {"number": "SH-2", "issued_on": f"{clock.today():%Y-%m-%d}", "amount": "50.00"}
            ],
        ),
        format="json",
    )
    assert second.status_code == 201, second.content
    rejected = client.post(
        f"/api/v1/reimbursement-claims/{second.json()['id']}/review",
        {"decision": "REJECT", "reason_code": "NOT_COVERED", "reason": "Cosmetic."},
        format="json",
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["review"]["reason_code"] == "NOT_COVERED"
    assert rejected.json()["payout"]["transfer_id"] is None


def test_a_second_review_is_a_conflict(filed, operator):
    client = client_for(operator)
    url = f"/api/v1/reimbursement-claims/{filed['id']}/review"
    assert client.post(url, {"decision": "APPROVE"}, format="json").status_code == 200
    again = client.post(
        url, {"decision": "REJECT", "reason_code": "OTHER", "reason": "x"}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "CLAIM_ALREADY_REVIEWED")
    assert Transfer.objects.filter(kind="CLAIM_PAYOUT").count() == 1


def test_a_replayed_filing_and_review_happen_once(traveller, far_hospital, operator):
    person = client_for(traveller.user)
    body = claim_body(far_hospital)
    first = person.post(
        "/api/v1/reimbursement-claims", body, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    replay = person.post(
        "/api/v1/reimbursement-claims", body, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert replay["Idempotent-Replayed"] == "true"
    assert ReimbursementClaim.objects.count() == 1
    other = person.post(
        "/api/v1/reimbursement-claims",
        body | {"description": "changed"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="c-1",
    )
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")

    reviewer = client_for(operator)
    url = f"/api/v1/reimbursement-claims/{first.json()['id']}/review"
    reviews = [
        reviewer.post(url, {"decision": "APPROVE"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
        for _ in range(2)
    ]
    assert [r.status_code for r in reviews] == [200, 200]
    assert reviews[1].json() == reviews[0].json()
    assert Transfer.objects.filter(kind="CLAIM_PAYOUT").count() == 1


def test_claims_are_invisible_to_other_persons_and_other_cities(
    traveller, filed, other_operator, city
):
    from persons.services import person_login_create
    from persons.tests.factories import PersonFactory

    stranger = PersonFactory(city=city)
    person_login_create(person=stranger, username="stranger", password="correct-horse-2")
    stranger.refresh_from_db()
    client = client_for(stranger.user)
    assert client.get(f"/api/v1/reimbursement-claims/{filed['id']}").status_code == 404
    assert client.get("/api/v1/reimbursement-claims").json()["results"] == []
    withdraw = client.post(f"/api/v1/reimbursement-claims/{filed['id']}/withdrawal")
    assert withdraw.status_code == 404

    # The care city's operator is not the insured city's agency.
    elsewhere = client_for(other_operator)
    assert elsewhere.get(f"/api/v1/reimbursement-claims/{filed['id']}").status_code == 404
    refused = elsewhere.post(
        f"/api/v1/reimbursement-claims/{filed['id']}/review", {"decision": "APPROVE"}, format="json"
    )
    assert refused.status_code == 404
    # Nor may the person review their own claim.
    own = client_for(traveller.user).post(
        f"/api/v1/reimbursement-claims/{filed['id']}/review", {"decision": "APPROVE"}, format="json"
    )
    assert (own.status_code, own.json()["code"]) == (403, "ROLE_NOT_ALLOWED")
    assert ReimbursementClaim.objects.get(pk=filed["id"]).status == "SUBMITTED"


def test_only_an_insured_person_files(operator, far_hospital):
    response = client_for(operator).post(
        "/api/v1/reimbursement-claims", claim_body(far_hospital), format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "ROLE_NOT_ALLOWED")


def test_bad_input_is_answered_with_its_code(traveller, far_hospital, hospital):
    client = client_for(traveller.user)
    home = client.post("/api/v1/reimbursement-claims", claim_body(hospital), format="json")
    assert (home.status_code, home.json()["code"]) == (422, "CLAIM_ROUTE_NOT_AVAILABLE")
    unknown = client.post(
        "/api/v1/reimbursement-claims",
        claim_body(far_hospital, institution_code="NOPE"),
        format="json",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "CLAIM_INSTITUTION_UNKNOWN")
    mismatch = client.post(
        "/api/v1/reimbursement-claims",
        claim_body(
            far_hospital,
            receipts=[{"number": "X", "issued_on": f"{clock.today():%Y-%m-%d}", "amount": "1.00"}],
        ),
        format="json",
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "CLAIM_RECEIPTS_MISMATCH")
    missing = client.post(
        "/api/v1/reimbursement-claims", {"visit_type": "INPATIENT"}, format="json"
    )
    assert (missing.status_code, missing.json()["code"]) == (400, "VALIDATION_ERROR")
    assert ReimbursementClaim.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_one_wins_the_other_gets_409(traveller, far_hospital, operator):
    from users.tests.factories import OperatorFactory

    filed = client_for(traveller.user).post(
        "/api/v1/reimbursement-claims", claim_body(far_hospital), format="json"
    )
    url = f"/api/v1/reimbursement-claims/{filed.json()['id']}/review"
    reviewers = [client_for(operator), client_for(OperatorFactory(cities=[traveller.city]))]
    decisions = [
        {"decision": "APPROVE"},
        {"decision": "PARTLY_APPROVE", "amount": "100.00", "reason": "Partly."},
    ]
    barrier = threading.Barrier(2)
    answers = []
    lock = threading.Lock()

    def review(client, body):
        try:
            barrier.wait()
            response = client.post(url, body, format="json")
            with lock:
                answers.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=review, args=pair)
        for pair in zip(reviewers, decisions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answers, key=lambda a: a[0]) == [(200, None), (409, "CLAIM_ALREADY_REVIEWED")]
    assert Transfer.objects.filter(kind="CLAIM_PAYOUT").count() == 1
    ledger_balanced()
