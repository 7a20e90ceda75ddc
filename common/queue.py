"""Enqueueing Celery tasks after the transaction that recorded their job commits."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args) -> None:
    """Send the task once the surrounding transaction commits. If the broker is down, the job is
    still recorded in the database and the periodic sweep sends it again; nothing is lost."""

    def send() -> None:
        try:
            task.apply_async(args=args)
        except (BrokerError, OSError):
            logger.warning(
                "broker unavailable; job left for the sweep",
                extra={"task": task.name, "job_args": args},
            )
        except Exception:
            # Only in-process (eager) execution gets here; the job row has recorded the failure.
            logger.exception("job failed", extra={"task": task.name, "job_args": args})

    transaction.on_commit(send)
