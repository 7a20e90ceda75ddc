"""The demo presents its cities' unusual states as the sandbox's configured profiles, not as
facts about the real cities: the city table (home page and seed_demo), the scenarios' and the
people's descriptions say so."""

import io

import pytest
from django.core.management import call_command

from sandbox.demo import demo_city_table, demo_world_build, demo_world_table
from sandbox.scenarios import SCENARIOS
from sandbox.world import CITY_PROFILES

pytestmark = pytest.mark.django_db
UNUSUAL = [key for key in CITY_PROFILES if key != "standard"]


def test_every_city_is_described_as_a_sandbox_profile():
    table = {city.code: city for city in demo_city_table()}
    assert set(table) == {profile.code for profile in CITY_PROFILES.values()}
    for profile in CITY_PROFILES.values():
        description = table[profile.code].profile
        assert description.startswith(
            f"Sandbox profile '{profile.key}' (not the real city's state)"
        )
        assert profile.blurb.startswith("Configured ")
    assert "national hotline 12393" in table[CITY_PROFILES["no_channel"].code].agency
    assert "0599-12393 (configured)" in table[CITY_PROFILES["not_launched"].code].agency


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_a_scenario_in_an_unusual_city_names_the_profile_not_a_fact_about_the_city(code):
    scenario = SCENARIOS[code]
    profile = CITY_PROFILES[scenario.spec.city_profile]
    if profile.key in UNUSUAL:
        assert "profile" in scenario.description
        assert profile.key in scenario.description
    for other in UNUSUAL:
        name = CITY_PROFILES[other].name
        if name in scenario.description:
            assert "profile" in scenario.description, (code, name)


def test_the_home_page_and_seed_demo_show_the_profiles(agreement, client):
    demo_world_build()
    html = client.get("/").content.decode()
    assert "<h2>Cities</h2>" in html
    assert "not a fact about the real city" in html
    for profile in CITY_PROFILES.values():
        assert f"Sandbox profile &#x27;{profile.key}&#x27; (not the real city&#x27;s state)" in html
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "Cities (sandbox profiles, not the real cities' states):" in printed
    assert "Sandbox profile 'busy' (not the real city's state)" in printed


def test_each_demo_person_is_placed_in_a_sandbox_profile(agreement):
    demo_world_build()
    people = [row for row in demo_world_table() if row.who.startswith("Insured")]
    assert len(people) == len(SCENARIOS)
    for row in people:
        assert "(sandbox profile '" in row.notes
