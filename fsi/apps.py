from django.apps import AppConfig


class FsiConfig(AppConfig):
    name = "fsi"
    verbose_name = "National platform interface"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registering every transaction once, whoever imports the registry first.
        from fsi import transactions  # noqa: F401
