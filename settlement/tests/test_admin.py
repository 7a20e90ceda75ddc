"""The operators' console for settlement: every page renders, operators see their cities only,
and the actions go through the services."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from common import clock
from persons.tests.factories import PersonFactory
from settlement.models import BenefitPolicy, CrossCityFiling, Settlement
from settlement.tests.helpers import balance, settle
from users.tests.factories import OperatorFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def settled(hospital, terminal, employee, item_a, item_b, item_c):
    return settle(
        institution=hospital,
        person=employee,
        by=terminal,
        items=[("T-A", "1", "2000.00"), ("T-B", "1", "100.00"), ("T-C", "1", "10.00")],
    )


def test_every_settlement_page_renders(settled, visitor_filing):
    client = console(SuperuserFactory())
    for model in (
        "institutions_institution",
        "settlement_catalogitem",
        "settlement_benefitpolicy",
        "settlement_annualusage",
        "settlement_settlement",
        "settlement_crosscityfiling",
        "settlement_familyauthorization",
    ):
        response = client.get(reverse(f"admin:{model}_changelist"))
        assert response.status_code == 200, model
    page = client.get(reverse("admin:settlement_settlement_change", args=[settled.pk]))
    assert page.status_code == 200
    # 2000 + 90 eligible, 1300 deductible, 85 % of the remaining 790 from the pool.
    assert b"Breakdown (CNY)" in page.content
    assert b"671.50" in page.content
    policy = BenefitPolicy.objects.get(city=settled.institution.city)
    assert (
        client.get(reverse("admin:settlement_benefitpolicy_change", args=[policy.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:settlement_crosscityfiling_add")).status_code == 200


@pytest.fixture
def visitor_filing(other_city, hospital):
    person = PersonFactory(city=other_city)
    return CrossCityFiling.objects.create(
        person=person,
        city=hospital.city,
        category="TEMPORARY",
        valid_from=clock.today(),
        valid_until=clock.today() + timedelta(days=10),
        recorded_at=clock.now(),
        created_by=SuperuserFactory(),
    )


def test_operators_see_their_cities_only(settled, city, other_city):
    changelist = reverse("admin:settlement_settlement_changelist")
    mine = OperatorFactory(cities=[city])
    theirs = OperatorFactory(cities=[other_city])
    view = Permission.objects.get(codename="view_settlement")
    for operator in (mine, theirs):
        operator.user_permissions.add(view)
    assert console(mine).get(changelist).context["cl"].result_count == 1
    assert console(theirs).get(changelist).context["cl"].result_count == 0


def test_the_reverse_action_refunds_through_the_service(settled, employee):
    client = console(SuperuserFactory())
    response = client.post(
        reverse("admin:settlement_settlement_changelist"),
        {"action": "reverse_settlements", "_selected_action": [settled.pk]},
    )
    assert response.status_code == 302
    settled.refresh_from_db()
    assert settled.status == Settlement.Status.REVERSED
    assert settled.reversal_transfer is not None
    assert balance(employee) == 1000


def test_an_operator_needs_the_reverse_permission(settled, city):
    operator = OperatorFactory(cities=[city])
    operator.user_permissions.add(Permission.objects.get(codename="view_settlement"))
    changelist = reverse("admin:settlement_settlement_changelist")

    def offered_actions(user) -> set[str]:
        form = console(user).get(changelist).context["action_form"]
        return {value for value, _ in form.fields["action"].choices} if form else set()

    assert "reverse_settlements" not in offered_actions(operator)
    operator.user_permissions.add(Permission.objects.get(codename="reverse_settlement"))
    operator = type(operator).objects.get(pk=operator.pk)  # a fresh permission cache
    assert "reverse_settlements" in offered_actions(operator)
    console(operator).post(
        changelist, {"action": "reverse_settlements", "_selected_action": [settled.pk]}
    )
    settled.refresh_from_db()
    assert settled.status == Settlement.Status.REVERSED
    assert settled.reversed_by == operator


def test_recording_a_filing_in_the_console_checks_like_the_api(other_city, hospital):
    person = PersonFactory(city=other_city)
    operator = OperatorFactory(cities=[other_city])
    operator.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_crosscityfiling", "view_crosscityfiling", "change_crosscityfiling"]
        )
    )
    client = console(operator)
    add = reverse("admin:settlement_crosscityfiling_add")
    # The insured city itself is refused with the service's reason.
    response = client.post(
        add, {"person": person.pk, "city": other_city.pk, "category": "TEMPORARY"}
    )
    assert response.status_code == 200
    assert b"no filing is needed there" in response.content
    response = client.post(
        add,
        {
            "person": person.pk,
            "city": hospital.city.pk,
            "category": "REFERRAL",
            "valid_from": clock.today().isoformat(),
        },
    )
    assert response.status_code == 302, response.content
    filing = CrossCityFiling.objects.get(person=person)
    assert filing.created_by == operator
    assert filing.valid_until == clock.today() + timedelta(days=179)
    # An operator of another city cannot file for this person.
    outsider = OperatorFactory(cities=[hospital.city])
    outsider.user_permissions.add(*Permission.objects.filter(codename="add_crosscityfiling"))
    response = console(outsider).post(
        add, {"person": person.pk, "city": hospital.city.pk, "category": "TEMPORARY"}
    )
    assert b"You do not administer the person" in response.content
    assert CrossCityFiling.objects.filter(person=person).count() == 1


def test_a_new_institution_gets_its_account_and_city_policy(city):
    client = console(SuperuserFactory())
    BenefitPolicy.objects.filter(city=city).delete()
    response = client.post(
        reverse("admin:institutions_institution_add"),
        {
            "code": "H999",
            "name": "New Hospital",
            "kind": "HOSPITAL",
            "level": 2,
            "city": city.pk,
            "is_designated": "on",
            "terminals-TOTAL_FORMS": 0,
            "terminals-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content
    from institutions.models import Institution

    institution = Institution.objects.get(code="H999")
    assert institution.account.balance == 0
    assert BenefitPolicy.objects.filter(city=city).exists()


def test_row_titles_name_cities_and_read_in_the_readers_language():
    from datetime import date

    from django.utils import translation

    from cities.models import City
    from settlement.models import ClearingStatement, Settlement

    statement = ClearingStatement(
        period=date(2026, 11, 1),
        city_a=City(code="330100", name="Hangzhou", name_zh="杭州市"),
        city_b=City(code="350100", name="Fuzhou", name_zh="福州市"),
    )
    settlement = Settlement(pk=7, institution_id=3, status=Settlement.Status.SETTLED)
    with translation.override("en"):
        assert str(statement) == "Clearing 2026-11 between Hangzhou (330100) and Fuzhou (350100)"
        assert str(settlement) == "Settlement #7 at institution 3 (Settled)"
    with translation.override("zh-hans"):
        assert "杭州市" in str(statement) and "福州市" in str(statement)
        assert "Hangzhou" not in str(statement)
        assert str(settlement).startswith("结算 #7")
