"""The OpenAPI document describes each operation for an API client: its own description, its
problem responses, and examples that match the schemas they illustrate."""

import inspect
import re
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest
from django.urls import path, resolve
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework import generics, serializers

from api.base import ActorMixin
from api.views import NotFoundApi

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document):
    for route, path_item in document["paths"].items():
        for method, operation in path_item.items():
            if method in METHODS:
                yield f"{method.upper()} {route}", operation


def inherited_docstrings() -> set[str]:
    """The docstrings of every base class and mixin of every routed view: they describe code."""
    docs = set()
    for _path, _regex, _method, callback in EndpointEnumerator().get_api_endpoints():
        for base in callback.cls.__mro__[1:]:
            if base.__doc__:
                docs.add(inspect.cleandoc(base.__doc__))
    return docs


def test_every_operation_has_its_own_description(document):
    base_docs = inherited_docstrings()
    assert inspect.cleandoc(ActorMixin.__doc__) in base_docs
    by_description = defaultdict(list)
    for name, operation in operations(document):
        description = operation.get("description", "").strip()
        assert description, f"{name} has no description"
        assert description not in base_docs, f"{name} is described by a base class's docstring"
        assert "self." not in description, f"{name} describes code: {description!r}"
        assert operation.get("summary"), f"{name} has no summary"
        by_description[description].append(name)
    shared = {text: names for text, names in by_description.items() if len(names) > 1}
    assert not shared, f"operations sharing one description: {shared}"


def test_a_view_without_its_own_words_gets_no_inherited_description():
    class UndocumentedSerializer(serializers.Serializer):
        id = serializers.IntegerField()

    class UndocumentedApi(ActorMixin, generics.ListAPIView):
        serializer_class = UndocumentedSerializer

    class DocumentedApi(ActorMixin, generics.ListAPIView):
        """Lists nothing, for this test."""

        serializer_class = UndocumentedSerializer

    generator = SchemaGenerator(
        patterns=[
            path("undocumented", UndocumentedApi.as_view()),
            path("documented", DocumentedApi.as_view()),
        ]
    )
    paths = generator.get_schema(request=None, public=True)["paths"]
    assert paths["/undocumented"]["get"].get("description", "") == ""
    assert paths["/documented"]["get"]["description"] == "Lists nothing, for this test."


def test_every_client_error_is_a_documented_problem(document):
    for name, operation in operations(document):
        responses = operation["responses"]
        for status in ("400", "401", "403", "404", "405", "406", "429"):
            assert status in responses, f"{name} does not document {status}"
        if name.startswith(("POST", "PATCH")):
            for status in ("409", "415", "422"):
                assert status in responses, f"{name} does not document {status}"
        for status, response in responses.items():
            if status.startswith("4"):
                content = response.get("content", {})
                assert list(content) == ["application/problem+json"], (name, status)
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (name, status)


def _json_schema(schema, components):
    """An OpenAPI 3.0 schema as plain JSON Schema (`nullable`, local `$ref`s)."""
    if isinstance(schema, list):
        return [_json_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _json_schema(components[name], components)
    converted = {key: _json_schema(value, components) for key, value in schema.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _examples(document):
    for name, operation in operations(document):
        bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
        bodies += [
            (f"response {status}", response.get("content", {}))
            for status, response in operation["responses"].items()
        ]
        for where, content in bodies:
            for media in content.values():
                for title, example in media.get("examples", {}).items():
                    yield f"{name} {where} {title}", media["schema"], example["value"]


def test_every_request_body_has_an_example(document):
    for name, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if content:
            examples = content["application/json"].get("examples", {})
            assert examples, f"{name} has a request body without an example"


def test_every_example_matches_its_schema(document):
    components = document["components"]["schemas"]
    checked = 0
    for name, schema, value in _examples(document):
        errors = list(
            jsonschema.Draft202012Validator(_json_schema(schema, components)).iter_errors(value)
        )
        assert not errors, f"{name}: {[error.message for error in errors]}"
        checked += 1
    assert checked >= 30


# --- README speaks the API's words -------------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"
# Words in README's code spans that are neither API values nor settings: HTTP methods, the two
# credential kinds of X-Presented-Credential, SQL and Redis words, make's PORT.
_PLAIN_WORDS = {"GET", "POST", "PUT", "PATCH", "DELETE", "CARD", "EVOUCHER"}
_PLAIN_WORDS |= {"INSERT", "SELECT", "CONFLICT", "INCR", "PORT"}
_PLAIN_WORDS |= {"BEFORE", "TRUNCATE", "CASCADE", "SET", "LOCAL"}  # the ledger's SQL guard
_HEADER_NAME = re.compile(r"\bX-[A-Za-z-]+")
_ENV_READ = re.compile(
    r"""(?:environ\.get|environ\[|getenv|env_[a-z]+)\(?\s*["']([A-Z][A-Z0-9_]+)"""
)


def _enum_values(node) -> set[str]:
    values = set()
    if isinstance(node, dict):
        values |= {value for value in node.get("enum", []) if isinstance(value, str)}
        for child in node.values():
            values |= _enum_values(child)
    elif isinstance(node, list):
        for child in node:
            values |= _enum_values(child)
    return values


def _environment_variables() -> set[str]:
    root = README.parent
    names = set()
    for source in [
        *root.glob("config/*.py"),
        *root.glob("bench/*.py"),
        *root.glob("tests/*.py"),
        *root.glob("*/management/commands/*.py"),
    ]:
        names |= set(_ENV_READ.findall(source.read_text()))
    return names


def test_readme_names_only_values_the_api_uses(document):
    from api.views import all_error_codes
    from sandbox.scenarios import SCENARIOS

    known = _enum_values(document) | set(all_error_codes()) | set(SCENARIOS)
    known |= _environment_variables() | _PLAIN_WORDS
    spans = re.findall(r"`([^`\n]+)`", README.read_text())
    words = {
        word
        for span in spans
        for word in re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", _HEADER_NAME.sub("", span))
    }
    unknown = sorted(words - known)
    assert not unknown, f"README names values the API does not have: {unknown}"


def test_readme_addresses_exist_with_their_methods():
    text = README.read_text()
    mentions = re.findall(r"(?:\b(GET|POST|PATCH|PUT|DELETE) )?(/api/v1/[\w/{}.-]*)", text)
    assert len(mentions) > 20
    for method, address in mentions:
        concrete = re.sub(r"\{city\}", "330100", address)
        concrete = re.sub(r"\{[^}]+\}", "1", concrete)
        match = resolve(concrete)
        view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
        assert view_class is not NotFoundApi, f"README names {address}, which does not exist"
        if method:
            assert hasattr(view_class, method.lower()), f"README: {method} {address} not allowed"
