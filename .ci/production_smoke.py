"""The production smoke test's steps that are easier in Python than in shell.

Run by .ci/production-smoke with the fresh production virtualenv's interpreter, so it may use the
application's own dependencies (psycopg, redis) but nothing from the test extras. The HTTP checks
use the standard library only: they are a client, like any other, of the served application.

    production_smoke.py image-files REPO DEST     copy what the Dockerfile copies into the image
    production_smoke.py readme-commands REPO VENV PORT
                                                  README's production commands, one a line
    production_smoke.py compose-check REPO        docker-compose.yml runs README's commands
    production_smoke.py free-port                 print a free TCP port on 127.0.0.1
    production_smoke.py database-create URL NAME  (re)create an empty database
    production_smoke.py database-drop URL NAME    drop it (closing its connections)
    production_smoke.py redis-flush URL...        empty these Redis databases
    production_smoke.py wait-healthy BASE SECONDS wait until /api/v1/health answers 200
    production_smoke.py exercise BASE             the checks over HTTP (credentials from the env)
"""

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

JOB_TIMEOUT_SECONDS = float(os.environ.get("SMOKE_JOB_TIMEOUT", "120"))
# Hangzhou's division code; the smoke test's database starts empty, so the admin creates it.
CITY_CODE = "330100"


class SmokeFailure(Exception):
    pass


def say(message: str) -> None:
    print(f"    {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


# --- Setup helpers -------------------------------------------------------------------------


def image_files(repo: str, dest: str) -> None:
    """Copy exactly what the Dockerfile's COPY lines put in the image, so a directory the image
    lacks fails here as it would in the container."""
    root, target = Path(repo), Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    copies = 0
    for line in (root / "Dockerfile").read_text().splitlines():
        if not line.upper().startswith("COPY "):
            continue
        words = shlex.split(line, comments=True)
        arguments = [word for word in words[1:] if not word.startswith("--")]
        *sources, destination = arguments
        for source in sources:
            origin = root / source
            into = target / destination
            if origin.is_dir():
                shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                (into if destination.endswith("/") else into.parent).mkdir(
                    parents=True, exist_ok=True
                )
                shutil.copy2(origin, into / origin.name if destination.endswith("/") else into)
            copies += 1
    check(copies > 0, "the Dockerfile copies nothing")


# README's production block is run as written, except for these: the virtualenv goes where the
# smoke test can remove it, gunicorn listens on a free loopback port with fewer workers, and the
# superuser's password is a random one.
README_PLACEHOLDERS = {
    "~/.venvs/yibao": "{venv}",
    "--bind 0.0.0.0:8000 --workers 4": "--bind 127.0.0.1:{port} --workers 2",
    "'<a strong password>'": '"$DJANGO_SUPERUSER_PASSWORD"',
}
# What the block must run, so a shortened README fails here rather than in production.
README_REQUIRED = [
    "pip install -c constraints.txt .",
    "python manage.py compilemessages",
    "python manage.py migrate --no-input",
    "python manage.py collectstatic --no-input",
    "python manage.py ensure_roles",
    "python manage.py createsuperuser --no-input",
    "gunicorn config.wsgi:application",
    "celery -A config worker",
    "celery -A config beat",
]


def readme_production_block(repo: str) -> list[str]:
    """The command lines of README's first shell block under "Running in production"."""
    text = (Path(repo) / "README.md").read_text()
    section = text.partition("\n## Running in production\n")[2]
    check(bool(section), "README.md has no 'Running in production' section")
    block = section.partition("```sh\n")[2].partition("\n```")[0]
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
    lines = [line for line in lines if line]
    for required in README_REQUIRED:
        check(
            any(required in line for line in lines),
            f"README's production block does not run `{required}`",
        )
    return lines


def readme_commands(repo: str, venv: str, port: str) -> None:
    lines = readme_production_block(repo)
    for placeholder in README_PLACEHOLDERS:
        # Never bind 0.0.0.0:8000 or leave a virtualenv behind because README's wording moved.
        check(
            any(placeholder in line for line in lines),
            f"README's production block no longer has `{placeholder}`",
        )
    for line in lines:
        for placeholder, value in README_PLACEHOLDERS.items():
            line = line.replace(placeholder, value.format(venv=venv, port=port))
        print(line)


def compose_check(repo: str) -> None:
    """docker-compose.yml's services run README's commands (the image collects static files)."""
    import yaml

    lines = readme_production_block(repo)
    services = yaml.safe_load((Path(repo) / "docker-compose.yml").read_text())["services"]

    def readme_line(start: str) -> str:
        return next(line for line in lines if line.startswith(start))

    expected = {
        "web": shlex.split(readme_line("gunicorn ")),
        "worker": shlex.split(readme_line("celery -A config worker")),
        "beat": shlex.split(readme_line("celery -A config beat")),
        "migrate": [
            "sh",
            "-c",
            " && ".join(
                [
                    readme_line("python manage.py migrate"),
                    readme_line("python manage.py ensure_roles"),
                ]
            ),
        ],
    }
    for name, command in expected.items():
        check(
            services[name]["command"] == command,
            f"docker-compose.yml's {name} runs {services[name]['command']}, README {command}",
        )
        check(
            services[name]["environment"]["DJANGO_ENV"] == "production",
            f"docker-compose.yml's {name} does not run with DJANGO_ENV=production",
        )
    dockerfile = (Path(repo) / "Dockerfile").read_text()
    check(
        readme_line("python manage.py collectstatic") in dockerfile,
        "the Dockerfile does not run README's collectstatic",
    )


def free_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        print(probe.getsockname()[1])


def _admin_connection(server_url: str):
    import psycopg

    return psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True)


def database_drop(server_url: str, name: str) -> None:
    from psycopg import sql

    with _admin_connection(server_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_create(server_url: str, name: str) -> None:
    from psycopg import sql

    database_drop(server_url, name)
    with _admin_connection(server_url) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_flush(*urls: str) -> None:
    import redis

    for url in urls:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.flushdb()
        client.close()


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Client:
    """A client behind the TLS-terminating proxy production expects: every request carries
    ``X-Forwarded-Proto: https`` unless it asks for plain HTTP. Cookies are kept by hand, since the
    production cookies are Secure and this connection is plain HTTP to the proxy's upstream."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body=None,
        form: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        https: bool = True,
    ) -> Answer:
        sent = {"Host": self.host, "Accept": "*/*"}
        if https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.token:
            sent["Authorization"] = f"Token {self.token}"
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"https://{self.host}"
            sent["Referer"] = f"https://{self.host}{path}"
        sent.update(headers or {})
        parts = urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            connection.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer

    def expect(self, status: int, method: str, path: str, **options) -> Answer:
        answer = self.request(method, path, **options)
        check(
            answer.status == status,
            f"{method} {path} answered {answer.status}, not {status}: {answer.text[:600]}",
        )
        return answer


class _Page(HTMLParser):
    """The static files a page loads and the fields of its forms, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("href", "src"):
            url = attributes.get(name) or ""
            if url.startswith("/static/"):
                self.assets.append(url)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attributes:
                return
            self.fields.append(
                (name, attributes.get("value") or ("on" if kind == "checkbox" else ""))
            )
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in attributes:
                self._select_value = attributes.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self.fields[-1] = (self._textarea, self.fields[-1][1] + data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            self.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse_page(answer: Answer) -> _Page:
    page = _Page()
    page.feed(answer.text)
    return page


def with_values(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    kept = [(name, value) for name, value in fields if name not in values]
    return kept + list(values.items())


# --- The checks ----------------------------------------------------------------------------


def check_static_assets(client: Client, page_path: str, answer: Answer) -> None:
    assets = sorted(set(parse_page(answer).assets))
    check(bool(assets), f"{page_path} loads no static file")
    for asset in assets:
        served = client.expect(200, "GET", asset)
        check(len(served.body) > 0, f"{asset} is empty")
    # Hashed names come from the manifest collectstatic writes; without it production answers 500.
    check(
        any(re.search(r"\.[0-9a-f]{12}\.(css|js)$", asset) for asset in assets),
        f"{page_path} loads no hashed (collected) static file: {assets}",
    )
    say(f"{page_path}: 200 with {len(assets)} static files, all 200")


def check_https_hardening(client: Client) -> None:
    plain = client.request("GET", "/admin/login/", https=False)
    check(
        plain.status == 301 and (plain.headers.get("Location") or "").startswith("https://"),
        f"plain HTTP to the admin answered {plain.status}, not a redirect to HTTPS",
    )
    health = client.expect(200, "GET", "/api/v1/health", https=False)
    check(health.json().get("status") == "ok", f"health over plain HTTP: {health.text[:300]}")
    secure = client.expect(200, "GET", "/api/v1/health")
    hsts = secure.headers.get("Strict-Transport-Security") or ""
    check("max-age=" in hsts, f"no HSTS header over HTTPS: {hsts!r}")
    say("plain HTTP is redirected to HTTPS (the health probe is exempt); HTTPS sends HSTS")


def admin_login(client: Client, username: str, password: str) -> None:
    login_page = client.expect(200, "GET", "/admin/login/?next=/admin/")
    check_static_assets(client, "/admin/login/", login_page)
    fields = with_values(
        parse_page(login_page).fields, username=username, password=password, next="/admin/"
    )
    answer = client.expect(302, "POST", "/admin/login/?next=/admin/", form=fields)
    check(answer.headers.get("Location") == "/admin/", "the admin login did not lead to /admin/")
    session = [c for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith("sessionid=")]
    check(
        bool(session) and "secure" in session[0].lower(),
        f"the admin session cookie is not Secure: {session}",
    )
    client.expect(200, "GET", "/admin/")
    say(f"admin: signed in as {username}")


def admin_city_ensure(client: Client, code: str, name: str) -> None:
    """Create the city the way an operator of a new installation does: the admin's add form."""
    found = client.expect(200, "GET", f"/admin/cities/city/?q={code}")
    if f">{code}<" in found.text:
        say(f"admin: city {code} exists")
        return
    form = client.expect(200, "GET", "/admin/cities/city/add/")
    fields = with_values(parse_page(form).fields, code=code, name=name, _save="Save")
    answer = client.request("POST", "/admin/cities/city/add/", form=fields)
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', answer.text, re.S)
    check(answer.status == 302, f"the admin's add-city form answered {answer.status}: {errors}")
    say(f"admin: city {code} {name} created")


def resident_id(division_code: str, birth: date, sequence: int) -> str:
    """A valid GB 11643 number (ISO 7064 MOD 11-2 check character)."""
    first17 = f"{division_code}{birth:%Y%m%d}{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def wait_for_job(client: Client, path: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        job = client.expect(200, "GET", path).json()
        if job["status"] == "SUCCEEDED":
            return job
        check(job["status"] != "FAILED", f"{path} FAILED: {job.get('error')}")
        check(
            time.monotonic() < deadline,
            f"{path} is still {job['status']} after {JOB_TIMEOUT_SECONDS:.0f} s: {job}",
        )
        time.sleep(0.5)


def exercise(base: str) -> None:
    username = os.environ["DJANGO_SUPERUSER_USERNAME"]
    password = os.environ["DJANGO_SUPERUSER_PASSWORD"]
    browser = Client(base)

    health = browser.expect(200, "GET", "/api/v1/health")
    check(health.json().get("status") == "ok", f"health: {health.text[:300]}")
    say(f"/api/v1/health: 200 {health.text[:200]}")
    check_https_hardening(browser)

    docs = browser.expect(200, "GET", "/api/v1/docs")
    check_static_assets(browser, "/api/v1/docs", docs)
    schema = browser.expect(200, "GET", "/api/v1/schema", headers={"Accept": "application/json"})
    check("openapi" in schema.json(), "/api/v1/schema is not an OpenAPI document")
    say("/api/v1/schema: 200, an OpenAPI document")

    admin_login(browser, username, password)
    admin_city_ensure(browser, CITY_CODE, "Hangzhou")

    api = Client(base)
    login = api.expect(
        200, "POST", "/api/v1/auth/login", json_body={"username": username, "password": password}
    )
    api.token = login.json()["token"]
    api.expect(200, "GET", f"/api/v1/cities/{CITY_CODE}")
    say(f"API: logged in as {username}; GET /api/v1/cities/{CITY_CODE} 200")

    def post(path: str, body: dict, status: int) -> dict:
        return api.expect(
            status,
            "POST",
            path,
            json_body=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ).json()

    person = post(
        "/api/v1/persons",
        {
            "resident_id": resident_id(
                CITY_CODE, date(1985, 6, 15), secrets.randbelow(500) * 2 + 1
            ),
            "name": "张伟",
            "city": CITY_CODE,
            "scheme": "EMPLOYEE",
            "employment_status": "ACTIVE",
            "declared_wage": "10000.00",
        },
        201,
    )
    # The server's today (Asia/Shanghai) decides the month, not this machine's clock.
    month = date.fromisoformat(person["enrolled_on"]).replace(day=1).isoformat()
    post("/api/v1/contributions", {"person": person["id"], "period": month}, 201)
    say(f"API: enrolled person {person['id']}; contribution for {month} recorded")

    run = post("/api/v1/crediting-runs", {"city": CITY_CODE, "period": month}, 202)
    upload = post("/api/v1/uploads", {"city": CITY_CODE}, 202)
    say(f"API: crediting run {run['id']} and upload {upload['id']} started ({run['status']})")

    started = time.monotonic()
    run = wait_for_job(api, f"/api/v1/crediting-runs/{run['id']}")
    upload = wait_for_job(api, f"/api/v1/uploads/{upload['id']}")
    say(f"worker: both jobs SUCCEEDED within {time.monotonic() - started:.1f} s")
    check(run["credited_count"] == 1, f"the crediting run credited {run['credited_count']}, not 1")
    credited = Decimal(run["credited_amount"])
    check(credited > 0, f"the crediting run credited {credited}")
    check(
        upload["items_done"] == upload["items_total"] == 1,
        f"the upload covered {upload['items_done']} of {upload['items_total']} persons",
    )

    # The counter channel reads the live ledger: the person's account holds what was credited.
    answer = api.expect(200, "GET", f"/api/v1/persons/{person['id']}/balance").json()
    amount = (answer.get("balance") or {}).get("amount")
    check(
        answer["visible"] and amount is not None and Decimal(amount) == credited,
        f"the counter's balance answer is {answer}, not the {credited} credited",
    )
    say(f"counter balance {amount} CNY = the {credited} credited; the upload covered 1 person")

    # The compiled catalogue is served: a problem in simplified Chinese when asked for it.
    for headers, path in (
        ({"Accept-Language": "zh-Hans"}, "/api/v1/problems/NOT_FOUND"),
        ({}, "/api/v1/problems/NOT_FOUND?lang=zh-hans"),
    ):
        title = api.expect(200, "GET", path, headers=headers).json().get("title", "")
        check(
            any("\u4e00" <= char <= "\u9fff" for char in title),
            f"{path} {headers}: the title {title!r} is not in Chinese (is the .mo compiled?)",
        )
    say(f"GET /api/v1/problems/NOT_FOUND in Chinese: {title}")

    health = api.expect(200, "GET", "/api/v1/health")
    check(health.json().get("status") == "ok", f"health at the end: {health.text[:300]}")


def wait_healthy(base: str, seconds: str) -> None:
    deadline = time.monotonic() + float(seconds)
    client = Client(base)
    while True:
        try:
            if client.request("GET", "/api/v1/health").status == 200:
                return
        except OSError:
            pass
        check(time.monotonic() < deadline, f"{base} did not answer /api/v1/health in {seconds} s")
        time.sleep(0.3)


COMMANDS = {
    "image-files": image_files,
    "readme-commands": readme_commands,
    "compose-check": compose_check,
    "free-port": free_port,
    "database-create": database_create,
    "database-drop": database_drop,
    "redis-flush": redis_flush,
    "wait-healthy": wait_healthy,
    "exercise": exercise,
}

if __name__ == "__main__":
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except SmokeFailure as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
