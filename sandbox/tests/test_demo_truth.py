"""The demo tells the truth: its home page shows what each person's balance query answers now at
the address actually served, its seeded jobs show their real state, its banner the real port and
local time, and it never puts published credentials on a production install."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation
from knox.models import AuthToken

from accounts.models import CreditingRun
from common.models import JobStatus
from config.celery_app import app as celery_app
from jobs.services import jobs_stalled
from sandbox.demo import (
    OPERATORS,
    PERSON_PASSWORD,
    STAFF_PASSWORD,
    SUPERUSER,
    demo_token,
    demo_world_build,
    demo_world_table,
)
from users.models import User

pytestmark = pytest.mark.django_db

DEMO_LOGINS = [SUPERUSER[0], *OPERATORS, "hz-pharmacy", "balance-visible"]


def _online_now(username: str) -> str:
    return next(row.online_now for row in demo_world_table() if row.username == username)


def test_who_is_who_shows_what_the_balance_query_answers_now(agreement, api_client, client):
    demo_world_build()
    assert _online_now("evoucher-not-activated") == "hidden: EVOUCHER_NOT_ACTIVATED"
    person = {"HTTP_AUTHORIZATION": f"Token {demo_token('evoucher-not-activated')}"}
    api_client.post(
        "/api/v1/me/evoucher/agreement",
        {"platform": "WECHAT", "agreement_version": agreement.version},
        format="json",
        **person,
    )
    passed = api_client.post(
        "/api/v1/me/evoucher/face-authentications",
        {"sandbox_outcome": "PASS"},
        format="json",
        **person,
    )
    assert passed.status_code == 201

    balance = api_client.get("/api/v1/me/balance", **person).json()
    assert balance["visible"] is True and balance["reasons"] == []
    now = _online_now("evoucher-not-activated")
    assert now == f"visible, {balance['balance']['amount']} CNY"
    assert now in client.get("/").content.decode()


@override_settings(ALLOWED_HOSTS=["127.0.0.1"])
def test_the_home_pages_examples_use_the_address_it_was_served_on(agreement, client):
    demo_world_build()
    html = client.get("/", HTTP_HOST="127.0.0.1:8765").content.decode()
    example = (
        f'curl -H "Authorization: Token {demo_token("balance-visible")}" '
        "http://127.0.0.1:8765/api/v1/me/balance"
    )
    assert example in html
    assert "8000" not in html


def test_seeded_crediting_runs_show_their_real_state(agreement, api_client):
    demo_world_build()
    runs = list(CreditingRun.objects.all())
    assert runs
    for run in runs:
        assert run.status == JobStatus.SUCCEEDED, run
        assert run.items_done == run.items_total > 0 and run.progress_percent == 100
        assert run.credited_count > 0 and run.finished_at is not None
    # Nothing for the sweep to pick up and run again.
    assert not [job for job in jobs_stalled() if isinstance(job, CreditingRun)]
    listed = api_client.get(
        "/api/v1/crediting-runs", HTTP_AUTHORIZATION=f"Token {demo_token('op-all')}"
    ).json()
    entries = listed["results"] if isinstance(listed, dict) else listed
    assert {(entry["status"], entry["progress_percent"]) for entry in entries} == {
        ("SUCCEEDED", 100)
    }


def test_the_banner_gives_the_port_served_and_the_local_time(agreement):
    out = io.StringIO()
    call_command("seed_demo", "--port", "8765", stdout=out)
    banner = out.getvalue()
    assert "http://127.0.0.1:8765/api/v1/docs" in banner and ":8000" not in banner
    # The demo starts at 09:00 in Shanghai (01:00 UTC).
    assert re.search(r"Simulated clock: +2026-11-02 09:00 ", banner)
    assert "Online balance query now: hidden: PLATFORM_BUSY" in banner


@pytest.mark.parametrize(
    "production",
    [{"IS_PRODUCTION": True}, {"SANDBOX_MODE": False}],
    ids=["production", "no-sandbox"],
)
def test_seeding_is_refused_with_production_settings(agreement, production):
    with override_settings(**production), pytest.raises(CommandError, match="--allow-production"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def _printed_passwords(output: str) -> dict[str, str]:
    """The password printed beside each demo login in the command's table."""
    passwords = {}
    for username in DEMO_LOGINS:
        found = re.search(rf"\s{re.escape(username)}\s+(\S+)\s", output)
        if found:
            passwords[username] = found.group(1)
    return passwords


@override_settings(IS_PRODUCTION=True, SANDBOX_MODE=False)
def test_a_forced_staging_world_has_random_passwords_shown_once_and_no_tokens(
    agreement, api_client
):
    out = io.StringIO()
    call_command("seed_demo", "--allow-production", "--quiet-table", stdout=out)
    printed = _printed_passwords(out.getvalue())
    assert set(printed) == set(DEMO_LOGINS)
    published = {SUPERUSER[0]: SUPERUSER[1], "balance-visible": PERSON_PASSWORD}
    for username in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert not user.check_password(published.get(username, STAFF_PASSWORD)), username
        assert user.check_password(printed[username]), username
    assert not AuthToken.objects.exists()
    login = api_client.post(
        "/api/v1/auth/login",
        {"username": "hz-pharmacy", "password": printed["hz-pharmacy"]},
        format="json",
    )
    assert login.status_code == 200

    # Running it again creates nothing, so it shows no password again.
    again = io.StringIO()
    call_command("seed_demo", "--allow-production", stdout=again)
    assert set(_printed_passwords(again.getvalue()).values()) == {"(shown"}


def test_a_demo_world_seeded_again_for_staging_keeps_no_published_credential(agreement):
    demo_world_build()
    assert AuthToken.objects.exists()
    with override_settings(IS_PRODUCTION=True):
        out = io.StringIO()
        call_command("seed_demo", "--allow-production", "--quiet-table", stdout=out)
    admin = User.objects.get(username=SUPERUSER[0])
    assert not admin.check_password(SUPERUSER[1])
    assert admin.check_password(_printed_passwords(out.getvalue())[SUPERUSER[0]])
    assert not AuthToken.objects.exists()


def test_a_job_run_in_process_as_the_demo_runs_it_records_its_progress(
    agreement, api_client, django_capture_on_commit_callbacks
):
    """The demo runs Celery tasks in-process (eagerly): the job's row still ends succeeded."""
    demo_world_build()
    operator = {"HTTP_AUTHORIZATION": f"Token {demo_token('op-zhejiang')}"}
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            started = api_client.post(
                "/api/v1/crediting-runs",
                {"city": "330100", "period": "2026-11-01"},
                format="json",
                **operator,
            )
    finally:
        celery_app.conf.task_always_eager = eager
    assert started.status_code == 202, started.json()
    run = CreditingRun.objects.get(pk=started.json()["id"])
    assert run.status == JobStatus.SUCCEEDED
    assert run.items_done == run.items_total > 0 and run.progress_percent == 100


def test_a_fresh_demo_shows_each_uploading_citys_latest_upload(agreement, api_client):
    demo_world_build()
    superuser = {"HTTP_AUTHORIZATION": f"Token {demo_token(SUPERUSER[0])}"}
    cities = {
        city["code"]: city
        for city in api_client.get("/api/v1/cities", **superuser).json()["results"]
    }
    uploading = {code for code, city in cities.items() if city["has_public_upload_channel"]}
    assert uploading and uploading != set(cities)
    for code, city in cities.items():
        assert (city["latest_upload"] is not None) == (code in uploading), city
        detail = api_client.get(f"/api/v1/cities/{code}", **superuser).json()
        assert detail["latest_upload"] == city["latest_upload"]

    newcomer = {"HTTP_AUTHORIZATION": f"Token {demo_token('brand-new-enrolee')}"}
    balance = api_client.get("/api/v1/me/balance", **newcomer).json()
    (not_uploaded,) = [r for r in balance["reasons"] if r["code"] == "DATA_NOT_UPLOADED"]
    assert "not in Hangzhou's latest upload (as of" in not_uploaded["detail"]
    assert "has not uploaded" not in not_uploaded["detail"]

    # The request activates Chinese in this thread; the language is put back afterwards.
    with translation.override(translation.get_language()):
        chinese = api_client.get("/api/v1/me/balance", HTTP_ACCEPT_LANGUAGE="zh-Hans", **newcomer)
    texts = " ".join(r["detail"] + r["remedy"] for r in chinese.json()["reasons"])
    assert "杭州市" in texts and "Hangzhou" not in texts
    assert "杭州市医疗保障服务中心" in str(chinese.json()["reasons"])
    # The agency's counter, named in Chinese too: no English sentence inside a Chinese remedy.
    assert "Medical insurance service hall" not in str(chinese.json()["reasons"])
    hangzhou = cities["330100"]
    assert (hangzhou["name"], hangzhou["name_zh"]) == ("Hangzhou", "杭州市")
    assert hangzhou["agency_name_zh"] == "杭州市医疗保障服务中心"
    assert hangzhou["agency_address_zh"].startswith("杭州市医疗保障服务大厅")
