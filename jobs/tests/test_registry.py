"""Job kinds declare themselves; the registry, the run_job command and the in-process runner
find them by name or by model."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from accounts.models import ContributionCollection, CreditingRun
from common.jobs import UnknownJobType, job_type_named, job_type_register, job_types
from common.models import JobStatus
from jobs.services import job_run
from persons.tests.factories import PersonFactory
from sandbox.world import sandbox_city
from settlement.models import ClearingRun
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import BalanceSnapshot, CityUpload
from uploads.services import upload_open


def test_each_app_registers_its_job_kinds_in_the_order_of_a_day():
    assert [(job_type.name, job_type.model) for job_type in job_types()] == [
        ("collection", ContributionCollection),
        ("crediting", CreditingRun),
        ("upload", CityUpload),
        ("clearing", ClearingRun),
    ]


def test_a_name_or_a_model_claimed_twice_is_refused():
    crediting = job_type_named("crediting")
    with pytest.raises(ImproperlyConfigured):
        job_type_register(name="crediting", model=CityUpload, execute=crediting.execute)
    with pytest.raises(ImproperlyConfigured):
        job_type_register(name="credit-again", model=CreditingRun, execute=crediting.execute)
    assert job_type_named("crediting") == crediting
    with pytest.raises(UnknownJobType):
        job_type_named("credit-again")


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_before_anything_runs():
    with pytest.raises(UnknownJobType):
        job_run(kind="payroll", job_id=1)
    with pytest.raises(CommandError):
        call_command("run_job", "payroll", "1")


@pytest.mark.django_db
def test_run_job_runs_a_job_of_the_named_kind_in_the_foreground():
    set_clock(MONDAY_MORNING)
    city = sandbox_city("standard")
    person = PersonFactory(city=city)
    upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
    out = StringIO()
    call_command("run_job", "upload", str(upload.pk), stdout=out, stderr=StringIO())
    upload.refresh_from_db()
    assert upload.status == JobStatus.SUCCEEDED and "SUCCEEDED" in out.getvalue()
    assert BalanceSnapshot.objects.filter(person=person, upload=upload).exists()
    with pytest.raises(CommandError, match="No upload job"):
        call_command("run_job", "upload", str(upload.pk + 1000))
