"""Finds the PostgreSQL and the broker the test suite runs on, before Django reads its settings.

PostgreSQL, in this order: the server named by DATABASE_URL; a server on 127.0.0.1:5432; a
throwaway server started for this run from the local PostgreSQL binaries (pytest-postgresql), or,
where those are missing or cannot start (initdb refuses to run as root), from the binaries shipped
in the pgserver wheel. Never SQLite.

Celery: Redis on 127.0.0.1:6379 when reachable, else Celery's in-memory transport.

In CI (CI=true) nothing falls back quietly: the in-memory transport is refused, and a test whose
tool or server is missing fails instead of skipping (``skip_unless_ci``), since .ci/run installs
and starts everything the suite needs.
"""

import atexit
import glob
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

TEST_DATABASE_NAME = "yibao"


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_unless_ci(reason: str) -> NoReturn:
    """Outside CI, skip saying what is missing; in CI fail: a skip there would pass a run that
    never proved what the test proves."""
    if running_in_ci():
        pytest.fail(f"{reason}; CI must provide it (.ci/run installs and starts it)", pytrace=False)
    pytest.skip(reason)


def _reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _local_postgres_bindir() -> Path | None:
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/pgsql/bin/pg_ctl"))
    return Path(candidates[0]).parent if candidates else None


def _start_with_local_binaries(bindir: Path) -> str:
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    workdir = Path(tempfile.mkdtemp(prefix="yibao-pg-"))
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=str(bindir / "pg_ctl"),
        host="127.0.0.1",
        port=port,
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
    executor.start()
    atexit.register(lambda: (executor.stop(), shutil.rmtree(workdir, ignore_errors=True)))
    return f"postgres://postgres@127.0.0.1:{port}/{TEST_DATABASE_NAME}"


def _start_with_pgserver() -> str:
    import pgserver

    workdir = Path(tempfile.mkdtemp(prefix="yibao-pgserver-"))
    server = pgserver.get_server(workdir, cleanup_mode="delete")
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        return f"postgres://postgres@/{TEST_DATABASE_NAME}?host={info.socket_dir}"
    return f"postgres://postgres@{info.hostname}:{info.port}/{TEST_DATABASE_NAME}"


def _throwaway_postgres() -> str:
    bindir = _local_postgres_bindir()
    if bindir is not None and os.geteuid() != 0:
        try:
            return _start_with_local_binaries(bindir)
        except Exception as exc:  # fall through to the bundled binaries
            print(
                f"[tests] local PostgreSQL did not start ({exc}); using pgserver", file=sys.stderr
            )
    return _start_with_pgserver()


def prepare_environment() -> None:
    os.environ.setdefault("DJANGO_ENV", "test")
    if not os.environ.get("DATABASE_URL"):
        if _reachable("127.0.0.1", 5432):
            os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{TEST_DATABASE_NAME}"
        else:
            print(
                "[tests] no PostgreSQL on 127.0.0.1:5432; starting a throwaway server",
                file=sys.stderr,
            )
            os.environ["DATABASE_URL"] = _throwaway_postgres()
    if "CELERY_BROKER_URL" not in os.environ:
        if _reachable("127.0.0.1", 6379):
            # Database numbers of their own, so a test run never meets a developer's data.
            os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/14"
            os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
        else:
            os.environ["CELERY_BROKER_URL"] = "memory://"
            os.environ.setdefault("REDIS_URL", "")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"yibao-test-{os.getpid()}")
    if running_in_ci() and os.environ["CELERY_BROKER_URL"].startswith("memory://"):
        raise pytest.UsageError(
            "CI runs the Celery tests on Redis, never on the in-memory transport, and the broker "
            f"is {os.environ['CELERY_BROKER_URL']!r} (.ci/run starts Redis on 127.0.0.1:6379)"
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    prepare_environment()
    return (yield)
