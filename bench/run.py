"""Run one benchmark, several, or all of them, each in its own process with its own database.

    .venv/bin/python bench/run.py all                  # every benchmark at full size
    .venv/bin/python bench/run.py balance crediting    # some of them
    .venv/bin/python bench/run.py all --small          # every benchmark at the CI smoke size
    .venv/bin/python bench/run.py all --json-dir var/bench

Anything after ``--`` is passed to every benchmark (for example ``-- --size 100000``).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS = (
    "generation",
    "crediting",
    "crediting_events",
    "upload",
    "settlement",
    "settlement_scale",
    "balance",
    "fsi",
    "clearing",
    "webhooks",
)
# The smoke size: every code path, in seconds rather than minutes.
SMALL = {
    "generation": ["--size", "2000"],
    "crediting": ["--size", "2000"],
    "crediting_events": ["--size", "2000"],
    "upload": ["--size", "2000"],
    "settlement": ["--size", "40", "--clients", "2", "--persons", "4"],
    "settlement_scale": ["--size", "40", "--clients", "2", "--persons", "4"],
    "balance": ["--size", "1000", "--duration", "1", "--workers", "2", "--connections", "4"],
    "fsi": ["--size", "40", "--clients", "2", "--persons", "4"],
    "clearing": ["--size", "2000"],
    "webhooks": ["--size", "300", "--latency-events", "20"],
}


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--small", action="store_true", help="the CI smoke size")
    parser.add_argument("--json-dir", type=Path, help="write each benchmark's results here")
    parser.add_argument("--database-prefix", default="yibao_bench", help="default yibao_bench")
    args = parser.parse_args(argv)
    names = BENCHMARKS if "all" in args.names else tuple(args.names)
    failed = []
    for name in names:
        command = [sys.executable, str(BENCH_DIR / f"{name}.py")]
        command += ["--database", f"{args.database_prefix}_{name}"]
        if args.small:
            command += SMALL[name]
        if args.json_dir:
            command += ["--json", str(args.json_dir / f"{name}.json")]
        command += extra
        started = time.perf_counter()
        print(f"### {name}: {' '.join(command[1:])}", flush=True)
        done = subprocess.run(command, check=False, env=os.environ.copy())  # noqa: S603
        print(
            f"### {name}: exit {done.returncode} in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"### failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
