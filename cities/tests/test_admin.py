"""The console's city pages: a city added there is provisioned like any other."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from cities.models import City
from settlement.models import BenefitPolicy
from users.tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def test_a_city_added_in_the_console_has_its_accounts_and_policy():
    client = Client()
    client.force_login(SuperuserFactory())
    add = reverse("admin:cities_city_add")
    form = client.get(add).context["adminform"].form
    fields = {name: form[name].value() for name in form.fields}
    fields = {name: value for name, value in fields.items() if value is not None}
    answer = client.post(add, {**fields, "code": "330100", "name": "Hangzhou"})
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    city = City.objects.get(code="330100")
    kinds = Account.objects.filter(city=city, person=None, institution=None).values_list(
        "kind", flat=True
    )
    assert sorted(kinds) == sorted(Account.CITY_KINDS)
    assert BenefitPolicy.objects.filter(city=city).exists()
