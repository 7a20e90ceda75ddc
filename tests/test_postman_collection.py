"""The Postman collection the demo serves: every operation of the schema, ready to send, with
the demo's logins as variables whose tokens really authenticate."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from sandbox.demo import demo_world_build

pytestmark = pytest.mark.django_db


def _requests(collection) -> list[dict]:
    return [entry["request"] for folder in collection["item"] for entry in folder["item"]]


def test_the_collection_has_every_operation_and_the_demo_logins(client, agreement):
    demo_world_build()
    response = client.get("/postman-collection.json", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    collection = response.json()
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")

    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = sorted(
        (method.upper(), path.replace("{", ":").replace("}", ""))
        for path, item in schema["paths"].items()
        for method in ("get", "post", "put", "patch", "delete")
        if method in item
    )
    served = sorted(
        (request["method"], request["url"]["raw"].removeprefix("{{baseUrl}}"))
        for request in _requests(collection)
    )
    assert served == documented

    variables = {variable["key"]: variable["value"] for variable in collection["variable"]}
    assert variables["baseUrl"] == "http://127.0.0.1:8000"
    assert variables["authorization"] == variables["auth_op-all"]
    # The tokens are the demo's own: each authenticates as its login.
    for username in ("op-all", "hz-hospital", "balance-visible"):
        me = client.get("/api/v1/me", HTTP_AUTHORIZATION=variables[f"auth_{username}"])
        assert me.status_code == 200 and me.json()["username"] == username

    settle = next(
        r
        for r in _requests(collection)
        if r["url"]["raw"] == "{{baseUrl}}/api/v1/settlements" and r["method"] == "POST"
    )
    headers = {header["key"]: header["value"] for header in settle["header"]}
    assert headers["Idempotency-Key"] == "{{$guid}}"
    assert headers["X-Presented-Credential"].startswith("CARD ")
    assert '"line_items"' in settle["body"]["raw"]


def test_without_the_sandbox_the_collection_carries_no_credentials(client, settings):
    settings.SANDBOX_MODE = False
    collection = client.get("/postman-collection.json").json()
    keys = {variable["key"] for variable in collection["variable"]}
    assert keys == {"baseUrl", "authorization"}
    assert next(v for v in collection["variable"] if v["key"] == "authorization")["value"] == ""
