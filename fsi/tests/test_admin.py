"""The message log and sign-ins in the console: operators of the institution's city browse them
(filters, search by msgid), nobody changes them."""

import pytest
from django.test import Client
from django.urls import reverse

from cities.tests.factories import CityFactory
from fsi.models import Message, SignIn
from users.services import operator_group_ensure
from users.tests.factories import OperatorFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator(city):
    operator = OperatorFactory(cities=[city])
    operator.groups.add(operator_group_ensure())
    return operator


@pytest.fixture
def logged(signed_in):
    answer = signed_in.send("0000", {})
    return Message.objects.get(inf_refmsgid=answer["inf_refmsgid"])


def test_an_operator_of_the_city_browses_the_institutions_message_log(operator, logged):
    client = console(operator)
    changelist = reverse("admin:fsi_message_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert logged.msgid in page.content.decode()
    for query in (
        {"infno": "0000"},
        {"infcode": "-1"},
        {"institution__id__exact": str(logged.institution_id)},
        {"q": logged.msgid},
    ):
        filtered = client.get(changelist, query)
        assert filtered.status_code == 200 and logged.msgid in filtered.content.decode(), query
    assert logged.msgid not in client.get(changelist, {"infno": "1101"}).content.decode()
    detail = client.get(reverse("admin:fsi_message_change", args=[logged.pk]))
    assert detail.status_code == 200
    assert (
        "INFNO_UNKNOWN" in detail.content.decode() and logged.request_id in detail.content.decode()
    )


def test_the_log_is_read_only(operator, logged):
    client = console(SuperuserFactory())
    assert client.get(reverse("admin:fsi_message_add")).status_code == 403
    change = reverse("admin:fsi_message_change", args=[logged.pk])
    client.post(change, {"msgid": "forged"})
    logged.refresh_from_db()
    assert logged.msgid != "forged"
    assert (
        client.post(
            reverse("admin:fsi_message_delete", args=[logged.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Message.objects.filter(pk=logged.pk).exists()


def test_an_operator_of_another_city_sees_nothing(logged):
    outsider = OperatorFactory(cities=[CityFactory()])
    outsider.groups.add(operator_group_ensure())
    client = console(outsider)
    page = client.get(reverse("admin:fsi_message_changelist"))
    assert page.status_code == 200 and logged.msgid not in page.content.decode()
    assert client.get(reverse("admin:fsi_message_change", args=[logged.pk])).status_code in (
        302,
        403,
        404,
    )


def test_sign_ins_are_in_the_console(operator, signed_in):
    sign_in = SignIn.objects.get()
    client = console(operator)
    page = client.get(reverse("admin:fsi_signin_changelist"), {"q": sign_in.sign_no})
    assert page.status_code == 200 and sign_in.sign_no in page.content.decode()
    detail = client.get(reverse("admin:fsi_signin_change", args=[sign_in.pk]))
    assert detail.status_code == 200 and "Clerk Li" in detail.content.decode()
