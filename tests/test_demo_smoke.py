"""`make demo` as a newcomer meets it: started as a subprocess on a free port, with a data
directory of its own, then driven over HTTP only. A month of contributions and crediting and one
settlement are checked to the cent against the city's published policy, computed here by hand
from the figures the API publishes (not by the project's own code). Ctrl-C stops the web server and
the embedded PostgreSQL; a second start serves the same world."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psutil
import pytest

from persons.resident_id import make_resident_id

# Two starts of the demo, each allowed 240 s to serve (seeding a world on a busy machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
CENT = Decimal("0.01")
# What the demo must not inherit from the test run: it finds its own database and broker.
TEST_ONLY_VARIABLES = (
    "DJANGO_ENV",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "DJANGO_SETTINGS_MODULE",
)


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """One `make demo` process group, and a small JSON client for it."""

    started: list["Demo"] = []

    def __init__(self, var_dir: Path, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.var_dir = var_dir
        env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
        env["DJANGO_VAR_DIR"] = str(var_dir)
        self.log = log
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "demo", f"PORT={self.port}"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal would give it
        )
        Demo.started.append(self)

    def wait_serving(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"make demo exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise AssertionError(
            f"make demo did not serve in {timeout} s:\n{self.log.read_text()[-3000:]}"
        )

    def ctrl_c(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def call(self, method, path, body=None, token=None, headers=None, expect=200):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        if token:
            request.add_header("Authorization", f"Token {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        data = json.loads(payload) if payload else None
        assert status == expect, (method, path, status, data)
        return data

    def login(self, username: str, password: str) -> str:
        return self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )["token"]


def postgres_processes_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(process)
    return found


@pytest.fixture
def demo_dir(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    yield var_dir
    # Only if a failed test left them behind: its demos, then their database.
    for demo in Demo.started:
        if demo.process.poll() is None:
            demo.ctrl_c()
    Demo.started.clear()
    for process in postgres_processes_of(var_dir):
        process.terminate()


def test_make_demo_serves_the_engine_production_runs(demo_dir, tmp_path):
    demo = Demo(demo_dir, tmp_path / "demo.log")
    demo.wait_serving()
    data_dir = demo_dir / "demo-postgres"
    assert (data_dir / "PG_VERSION").exists() and postgres_processes_of(demo_dir)

    operator = demo.login("op-all", "demo-staff-2026")
    health = demo.call("GET", "/api/v1/health")
    assert health["database"]["vendor"] == "postgresql"

    # A new employee of Hangzhou, declaring a wage inside the city's payment-base bounds.
    city = demo.call("GET", "/api/v1/cities/330100", token=operator)
    wage = Decimal("10500.00")
    assert Decimal(city["payment_base_min"]) < wage < Decimal(city["payment_base_max"])
    person = demo.call(
        "POST",
        "/api/v1/persons",
        {
            "resident_id": make_resident_id("330106", date(1985, 5, 5), 7),
            "name": "Smoke Test Employee",
            "city": "330100",
            "scheme": "EMPLOYEE",
            "employment_status": "ACTIVE",
            "declared_wage": str(wage),
            "subsidy_category": "NONE",
        },
        token=operator,
        expect=201,
    )
    card = demo.call(
        "POST",
        "/api/v1/cards",
        {
            "person": person["id"],
            "site": "COUNTY_CENTER",
            "insured_resident_id": person["resident_id"],
        },
        token=operator,
        expect=201,
    )
    demo.call("POST", f"/api/v1/cards/{card['id']}/activate", {"pin": "258036"}, token=operator)

    # A month passes: the contribution is collected on the contribution day, the personal
    # account credited on the crediting day.
    clock = demo.call("GET", "/api/v1/sandbox/clock", token=operator)
    start_day = int(clock["now"][8:10])
    days = int(city["crediting_day"]) - start_day + 1
    demo.call("POST", "/api/v1/sandbox/clock/advance", {"days": days}, token=operator)

    base = min(max(wage, Decimal(city["payment_base_min"])), Decimal(city["payment_base_max"]))
    individual = cents(base * Decimal(city["individual_rate"]))
    employer = cents(base * Decimal(city["employer_rate"]))
    contributions = demo.call(
        "GET", f"/api/v1/persons/{person['id']}/contributions", token=operator
    )
    rows = contributions.get("results", contributions)
    assert len(rows) == 1, rows
    amounts = {key: value for key, value in rows[0].items() if "amount" in key}
    assert str(individual) in amounts.values() and str(employer) in amounts.values(), amounts

    balance = demo.call("GET", f"/api/v1/persons/{person['id']}/balance", token=operator)
    assert balance["balance"]["amount"] == str(individual)  # 2 % of 10,500.00 = 210.00

    # A settlement at the Hangzhou pharmacy, presenting the card, paid from the personal account.
    pharmacy = demo.login("hz-pharmacy", "demo-staff-2026")
    policy = demo.call("GET", "/api/v1/benefit-policies/330100", token=operator)
    catalog = demo.call("GET", "/api/v1/catalog?page_size=200", token=operator)
    item = next(row for row in catalog.get("results", catalog) if row["catalog_class"] == "A")
    unit_price = Decimal("500.04")
    settlement = demo.call(
        "POST",
        "/api/v1/settlements",
        {
            "visit_type": "OUTPATIENT",
            "visit_reference": "SMOKE-1",
            "use_personal_account": True,
            "line_items": [{"code": item["code"], "quantity": "1", "unit_price": str(unit_price)}],
        },
        token=pharmacy,
        # The cardholder enters the PIN the card was activated with: the personal account pays.
        headers={"X-Presented-Credential": f"CARD {card['number']}", "X-Card-PIN": "258036"},
        expect=201,
    )

    rule = next(
        r
        for r in policy["rules"]
        if r["scheme"] == "EMPLOYEE"
        and r["visit_type"] == "OUTPATIENT"
        and r["tier"] == settlement["institution"]["tier"]
    )
    total = cents(unit_price)
    deductible = min(total, Decimal(rule["annual_deductible"]))
    fund_share = cents((total - deductible) * Decimal(rule["reimbursement_ratio"]))
    room = min(
        Decimal(policy["employee_annual_cap"]), Decimal(policy["employee_outpatient_annual_quota"])
    )
    pool = min(fund_share, room)
    personal = min(total - pool, individual)
    expected = {
        "total": total,
        "deductible": deductible,
        "pool": pool,
        "person_share": total - pool,
        "personal_account": personal,
        "cash": total - pool - personal,
    }
    breakdown = settlement["breakdown"]
    assert {key: Decimal(breakdown[key]) for key in expected} == expected

    after = demo.call("GET", f"/api/v1/persons/{person['id']}/balance", token=operator)
    assert Decimal(after["balance"]["amount"]) == individual - personal

    # Ctrl-C stops the web server and the embedded PostgreSQL with it.
    demo.ctrl_c()
    deadline = time.monotonic() + 30
    while postgres_processes_of(demo_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not postgres_processes_of(demo_dir)

    # A second start serves the same world, with the money where it was left.
    again = Demo(demo_dir, tmp_path / "demo-again.log")
    again.wait_serving()
    operator = again.login("op-all", "demo-staff-2026")
    kept = again.call("GET", f"/api/v1/persons/{person['id']}/balance", token=operator)
    assert Decimal(kept["balance"]["amount"]) == individual - personal
    again.ctrl_c()
