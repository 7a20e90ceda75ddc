"""A database that cannot serve a request (here: a row lock not granted in time) answers a 503
problem with Retry-After, never a 500, and changes nothing."""

import threading

import pytest
from django.db import connection, connections

from cities.models import City
from cities.tests.factories import CityFactory
from tests.support import client_for
from users.tests.factories import OperatorFactory


@pytest.mark.django_db(transaction=True)
def test_a_lock_not_granted_in_time_is_a_503_with_retry_after():
    city = CityFactory(online_inquiry_launched=False)
    operator = client_for(OperatorFactory(cities=[city]))
    holding, release = threading.Event(), threading.Event()

    def hold_the_city_row():
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT 1 FROM cities_city WHERE id = %s FOR UPDATE", [city.pk])
                holding.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_city_row)
    holder.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '50ms'")
        response = operator.patch(
            f"/api/v1/cities/{city.code}", {"online_inquiry_launched": True}, format="json"
        )
    finally:
        release.set()
        holder.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == "SERVICE_UNAVAILABLE" and body["status"] == 503
    assert City.objects.get(pk=city.pk).online_inquiry_launched is False
