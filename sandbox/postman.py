"""A Postman collection (v2.1) of every operation, built from the OpenAPI document this server
serves, with the demo world's logins as variables on a sandbox server; import it into Postman
(or Bruno, which reads the same format) and every request is ready to send."""

import json
import re

from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.generators import SchemaGenerator

COLLECTION_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# The login a request is sent as until the user picks another variable.
DEFAULT_LOGIN = "op-all"
METHODS = ("get", "post", "put", "patch", "delete")


def _login_variables() -> list[dict]:
    """Each demo login's Authorization value, where the demo's credentials are public."""
    from sandbox.demo import demo_credentials_public, demo_world_table

    if not demo_credentials_public():
        return []
    return [
        {
            "key": f"auth_{row.username}",
            "value": row.authorization,
            "description": f"{row.who}: {row.notes}",
        }
        for row in demo_world_table(passwords=None)
        if row.authorization.startswith("Token ")
    ]


def _example(media: dict):
    if "example" in media:
        return media["example"]
    for example in media.get("examples", {}).values():
        if "value" in example:
            return example["value"]
    return None


def _request(path: str, method: str, operation: dict) -> dict:
    headers = []
    query = []
    path_variables = []
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        value = schema.get("example", parameter.get("example", ""))
        if parameter["in"] == "header":
            if parameter["name"] == "Idempotency-Key":
                value = "{{$guid}}"  # a new key per send; resend a saved one to see a replay
            headers.append({"key": parameter["name"], "value": str(value), "disabled": False})
        elif parameter["in"] == "query":
            query.append({"key": parameter["name"], "value": str(value), "disabled": True})
        elif parameter["in"] == "path":
            path_variables.append({"key": parameter["name"], "value": str(value)})
    postman_path = re.sub(r"\{(\w+)\}", r":\1", path)
    request = {
        "method": method.upper(),
        "header": headers,
        "description": operation.get("description", ""),
        "url": {
            "raw": "{{baseUrl}}" + postman_path,
            "host": ["{{baseUrl}}"],
            "path": [part for part in postman_path.split("/") if part],
            "query": query,
            "variable": path_variables,
        },
    }
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        headers.append({"key": "Content-Type", "value": "application/json"})
        example = _example(body)
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(example if example is not None else {}, ensure_ascii=False, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    if operation.get("security") == [{}] or not operation.get("security", True):
        request["auth"] = {"type": "noauth"}
    return request


def postman_collection(base_url: str) -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    folders: dict[str, list] = {}
    for path, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["api"])[0]
            folders.setdefault(tag, []).append(
                {
                    "name": operation.get("summary") or operation["operationId"],
                    "request": _request(path, method, operation),
                }
            )
    logins = _login_variables()
    default = next((v["value"] for v in logins if v["key"] == f"auth_{DEFAULT_LOGIN}"), "")
    return {
        "info": {
            "name": schema["info"]["title"],
            "description": _(
                "Every operation of this server. Set `authorization` to one of the `auth_...` "
                "variables (the demo's logins) or to the `authorization` a login answers."
            ),
            "schema": COLLECTION_SCHEMA,
        },
        "auth": {
            "type": "apikey",
            "apikey": [
                {"key": "key", "value": "Authorization", "type": "string"},
                {"key": "value", "value": "{{authorization}}", "type": "string"},
                {"key": "in", "value": "header", "type": "string"},
            ],
        },
        "variable": [
            {"key": "baseUrl", "value": base_url},
            {"key": "authorization", "value": default},
            *logins,
        ],
        "item": [{"name": tag, "item": items} for tag, items in sorted(folders.items())],
    }


def postman_collection_view(request):
    base_url = f"{request.scheme}://{request.get_host()}"
    response = JsonResponse(postman_collection(base_url), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="yibao.postman_collection.json"'
    return response
