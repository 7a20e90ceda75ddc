"""The RFC 9457 contract of every problem response: `type`, `title`, `status`, `detail` and
`instance` (and this project's `code`, `request_id`, `errors`) mean what they say for every error
code the project defines, whatever extension members a problem carries; and a detail speaks to a
person, never in the code's own words."""

import ast
import functools
import os
from pathlib import Path

import pytest
from django_fsm import TransitionNotAllowed

from api.views import all_error_codes
from cards.models import EVoucher, SocialSecurityCard
from common.errors import RESERVED_PROBLEM_MEMBERS, DomainError
from common.problems import problem_body, problem_exception_handler
from config import urls  # noqa: F401  (imports every app's views, and so every error-code enum)
from persons.tests.factories import PersonFactory
from tests.support import client_for
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent
RFC_MEMBERS = {"type", "title", "status", "detail", "instance"}


def _project_sources():
    """The project's own modules (not its tests, which raise problems on purpose)."""
    for root, directories, files in os.walk(PROJECT):
        directories[:] = sorted(
            name
            for name in directories
            if not name.startswith(".") and name not in {"tests", "var", "node_modules"}
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


@functools.cache
def extension_members_in_use() -> dict[str, list[str]]:
    """Every `extra={...}` member passed to DomainError anywhere in the project, by name, with
    where it is used. An `extra` that is not a literal dict fails: it could not be checked."""
    found: dict[str, list[str]] = {}
    for path in _project_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "DomainError":
                continue
            for keyword in node.keywords:
                if keyword.arg != "extra":
                    continue
                where = f"{path.relative_to(PROJECT)}:{node.lineno}"
                assert isinstance(keyword.value, ast.Dict), f"{where}: extra must be a dict literal"
                for key in keyword.value.keys:
                    assert isinstance(key, ast.Constant), f"{where}: member names must be literal"
                    found.setdefault(key.value, []).append(where)
    return found


def test_the_problem_list_is_every_code_the_project_defines(api_client):
    listed = api_client.get("/api/v1/problems").json()
    defined = all_error_codes()
    assert [entry["code"] for entry in listed] == list(defined)
    for entry in listed:
        member = defined[entry["code"]]
        assert (entry["status"], entry["title"]) == (member.status, member.title)
        assert isinstance(entry["status"], int) and 400 <= entry["status"] <= 599


def test_no_extension_member_in_use_takes_a_reserved_name():
    in_use = extension_members_in_use()
    # The scan sees the project's problems (so an empty result would mean it saw nothing).
    assert {"current_status", "locked_until", "first_request_id"} <= set(in_use)
    clashing = {name: where for name, where in in_use.items() if name in RESERVED_PROBLEM_MEMBERS}
    assert clashing == {}
    assert RFC_MEMBERS <= RESERVED_PROBLEM_MEMBERS


@pytest.mark.parametrize("code", sorted(all_error_codes()))
def test_every_code_renders_its_own_members_with_every_extension_in_use(code, rf):
    member = all_error_codes()[code]
    extensions = {name: f"value of {name}" for name in extension_members_in_use()}
    request = rf.get("/api/v1/somewhere")
    response = problem_exception_handler(
        DomainError(member, "A detail for a person.", extra=extensions), {"request": request}
    )
    body = response.data
    assert response.status_code == member.status
    assert body["status"] == member.status and isinstance(body["status"], int)
    assert body["type"] == f"/api/v1/problems/{code}"
    assert body["title"] == member.title
    assert body["detail"] == "A detail for a person."
    assert body["code"] == code
    assert body["instance"] == "/api/v1/somewhere"
    for name, value in extensions.items():
        assert body[name] == value


@pytest.mark.parametrize("name", sorted(RESERVED_PROBLEM_MEMBERS))
def test_a_problem_refuses_an_extension_member_with_a_reserved_name(name):
    member = all_error_codes()["CONFLICT"]
    with pytest.raises(TypeError, match=name):
        DomainError(member, extra={name: "PENDING"})


def test_the_renderer_never_lets_an_extension_overwrite_its_own_members():
    member = all_error_codes()["CARD_TRANSITION_NOT_ALLOWED"]
    body = problem_body(
        member,
        "The detail.",
        instance="/api/v1/cards/1/collect",
        extra={"status": "PENDING", "type": "about:blank", "detail": "x", "current_status": "P"},
    )
    assert body["status"] == 409
    assert body["type"] == "/api/v1/problems/CARD_TRANSITION_NOT_ALLOWED"
    assert body["detail"] == "The detail."
    assert body["current_status"] == "P"


def _fsm_transition_names(model) -> set[str]:
    field = model._meta.get_field("status")
    return {transition.name for transition in field.get_all_transitions(model)}


def test_every_refused_transition_has_wording_for_a_person():
    from cards.services import _TRANSITION_WORDING

    names = _fsm_transition_names(SocialSecurityCard) | _fsm_transition_names(EVoucher)
    assert names <= set(_TRANSITION_WORDING)
    for wording in _TRANSITION_WORDING.values():
        assert "_" not in wording


@pytest.fixture
def operator_and_person():
    person = PersonFactory()
    return client_for(OperatorFactory(cities=[person.city])), person


def test_a_card_not_yet_ready_answers_409_with_its_state_and_a_human_detail(operator_and_person):
    client, person = operator_and_person
    card = client.post(
        "/api/v1/cards",
        {"person": person.id, "site": "STREET_POINT", "insured_resident_id": person.resident_id},
        format="json",
    ).json()
    for action, wording in (
        ("collect", "it cannot be handed over now"),
        ("activate", "it cannot be activated now"),
    ):
        response = client.post(f"/api/v1/cards/{card['id']}/{action}", {"pin": "135790"}, "json")
        body = response.json()
        assert response.status_code == 409
        assert body["status"] == 409
        assert body["code"] == "CARD_TRANSITION_NOT_ALLOWED"
        assert body["current_status"] == "PENDING"
        assert body["detail"] == f"The social security card is being made; {wording}."
        assert "issue" not in body["detail"] and "not possible" not in body["detail"]


def test_an_evoucher_conflict_carries_current_status_not_status(operator_and_person):
    from cards.services import evoucher_face_authenticate

    _, person = operator_and_person
    with pytest.raises(DomainError) as refused:
        evoucher_face_authenticate(person=person, outcome=None, by=None)
    assert refused.value.code.status == 409
    assert refused.value.extra == {"current_status": EVoucher.Status.NOT_ACTIVATED}


def test_a_refused_transition_never_names_the_method(operator_and_person):
    from cards.error_codes import CardErrorCode
    from cards.services import _transition

    _, person = operator_and_person
    voucher = EVoucher.objects.get(person=person)
    voucher.status = EVoucher.Status.ACTIVATED
    with pytest.raises(DomainError) as refused:
        _transition(
            voucher,
            "accept_agreement",
            CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
            None,
            agreement=None,
            platform="WECHAT",
            at=None,
        )
    assert refused.value.detail == (
        "The e-voucher is activated; the user agreement cannot be accepted for it now."
    )
    assert isinstance(refused.value.__context__, TransitionNotAllowed)


def test_the_published_problem_schema_documents_current_status():
    from common.openapi import add_problem_responses

    schema = add_problem_responses({"paths": {}}, None, None, True)
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"
    assert "current_status" in problem["properties"]
