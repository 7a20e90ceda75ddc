"""What every benchmark shares: its own database and Redis database, the production settings, the
machine's description, timing and the table of results.

A benchmark script calls :func:`start` before it imports anything from the project: ``start``
sets the environment (``DJANGO_ENV=production``, sandbox mode off, a random secret key, the
benchmark's own database and Redis database), creates the database, runs the migrations and
returns the parsed arguments. :func:`finish` prints the table and drops the database.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yibao"
# Redis database 7 belongs to the benchmarks (the suite uses 8, 9, 14 and 15; development 0 and 1).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
PYTHON = sys.executable


# --- Results --------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a benchmark's table. ``higher_is_better`` decides how the ratio reads."""

    measure: str
    figure: float | None
    unit: str
    floor: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.floor:
            return None
        return self.figure / self.floor


@dataclass
class Report:
    name: str
    title: str
    size: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    started_at: float = field(default_factory=time.time)

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def text_table(
    headers: list[str], lines: list[list[str]], left: tuple[int, ...] = (0,)
) -> list[str]:
    """A plain-text table: the columns in ``left`` aligned left, the others right."""
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), rule]
    for line in lines:
        out.append(
            "  ".join(
                cell.ljust(w) if i in left else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    out.append(rule)
    return out


def verdict(row: Row) -> str:
    if row.met is None:
        return "-"
    return "met" if row.met else "MISSED"


def print_report(report: Report) -> None:
    headers = ["measure", "figure", "floor", "ratio", "target", "verdict"]
    lines = [
        [
            row.measure,
            _fmt(row.figure, row.unit),
            _fmt(row.floor, row.unit),
            "-" if row.ratio is None else f"{row.ratio:.2f}",
            row.target or "-",
            verdict(row),
        ]
        for row in report.rows
    ]
    out = [
        "",
        f"== {report.title} (size {report.size:,}) ==",
        machine_line(report.machine),
        f"load average: before {report.load_before}; after {report.load_after}",
        *report.details,
        "",
        *text_table(headers, lines, left=(0, 4, 5)),
    ]
    for row in report.rows:
        if row.note:
            out.append(f"  {row.measure}: {row.note}")
    for text in report.notes:
        out.append(f"  note: {text}")
    missed = [row.measure for row in report.rows if row.met is False]
    out.append(
        f"RESULT {report.name}: "
        + ("all targets met" if not missed else f"{len(missed)} target(s) missed")
    )
    print("\n".join(out), flush=True)


def report_json(report: Report) -> dict:
    return {
        "name": report.name,
        "title": report.title,
        "size": report.size,
        "machine": report.machine,
        "load_before": report.load_before,
        "load_after": report.load_after,
        "rows": [
            {**asdict(row), "ratio": row.ratio, "verdict": verdict(row)} for row in report.rows
        ],
        "notes": report.notes,
        "details": report.details,
    }


# --- The machine ----------------------------------------------------------------------------


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_info() -> dict:
    info = {"cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout  # noqa: S607
        model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
        info["cpu"] = model.group(1).strip() if model else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
        info["memory_gib"] = round(kib / 1024 / 1024, 1)
    except (OSError, AttributeError):
        info["memory_gib"] = None
    return info


def machine_line(info: dict) -> str:
    return (
        f"machine: {info.get('cpus')} x {info.get('cpu')}, {info.get('memory_gib')} GiB; "
        f"{info.get('postgresql', 'PostgreSQL ?')}; Redis {info.get('redis', '?')}; "
        f"Python {info.get('python')}"
    )


# --- Environment ----------------------------------------------------------------------------


def database_url(name: str) -> str:
    """``DATABASE_URL`` (or the local default) with its database name replaced by ``name``."""
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not base.startswith(("postgres://", "postgresql://")):
        base = DEFAULT_DATABASE_URL
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def server_environment(database: str) -> dict[str, str]:
    """The environment every process of a benchmark runs with: production settings."""
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("DJANGO_", "PYTEST_")):
            del env[name]
    env.update(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SANDBOX_MODE": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(45)[:60],
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_KEY_PREFIX": f"yibao-bench-{database}",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _maintenance_connect(database: str):
    import psycopg

    parts = urlsplit(database_url(database))
    url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    return psycopg.connect(url, autocommit=True)


def database_recreate(database: str) -> None:
    if not database.startswith("yibao_bench"):
        raise SystemExit(f"refusing to recreate {database!r}: benchmark databases are yibao_bench*")
    with _maintenance_connect(database) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def database_drop(database: str) -> None:
    if not database.startswith("yibao_bench"):
        return
    from django.db import connections

    connections.close_all()
    with _maintenance_connect(database) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def redis_flush() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def parse_args(name: str, description: str, default_size: int, **extra) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"bench/{name}.py", description=description)
    parser.add_argument("--size", type=int, default=default_size, help=f"default {default_size:,}")
    if "duration" in extra:
        parser.add_argument(
            "--duration",
            type=float,
            default=extra["duration"],
            help=f"seconds of load per measurement (default {extra['duration']})",
        )
    parser.add_argument(
        "--database",
        default=f"yibao_bench_{name}",
        help="database to create, use and drop (its name must start with yibao_bench)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (for profiling)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    for option, default in extra.items():
        if option == "duration":
            continue
        parser.add_argument(
            f"--{option.replace('_', '-')}",
            type=type(default),
            default=default,
            help=f"default {default}",
        )
    return parser.parse_args()


def start(name: str, title: str, description: str, default_size: int, **extra):
    """Parse the arguments, set the production environment, recreate the database, migrate.
    Returns (arguments, report)."""
    args = parse_args(name, description, default_size, **extra)
    env = server_environment(args.database)
    os.environ.clear()
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    report = Report(name=name, title=title, size=args.size, load_before=load_average())
    report.machine = machine_info()
    log(f"{title}: database {args.database}, Redis {os.environ['REDIS_URL']}")
    database_recreate(args.database)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    redis_flush()
    with step("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        report.machine["postgresql"] = f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'max_wal_size', 'synchronous_commit')"
        )
        report.machine["postgresql_settings"] = {
            row[0]: f"{row[1]}{(' ' + row[2]) if row[2] else ''}" for row in cursor.fetchall()
        }
    try:
        import redis

        report.machine["redis"] = (
            redis.Redis.from_url(os.environ["REDIS_URL"]).info("server").get("redis_version", "?")
        )
    except Exception:  # the version is only for the record
        report.machine["redis"] = "?"
    return args, report


def finish(args, report: Report) -> None:
    report.load_after = load_average()
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report_json(report), indent=2, default=str))
    try:
        redis_flush()
    except Exception as exc:  # cleaning up must not hide the results
        log(f"could not flush the benchmark's Redis database: {exc}")
    if not args.keep:
        database_drop(args.database)


# --- Timing and SQL helpers -----------------------------------------------------------------


def log(text: str) -> None:
    print(
        f"[bench {time.strftime('%H:%M:%S', time.gmtime())}Z] {text}", file=sys.stderr, flush=True
    )


@contextmanager
def step(what: str) -> Iterator[None]:
    started = time.perf_counter()
    log(f"{what}...")
    yield
    log(f"{what}: {time.perf_counter() - started:.1f} s")


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> "Timer":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started


def sql(statement: str, params=None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def settle_database() -> None:
    """Before a timed phase: a vacuum with fresh planner statistics, and a checkpoint, so the
    phase neither pays for the previous one's dirty pages, nor competes with autovacuum over the
    previous phase's rows, nor plans on empty-table statistics. All of it would have happened by
    itself (autovacuum, the checkpointer) in a database that is not being benchmarked."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")


def which_or_install(program: str, package: str) -> str | None:
    """The path of ``program``, installing the Debian package when running as root."""
    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{program} is missing; installing the Debian package {package}")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
        install = ["apt-get", "install", "-y", "--no-install-recommends", package]
        if subprocess.run(install, **quiet).returncode != 0:  # noqa: S603
            subprocess.run(["apt-get", "update"], **quiet)  # noqa: S607
            subprocess.run(install, **quiet)  # noqa: S603
        return shutil.which(program)
    return None
