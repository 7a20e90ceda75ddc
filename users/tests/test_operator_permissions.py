"""The Operators group opens every console page an operator's scope is written for."""

import pytest
from django.contrib import admin

from common.admin import CityScopedAdminMixin
from users.services import OPERATOR_PERMISSIONS, operator_group_ensure
from users.tests.factories import OperatorFactory


def test_every_page_scoped_to_an_operators_cities_is_open_to_the_operators_group():
    # A page scoped by city exists for operators; without the view permission they get a 403.
    missing = [
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, CityScopedAdminMixin)
        and "view"
        not in OPERATOR_PERMISSIONS.get(model._meta.app_label, {}).get(model._meta.model_name, [])
    ]
    assert missing == []


@pytest.mark.django_db
def test_an_operator_opens_the_clearing_pages(client):
    operator = OperatorFactory()
    operator.groups.add(operator_group_ensure())
    client.force_login(operator)
    for page in ("/admin/settlement/clearingrun/", "/admin/settlement/clearingstatement/"):
        assert client.get(page).status_code == 200, page
