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


@pytest.mark.django_db
def test_the_admin_shows_an_uploads_time_the_same_everywhere(client):
    from persons.tests.factories import PersonFactory
    from users.tests.factories import SuperuserFactory

    person = PersonFactory()
    upload = CityUpload.objects.create(
        city=person.city, trigger=CityUpload.Trigger.OPERATOR, as_of=SHANGHAI_MIDNIGHT_IN_UTC
    )
    BalanceSnapshot.objects.create(
        person=person,
        upload=upload,
        has_personal_account=True,
        balance=0,
        credited=False,
        as_of=SHANGHAI_MIDNIGHT_IN_UTC,
    )
    client.force_login(SuperuserFactory())
    html = client.get("/admin/uploads/balancesnapshot/").content.decode()
    # The upload column (its name) and the as-of column beside it: one local time; the column
    # names its zone, as every time in the console does.
    assert f"Upload #{upload.pk} of {person.city} as of 2026-11-03 00:00" in html
    assert '<td class="field-as_of nowrap">2026-11-03 00:00 CST</td>' in html
    assert "16:00" not in html and "midnight" not in html
