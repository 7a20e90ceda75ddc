"""Times shown to a person are local (Asia/Shanghai), whatever zone the database hands back."""

from datetime import UTC, datetime

import pytest

from cards.models import FaceAuthAttempt
from cities.tests.factories import CityFactory
from common import clock
from common.models import SimulatedClock
from uploads.models import BalanceSnapshot, CityUpload

# Midnight in Shanghai is 16:00 the day before in UTC, which is how PostgreSQL's rows come back.
SHANGHAI_MIDNIGHT_IN_UTC = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)


def test_texts_and_api_times_are_local():
    assert clock.as_text(SHANGHAI_MIDNIGHT_IN_UTC) == "2026-11-03 00:00"
    assert clock.as_iso(SHANGHAI_MIDNIGHT_IN_UTC) == "2026-11-03T00:00:00+08:00"


def test_waits_name_their_clock_in_sandbox_mode_only(settings):
    settings.SANDBOX_MODE = True
    assert "simulated clock" in clock.simulated_wait_note()
    assert "real seconds" in clock.real_wait_note()
    settings.SANDBOX_MODE = False
    assert clock.simulated_wait_note() == clock.real_wait_note() == ""


@pytest.mark.django_db
def test_records_name_local_times_as_the_admin_columns_beside_them_do():
    city = CityFactory()
    upload = CityUpload(pk=7, city=city, as_of=SHANGHAI_MIDNIGHT_IN_UTC)
    assert str(upload).endswith("as of 2026-11-03 00:00")
    snapshot = BalanceSnapshot(person_id=1, balance=0, as_of=SHANGHAI_MIDNIGHT_IN_UTC)
    assert str(snapshot).endswith("as of 2026-11-03")
    assert str(SimulatedClock(now=SHANGHAI_MIDNIGHT_IN_UTC)) == (
        "Simulated clock at 2026-11-03 00:00"
    )
    attempt = FaceAuthAttempt(
        outcome=FaceAuthAttempt.Outcome.PASS, attempted_at=SHANGHAI_MIDNIGHT_IN_UTC
    )
    assert str(attempt).endswith("at 2026-11-03 00:00")
