"""Response examples recorded from real answers (tests/test_recorded_examples.py records them and
holds every example of the document to the real answers' shape), for the operations whose view
shows none of its own."""

import json
from functools import cache
from pathlib import Path

RECORDED_EXAMPLES_PATH = Path(__file__).with_name("recorded_examples.json")
RECORDED_NAME = "Recorded answer"


@cache
def recorded_examples() -> dict[str, dict]:
    if not RECORDED_EXAMPLES_PATH.exists():
        return {}
    return json.loads(RECORDED_EXAMPLES_PATH.read_text(encoding="utf-8"))


def add_recorded_examples(result, generator, request, public):
    """drf-spectacular postprocessing hook: an operation's 2xx answer without an example of its
    own gets the recorded one."""
    recorded = recorded_examples()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            example = recorded.get(operation.get("operationId"))
            if example is None:
                continue
            response = operation.get("responses", {}).get(example["status"])
            media = (response or {}).get("content", {}).get("application/json")
            if media is None or "example" in media or "examples" in media:
                continue
            media["examples"] = {
                RECORDED_NAME: {"summary": RECORDED_NAME, "value": example["value"]}
            }
    return result
