"""Every status change and every money movement traces back to who, when and which request."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.utils import timezone
from knox import settings as knox_settings
from knox.models import AuthToken

from accounts.crediting import contribution_collection_execute
from accounts.models import (
    Contribution,
    ContributionArrear,
    ContributionCollection,
    CreditingRun,
    Transfer,
)
from cards.models import EVoucher, SocialSecurityCard
from cities.models import City
from claims.models import ReimbursementClaim
from common import clock
from employers.models import Employer
from jobs.services import job_run
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from sandbox.world import sandbox_city
from settlement.models import ClearingRun, CrossCityFiling, FamilyAuthorization, Settlement
from tests import test_access_matrix as matrix
from tests.support import MONDAY_MORNING, client_for, set_clock
from tests.test_access_matrix import world  # noqa: F401 (the matrix's world, a fixture)
from uploads.models import CityUpload
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(agreement):
    set_clock(MONDAY_MORNING)
    city = sandbox_city("standard")
    operator = OperatorFactory(cities=[city])
    return city, operator, client_for(operator)


def _enrol(client, city, request_id):
    response = client.post(
        "/api/v1/persons",
        {
            "resident_id": make_resident_id("110105", date(1980, 1, 1), 11),
            "name": "Audit Person",
            "city": city.code,
            "scheme": "EMPLOYEE",
            "employment_status": "ACTIVE",
            "declared_wage": "9000.00",
        },
        format="json",
        HTTP_X_REQUEST_ID=request_id,
    )
    assert response.status_code == 201
    return response.json()


def test_money_movements_carry_who_when_and_the_request(setting):
    city, operator, client = setting
    person = _enrol(client, city, "audit-enrol-0001")
    response = client.post(
        "/api/v1/contributions",
        {"person": person["id"], "period": "2026-11-01"},
        format="json",
        HTTP_X_REQUEST_ID="audit-contribution-0001",
    )
    assert response.status_code == 201 and response["X-Request-ID"] == "audit-contribution-0001"
    transfer = Contribution.objects.get(pk=response.json()["id"]).transfer
    assert transfer.created_by == operator
    assert transfer.request_id == "audit-contribution-0001"
    assert transfer.posted_at == MONDAY_MORNING and transfer.created_at is not None
    assert transfer.memo
    entries = client.get(f"/api/v1/accounts?person={person['id']}").json()["results"]
    ledger = client.get(f"/api/v1/accounts/{entries[0]['id']}/entries").json()["results"]
    assert (
        ledger == []
    )  # the personal account only moves at crediting; the clearing account holds it


def test_status_changes_carry_who_when_and_the_request(setting):
    city, operator, client = setting
    person = _enrol(client, city, "audit-enrol-0002")
    card = client.post(
        "/api/v1/cards",
        {
            "person": person["id"],
            "site": "COUNTY_CENTER",
            "insured_resident_id": person["resident_id"],
        },
        format="json",
        HTTP_X_REQUEST_ID="audit-card-apply-01",
    ).json()
    client.post(
        f"/api/v1/cards/{card['id']}/activate",
        {"pin": "258036"},
        format="json",
        HTTP_X_REQUEST_ID="audit-card-activate",
    )
    history = list(SocialSecurityCard.objects.get(pk=card["id"]).history.order_by("history_id"))
    assert [record.status for record in history] == ["PENDING", "READY", "ISSUED", "ACTIVE"]
    assert {record.history_user for record in history} == {operator}
    assert [record.request_id for record in history] == ["audit-card-apply-01"] * 3 + [
        "audit-card-activate"
    ]
    assert all(record.history_date for record in history)

    client.patch(
        f"/api/v1/cities/{city.code}",
        {"platform_busy_forced": True},
        format="json",
        HTTP_X_REQUEST_ID="audit-city-switch1",
    )
    change = City.objects.get(pk=city.pk).history.first()
    assert change.platform_busy_forced is True
    assert change.history_user == operator and change.request_id == "audit-city-switch1"
    previous = change.prev_record
    assert [delta.field for delta in change.diff_against(previous).changes] == [
        "platform_busy_forced"
    ]


# --- Every state-changing route of the API, audited or exempt with the reason ------------------
#
# Each audited operation runs through the HTTP API, in the access matrix's world, as a caller it
# succeeds for, with a known X-Request-ID; its records must name that caller, that request and a
# moment. A route the URLconf serves that is in neither list fails the census below, so a new
# operation must join.


@dataclass(frozen=True)
class Trace:
    """What one record says about the act: who (a user or None), which request, when."""

    actor: object
    request_id: str
    at: object


def _history(records) -> list[Trace]:
    return [Trace(r.history_user, r.request_id, r.history_date) for r in records]


def _latest_history(instance) -> list[Trace]:
    return _history([instance.history.first()])


def _transfer(transfer) -> list[Trace]:
    return [Trace(transfer.created_by, transfer.request_id, transfer.posted_at)]


def _job(job) -> list[Trace]:
    return [Trace(job.created_by, job.request_id, job.queued_at)]


@dataclass
class Audited:
    method: str
    route: str
    role: str  # who acts (a role of the access matrix's world)
    traces: Callable  # (values, response body) -> the records of the act
    path: str | None = None  # default: the access matrix's case
    body: dict | None = None
    before: Callable | None = None  # (clients, values) -> None: what must happen first
    status: int | None = None  # default: the access matrix's expectation for the role


def _evoucher_of(person_id):
    return EVoucher.objects.get(person_id=person_id)


def _settlement_traces(values, body):
    settlement = Settlement.objects.get(pk=body["id"])
    return [
        Trace(settlement.created_by, settlement.request_id, settlement.created_at),
        *_transfer(settlement.transfer),
    ]


def _reversal_traces(values, body):
    settlement = Settlement.objects.get(pk=values["settlement"])
    return [
        Trace(settlement.reversed_by, settlement.reversal_request_id, settlement.reversed_at),
        *_transfer(settlement.reversal_transfer),
    ]


def _card_replacement_traces(values, body):
    old = SocialSecurityCard.objects.get(pk=values["t_card"])
    new = SocialSecurityCard.objects.get(pk=body["id"])
    assert new.replaces == old
    return _history(new.history.all())


def _face_auth_traces(values, body):
    voucher = _evoucher_of(values["q"])
    attempt = voucher.face_attempts.get()
    # The attempt is the voucher holder's own act (only they may make it): it keeps the request.
    return [
        Trace(voucher.person.user, attempt.request_id, attempt.attempted_at),
        *_latest_history(voucher),
    ]


def _presentation_code_traces(values, body):
    voucher = _evoucher_of(values["p"])
    code = voucher.presentation_codes.get(retired_at__isnull=True)
    # Only the holder may issue their code: the act is theirs; the record keeps the request.
    return [Trace(voucher.person.user, code.request_id, code.issued_at)]


def _arrears_traces(values, body):
    arrear = ContributionArrear.objects.get(person_id=values["q"], period=date(2026, 11, 1))
    contribution = arrear.contribution
    return [
        Trace(contribution.created_by, contribution.transfer.request_id, arrear.paid_at),
        *_transfer(contribution.transfer),
    ]


def _november_reopened(model, *, collected_first: bool = False):
    """The world opened A's November job itself (nobody, in no request): open it again, through
    the operator's request. A crediting run needs the month's money in first."""

    def before(clients, values):
        jobs = model.objects.filter(city__code=values["city_a"], period=date(2026, 11, 1))
        if collected_first:
            collection = ContributionCollection.objects.get(
                city__code=values["city_a"], period=date(2026, 11, 1)
            )
            contribution_collection_execute(collection_id=collection.pk)
        jobs.delete()

    return before


def _job_and_what_it_posted(kind, model, transfers_of):
    """The job the request recorded, then, once a worker has run it (here, in this process),
    every transfer it posted: they carry the request that started the job, and its caller."""

    def traces(values, body):
        job = model.objects.get(pk=body["id"])
        job_run(kind=kind, job_id=job.pk)
        posted = list(transfers_of(job).distinct())
        assert posted, "the job posted nothing to check"
        return _job(job) + [trace for transfer in posted for trace in _transfer(transfer)]

    return traces


def _claim_approval_traces(values, body):
    claim = ReimbursementClaim.objects.select_related("payout_transfer").get(pk=values["claim"])
    assert claim.payout_transfer is not None, "the approval paid nothing to check"
    return [
        *_latest_history(claim),
        Trace(claim.reviewed_by, claim.review_request_id, claim.reviewed_at),
        *_transfer(claim.payout_transfer),
    ]


def _q_accepts_the_agreement(clients, values):
    response = clients["other"].post(
        "/api/v1/me/evoucher/agreement",
        {"platform": "WECHAT", "agreement_version": "2025.1"},
        format="json",
        HTTP_X_REQUEST_ID="audit-before-agreement",
    )
    assert response.status_code == 200, response.content


AUDITED = [
    Audited(
        "patch",
        "api/v1/cities/<str:city_code>",
        "op",
        lambda v, b: _latest_history(City.objects.get(code=v["city_a"])),
    ),
    Audited(
        "post",
        "api/v1/persons",
        "op",
        lambda v, b: _history(InsuredPerson.objects.get(pk=b["id"]).history.all()),
    ),
    Audited(
        "post",
        "api/v1/cards",
        "op",
        lambda v, b: _history(SocialSecurityCard.objects.get(pk=b["id"]).history.all()),
    ),
    Audited(
        "post",
        "api/v1/cards/<int:card_id>/collect",
        "op",
        lambda v, b: _latest_history(SocialSecurityCard.objects.get(pk=v["r_card"])),
    ),
    Audited(
        "post",
        "api/v1/cards/<int:card_id>/activate",
        "op",
        lambda v, b: _latest_history(SocialSecurityCard.objects.get(pk=v["q_card"])),
    ),
    Audited(
        "post",
        "api/v1/cards/<int:card_id>/report-lost",
        "self",
        lambda v, b: _latest_history(SocialSecurityCard.objects.get(pk=v["p_card"])),
    ),
    Audited("post", "api/v1/cards/<int:card_id>/replace", "op", _card_replacement_traces),
    Audited(
        "post",
        "api/v1/me/evoucher/agreement",
        "other",
        lambda v, b: _latest_history(_evoucher_of(v["q"])),
    ),
    Audited(
        "post",
        "api/v1/me/evoucher/face-authentications",
        "other",
        _face_auth_traces,
        before=_q_accepts_the_agreement,
        status=201,
    ),
    Audited("post", "api/v1/me/evoucher/qr-codes", "self", _presentation_code_traces),
    Audited(
        "post",
        "api/v1/evouchers/pharmacy-activations",
        "pharmacy",
        lambda v, b: _history(_evoucher_of(v["q"]).history.all()[:2]),
    ),
    Audited(
        "post",
        "api/v1/contributions",
        "op",
        lambda v, b: (
            [Trace(c.created_by, c.transfer.request_id, c.received_at) for c in [_contribution(b)]]
            + _transfer(_contribution(b).transfer)
        ),
    ),
    Audited(
        "post",
        "api/v1/employers",
        "op",
        lambda v, b: _history(Employer.objects.get(pk=b["id"]).history.all()),
    ),
    Audited(
        "post",
        "api/v1/employers/<int:employer_id>/payment-mode",
        "op",
        lambda v, b: _latest_history(Employer.objects.get(pk=v["employer"])),
        body={"payment_mode": "NOT_PAYING"},  # it pays already: setting that records nothing
    ),
    Audited("post", "api/v1/employers/<int:employer_id>/arrears-payment", "op", _arrears_traces),
    Audited(
        "post",
        "api/v1/crediting-runs",
        "op",
        _job_and_what_it_posted(
            "crediting", CreditingRun, lambda run: Transfer.objects.filter(creditings__run=run)
        ),
        before=_november_reopened(CreditingRun, collected_first=True),
    ),
    Audited(
        "post",
        "api/v1/contribution-collections",
        "op",
        _job_and_what_it_posted(
            "collection",
            ContributionCollection,
            lambda job: Transfer.objects.filter(
                contributions__person__city=job.city, contributions__period=job.period
            ),
        ),
        before=_november_reopened(ContributionCollection),
    ),
    Audited("post", "api/v1/uploads", "op", lambda v, b: _job(CityUpload.objects.get(pk=b["id"]))),
    Audited("post", "api/v1/settlements", "terminal", _settlement_traces),
    Audited("post", "api/v1/settlements/<int:settlement_id>/reversal", "op", _reversal_traces),
    Audited(
        "post",
        "api/v1/filings",
        "self",
        lambda v, b: [
            Trace(f.created_by, f.request_id, f.created_at)
            for f in [CrossCityFiling.objects.get(pk=b["id"])]
        ],
    ),
    Audited(
        "post",
        "api/v1/filings/<int:filing_id>/revocation",
        "self",
        lambda v, b: [
            Trace(f.revoked_by, f.revocation_request_id, f.revoked_at)
            for f in [CrossCityFiling.objects.get(pk=v["filing"])]
        ],
    ),
    Audited(
        "post",
        "api/v1/family-authorizations",
        "self",
        lambda v, b: [
            Trace(f.created_by, f.request_id, f.granted_at)
            for f in [FamilyAuthorization.objects.get(pk=b["id"])]
        ],
    ),
    Audited(
        "post",
        "api/v1/family-authorizations/<int:authorization_id>/revocation",
        "other",
        lambda v, b: [
            Trace(f.revoked_by, f.revocation_request_id, f.revoked_at)
            for f in [FamilyAuthorization.objects.get(pk=v["family"])]
        ],
    ),
    Audited(
        "post",
        "api/v1/clearing-runs",
        "super",
        lambda v, b: _job(ClearingRun.objects.get(pk=b["id"])),
    ),
    Audited(
        "post",
        "api/v1/reimbursement-claims",
        "self",
        lambda v, b: (
            _history(ReimbursementClaim.objects.get(pk=b["id"]).history.all())
            + [
                Trace(c.submitted_by, c.request_id, c.submitted_at)
                for c in [ReimbursementClaim.objects.get(pk=b["id"])]
            ]
        ),
    ),
    Audited(
        "post",
        "api/v1/reimbursement-claims/<int:claim_id>/review",
        "op",
        _claim_approval_traces,
        body={"decision": "APPROVE"},  # an approval pays: the decision and the payout both
    ),
    Audited(
        "post",
        "api/v1/reimbursement-claims/<int:claim_id>/withdrawal",
        "self",
        lambda v, b: _latest_history(ReimbursementClaim.objects.get(pk=v["claim"])),
    ),
]

NOT_AUDITED = {
    ("post", "api/v1/auth/login"): "signs a user in: issues a token, moves no money, no status",
    ("post", "api/v1/auth/logout"): "signs a user out: deletes a token, moves no money, no status",
    ("post", "api/v1/settlements/quote"): "computes a settlement without recording anything",
    ("post", "api/v1/persons/<int:person_id>/login"): (
        "gives a person a sign-in (a user row and its date joined): no money, no status"
    ),
    ("post", "api/v1/employers/<int:employer_id>/employees"): (
        "records whom an employer employs: no money, no status; what it owes is recorded, with "
        "who and which request, when its month is collected or paid"
    ),
    ("post", "api/v1/sandbox/scenarios/<str:code>"): (
        "sandbox only (refused unless SANDBOX_MODE): builds a demonstration person for the caller"
    ),
    ("post", "api/v1/sandbox/clock/advance"): (
        "sandbox only: moves the simulated clock; the jobs it runs are the system's own"
    ),
    (
        "post",
        "api/v1/webhook-endpoints",
    ): "a caller's own webhook subscription: moves no money, changes no status of a person or city",
    (
        "patch",
        "api/v1/webhook-endpoints/<int:endpoint_id>",
    ): "a caller's own webhook subscription: moves no money, changes no status of a person or city",
    (
        "delete",
        "api/v1/webhook-endpoints/<int:endpoint_id>",
    ): "a caller's own webhook subscription: moves no money, changes no status of a person or city",
    (
        "post",
        "api/v1/webhook-endpoints/<int:endpoint_id>/rotate-secret",
    ): "a caller's own webhook subscription: moves no money, changes no status of a person or city",
    ("post", "api/v1/webhook-deliveries/<int:delivery_id>/retry"): (
        "sends a recorded event to the caller's endpoint again: no money, no status"
    ),
    ("post", "api/v1/events/<str:event_id>/resend"): (
        "sends a recorded event to the caller's endpoints again: no money, no status"
    ),
    ("post", "api/v1/sandbox/events/trigger"): (
        "sandbox only: records a test event that only its caller hears of"
    ),
    ("post", "api/v1/sandbox/developers"): "sandbox only: makes a developer login and its token",
    ("post", "api/v1/sandbox/worlds"): "sandbox only: makes an empty world of the developer's",
    ("delete", "api/v1/sandbox/worlds/<int:world_id>"): (
        "sandbox only: erases one of the developer's own worlds, which nobody else sees"
    ),
}


def _contribution(body):
    return Contribution.objects.select_related("transfer", "created_by").get(pk=body["id"])


def test_every_state_changing_route_is_audited_or_exempt_with_a_reason():
    state_changing = {(m, r) for m, r in matrix._api_operations() if m != "get"}
    audited = [(case.method, case.route) for case in AUDITED]
    assert len(audited) == len(set(audited))
    assert not set(audited) & set(NOT_AUDITED)
    assert set(audited) | set(NOT_AUDITED) == state_changing
    assert all(reason.strip() for reason in NOT_AUDITED.values())


def _user_of(client):
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    return AuthToken.objects.get(token_key=token[: knox_settings.CONSTANTS.TOKEN_KEY_LENGTH]).user


@pytest.mark.parametrize(
    "audited",
    AUDITED,
    ids=[f"{a.method.upper()} {a.route.removeprefix('api/v1/')}" for a in AUDITED],
)
def test_each_money_and_status_operation_records_who_when_and_the_request(audited, request):
    clients, values = request.getfixturevalue("world")
    values = values | {"q": _person_with_login("matrix-q")}
    case = next(c for c in matrix.CASES if (c.method, c.route) == (audited.method, audited.route))
    if audited.before:
        audited.before(clients, values)
    request_id = f"audit-{audited.route.split('/')[2]}-{audited.method}-0001"[:64]
    started = timezone.now()
    response = getattr(clients[audited.role], audited.method)(
        (audited.path or case.path).format(**values),
        matrix._fill(audited.body if audited.body is not None else case.body, values) or None,
        format="json",
        HTTP_X_REQUEST_ID=request_id,
    )
    expected = audited.status or case.expected[audited.role]
    assert response.status_code == expected, response.content
    assert response["X-Request-ID"] == request_id
    traces = audited.traces(values, response.json() if response.content else {})
    actor = _user_of(clients[audited.role])
    assert traces
    for trace in traces:
        assert trace.actor == actor, trace
        assert trace.request_id == request_id, trace
        assert trace.at == clock.now() or started <= trace.at <= timezone.now(), trace


def _person_with_login(username):
    return InsuredPerson.objects.get(user__username=username).id
