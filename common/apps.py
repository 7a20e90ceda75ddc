from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = _("Platform plumbing")

    def ready(self) -> None:
        from common import audit  # noqa: F401  (connects the request-id stamp)
