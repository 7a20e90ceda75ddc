"""Standard Webhooks signatures: ``whsec_<base64>`` secrets, and the ``webhook-*`` headers of a
delivery, signed by the ``standardwebhooks`` library with every secret valid at the time (two
during a rotation window, space-separated)."""

import base64
import secrets
from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, no secret)
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(
    *, webhook_id: str, sent_at: datetime, body: str, secrets: list[str]
) -> dict[str, str]:
    """The headers that go with ``body``: the id (stable across attempts), the time of this attempt
    in whole seconds, and one ``v1,<base64>`` signature per secret."""
    # The library signs the moment as if it were in UTC: hand it one that is.
    moment = sent_at.astimezone(UTC)
    signatures = [_signer(secret).sign(webhook_id, moment, body) for secret in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
