"""Signatures as the Standard Webhooks library verifies them."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks.signing import secret_generate, signed_headers


def test_a_secret_is_whsec_and_32_random_bytes():
    first, second = secret_generate(), secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_library_verifies_what_is_signed_and_nothing_else():
    secret = secret_generate()
    body = json.dumps({"type": "card.status_changed", "timestamp": "t", "data": {"id": "evt_1"}})
    headers = signed_headers(
        webhook_id="evt_1", sent_at=datetime.now(UTC), body=body, secrets=[secret]
    )
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"]["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("evt_1", "evt_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers | {"webhook-id": "evt_2"})


def test_a_local_time_is_signed_as_the_same_moment():
    """The library reads the moment as UTC whatever its zone: the header and the signature must
    still agree on the instant."""
    from zoneinfo import ZoneInfo

    secret = secret_generate()
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    headers = signed_headers(webhook_id="evt_1", sent_at=local, body="{}", secrets=[secret])
    assert int(headers["webhook-timestamp"]) == int(local.timestamp())
    Webhook(secret).verify("{}", headers)


def test_during_a_rotation_both_secrets_verify():
    old, new = secret_generate(), secret_generate()
    headers = signed_headers(
        webhook_id="evt_9", sent_at=datetime.now(UTC), body="{}", secrets=[new, old]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify("{}", headers)
    Webhook(new).verify("{}", headers)


def test_an_old_timestamp_is_refused_by_the_receiver():
    secret = secret_generate()
    stale = datetime.now(UTC) - timedelta(minutes=10)
    headers = signed_headers(webhook_id="evt_1", sent_at=stale, body="{}", secrets=[secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify("{}", headers)
