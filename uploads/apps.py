from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = _("Uploads to the national platform")

    def ready(self) -> None:
        # This app's recorded job, by the name task messages and run_job use.
        from common import clock
        from common.jobs import job_type_register
        from events.signals import creditings_posted
        from uploads.events import creditings_posted_receiver
        from uploads.models import CityUpload
        from uploads.services import upload_execute

        creditings_posted.connect(creditings_posted_receiver, dispatch_uid="uploads.first_credits")

        job_type_register(
            name="upload",
            model=CityUpload,
            # A run reads the clock once: the upload's as-of time if it is the first.
            execute=lambda job_id, progress: upload_execute(
                upload_id=job_id, progress=progress, now=clock.now()
            ),
        )
