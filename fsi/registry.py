"""The transactions the interface answers, by ``infno``, and what a handler receives.

A transaction module decorates its handler with :func:`transaction`; ``fsi.transactions``
imports every module so each registers once. A handler returns the ``output`` object and raises
``common.errors.DomainError`` to refuse; the envelope does the rest (checks, log, idempotency,
the Chinese ``err_msg`` and the stable code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from institutions.models import Institution
    from users.models import User


@dataclass(frozen=True)
class Call:
    infno: str
    msgid: str
    institution: Institution  # the signed-in institution (from the caller's token)
    user: User  # the authenticated terminal/operator user
    sign_no: str  # "" for 9001
    input: dict  # the envelope's "input" object, untouched
    now: datetime  # read once per request from common.clock (simulated in sandbox)
    request_id: str  # the project's request id (ties the message to the ledger)
    envelope: dict  # the whole request envelope


@dataclass(frozen=True)
class Transaction:
    infno: str
    name_zh: str
    name_en: str
    handler: Callable[[Call], dict]  # returns the "output" object
    # Used by 2601: (correction call, the original output) -> output.
    undo: Callable[[Call, dict], dict] | None = None
    input_fields: tuple[str, ...] = ()  # documented input field names (for the docs page)
    output_fields: tuple[str, ...] = ()


TRANSACTIONS: dict[str, Transaction] = {}


def transaction(
    infno: str,
    *,
    name_zh: str,
    name_en: str,
    input_fields: tuple[str, ...] = (),
    output_fields: tuple[str, ...] = (),
    undo: Callable[[Call, dict], dict] | None = None,
) -> Callable[[Callable[[Call], dict]], Callable[[Call], dict]]:
    """Decorator registering a handler."""

    def register(handler: Callable[[Call], dict]) -> Callable[[Call], dict]:
        if infno in TRANSACTIONS:
            raise ValueError(f"transaction {infno} is registered twice")
        TRANSACTIONS[infno] = Transaction(
            infno=infno,
            name_zh=name_zh,
            name_en=name_en,
            handler=handler,
            undo=undo,
            input_fields=tuple(input_fields),
            output_fields=tuple(output_fields),
        )
        return handler

    return register


class Output(dict):
    """An ``output`` object that also carries members for the answer's ``extension`` (this
    project's additions, such as the balance's reasons), for handlers that have some."""

    def __init__(self, output: dict, *, extension: dict) -> None:
        super().__init__(output)
        self.extension = extension
