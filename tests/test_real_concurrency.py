"""Concurrency for real: a Celery worker of its own process with the prefork pool and two pool
processes on the suite's Redis broker, and threads released together by a barrier.

- A collection's message delivered twice is run by two pool processes at the same time (their
  runs overlap, as the worker's own log shows) and collects every person once.
- Two collections of the same month started at once collect every person once.
- A pool process killed with SIGKILL half-way through a crediting run (its worker with it, so the
  message is not handed back) leaves the run RUNNING; the beat schedule's sweep task, on a new
  worker, finishes it, crediting every account exactly once.

What each person owes is computed here from their declared wage and the city's bounds and rates,
without the project's code, and compared to the cent with what was collected."""

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, connections

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_run_open,
)
from accounts.models import Contribution, ContributionCollection, CreditingRun
from common.models import JobStatus
from config.celery_app import app as celery_app
from jobs.services import job_run
from persons.models import InsuredPerson
from sandbox.population import population_generate
from sandbox.world import sandbox_city
from tests.bootstrap import skip_unless_ci
from tests.support import MONDAY_MORNING, set_clock, wait_for
from tests.test_beat_schedule import SWEEP, send_as_beat
from tests.test_faults import _worker_env, assert_credited_exactly_once

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
PERIOD = date(2026, 11, 1)
CENT = Decimal("0.01")


@dataclass
class PreforkWorker:
    process: subprocess.Popen
    log: Path
    queue: str

    def pool_processes(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the whole worker, its main process first: nothing is left to hand the
        message back to the broker (as when the machine dies)."""
        children = self.pool_processes()
        os.kill(self.process.pid, signal.SIGKILL)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def prefork_worker(tmp_path):
    """Start real workers (celery worker -P prefork -c 2) on the suite's broker and test database,
    consuming the default queue and one of their own."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        skip_unless_ci("a prefork worker needs the Redis broker")
    started: list[PreforkWorker] = []

    def start() -> PreforkWorker:
        name = f"conc-{uuid.uuid4().hex[:8]}"
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "-P",
                "prefork",
                "-c",
                "2",
                "-Q",
                f"celery,{name}",
                "-n",
                f"{name}@%h",
                "-l",
                "INFO",
                "-f",
                str(log),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=_worker_env() | {"JOB_CHUNK_SIZE": "10", "LOG_LEVEL": "INFO"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        worker = PreforkWorker(process, log, name)
        started.append(worker)
        wait_for(lambda: log.exists() and " ready." in log.read_text(), timeout=90)
        assert len(worker.pool_processes()) == 2
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.fixture
def city(agreement):
    set_clock(MONDAY_MORNING.replace(day=26))
    city = sandbox_city("standard")
    population_generate(city=city, persons=600, enrolled_on=MONDAY_MORNING.date())
    return city


def _owed(city) -> dict[int, Decimal]:
    """What each person of the city owes for the month: employees at work with a declared wage,
    on that wage clamped to the city's bounds, at the employer's and the individual rate."""
    owed = {}
    for person in InsuredPerson.objects.filter(city=city, enrolled_on__lte=date(2026, 11, 30)):
        if (person.scheme, person.employment_status) != ("EMPLOYEE", "ACTIVE"):
            continue
        if person.declared_wage is None:
            continue
        base = min(max(person.declared_wage, city.payment_base_min), city.payment_base_max)
        owed[person.id] = (base * city.employer_rate).quantize(CENT, ROUND_HALF_UP) + (
            base * city.individual_rate
        ).quantize(CENT, ROUND_HALF_UP)
    assert len(owed) > 100
    return owed


def assert_collected_exactly_once(city, collection) -> None:
    collection = ContributionCollection.objects.get(pk=collection.pk)
    assert collection.status == JobStatus.SUCCEEDED
    owed = _owed(city)
    rows = Contribution.objects.filter(person__city=city, period=PERIOD)
    collected: dict[int, Decimal] = {}
    for person_id, amount in rows.values_list("person_id", "employer_amount"):
        collected[person_id] = collected.get(person_id, Decimal(0)) + amount
    for person_id, amount in rows.values_list("person_id", "individual_amount"):
        collected[person_id] += amount
    assert rows.count() == len(owed)
    assert collected == owed
    assert collection.collected_count == len(owed)
    assert collection.collected_amount == sum(owed.values())


_SUCCEEDED = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): INFO/(?P<process>ForkPoolWorker-\d+)\] "
    r"Task jobs\.run_recorded_job\[[^\]]+\] succeeded in (?P<seconds>[\d.]+)s",
    re.MULTILINE,
)


def _runs_in_log(log: Path) -> list[tuple[str, datetime, datetime]]:
    """Each finished run of the task: which pool process, when it started and ended."""
    runs = []
    for match in _SUCCEEDED.finditer(log.read_text()):
        ended = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
        runs.append((match["process"], ended - timedelta(seconds=float(match["seconds"])), ended))
    return runs


def test_a_message_delivered_twice_at_once_runs_in_two_processes_and_collects_once(
    city, prefork_worker
):
    worker = prefork_worker()
    collection, _ = contribution_collection_open(city=city, period=PERIOD)
    for _ in range(2):
        celery_app.send_task(
            "jobs.run_recorded_job", args=["collection", collection.pk], queue=worker.queue
        )
    wait_for(lambda: len(_runs_in_log(worker.log)) == 2, timeout=120)
    (first, started_1, ended_1), (second, started_2, ended_2) = _runs_in_log(worker.log)
    assert first != second  # two pool processes
    assert started_1 < ended_2 and started_2 < ended_1  # at the same time
    assert ContributionCollection.objects.get(pk=collection.pk).executions == 2
    assert_collected_exactly_once(city, collection)


def test_two_collections_of_the_same_month_started_at_once_collect_once(city):
    barrier = threading.Barrier(2)
    jobs, errors = [], []

    def collect():
        try:
            barrier.wait(timeout=30)
            job, _ = contribution_collection_open(city=city, period=PERIOD)
            jobs.append(job.pk)
            job_run(kind="collection", job_id=job.pk)
        except Exception as exc:  # reported below, with the thread's own error
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(jobs) == 2 and jobs[0] == jobs[1]  # one month, one job
    collection = ContributionCollection.objects.get(pk=jobs[0])
    assert collection.executions == 2
    assert_collected_exactly_once(city, collection)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _dead(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet (its parent was killed too)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _forget_unacked(task_id: str) -> None:
    """The killed worker's message stays unacknowledged in Redis until its visibility timeout:
    drop it, so no later run of the suite is handed a job of a database long gone."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag, payload in broker.hgetall("unacked").items():
        if task_id.encode() in payload:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)


def test_a_pool_process_killed_mid_job_is_recovered_by_the_beat_schedules_sweep(
    city, prefork_worker
):
    collection, _ = contribution_collection_open(city=city, period=PERIOD)
    contribution_collection_execute(collection_id=collection.pk)
    run, _ = crediting_run_open(city=city, period=PERIOD)
    worker = prefork_worker()
    message = celery_app.send_task(
        "jobs.run_recorded_job", args=["crediting", run.pk], queue=worker.queue
    )
    try:
        wait_for(
            lambda: CreditingRun.objects.get(pk=run.pk).items_done >= 100,
            timeout=90,
            interval=0.01,
        )
        busy = max(worker.pool_processes(), key=_cpu_ticks)  # the pool process running it
        worker.kill()
        wait_for(lambda: _dead(busy), timeout=10)
        run.refresh_from_db()
        assert run.status == JobStatus.RUNNING and 0 < run.items_done < run.items_total
        assert run.executions == 1

        # Time passes without a heartbeat: the run is now stalled, as the sweep defines it.
        CreditingRun.objects.filter(pk=run.pk).update(
            heartbeat_at=run.heartbeat_at - settings.JOB_STALE_AFTER - timedelta(minutes=1)
        )
        prefork_worker()
        send_as_beat(SWEEP)
        wait_for(
            lambda: CreditingRun.objects.get(pk=run.pk).status == JobStatus.SUCCEEDED, timeout=180
        )
    finally:
        _forget_unacked(message.id)
    run.refresh_from_db()
    assert run.executions == 2  # the killed one, and the sweep's
    assert_credited_exactly_once(city, run)
    assert connection.vendor == "postgresql"
