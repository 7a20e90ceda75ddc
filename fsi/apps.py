from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FsiConfig(AppConfig):
    name = "fsi"
    verbose_name = _("National platform interface")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registering every transaction once, whoever imports the registry first.
        from fsi import transactions  # noqa: F401
