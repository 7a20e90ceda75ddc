"""How long a newcomer waits for `make demo`: on a fresh clone of this repository (its committed
state), from nothing to serving the home page, install included (pip without its cache), then the
second start of the same clone. Targets: 120 s and 15 s.

    python3 bench/demo_start.py [--port 8790] [--keep]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"first start (install included)": 120.0, "second start": 15.0}


def serve_once(clone: Path, port: int, log) -> float:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_ENV", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    env["PIP_NO_CACHE_DIR"] = "1"
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        ["make", "demo", f"PORT={port}"],  # noqa: S607
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"make demo exited with {process.returncode}; see {log.name}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                return time.monotonic() - started
            except OSError:
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--keep", action="store_true", help="Keep the clone.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="yibao-demo-start-"))
    clone = workdir / "yibao"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)  # noqa: S603, S607
    print(f"Fresh clone in {clone}; make demo's output goes to {workdir / 'demo.log'}")
    with (workdir / "demo.log").open("w") as log:
        figures = {}
        for name in TARGETS:
            print(f"  {name}...", end=" ", flush=True)
            figures[name] = serve_once(clone, args.port, log)
            print(f"{figures[name]:.1f} s")
    print()
    print(f"{'measure':<34}{'figure':>10}{'target':>10}  verdict")
    for name, target in TARGETS.items():
        verdict = "met" if figures[name] < target else "MISSED"
        print(f"{name:<34}{figures[name]:>9.1f}s{target:>9.0f}s  {verdict}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
