"""The operators' console in a real headless Chromium: each main page at the common screen widths
without horizontal overflow, screenshots of each kept as test artefacts (var/screenshots/), and
in simplified Chinese no English sentence of the catalogue left on the page."""

import gettext
import os
import re
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Contribution
from cards.models import SocialSecurityCard
from cities.models import City
from common.models import JobStatus
from sandbox.scenarios import scenario_create
from sandbox.world import CITY_PROFILES, sandbox_city
from tests.bootstrap import skip_unless_ci
from tests.support import MONDAY_MORNING, set_clock
from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS
from uploads.models import CityUpload
from uploads.services import upload_open
from users.services import operator_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WIDTHS = (1280, 1440, 1920)
NARROW = 1024
PASSWORD = "a-long-console-password"
# An English sentence: four or more words of letters in a row.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z][a-z]+(?:[ ,][A-Za-z][a-z']+){3,}")


@pytest.fixture
def console_page():
    """A page of a fresh headless Chromium (Debian's, as in .ci/run)."""
    if CHROMIUM is None:
        skip_unless_ci("Chromium is not installed (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test still reads the database.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            yield page
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _world(live_server) -> dict[str, str]:
    """The pages to look at, by name: an operator of two cities, a person in each of three
    states, and an upload half-way through."""
    set_clock(MONDAY_MORNING)
    hangzhou = sandbox_city("standard")
    zhumadian = sandbox_city("no_channel")
    sandbox_city("busy")  # a third city, not the operator's
    visible = scenario_create("BALANCE_VISIBLE").person
    issued = scenario_create("CARD_NOT_ACTIVATED").person
    not_uploaded = scenario_create("DATA_NOT_UPLOADED").person
    assert SocialSecurityCard.objects.get(person=issued).status == "ISSUED"
    operator_create(username="op-console", password=PASSWORD, cities=[hangzhou, zhumadian])
    running, _ = upload_open(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR)
    # What a worker half-way through the upload has recorded.
    CityUpload.objects.filter(pk=running.pk).update(
        status=JobStatus.RUNNING, items_total=10, items_done=4
    )
    base = live_server.url

    def person(pk):
        return base + reverse("admin:persons_insuredperson_change", args=[pk])

    return {
        "dashboard": base + reverse("admin:index"),
        "person-list": base + reverse("admin:persons_insuredperson_changelist"),
        "person-balance-visible": person(visible.pk),
        "person-card-not-activated": person(issued.pk),
        "person-data-not-uploaded": person(not_uploaded.pk),
        "city-list": base + reverse("admin:cities_city_changelist"),
        "city-page": base + reverse("admin:cities_city_change", args=[hangzhou.pk]),
        "upload-in-progress": base + reverse("admin:uploads_cityupload_changelist"),
    }


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "op-console")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_the_console_fits_the_screen_and_is_photographed(agreement, live_server, console_page):
    pages = _world(live_server)
    page = console_page
    _log_in(page, live_server.url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    overflowing = []
    for width in (*WIDTHS, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        for name, address in pages.items():
            answer = page.goto(address)
            assert answer.ok, f"{name}: {answer.status}"
            extra = _overflow(page)
            if extra > 0:
                overflowing.append(f"{name} at {width}px: {extra}px too wide")
            if width == WIDTHS[0]:
                shot = SCREENSHOTS / f"console-{name}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
    assert not overflowing, overflowing

    # What the screenshots show, checked in words too.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(pages["dashboard"])
    board = page.locator(".console-dashboard").inner_text()
    assert "2026-11-02 09:00 CST" in board
    assert "Hangzhou" in board and "Zhumadian" in board and "Shenzhen" not in board
    assert "40%" in board  # the upload half-way through
    page.goto(pages["person-card-not-activated"])
    actions = page.locator(".console-actions").inner_text()
    assert "Activate card" in actions
    online = page.locator(".console-diagnosis-table tr", has_text="Online").inner_text()
    assert "CARD_NOT_ACTIVATED" in online

    # An action asks first: dismissed, nothing happens; accepted, the domain is called once.
    record = page.get_by_role("button", name=re.compile("Record the contribution for 2026-11"))
    page.once("dialog", lambda dialog: dialog.dismiss())
    record.click()
    assert not Contribution.objects.filter(period=date(2026, 11, 1)).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    record.click()
    page.wait_for_selector(".messagelist .success")
    assert "Contribution for 2026-11-01 recorded" in page.locator(".messagelist").inner_text()
    assert Contribution.objects.filter(period=date(2026, 11, 1)).count() == 1


def _catalogue_sentences() -> list[str]:
    """The English sentences of the project's catalogue (each msgid's longest run of words
    between placeholders), to look for on a page shown in Chinese."""
    compiled = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    if not compiled.exists():
        pytest.skip("The Chinese catalogue is not compiled (make compile-messages)")
    with compiled.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog
    sentences = set()
    for msgid in catalogue:
        text = msgid[0] if isinstance(msgid, tuple) else msgid
        pieces = re.split(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", text)
        longest = max(pieces, key=len).strip()
        if len(longest.split()) >= 4:
            sentences.add(longest)
    return sorted(sentences)


def test_the_console_in_chinese_leaves_no_english_sentence(agreement, live_server, console_page):
    pages = _world(live_server)
    sentences = _catalogue_sentences()
    page = console_page
    page.set_extra_http_headers({"Accept-Language": "zh-hans"})
    _log_in(page, live_server.url)
    page.set_viewport_size({"width": 1280, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    untranslated = []
    # What operators typed (a city's agency and its address) stays as typed, in any language.
    typed = [
        value
        for city in City.objects.all()
        for value in (city.agency_name, city.agency_address)
        if value
    ]
    for name, address in pages.items():
        answer = page.goto(address)
        assert answer.ok, f"{name}: {answer.status}"
        text = page.locator("body").inner_text()
        for value in typed:
            text = text.replace(value, "")
        left = [sentence for sentence in sentences if sentence in text]
        left += [match for match in ENGLISH_SENTENCE.findall(text) if match not in left]
        if left:
            untranslated.append(f"{name}: {left[:5]}")
        extra = _overflow(page)
        if extra > 0:
            untranslated.append(f"{name}: {extra}px too wide in Chinese")
        shot = SCREENSHOTS / f"console-{name}-zh-hans.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    assert not untranslated, untranslated


# An operator of four cities is offered those four in the city filter, not every city.
def test_a_four_city_operator_is_offered_four_cities(live_server, console_page):
    set_clock(MONDAY_MORNING)
    cities = [sandbox_city(key) for key in CITY_PROFILES]
    assert len(cities) > 4
    operator_create(username="op-console", password=PASSWORD, cities=cities[:4])
    page = console_page
    _log_in(page, live_server.url)
    page.goto(live_server.url + reverse("admin:persons_insuredperson_changelist"))
    offered = page.locator("#changelist-filter details[data-filter-title='city'] li a")
    assert sorted(offered.all_inner_texts()) == sorted(["All", *map(str, cities[:4])])
