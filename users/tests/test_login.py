from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from users.tests.factories import OperatorFactory


@pytest.mark.django_db
def test_login_answers_its_expiry_in_local_time_with_the_offset(api_client):
    OperatorFactory(username="clerk")
    before = timezone.now()
    response = api_client.post(
        "/api/v1/auth/login",
        {"username": "clerk", "password": "correct-horse-battery"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    expiry = response.json()["expiry"]
    assert expiry.endswith("+08:00"), expiry
    lifetime = datetime.fromisoformat(expiry) - before
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert abs(lifetime - ttl) < timedelta(minutes=1)
