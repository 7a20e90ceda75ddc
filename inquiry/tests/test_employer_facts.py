"""The balance statement reads an employee's unpaid and underpaid months in the same one SQL
query, and the answer carries them as notices beside a balance that stays visible."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from accounts.employer_payments import employee_month_collect
from accounts.tests.support import set_clock
from api.accounts.apis import BalanceOutputSerializer
from cities.tests.factories import CityFactory
from common import clock
from employers.models import Employer
from employers.services import employer_employee_add, employer_payment_mode_set
from employers.tests.factories import EmployerFactory
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from inquiry.facts import balance_facts
from inquiry.notices import NO_EMPLOYER_PAYMENT_FACTS
from persons.services import person_login_create
from persons.tests.factories import PersonFactory
from users.tests.factories import token_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture(autouse=True)
def now():
    return set_clock(TODAY)


def employee(mode=Employer.PaymentMode.PAYING, ratio=None):
    city = CityFactory(
        payment_base_min=Decimal("6000.00"),
        employer_rate=Decimal("0.0800"),
        individual_rate=Decimal("0.0200"),
    )
    employer = EmployerFactory(city=city, name="Westlake Trading")
    person = PersonFactory(city=city, declared_wage=Decimal("10000.00"), enrolled_on=JAN)
    employer_employee_add(employer=employer, person=person, started_on=JAN)
    employee_month_collect(person=person, period=JAN, today=TODAY)
    employer_payment_mode_set(employer=employer, mode=mode, paid_base_ratio=ratio)
    for period in (FEB, MAR):
        employee_month_collect(person=person, period=period, today=TODAY)
    return person


def test_a_person_without_an_employer_has_no_employer_facts():
    person = PersonFactory(enrolled_on=JAN)
    assert balance_facts(year=2026, person_id=person.id).employer_payments == (
        NO_EMPLOYER_PAYMENT_FACTS
    )


def test_the_unpaid_months_and_the_latest_paid_month_are_read():
    person = employee(Employer.PaymentMode.NOT_PAYING)
    facts = balance_facts(year=2026, person_id=person.id).employer_payments
    assert facts.employer_name == "Westlake Trading"
    assert facts.unpaid_periods == (FEB, MAR)
    assert (facts.unpaid_amount, facts.unpaid_account_share) == (
        Decimal("2000.00"),
        Decimal("400.00"),
    )
    assert (facts.latest_period, facts.latest_base_used, facts.latest_base_due) == (
        JAN,
        Decimal("10000.00"),
        Decimal("10000.00"),
    )


def test_an_underpaid_latest_month_is_read():
    person = employee(Employer.PaymentMode.UNDERPAYING, Decimal("0.60"))
    facts = balance_facts(year=2026, person_id=person.id).employer_payments
    assert facts.unpaid_periods == ()
    assert (facts.latest_period, facts.latest_base_used, facts.latest_base_due) == (
        MAR,
        Decimal("6000.00"),
        Decimal("10000.00"),
    )
    answer = balance_inquire(channel=Channel.COUNTER, now=clock.now(), person_id=person.id)
    assert [n.code for n in answer.notices] == ["EMPLOYER_UNDERPAID"]


@pytest.mark.parametrize("channel", list(Channel))
def test_the_notices_cost_no_extra_query(channel, django_assert_num_queries):
    person = employee(Employer.PaymentMode.NOT_PAYING)
    clock.now()
    with django_assert_num_queries(1):
        answer = balance_inquire(
            channel=channel, now=clock.now(), person_id=person.id, count_query=False
        )
    assert [n.code for n in answer.notices] == ["EMPLOYER_ARREARS"]


def test_my_balance_answer_says_why_the_account_is_not_growing(api_client):
    person = employee(Employer.PaymentMode.NOT_PAYING)
    user = person_login_create(person=person, username=f"user-{person.id}", password=None)
    api_client.credentials(HTTP_AUTHORIZATION=token_for(user))
    # In sandbox mode a caller's first request finds the clock of their city's world; the server
    # remembers it, so from then on (and always with sandbox mode off) a query costs two.
    api_client.get("/api/v1/me/balance")
    with CaptureQueriesContext(connection) as captured:
        body = api_client.get("/api/v1/me/balance").json()
    # The token, then the one balance statement, prepared.
    assert len(captured.captured_queries) == 2
    (notice,) = body["notices"]
    assert notice["code"] == "EMPLOYER_ARREARS"
    assert notice["months"] == ["2026-02-01", "2026-03-01"]
    assert notice["account_share_missing"] == "400.00"
    assert "Westlake Trading" in notice["detail"] and "12393" in notice["remedy"]
    assert all(r["code"] != "EMPLOYER_ARREARS" for r in body["reasons"])


def test_the_fast_rendering_of_notices_is_what_the_serializer_renders():
    person = employee(Employer.PaymentMode.NOT_PAYING)
    answer = balance_inquire(channel=Channel.COUNTER, now=clock.now(), person_id=person.id)
    rendered = JSONRenderer().render
    documented = BalanceOutputSerializer(answer.as_dict()).data
    assert json.loads(rendered(answer.as_json())) == json.loads(rendered(documented))
