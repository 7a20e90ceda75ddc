from datetime import UTC, datetime, timedelta

from webhooks import rules

DELAYS = [5, 30, 120]
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def test_each_failed_attempt_waits_longer_and_the_last_one_fails():
    assert rules.retry_delay(attempts_made=1, delays=DELAYS) == timedelta(seconds=5)
    assert rules.retry_delay(attempts_made=2, delays=DELAYS) == timedelta(seconds=30)
    assert rules.retry_delay(attempts_made=3, delays=DELAYS) == timedelta(seconds=120)
    assert rules.retry_delay(attempts_made=4, delays=DELAYS) is None


def test_only_2xx_is_delivered():
    assert [rules.attempt_succeeded(code) for code in (200, 204, 299)] == [True] * 3
    assert [rules.attempt_succeeded(c) for c in (None, 199, 301, 404, 500)] == [False] * 5


def test_an_endpoint_is_disabled_after_too_many_failures_or_too_long_failing():
    def reason(failures, since):
        return rules.disable_reason(
            consecutive_failures=failures, failing_since=since, now=NOW, max_failures=3, max_hours=2
        )

    assert reason(2, NOW - timedelta(hours=1)) == ""
    assert "3 deliveries in a row" in reason(3, NOW)
    assert "2 hours" in reason(0, NOW - timedelta(hours=2))
    assert reason(0, None) == ""
