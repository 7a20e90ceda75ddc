from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("Users and access")

    def ready(self) -> None:
        from users import schema  # noqa: F401  (registers the OpenAPI security scheme)
