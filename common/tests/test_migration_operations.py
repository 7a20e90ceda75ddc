"""Label-only migrations: the same state as their operations one by one, and nothing but labels."""

import pytest
from django.db.migrations.loader import MigrationLoader

from common.migration_operations import AlterLabels

LABEL_KWARGS = {"verbose_name", "help_text"}
LABEL_OPTIONS = {"verbose_name", "verbose_name_plural"}


def label_migrations(loader):
    for key, migration in sorted(loader.disk_migrations.items()):
        for operation in migration.operations:
            if isinstance(operation, AlterLabels):
                yield key, operation


def without_labels(field):
    _, path, args, kwargs = field.deconstruct()
    return path, args, {name: value for name, value in kwargs.items() if name not in LABEL_KWARGS}


def permission_codenames(options):
    return [codename for codename, _ in options.get("permissions", ())]


def rendered_kwargs(apps, app_label, operation):
    model = apps.get_model(app_label, operation.model_name)
    return model._meta.get_field(operation.name).deconstruct()[3]


@pytest.fixture(scope="module")
def loader():
    return MigrationLoader(None, ignore_no_migrations=True)


def test_every_label_migration_is_held_by_these_tests(loader):
    assert len(list(label_migrations(loader))) >= 20


def test_label_changes_move_the_state_as_their_operations_would_one_by_one(loader):
    key, labels = max(label_migrations(loader), key=lambda item: len(item[1].operations))
    before = loader.project_state(key, at_end=False)
    one_by_one = before.clone()
    for operation in labels.operations:
        operation.state_forwards(key[0], one_by_one)
    together = before.clone()
    assert together.apps.get_models()  # rendered, as while migrating, so the reload is exercised
    labels.state_forwards(key[0], together)

    assert together.models == one_by_one.models
    relabelled = next(
        op
        for op in labels.operations
        if hasattr(op, "field")
        and not op.field.is_relation
        and before.models[key[0], op.model_name_lower].fields[op.name].deconstruct()
        != op.field.deconstruct()
    )
    assert rendered_kwargs(together.apps, key[0], relabelled) == relabelled.field.deconstruct()[3]


def test_label_migrations_change_nothing_but_labels(loader):
    for key, labels in label_migrations(loader):
        state = loader.project_state(key, at_end=False)
        for operation in labels.operations:
            model_key = (
                key[0],
                getattr(operation, "model_name_lower", None) or operation.name_lower,
            )
            model_before = state.models[model_key].clone()
            operation.state_forwards(key[0], state)
            model_after = state.models[model_key]
            if hasattr(operation, "field"):
                assert without_labels(model_before.fields[operation.name]) == without_labels(
                    model_after.fields[operation.name]
                ), (key, operation.model_name, operation.name)
            else:
                changed = {
                    name
                    for name in model_before.options.keys() | model_after.options.keys()
                    if model_before.options.get(name) != model_after.options.get(name)
                }
                assert changed <= LABEL_OPTIONS | {"permissions"}, (key, operation.name, changed)
                assert permission_codenames(model_before.options) == permission_codenames(
                    model_after.options
                )
