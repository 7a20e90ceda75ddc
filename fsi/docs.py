"""The interface's documentation pages, generated from the registry (names, fields, the
handler's own description) and the recorded examples (``fsi/examples.py``), which a test holds
to real responses so the pages cannot drift from the code."""

import inspect
import json
from dataclasses import dataclass

from fsi.envelope import OPTIONAL_TEXT_FIELDS, REQUEST_FIELDS, RESPONSE_FIELDS
from fsi.examples import EXAMPLES
from fsi.registry import TRANSACTIONS, Transaction

SERVICE_PATH = "/fsi/api/rsfComIfsService/callService"


@dataclass(frozen=True)
class TransactionPage:
    infno: str
    name_zh: str
    name_en: str
    description: str
    input_fields: tuple[str, ...]
    output_fields: tuple[str, ...]
    corrected_by_2601: bool
    example_request: str
    example_response: str


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) if value is not None else ""


def _description(registered: Transaction) -> str:
    """The handler's docstring, else its module's."""
    text = inspect.getdoc(registered.handler) or inspect.getdoc(
        inspect.getmodule(registered.handler)
    )
    return text or ""


def transaction_page(infno: str) -> TransactionPage | None:
    registered = TRANSACTIONS.get(infno)
    if registered is None:
        return None
    example = EXAMPLES.get(infno, {})
    return TransactionPage(
        infno=infno,
        name_zh=registered.name_zh,
        name_en=registered.name_en,
        description=_description(registered),
        input_fields=registered.input_fields,
        output_fields=registered.output_fields,
        corrected_by_2601=registered.undo is not None,
        example_request=_pretty(example.get("request")),
        example_response=_pretty(example.get("response")),
    )


def transaction_pages() -> list[TransactionPage]:
    return [transaction_page(infno) for infno in sorted(TRANSACTIONS)]


def envelope_page() -> dict:
    from fsi import envelope

    return {
        "path": SERVICE_PATH,
        "description": inspect.getdoc(envelope) or "",
        "request_fields": REQUEST_FIELDS,
        "optional_fields": OPTIONAL_TEXT_FIELDS,
        "response_fields": RESPONSE_FIELDS,
    }
