import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from common.jobs import job_type_named, job_types
from jobs.services import job_run


class Command(BaseCommand):
    help = (
        "Run a recorded job (crediting run, contribution collection or upload) in the foreground, "
        "with progress. Safe to repeat: it resumes or rescans, and never posts anything twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(job_type.name for job_type in job_types()))
        parser.add_argument("job_id", type=int)

    def handle(self, *args, kind: str, job_id: int, **options):
        job = job_type_named(kind).model.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"No {kind} job #{job_id}.")
        with tqdm(total=job.items_total or None, unit="row", file=sys.stderr, desc=str(job)) as bar:
            outcome = job_run(kind=kind, job_id=job_id, progress=bar.update)
        totals = ", ".join(f"{name} {value}" for name, value in outcome.totals.items())
        self.stdout.write(
            f"{job}: {outcome.status}; {outcome.items_done} rows in {outcome.chunks} chunks; {totals}"
        )
