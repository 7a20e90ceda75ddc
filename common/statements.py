"""Writing the rows of one change in a single statement.

A flow that has decided everything before it writes (its rows built as unsaved model instances,
the ids they name each other by reserved with :func:`ids_reserved_sql`) can send every insert and
update as one statement:
``WITH w1 AS (INSERT ...), w2 AS (UPDATE ...) INSERT ...``. PostgreSQL runs each data-modifying
part exactly once, to completion, under one snapshot, and the constraints, foreign keys and
triggers see the statement's rows as they would see the same writes one by one. One round trip
instead of one per table is what a busy write path saves.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


@dataclass(frozen=True)
class Write:
    """One INSERT or UPDATE with its parameters, as part of :func:`writes_execute`."""

    sql: str
    params: Sequence[Any] = ()


def _column_values(instance: Model, fields, database) -> list[Any]:
    # What Django's own INSERT sends: pre_save fills auto_now_add and the like on the instance.
    return [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection=database)
        for field in fields
    ]


def rows_insert(instances: Sequence[Model]) -> Write:
    """``INSERT`` of unsaved instances of one model, every column as ``save()`` would write it:
    with their primary keys when every instance has one (reserved with :func:`ids_reserved_sql`),
    else with the ones the database gives."""
    if not instances:
        raise ValueError("rows_insert needs at least one instance")
    meta = instances[0]._meta
    with_ids = instances[0].pk is not None
    if any((instance.pk is not None) != with_ids for instance in instances):
        raise ValueError(f"{meta.label}: either every instance has its id or none has")
    fields = [
        field
        for field in meta.local_concrete_fields
        if field.column and (with_ids or not field.primary_key)
    ]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    database = connections[DEFAULT_DB_ALIAS]  # once, not through the proxy for every value
    params = [
        value for instance in instances for value in _column_values(instance, fields, database)
    ]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    rows = ", ".join([row] * len(instances))
    return Write(f"INSERT INTO {table} ({columns}) VALUES {rows}", params)  # noqa: S608 (names, not values)


def row_update(instance: Model, field_names: Sequence[str]) -> Write:
    """``UPDATE`` of ``field_names`` of a saved instance, to the values it holds."""
    meta = instance._meta
    fields = [meta.get_field(name) for name in field_names]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    values = [
        field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields
    ]
    table, key = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 (names from the model)
    return Write(sql, [*values, instance.pk])


def writes_execute(writes: Sequence[Write]) -> None:
    """Send ``writes`` as one statement (see the module's docstring); a refusal by the database
    raises as the write alone would, and leaves none of them."""
    if not writes:
        return
    *first, last = writes
    prefix = ""
    if first:
        prefix = "WITH " + ", ".join(f"w{n} AS ({w.sql})" for n, w in enumerate(first)) + " "
    params = [param for w in writes for param in w.params]
    with connection.cursor() as cursor:
        cursor.execute(prefix + last.sql, params)


def ids_reserved_sql(wanted: Sequence[tuple[type[Model], int]]) -> str:
    """A select list of new ids of each (model, how many), taken from the tables' sequences
    (never handed out again; empty for none), for a flow that reserves the ids its rows name
    each other by in a statement of its own making (read them back with :func:`ids_split`)."""
    return ", ".join(
        f"nextval(pg_get_serial_sequence('{model._meta.db_table}', '{model._meta.pk.column}'))"
        for model, count in wanted
        for _ in range(count)
    )


def ids_split(values: Sequence[int], wanted: Sequence[tuple[type[Model], int]]) -> list[list[int]]:
    """The ids of ``ids_reserved_sql(wanted)``'s columns, per (model, how many)."""
    reserved, values = [], list(values)
    for _, count in wanted:
        reserved.append(values[:count])
        values = values[count:]
    return reserved


@cache  # the same text for every row a busy flow reads
def columns_sql(model: type[Model], alias: str) -> str:
    """Every column of ``model`` read from ``alias``, in the order :func:`row_instance` takes
    them: for a flow that reads several tables' rows in one statement of its own."""
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(field.column)}"
        for field in model._meta.concrete_fields
    )


def column_count(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@cache
def _converters(model: type[Model]) -> list[tuple]:
    """Per column of ``model``: the converters the ORM applies to a value read, with the column
    they are given (the same for every row, so looked up once; PostgreSQL's own are none, the
    fields' hold no connection)."""
    database = connections[DEFAULT_DB_ALIAS]
    found = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        found.append(
            (
                column,
                database.ops.get_db_converters(column) + column.get_db_converters(database),
            )
        )
    return found


def row_instance(model: type[Model], values: Sequence[Any]) -> Model | None:
    """The instance of a row read with :func:`columns_sql`, its values converted as the ORM
    converts them (JSON, money...); None for a row a LEFT JOIN did not find."""
    meta = model._meta
    if values[meta.concrete_fields.index(meta.pk)] is None:
        return None
    database = connections[DEFAULT_DB_ALIAS]
    converted = []
    for (column, converters), value in zip(_converters(model), values, strict=True):
        for converter in converters:
            value = converter(value, column, database)
        converted.append(value)
    return model.from_db(
        database.alias, [field.attname for field in meta.concrete_fields], converted
    )
