"""The console's employer pages, as an operator who never read the code uses them: the list with
each employer's city, state and employees; an employer's months; adding one; the actions."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.crediting import contribution_collection_execute, contribution_collection_open
from accounts.models import Contribution, ContributionArrear
from accounts.tests.support import set_clock
from cities.tests.factories import CityFactory
from employers.credit_code import make_credit_code
from employers.models import Employer
from employers.services import employer_employee_add, employer_payment_mode_set
from employers.tests.factories import EmployerFactory
from persons.tests.factories import PersonFactory
from users.services import operator_group_ensure
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
CHANGELIST = "admin:employers_employer_changelist"


@pytest.fixture
def console():
    set_clock(TODAY)
    city, elsewhere = CityFactory(name="Hangzhou"), CityFactory(name="Fuzhou")
    stopped = EmployerFactory(city=city, name="Stopped Co.")
    EmployerFactory(city=elsewhere, name="Elsewhere Co.")
    people = [PersonFactory(city=city, enrolled_on=JAN) for _ in range(2)]
    for person in people:
        employer_employee_add(employer=stopped, person=person, started_on=JAN)
    for period, mode in ((JAN, "PAYING"), (FEB, "NOT_PAYING")):
        employer_payment_mode_set(employer=stopped, mode=mode)
        collection, _ = contribution_collection_open(city=city, period=period, today=TODAY)
        contribution_collection_execute(collection_id=collection.id)
    operator = OperatorFactory(cities=[city])
    operator.groups.add(operator_group_ensure())
    client = Client()
    client.force_login(operator)
    return client, city, stopped, people


def test_the_list_shows_the_operators_employers_with_state_and_employees(console):
    client, _, _, _ = console
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert [row.name for row in rows] == ["Stopped Co."]
    text = page.content.decode()
    assert "In arrears" in text and "2026-02" in text and "Hangzhou" in text
    assert rows[0].employees_count == 2


def test_an_employers_page_shows_its_months_and_unpaid_months(console):
    client, _, stopped, _ = console
    page = client.get(reverse("admin:employers_employer_change", args=[stopped.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    # February: 2 unpaid, owed 2 x (employer + individual share); January: 2 paid.
    owed = sum(a.employer_amount + a.individual_amount for a in ContributionArrear.objects.all())
    assert f"<td>2026-02</td><td>0</td><td>0</td><td>2</td><td>0.00</td><td>{owed:.2f}</td>" in text
    assert "<td>2026-01</td><td>2</td><td>0</td><td>0</td>" in text


def test_taking_in_the_arrears_from_the_list(console):
    client, _, stopped, people = console
    answer = client.post(
        reverse(CHANGELIST),
        {"action": "pay_arrears", "_selected_action": [str(stopped.pk)], "index": "0"},
        follow=True,
    )
    assert "Arrears taken in" in answer.content.decode()
    assert Contribution.objects.filter(person__in=people, period=FEB).count() == 2
    assert not ContributionArrear.objects.filter(contribution__isnull=True).exists()
    again = client.post(
        reverse(CHANGELIST),
        {"action": "pay_arrears", "_selected_action": [str(stopped.pk)], "index": "0"},
        follow=True,
    )
    assert "owes no unpaid months" in again.content.decode()
    assert Contribution.objects.filter(person__in=people, period=FEB).count() == 2


def test_adding_an_employer_checks_its_code_and_keeps_to_the_operators_cities(console):
    client, city, _, _ = console
    add = reverse("admin:employers_employer_add")
    wrong = make_credit_code(city.code, "MA0000001")[:17] + "0"
    refused = client.post(
        add, {"name": "New Co.", "credit_code": wrong, "city": city.pk, "payment_mode": "PAYING"}
    )
    assert refused.status_code == 200
    assert "check character" in str(refused.context["adminform"].form.errors)
    code = make_credit_code(city.code, "MA0000001")
    added = client.post(
        add,
        {
            "name": "New Co.",
            "credit_code": code,
            "city": city.pk,
            "payment_mode": "UNDERPAYING",
            "paid_base_ratio": "0.70",
        },
    )
    assert added.status_code == 302
    employer = Employer.objects.get(credit_code=code)
    assert (employer.payment_mode, employer.paid_base_ratio) == ("UNDERPAYING", Decimal("0.70"))
    other = CityFactory()
    beyond = client.post(
        add,
        {
            "name": "Far Co.",
            "credit_code": make_credit_code(other.code, "MA0000002"),
            "city": other.pk,
            "payment_mode": "PAYING",
        },
    )
    assert beyond.status_code == 200  # not a city the operator may choose
    assert not Employer.objects.filter(name="Far Co.").exists()


def test_a_persons_page_shows_the_unpaid_months_and_the_notice(console):
    client, _, _, people = console
    page = client.get(reverse("admin:persons_insuredperson_change", args=[people[0].pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "months the employer left unpaid" in text.lower()
    assert "<b>Beside the balance, EMPLOYER_ARREARS:</b> Stopped Co. has not paid" in text
    assert "Ask your employer" in text
