"""The operators' console: the home dashboard, the person list's state column, a person's actions,
the city's actions, and the scope of each (an operator sees and acts on their cities only)."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Contribution
from cards.models import SocialSecurityCard
from cards.services import card_mark_ready
from cities.limiter import busy_answers_count
from cities.models import City
from common import clock
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from persons.admin import masked_resident_id
from persons.models import InsuredPerson
from sandbox.scenarios import scenario_create
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from users.services import operator_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agreement):
    set_clock(MONDAY_MORNING)
    hangzhou = sandbox_city("standard")
    zhumadian = sandbox_city("no_channel")
    busy = sandbox_city("busy")
    visible = scenario_create("BALANCE_VISIBLE").person
    issued = scenario_create("CARD_NOT_ACTIVATED").person
    foreign = scenario_create("DATA_NOT_UPLOADED").person
    operator = operator_create(username="op-hz", password="a-long-password-1", cities=[hangzhou])
    client = Client()
    client.force_login(operator)
    return {
        "hangzhou": hangzhou,
        "zhumadian": zhumadian,
        "busy": busy,
        "visible": visible,
        "issued": issued,
        "foreign": foreign,
        "client": client,
    }


def notes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_dashboard_shows_the_clock_and_only_the_operators_cities(world):
    page = world["client"].get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "2026-11-02 09:00 CST" in html
    assert world["hangzhou"].name in html
    assert world["zhumadian"].name not in html and world["busy"].name not in html
    assert reverse("admin:common_simulatedclock_advance") in html
    # The app list speaks the operators' language, not Django's model names.
    assert "Knox" not in html and "E voucher agreements" not in html
    assert "Insured persons" in html


def test_the_chinese_dashboard_names_the_cities_in_chinese(world):
    from django.utils import translation

    with translation.override("en"):
        page = world["client"].get(reverse("admin:index") + "?lang=zh-hans")
    html = page.content.decode()
    hangzhou = world["hangzhou"]
    assert hangzhou.name_zh and hangzhou.name_zh in html
    # The switch and upload confirmations too: no English city name on the Chinese page.
    assert f"{hangzhou.name}</a>" not in html and f"of {hangzhou.name}" not in html
    assert hangzhou.name not in re.findall(r'data-confirm="([^"]*)"', html)[0]


def test_the_dashboards_advance_button_moves_the_clock_once(world):
    advance = reverse("admin:common_simulatedclock_advance")
    response = world["client"].post(advance, {"step": "1d"})
    assert response.status_code == 302
    clock.forget_cached_now()
    assert clock.now() == MONDAY_MORNING + timedelta(days=1)
    assert any(note.startswith("Clock now 2026-11-03 09:00 CST") for note in notes(response))

    refused = world["client"].post(advance, {"step": "99y"})
    clock.forget_cached_now()
    assert clock.now() == MONDAY_MORNING + timedelta(days=1)
    assert "Choose one of the steps offered." in notes(refused)
    assert world["client"].get(advance).status_code == 405


def test_the_dashboard_counts_busy_answers_of_the_day(world, settings):
    busy_person = scenario_create("PLATFORM_BUSY").person
    operator = operator_create(
        username="op-busy", password="a-long-password-2", cities=[world["busy"]]
    )
    now = clock.now()
    for _ in range(3):
        balance_inquire(channel=Channel.ONLINE, now=now, person_id=busy_person.pk)
    assert busy_answers_count(city_id=world["busy"].pk, day=clock.localdate(now)) == 3
    client = Client()
    client.force_login(operator)
    board = client.get(reverse("admin:index")).context["dashboard"]
    assert [(panel.city.pk, panel.busy_answers_today) for panel in board.cities] == [
        (world["busy"].pk, 3)
    ]


def test_the_person_list_masks_ids_shows_each_channel_and_lists_own_cities_only(world):
    page = world["client"].get(reverse("admin:persons_insuredperson_changelist"))
    html = page.content.decode()
    visible, issued = world["visible"], world["issued"]
    assert visible.resident_id not in html and issued.resident_id not in html
    assert masked_resident_id(visible.resident_id) in html
    assert world["foreign"].name not in html
    # The state column: the visible balance in green, the issued card's reason in red.
    assert re.search(r'console-badge-ok" title="Shows [\d.]+ CNY"><b>Online</b>', html)
    assert re.search(
        r'console-badge-hidden" title="Your social security card is not activated"><b>Online</b> card',
        html,
    )
    # An operator of one city has no city to choose; of two, the city filter offers those two.
    assert not [spec for spec in page.context["cl"].filter_specs if spec.title == "city"]
    two = operator_create(
        username="op-two", password="a-long-password-3", cities=[world["hangzhou"], world["busy"]]
    )
    client = Client()
    client.force_login(two)
    changelist = client.get(reverse("admin:persons_insuredperson_changelist")).context["cl"]
    offered = {
        choice["display"]
        for spec in changelist.filter_specs
        if spec.title == "city"
        for choice in spec.choices(changelist)
    }
    assert offered == {"All", str(world["hangzhou"]), str(world["busy"])}


def test_the_person_list_reads_a_fixed_number_of_queries_whatever_the_page_holds(world):
    list_url = reverse("admin:persons_insuredperson_changelist")
    with CaptureQueriesContext(connection) as few:
        assert world["client"].get(list_url).status_code == 200
    for _ in range(6):
        scenario_create("BALANCE_VISIBLE")
    assert InsuredPerson.objects.filter(city=world["hangzhou"]).count() == 8
    with CaptureQueriesContext(connection) as many:
        page = world["client"].get(list_url)
    assert page.content.decode().count("<b>Hotline</b>") == 8
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


def test_a_persons_page_shows_the_diagnosis_as_a_table_with_its_actions(world):
    issued = world["issued"]
    card = SocialSecurityCard.objects.get(person=issued)
    page = world["client"].get(reverse("admin:persons_insuredperson_change", args=[issued.pk]))
    html = page.content.decode()
    assert (
        "console-diagnosis-table" in html and "; " not in html.split("console-diagnosis")[1][:200]
    )
    assert issued.resident_id not in html and masked_resident_id(issued.resident_id) in html
    assert reverse("admin:cards_card_activate", args=[card.pk]) in html
    assert "What you can do now" in html


def test_a_persons_actions_each_call_the_domain_once(world):
    person = scenario_create("CARD_BEING_MADE").person
    card = SocialSecurityCard.objects.get(person=person)
    card_mark_ready(card=card)
    client = world["client"]
    page = client.get(reverse("admin:persons_insuredperson_change", args=[person.pk]))
    hand_over = reverse("admin:persons_insuredperson_act", args=[person.pk, "hand_over"])
    assert hand_over in page.content.decode()
    response = client.post(hand_over)
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.status == SocialSecurityCard.Status.ISSUED
    assert notes(response) == [
        f"Card {card.number} handed over; activate it with the person present."
    ]

    period = clock.today().replace(day=1)
    record = reverse("admin:persons_insuredperson_act", args=[person.pk, "contribution"])
    before = Contribution.objects.filter(person=person).count()
    first = client.post(record)
    assert first.status_code == 302
    client.post(record)  # the same month again: recorded once
    assert Contribution.objects.filter(person=person).count() <= before + 1
    assert Contribution.objects.filter(person=person, period=period).count() == 1

    upload = reverse("admin:persons_insuredperson_act", args=[person.pk, "upload"])
    response = client.post(upload)
    assert CityUpload.objects.filter(
        city=world["hangzhou"], trigger=CityUpload.Trigger.OPERATOR
    ).exists()
    assert any(note.startswith("Upload #") for note in notes(response))
    assert client.get(upload).status_code == 405


def test_a_persons_actions_stay_in_the_operators_cities(world):
    foreign = world["foreign"]
    for action in ("hand_over", "contribution", "upload"):
        response = world["client"].post(
            reverse("admin:persons_insuredperson_act", args=[foreign.pk, action])
        )
        assert response.status_code == 302
        assert "Perhaps it was deleted" in " ".join(notes(response))
    assert not CityUpload.objects.filter(city=foreign.city).exists()
    assert not Contribution.objects.filter(person=foreign, created_by__username="op-hz").exists()


def test_a_citys_actions_switch_and_start_jobs_in_its_operators_cities_only(world):
    hangzhou, zhumadian = world["hangzhou"], world["zhumadian"]
    client = world["client"]
    switch = reverse("admin:cities_city_act", args=[hangzhou.pk, "switch"])
    response = client.post(switch, {"platform_busy_forced": "true"})
    assert response.status_code == 302
    hangzhou.refresh_from_db()
    assert hangzhou.platform_busy_forced is True
    assert hangzhou.history.first().history_user.username == "op-hz"

    client.post(reverse("admin:cities_city_act", args=[hangzhou.pk, "upload"]))
    assert CityUpload.objects.filter(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR).exists()

    foreign = client.post(
        reverse("admin:cities_city_act", args=[zhumadian.pk, "switch"]),
        {"has_public_upload_channel": "true"},
    )
    assert foreign.status_code == 302
    zhumadian.refresh_from_db()
    assert zhumadian.has_public_upload_channel is False

    page = client.get(reverse("admin:cities_city_change", args=[hangzhou.pk])).content.decode()
    for action in ("upload", "collect", "credit", "switch"):
        assert reverse("admin:cities_city_act", args=[hangzhou.pk, action]) in page
    listing = client.get(reverse("admin:cities_city_changelist")).content.decode()
    assert reverse("admin:cities_city_act", args=[hangzhou.pk, "upload"]) in listing
    assert City.objects.count() == 3


def test_a_citys_page_shows_every_figure_of_its_fund_the_api_gives(world):
    from accounts.selectors import city_fund

    hangzhou = world["hangzhou"]
    page = world["client"].get(reverse("admin:cities_city_change", args=[hangzhou.pk]))
    html = page.content.decode()
    fund = city_fund(city_id=hangzhou.pk)
    for label, amount in (
        ("Contributions received", fund.contributions_received),
        ("Reimbursements paid to bank accounts", fund.reimbursements_paid_to_banks),
        ("Owed to institutions", fund.owed_to_institutions),
    ):
        row = re.search(rf"{re.escape(label)}.*?</tr>", html, re.S)
        assert row and f"{amount:.2f}" in row.group(0).replace(",", ""), label
