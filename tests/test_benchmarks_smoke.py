"""Every benchmark in bench/ at a small size, so none of them can rot.

Each runs as its own process, as a person would run it, on a database of its own next to the
suite's (the suite's DATABASE_URL with the database name replaced) and Redis database 7. Nothing
here asserts a timing: the test checks that the benchmark completes and prints its table.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.run import SMALL
from tests.bootstrap import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent
# Each benchmark's own process is given 900 s; the test around it, a little more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def bench_environment() -> dict[str, str]:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        skip_unless_ci("the benchmarks run on PostgreSQL")
    if not os.environ.get("BENCH_REDIS_URL") and not _redis_reachable():
        skip_unless_ci("the benchmarks need Redis (127.0.0.1:6379, or BENCH_REDIS_URL)")
    return dict(os.environ)


@pytest.mark.parametrize("name", list(SMALL))
def test_benchmark_runs_at_a_small_size_and_prints_its_table(name, bench_environment):
    # A test installs nothing on the machine: .ci/run installs wrk.
    if name == "balance" and shutil.which("wrk") is None:
        skip_unless_ci("wrk is not installed (Debian's package wrk)")
    database = f"yibao_bench_smoke_{name}_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--database", database, *SMALL[name]],
        cwd=ROOT,
        env=bench_environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, f"{name} failed:\n{output}\n{done.stderr[-5000:]}"
    assert "measure" in output and "figure" in output and "floor" in output
    assert "ratio" in output and "target" in output and "verdict" in output
    assert f"RESULT {name}:" in output
    assert not _database_exists(database), "the benchmark leaves its database behind"


def _database_exists(name: str) -> bool:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    with psycopg.connect(url, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )
