from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from events.signals import events_committed
        from webhooks.tasks import dispatch_after_commit

        events_committed.connect(dispatch_after_commit, dispatch_uid="webhooks.dispatch")
