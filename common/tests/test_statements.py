"""Rows of one change written in one statement, and rows of several models read in one: what is
written and read is what the ORM would write and read, and a refusal leaves nothing."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from cities.models import City
from cities.tests.factories import CityFactory
from common.statements import (
    column_count,
    columns_sql,
    ids_reserved_sql,
    ids_split,
    row_instance,
    row_update,
    rows_insert,
    writes_execute,
)
from events.models import Event, EventType

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)


def event(city: City, **fields) -> Event:
    return Event(
        type=EventType.SETTLEMENT_CREATED,
        occurred_at=WHEN,
        object_type="settlement",
        object_id=fields.pop("object_id", "1"),
        data=fields.pop("data", {"total_amount": "12.30", "lines": [1, 2]}),
        city=city,
        **fields,
    )


def test_rows_are_written_as_save_would_write_them():
    city = CityFactory()
    saved = event(city, object_id="saved")
    saved.save()
    first, second = event(city, object_id="a"), event(city, object_id="b", data={"x": None})
    with transaction.atomic():
        writes_execute([rows_insert([first, second])])
    stored = {e.object_id: e for e in Event.objects.filter(object_id__in=["a", "b", "saved"])}
    assert set(stored) == {"a", "b", "saved"}
    assert stored["a"].data == saved.data and stored["b"].data == {"x": None}
    # Defaults and auto_now_add filled as save() fills them, on the instance too.
    assert first.created_at is not None and stored["a"].created_at == first.created_at
    assert stored["a"].public_id == first.public_id != second.public_id
    for name in ("type", "occurred_at", "object_type", "city_id", "request_id", "is_test"):
        assert getattr(stored["a"], name) == getattr(stored["saved"], name), name


def test_reserved_ids_name_rows_before_they_are_written_and_an_update_writes_its_fields():
    city = CityFactory()
    wanted = [(Event, 2), (City, 0)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ids_reserved_sql(wanted)}")
        (first_id, second_id), none = ids_split(cursor.fetchone(), wanted)
    assert none == [] and first_id < second_id
    assert not Event.objects.filter(pk__in=[first_id, second_id]).exists()
    written = event(city, id=second_id, object_id="reserved")
    with transaction.atomic():
        writes_execute([rows_insert([written])])
        written.object_type = "changed"
        writes_execute([row_update(written, ["object_type"])])
    assert Event.objects.get(pk=second_id).object_type == "changed"
    with pytest.raises(ValueError):
        rows_insert([event(city, id=first_id), event(city)])  # with and without an id


def test_one_refused_write_leaves_none_of_the_statement():
    city = CityFactory()
    taken = event(city, object_id="taken")
    taken.save()
    again = event(city, object_id="again", public_id=taken.public_id)  # a unique column
    with pytest.raises(IntegrityError), transaction.atomic():
        writes_execute([rows_insert([event(city, object_id="first")]), rows_insert([again])])
    assert not Event.objects.filter(object_id__in=["first", "again"]).exists()


def test_rows_of_several_models_read_in_one_statement_are_the_orms_instances():
    city = CityFactory()
    stored = event(city, data={"nested": {"amount": "1.10"}, "list": ["a"]})
    stored.save()
    events_table = connection.ops.quote_name(Event._meta.db_table)
    cities_table = connection.ops.quote_name(City._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns_sql(Event, 'e')}, {columns_sql(City, 'c')} "  # noqa: S608
            f"FROM {events_table} e JOIN {cities_table} c ON c.id = e.city_id WHERE e.id = %s",
            [stored.pk],
        )
        row = cursor.fetchone()
    read_event = row_instance(Event, row[: column_count(Event)])
    read_city = row_instance(City, row[column_count(Event) :])
    expected_event, expected_city = Event.objects.get(pk=stored.pk), City.objects.get(pk=city.pk)
    for model, read, expected in (
        (Event, read_event, expected_event),
        (City, read_city, expected_city),
    ):
        for field in model._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert read_event.data["nested"] == {"amount": "1.10"}  # JSON converted, not text
    assert read_event._state.adding is False
    # A row a LEFT JOIN did not find is None.
    assert row_instance(City, [None] * column_count(City)) is None
