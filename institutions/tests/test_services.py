import pytest

from accounts.tests.support import refused
from cities.tests.factories import CityFactory
from common.errors import CommonErrorCode
from institutions.models import Institution, Tier
from institutions.services import institution_create
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def test_an_institution_is_created_once_per_code_and_records_who_created_it():
    city = CityFactory()
    operator = OperatorFactory()

    first = institution_create(
        code="H900", name="First", kind="HOSPITAL", level=2, city=city, by=operator
    )
    again = institution_create(
        code="H900", name="Second", kind="PHARMACY", city=CityFactory(), by=operator
    )

    assert again.pk == first.pk
    stored = Institution.objects.get(code="H900")
    assert (stored.name, stored.kind, stored.level, stored.city_id) == (
        "First",
        "HOSPITAL",
        2,
        city.pk,
    )
    assert stored.tier == Tier.LEVEL_2
    assert [(h.history_type, h.history_user_id) for h in stored.history.all()] == [
        ("+", operator.pk)
    ]


def test_invalid_fields_are_refused_field_by_field_and_nothing_is_created():
    city = CityFactory()

    with refused(CommonErrorCode.VALIDATION_ERROR) as excinfo:
        institution_create(code="P900", name="", kind="PHARMACY", level=3, city=city)

    assert [(error["field"], error["message"]) for error in excinfo.value.errors] == [
        ("name", "This field cannot be blank."),
        ("__all__", "Constraint “institution_level_iff_hospital” is violated."),  # no level
    ]
    assert not Institution.objects.filter(code="P900").exists()
