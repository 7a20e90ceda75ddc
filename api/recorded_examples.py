"""Response examples recorded from real answers (tests/test_recorded_examples.py records them and
holds every example of the document to the real answers' shape), for the operations whose view
shows none of its own."""

import json
from functools import cache
from pathlib import Path

RECORDED_EXAMPLES_PATH = Path(__file__).with_name("recorded_examples.json")
# The online balance answer of a sandbox scenario's person, one per reason code, in each language.
BALANCE_BY_REASON_PATH = Path(__file__).with_name("recorded_balance_by_reason.json")
RECORDED_NAME = "Recorded answer"
BALANCE_OPERATIONS = ("me_balance_retrieve",)


@cache
def recorded_examples() -> dict[str, dict]:
    if not RECORDED_EXAMPLES_PATH.exists():
        return {}
    return json.loads(RECORDED_EXAMPLES_PATH.read_text(encoding="utf-8"))


RECORDED_LANGUAGES = ("en", "zh-hans")


@cache
def _balance_by_reason_recorded() -> dict[str, dict[str, dict]]:
    if not BALANCE_BY_REASON_PATH.exists():
        return {}
    return json.loads(BALANCE_BY_REASON_PATH.read_text(encoding="utf-8"))


def balance_by_reason(language: str = "en") -> dict[str, dict]:
    """The recorded answers in ``language`` (English where it was not recorded)."""
    recorded = _balance_by_reason_recorded()
    return recorded.get(language.lower()) or recorded.get("en", {})


def balance_by_reason_reload() -> None:
    """After the file was recorded again."""
    _balance_by_reason_recorded.cache_clear()


def _add_reason_examples(operation) -> None:
    media = operation.get("responses", {}).get("200", {}).get("content", {})
    media = media.get("application/json")
    if media is None:
        return
    examples = media.setdefault("examples", {})
    for code, body in balance_by_reason().items():
        examples[f"Reason {code}"] = {
            "summary": f"{code}: the online answer of the sandbox scenario {code}",
            "value": body,
        }


def add_recorded_examples(result, generator, request, public):
    """drf-spectacular postprocessing hook: an operation's 2xx answer without an example of its
    own gets the recorded one."""
    recorded = recorded_examples()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if operation.get("operationId") in BALANCE_OPERATIONS:
                _add_reason_examples(operation)
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
