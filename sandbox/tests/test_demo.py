import pytest
from django.core.management import call_command

from accounts.models import Account, Transfer
from cards.models import EVoucher
from cities.models import City
from persons.models import InsuredPerson
from sandbox.demo import demo_token, demo_world_build, demo_world_table
from sandbox.population import population_count, population_generate
from sandbox.scenarios import SCENARIOS
from sandbox.tests.test_scenarios import given_name_sex
from users.models import User

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        City.objects.count(),
        User.objects.count(),
        InsuredPerson.objects.count(),
        Account.objects.count(),
        Transfer.objects.count(),
    )


def test_building_the_demo_twice_changes_nothing(agreement):
    demo_world_build()
    first = _counts()
    demo_world_build()
    assert _counts() == first
    assert first[2] == len(SCENARIOS)


def test_every_demo_person_answers_as_the_table_says(agreement, api_client):
    demo_world_build()
    rows = {row.username: row for row in demo_world_table()}
    for code, scenario in SCENARIOS.items():
        username = code.lower().replace("_", "-")
        row = rows[username]
        assert row.authorization == f"Token {demo_token(username)}"
        body = api_client.get("/api/v1/me/balance", HTTP_AUTHORIZATION=row.authorization).json()
        assert [reason["code"] for reason in body["reasons"]] == list(scenario.reasons), code
    staff = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=rows["op-all"].authorization).json()
    assert staff["role"] == "OPERATOR" and len(staff["city_codes"]) == City.objects.count()


def test_logins_printed_by_the_command_work(agreement, api_client):
    call_command("seed_demo", "--quiet-table")
    login = api_client.post(
        "/api/v1/auth/login",
        {"username": "hz-pharmacy", "password": "demo-staff-2026"},
        format="json",
    )
    assert login.status_code == 200 and login.json()["user"]["role"] == "INSTITUTION"


def test_home_page_shows_who_is_who(agreement, client):
    demo_world_build()
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "balance-visible" in html and demo_token("op-all") in html and "PLATFORM_BUSY" in html


def test_population_grows_in_batches_and_resumes(agreement):
    demo_world_build()
    hangzhou = City.objects.get(code="330100")
    seen = []
    added = population_generate(
        city=hangzhou,
        persons=2500,
        enrolled_on=hangzhou.created_at.date(),
        batch_size=1000,
        progress=seen.append,
    )
    assert added == 2500 and seen == [1000, 1000, 500]
    for name, sex in InsuredPerson.objects.filter(city=hangzhou).values_list("name", "sex")[:200]:
        assert given_name_sex(name) in (sex, None), (name, sex)
    assert population_count(hangzhou) == 2500
    generated = InsuredPerson.objects.filter(city=hangzhou, resident_id__startswith="330106")
    assert EVoucher.objects.filter(person__in=generated).count() == 2500
    employees = generated.filter(scheme=InsuredPerson.Scheme.EMPLOYEE).count()
    assert (
        Account.objects.filter(person__in=generated).count()
        == employees + generated.filter(scheme="RESIDENT").count()
    )
    assert (
        population_generate(city=hangzhou, persons=2500, enrolled_on=hangzhou.created_at.date())
        == 0
    )
    assert (
        population_generate(city=hangzhou, persons=2600, enrolled_on=hangzhou.created_at.date())
        == 100
    )
