from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiryConfig(AppConfig):
    name = "inquiry"
    verbose_name = _("Balance inquiry")

    def ready(self) -> None:
        from events.balance import person_balance_watch_started
        from inquiry.balance_events import balance_watch_receiver

        person_balance_watch_started.connect(
            balance_watch_receiver, dispatch_uid="inquiry.balance_events"
        )
