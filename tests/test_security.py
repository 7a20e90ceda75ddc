"""Credentials: expired, revoked and wrong-role tokens; city scoping; rate-limited logins; hashed
secrets; a staff-only admin."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone
from knox.models import AuthToken

from cards.models import SocialSecurityCard
from cards.services import card_activate, card_apply
from cities.tests.factories import CityFactory
from persons.tests.factories import PersonFactory
from tests.support import client_for
from users.tests.factories import OperatorFactory, TerminalFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_expired_token_is_refused(api_client):
    user = UserFactory()
    instance, token = AuthToken.objects.create(user, expiry=timedelta(seconds=-1))
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401 and response.json()["code"] == "AUTHENTICATION_FAILED"
    assert not AuthToken.objects.filter(
        pk=instance.pk
    ).exists()  # expired tokens are deleted on sight


def test_a_revoked_token_is_refused(api_client):
    UserFactory(username="leaver")
    login = api_client.post(
        "/api/v1/auth/login",
        {"username": "leaver", "password": "correct-horse-battery"},
        format="json",
    )
    authorization = login.json()["authorization"]
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=authorization).status_code == 200
    assert (
        api_client.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=authorization).status_code == 204
    )
    again = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=authorization)
    assert again.status_code == 401 and again.json()["code"] == "AUTHENTICATION_FAILED"


def test_tokens_of_another_role_are_refused(agreement):
    city = CityFactory()
    insured = client_for(UserFactory())
    terminal = client_for(TerminalFactory(institution__city=city))
    enrol = {
        "resident_id": "110105198001010011",
        "name": "X",
        "city": city.code,
        "scheme": "RESIDENT",
    }
    assert (
        insured.post("/api/v1/persons", enrol, format="json").json()["code"]
        == "CITY_NOT_ADMINISTERED"
    )
    assert terminal.get("/api/v1/me/balance").json()["code"] == "ROLE_NOT_ALLOWED"
    assert (
        insured.post(
            "/api/v1/evouchers/pharmacy-activations", {"resident_id": "x"}, format="json"
        ).json()["code"]
        == "ROLE_NOT_ALLOWED"
    )
    assert (
        terminal.post("/api/v1/sandbox/clock/advance", {"days": 1}, format="json").json()["code"]
        == "ROLE_NOT_ALLOWED"
    )


def test_operators_cannot_act_on_other_cities(agreement):
    mine, theirs = CityFactory(), CityFactory()
    operator = client_for(OperatorFactory(cities=[mine]))
    stranger = PersonFactory(city=theirs)
    enrol = {
        "resident_id": "110105198001010011",
        "name": "X",
        "city": theirs.code,
        "scheme": "RESIDENT",
    }
    assert operator.post("/api/v1/persons", enrol, format="json").status_code == 403
    assert (
        operator.patch(
            f"/api/v1/cities/{theirs.code}", {"platform_busy_forced": True}, format="json"
        ).status_code
        == 403
    )
    assert operator.get(f"/api/v1/persons/{stranger.id}").status_code == 404
    assert operator.get(f"/api/v1/persons/{stranger.id}/balance").status_code == 404
    assert operator.post("/api/v1/uploads", {"city": theirs.code}, format="json").status_code == 403
    assert (
        operator.post(
            "/api/v1/crediting-runs", {"city": theirs.code, "period": "2026-01-01"}, format="json"
        ).status_code
        == 403
    )
    assert (
        operator.post(
            "/api/v1/cards",
            {
                "person": stranger.id,
                "site": "COUNTY_CENTER",
                "insured_resident_id": stranger.resident_id,
            },
            format="json",
        ).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.platform_busy_forced is False


def test_login_attempts_are_rate_limited(api_client, settings):
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    UserFactory(username="target")
    statuses = [
        api_client.post(
            "/api/v1/auth/login", {"username": "target", "password": f"guess-{n}"}, format="json"
        ).status_code
        for n in range(allowed + 1)
    ]
    assert statuses == [400] * allowed + [429]
    # Even the right password waits: the limit is on attempts, not on failures.
    limited = api_client.post(
        "/api/v1/auth/login",
        {"username": "target", "password": "correct-horse-battery"},
        format="json",
    )
    assert limited.status_code == 429 and limited.json()["code"] == "RATE_LIMITED"
    assert int(limited["Retry-After"]) > 0


def test_passwords_and_pins_are_stored_hashed(agreement):
    user = UserFactory()
    assert "correct-horse-battery" not in user.password and check_password(
        "correct-horse-battery", user.password
    )
    person = PersonFactory()
    card = card_apply(
        person=person,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )
    card_activate(card=card, pin="258036", by=None)
    card.refresh_from_db()
    assert (
        card.pin_hash and "258036" not in card.pin_hash and check_password("258036", card.pin_hash)
    )
    assert "pin_hash" not in {field.name for field in card.history.model._meta.fields}


def test_the_admin_requires_staff(client):
    UserFactory(username="citizen")
    OperatorFactory(username="clerk")
    client.login(username="citizen", password="correct-horse-battery")
    assert client.get("/admin/").status_code == 302  # back to the login page
    client.logout()
    client.login(username="clerk", password="correct-horse-battery")
    assert client.get("/admin/").status_code == 200


def test_problems_never_leak_internals(api_client):
    user = UserFactory()
    _, token = AuthToken.objects.create(user, expiry=timezone.timedelta(hours=1))
    response = api_client.post(
        "/api/v1/contributions",
        data='{"person": "1; DROP TABLE x", "period": "nope"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    text = response.content.decode()
    assert response.status_code == 400
    for leak in ("Traceback", "SELECT", "psycopg", "django.db", 'File "'):
        assert leak not in text
