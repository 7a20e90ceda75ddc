from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Platform plumbing"

    def ready(self) -> None:
        from common import audit  # noqa: F401  (connects the request-id stamp)
