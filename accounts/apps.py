from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def _ledger_striping_session(sender, connection, **kwargs) -> None:
    """With striping off, the session's postings go to the accounts' own rows (migration 0014)."""
    if connection.vendor == "postgresql" and not getattr(settings, "LEDGER_STRIPING", True):
        with connection.cursor() as cursor:
            cursor.execute("SET yibao.ledger_striping = 'off'")


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and ledger")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.connect(_ledger_striping_session, dispatch_uid="ledger_striping")

        # This app's recorded jobs, by the names task messages and run_job use.
        from accounts.crediting import contribution_collection_execute, crediting_run_execute
        from accounts.models import ContributionCollection, CreditingRun
        from common.jobs import job_type_register

        job_type_register(
            name="collection",
            model=ContributionCollection,
            execute=lambda job_id, progress: contribution_collection_execute(
                collection_id=job_id, progress=progress
            ),
        )
        job_type_register(
            name="crediting",
            model=CreditingRun,
            execute=lambda job_id, progress: crediting_run_execute(
                run_id=job_id, progress=progress
            ),
        )
