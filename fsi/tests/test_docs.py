"""The documentation pages: one per registered transaction, its fields from the registry and its
example from ``fsi/examples.py``, which must have the shape of what the code answers now."""

import json

import pytest
from django.utils.html import escape

from fsi.examples import EXAMPLES
from fsi.registry import TRANSACTIONS
from sandbox.demo import demo_world_build

from .examples_recording import demo_examples

pytestmark = pytest.mark.django_db

OWN = ("9001", "9002", "1101", "5206", "3201", "2601")
VISITS = (
    *("2201", "2202", "2203", "2204", "2205", "2206", "2207", "2208"),
    *("2301", "2302", "2303", "2304", "2305", "2401", "2402", "2404", "2405"),
)
RECORDED = OWN + VISITS


def shape(value):
    """What a client parses: member names and kinds of values, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _declared(fields: tuple[str, ...], output: dict) -> list[str]:
    """The declared output fields missing from ``output`` ("a.b", "a[].b"; the members of an
    empty list cannot be missing)."""
    missing = []
    for name in fields:
        node = output
        for part in name.split("."):
            key, many = part.removesuffix("[]"), part.endswith("[]")
            if not isinstance(node, dict) or key not in node:
                missing.append(name)
                break
            node = node[key]
            if many and not node:
                break
            if many:
                node = node[0]
    return missing


def test_the_recorded_examples_are_what_the_demo_world_answers_now(agreement):
    demo_world_build()
    recorded = demo_examples()
    assert set(RECORDED) <= set(EXAMPLES), "record the examples: fsi/tests/examples_recording.py"
    for infno in RECORDED:
        now, documented = recorded[infno]["response"], EXAMPLES[infno]["response"]
        assert now["infcode"] == documented["infcode"] == 0, (infno, now)
        assert shape(now) == shape(documented), infno
        assert shape(recorded[infno]["request"]) == shape(EXAMPLES[infno]["request"]), infno


def test_every_declared_output_field_is_in_its_example():
    for infno, example in EXAMPLES.items():
        registered = TRANSACTIONS[infno]
        output = example["response"]["output"]
        assert not _declared(registered.output_fields, output), infno


def test_every_transaction_has_a_page_and_the_index_lists_them(client):
    index = client.get("/fsi/docs/")
    assert index.status_code == 200
    text = index.content.decode()
    for infno, registered in TRANSACTIONS.items():
        assert f'href="/fsi/docs/{infno}"' in text
        page = client.get(f"/fsi/docs/{infno}")
        assert page.status_code == 200, infno
        body = page.content.decode()
        assert escape(registered.name_zh) in body and escape(registered.name_en) in body
        for name in registered.input_fields:
            assert f"input.{name}" in body, (infno, name)
        for name in registered.output_fields:
            assert f"output.{name}" in body, (infno, name)


def test_a_page_shows_its_recorded_example(client):
    body = client.get("/fsi/docs/1101").content.decode()
    request = json.dumps(EXAMPLES["1101"]["request"], ensure_ascii=False, indent=2)
    assert escape(request) in body


def test_an_unknown_transaction_has_no_page(client):
    assert client.get("/fsi/docs/0000").status_code == 404
