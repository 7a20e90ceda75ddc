"""The OpenAPI document's response examples are what the code answers.

Each operation of the access matrix (tests/test_access_matrix.py: every endpoint and method, in a
world of sandbox cities and scenario persons) is called once by a role that may, and its real 2xx
answer is held against every example the document shows for that status: the same members, the
same kinds of values. Operations without an example written beside their view get the real
answer itself as their example, kept in ``api/recorded_examples.json``; record them again with
``RECORD_API_EXAMPLES=1 pytest tests/test_recorded_examples.py``.
"""

import json
import os
import re

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from accounts.reasons import REASON_ORDER
from api.recorded_examples import (
    BALANCE_BY_REASON_PATH,
    RECORDED_EXAMPLES_PATH,
    RECORDED_LANGUAGES,
    balance_by_reason,
    balance_by_reason_reload,
    recorded_examples,
)
from sandbox.scenarios import scenario_create
from tests.support import MONDAY_MORNING, client_for, set_clock
from tests.test_access_matrix import CASES, _fill, world  # noqa: F401 (the matrix's world)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

# Whose answer is recorded, where several roles may call: the most telling first.
ROLE_PREFERENCE = ("self", "terminal", "pharmacy", "op", "super", "other", "bare", "op_other")
NOT_JSON = {"api/v1/schema", "api/v1/docs", "api/v1/redoc"}


def shape(value):
    """What a client parses: member names and kinds of values, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


DISCRIMINATORS = ("kind", "type")


def mismatches(documented, real, where="") -> list[str]:
    """Where an example differs from a real answer in shape (null matches anything, an empty list
    any list, an empty object any object: the real answer may simply have had none). A list's items may be of several kinds
    (``kind``/``type``): an example item is held to the real items of its own kind, if any."""
    if documented is None or real is None:
        return []
    if isinstance(documented, dict) and isinstance(real, dict):
        if not documented or not real:
            return []  # a map with no entries (deficits, say) tells nothing of its members
        if not _same_kind(documented, real):
            return []  # another kind of object (an event of another type): not comparable
        if _is_enum_keyed(documented) and _is_enum_keyed(real):
            # A map keyed by codes (channels, pools): its values share a shape, its keys vary.
            sample = next(iter(real.values()))
            return [
                found
                for key, value in documented.items()
                for found in mismatches(value, sample, f"{where}.{key}")
            ]
        found = [f"{where}.{key}: not in the real answer" for key in documented.keys() - real]
        found += [f"{where}.{key}: missing from the example" for key in real.keys() - documented]
        for key in documented.keys() & real.keys():
            found += mismatches(documented[key], real[key], f"{where}.{key}")
        return found
    if isinstance(documented, list) and isinstance(real, list):
        found = []
        for index, item in enumerate(documented):
            candidates = [other for other in real if _same_kind(item, other)]
            if not candidates:
                continue
            attempts = [mismatches(item, other, f"{where}[{index}]") for other in candidates]
            if all(attempts):
                found += attempts[0]
        return found
    if shape(documented) != shape(real):
        return [f"{where or '.'}: {shape(documented)} in the example, {shape(real)} in the answer"]
    return []


def _is_enum_keyed(value: dict) -> bool:
    return all(re.fullmatch(r"[A-Z][A-Z0-9_]*", key) for key in value)


def _same_kind(documented, real) -> bool:
    if not (isinstance(documented, dict) and isinstance(real, dict)):
        return True
    return all(
        documented[key] == real[key]
        for key in DISCRIMINATORS
        if key in documented and key in real and isinstance(documented[key], str)
    )


def _schema_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _real_answers(clients, values) -> dict[str, tuple[str, dict | list]]:
    """operationId to (status, body) of one permitted call, each rolled back afterwards."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    answers = {}
    for case in CASES:
        if case.route in NOT_JSON:
            continue
        operation = schema["paths"][_schema_path(case.route)][case.method]
        role = next(
            (r for r in ROLE_PREFERENCE if 200 <= case.expected.get(r, 0) < 300),
            "anon" if 200 <= case.expected.get("anon", 0) < 300 else None,
        )
        if role is None:
            continue
        path, body = case.path.format(**values), _fill(case.body, values)
        with transaction.atomic():
            response = getattr(clients[role], case.method)(path, body or None, format="json")
            transaction.set_rollback(True)
        assert 200 <= response.status_code < 300, (case.path, role, response.content)
        if response.status_code == 204 or not response.content:
            continue
        answers[operation["operationId"]] = (str(response.status_code), response.json())
    return answers, schema


def _documented(schema, operation_id: str, status: str) -> dict[str, object]:
    for item in schema["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                media = operation["responses"].get(status, {}).get("content", {})
                examples = media.get("application/json", {}).get("examples", {})
                return {name: example["value"] for name, example in examples.items()}
    return {}


def test_every_example_is_shaped_like_the_real_answer(world):  # noqa: F811
    clients, values = world
    answers, schema = _real_answers(clients, values)
    if os.environ.get("RECORD_API_EXAMPLES"):
        written = {
            operation_id: {"status": status, "value": body}
            for operation_id, (status, body) in sorted(answers.items())
        }
        RECORDED_EXAMPLES_PATH.write_text(
            json.dumps(written, ensure_ascii=False, indent=1, default=str) + "\n",
            encoding="utf-8",
        )
        recorded_examples.cache_clear()
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = []
    without = []
    for operation_id, (status, body) in sorted(answers.items()):
        documented = _documented(schema, operation_id, status)
        if not documented:
            without.append(operation_id)
        for name, example in documented.items():
            problems += [f"{operation_id} {status} {name!r}{m}" for m in mismatches(example, body)]
    assert without == [], "no example: record them (RECORD_API_EXAMPLES=1)"
    assert not problems, "\n".join(problems)


def test_the_recorded_examples_are_of_operations_that_exist():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation_ids = {
        operation["operationId"]
        for item in schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
    }
    assert set(recorded_examples()) <= operation_ids


def test_every_reason_has_a_balance_example_answered_by_its_scenario(agreement):
    """Each reason's example is the online answer of the sandbox scenario of that name, the one a
    client developer creates to see it (POST /api/v1/sandbox/scenarios/{code}), in English and in
    Chinese."""
    set_clock(MONDAY_MORNING)
    answers = {language: {} for language in RECORDED_LANGUAGES}
    for code in REASON_ORDER:
        built = scenario_create(code.value, username=f"example-{code.value.lower()}")
        for language in RECORDED_LANGUAGES:
            response = client_for(built.person.user).get(
                "/api/v1/me/balance", HTTP_ACCEPT_LANGUAGE=language
            )
            assert response.status_code == 200, response.content
            assert response["Content-Language"].lower() == language
            body = answers[language][code.value] = response.json()
            assert code.value in [reason["code"] for reason in body["reasons"]]
    if os.environ.get("RECORD_API_EXAMPLES"):
        BALANCE_BY_REASON_PATH.write_text(
            json.dumps(answers, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        balance_by_reason_reload()
    for language in RECORDED_LANGUAGES:
        documented = balance_by_reason(language)
        assert list(documented) == [code.value for code in REASON_ORDER]
        for code, body in answers[language].items():
            assert mismatches(documented[code], body) == [], (language, code)
            assert [r["code"] for r in documented[code]["reasons"]] == [
                r["code"] for r in body["reasons"]
            ], code
            # The texts are the language's own, as the code words them now.
            assert [r["title"] for r in documented[code]["reasons"]] == [
                r["title"] for r in body["reasons"]
            ], (language, code)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    shown = _documented(schema, "me_balance_retrieve", "200")
    assert {f"Reason {code.value}" for code in REASON_ORDER} <= set(shown)
