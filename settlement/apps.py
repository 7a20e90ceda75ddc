from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = _("Settlement")

    def ready(self) -> None:
        # The monthly clearing between cities, by the name task messages and run_job use.
        from common.jobs import job_type_register
        from settlement.clearing import clearing_run_execute
        from settlement.models import ClearingRun

        job_type_register(
            name="clearing",
            model=ClearingRun,
            execute=lambda job_id, progress: clearing_run_execute(run_id=job_id, progress=progress),
        )
