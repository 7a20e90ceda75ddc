"""Migration operations shared by the apps' migrations."""

from django.db.migrations.operations.base import Operation


class AlterLabels(Operation):
    """Field and model options that only label (verbose names, help texts), changed together.

    Each wrapped ``AlterField`` or ``AlterModelOptions`` would re-render its model and the
    models related to it, once per field: a few hundred label changes cost most of a fresh
    installation's migrating. Labels change no SQL, so the wrapped operations move the state
    with rendering held off, the touched models are rendered once, and the database is left
    alone.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, operations):
        self.operations = operations

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"operations": self.operations})

    def state_forwards(self, app_label, state):
        rendered_apps = state.__dict__.pop("apps", None)
        try:
            for operation in self.operations:
                operation.state_forwards(app_label, state)
        finally:
            if rendered_apps is not None:
                state.__dict__["apps"] = rendered_apps
        state.reload_models(
            {(app_label, _model_of(operation)) for operation in self.operations}, delay=False
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return f"Change the labels of {len(self.operations)} fields and models"

    @property
    def migration_name_fragment(self):
        return "labels"


def _model_of(operation):
    """The lower-case model name an ``AlterField`` or ``AlterModelOptions`` applies to."""
    return getattr(operation, "model_name_lower", None) or operation.name_lower
