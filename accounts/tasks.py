"""Celery entry points: fetch the id, call one service. Every task here is idempotent (the
database guarantees each credit and contribution happens once), so it is acknowledged late and
retried on passing database faults."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from accounts.crediting import contribution_collection_execute, crediting_run_execute

_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(name="accounts.execute_crediting_run", **_RETRY)
def execute_crediting_run(run_id: int) -> dict:
    outcome = crediting_run_execute(run_id=run_id)
    return {
        "run": run_id,
        "credited": outcome.totals.get("credited_count", 0),
        "items": outcome.items_done,
    }


@shared_task(name="accounts.execute_contribution_collection", **_RETRY)
def execute_contribution_collection(collection_id: int) -> dict:
    outcome = contribution_collection_execute(collection_id=collection_id)
    return {"collection": collection_id, "collected": outcome.totals.get("collected_count", 0)}
