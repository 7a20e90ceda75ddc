"""Institution moved from settlement to this app with its tables and rows: the move's migrations
change no table, and the permissions granted on institutions before the move stay granted."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from institutions.models import Institution
from users.models import User
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

MOVE = [
    ("institutions", "0001_initial"),
    ("accounts", "0010_institution_moved"),
    ("cards", "0007_institution_moved"),
    ("users", "0002_institution_moved"),
    ("settlement", "0007_institution_moved"),
]


def test_the_move_writes_no_sql():
    loader = MigrationExecutor(connection).loader

    statements = [
        statement
        for key in MOVE  # each from its own state: they are not one app's sequence
        for statement in loader.collect_sql([(loader.graph.nodes[key], False)])
        if not statement.lstrip().startswith("--")
    ]

    assert statements == []
    assert Institution._meta.db_table == "settlement_institution"
    assert Institution.history.model._meta.db_table == "settlement_historicalinstitution"


@pytest.fixture
def content_types_as_before_the_move():
    """The content types as a database migrated before the move holds them: under settlement."""
    ContentType.objects.filter(app_label="institutions").delete()  # and their permissions
    ContentType.objects.clear_cache()
    institution = ContentType.objects.create(app_label="settlement", model="institution")
    history = ContentType.objects.create(app_label="settlement", model="historicalinstitution")
    yield institution, history
    ContentType.objects.clear_cache()  # the rolled-back rows must not stay cached


def test_permissions_granted_before_the_move_stay_granted(content_types_as_before_the_move):
    institution_type, history_type = content_types_as_before_the_move
    change = Permission.objects.create(
        content_type=institution_type, codename="change_institution", name="Can change institution"
    )
    group = Group.objects.create(name="Institution clerks")
    group.permissions.add(change)
    clerk = OperatorFactory()
    clerk.groups.add(group)
    migration = importlib.import_module("institutions.migrations.0001_initial")
    state_apps = MigrationExecutor(connection).loader.project_state(MOVE[0]).apps

    migration.content_types_to_institutions(state_apps, None)
    ContentType.objects.clear_cache()

    assert ContentType.objects.get_for_model(Institution).pk == institution_type.pk
    assert ContentType.objects.get_for_model(Institution.history.model).pk == history_type.pk
    assert not ContentType.objects.filter(app_label="settlement", model__contains="institution")
    assert User.objects.get(pk=clerk.pk).has_perm("institutions.change_institution")

    migration.content_types_to_settlement(state_apps, None)

    assert set(
        ContentType.objects.filter(model__contains="institution").values_list("app_label", "model")
    ) == {("settlement", "institution"), ("settlement", "historicalinstitution")}
