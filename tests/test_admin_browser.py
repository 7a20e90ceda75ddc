"""An operator's path through the admin, in a real headless Chromium: log in, switch a city's
upload channel on, run its upload, and see the person's diagnosis change."""

import os
import shutil

import pytest

from cities.models import City
from common.models import JobStatus
from sandbox.scenarios import scenario_create
from sandbox.world import CITY_PROFILES
from tests.bootstrap import skip_unless_ci
from tests.support import MONDAY_MORNING, set_clock, wait_for
from uploads.models import CityUpload
from users.services import operator_create

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _chromium_installed():
    if CHROMIUM is None:
        skip_unless_ci("Chromium is not installed (.ci/run installs Debian's chromium)")


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test still reads the database.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # Playwright gives each launch a fresh, empty profile of its own.
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            yield page
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_operator_opens_a_channel_uploads_and_sees_the_diagnosis_change(
    agreement, live_server, celery_worker, browser_page
):
    set_clock(MONDAY_MORNING)
    person = scenario_create("DATA_NOT_UPLOADED").person
    zhumadian = City.objects.get(code=CITY_PROFILES["no_channel"].code)
    operator_create(username="op-browser", password="a-long-browser-password", cities=[zhumadian])
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "op-browser")
    page.fill("#id_password", "a-long-browser-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")

    person_url = f"{live_server.url}/admin/persons/insuredperson/{person.pk}/change/"
    page.goto(person_url)
    online_row = page.locator("tr", has_text="Online (e-voucher platforms)")
    assert "DATA_NOT_UPLOADED" in online_row.inner_text()

    page.goto(f"{live_server.url}/admin/cities/city/{zhumadian.pk}/change/")
    page.check("#id_has_public_upload_channel")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    zhumadian.refresh_from_db()
    assert zhumadian.has_public_upload_channel is True
    assert zhumadian.history.first().history_user.username == "op-browser"

    page.goto(f"{live_server.url}/admin/cities/city/")
    page.check(f"input[name=_selected_action][value='{zhumadian.pk}']")
    page.select_option("select[name=action]", "upload_now")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    upload = wait_for(
        lambda: CityUpload.objects.filter(
            city=zhumadian, trigger=CityUpload.Trigger.OPERATOR
        ).first()
    )
    wait_for(lambda: CityUpload.objects.get(pk=upload.pk).status == JobStatus.SUCCEEDED)

    page.goto(f"{live_server.url}/admin/uploads/cityupload/")
    assert "100%" in page.locator("#result_list").inner_text()

    page.goto(person_url)
    online_row = page.locator("tr", has_text="Online (e-voucher platforms)")
    text = online_row.inner_text()
    assert "DATA_NOT_UPLOADED" not in text
    assert "from the upload as of" in text  # the balance now shows, from the uploaded snapshot
