"""CI proves what the suite proves, or fails: a test whose tool or server is missing skips only
outside CI, the Celery tests never fall back to the in-memory transport there, and no test
installs a system package (.ci/run does)."""

import re
from pathlib import Path

import pytest

from tests.bootstrap import prepare_environment, skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent


def test_in_ci_a_missing_tool_fails_the_test(monkeypatch):
    monkeypatch.setenv("CI", "true")
    # Caught as any outcome, so that a skip here fails this test instead of skipping it.
    with pytest.raises(BaseException) as outcome:
        skip_unless_ci("wrk is not installed")
    assert outcome.type is pytest.fail.Exception
    assert str(outcome.value).startswith("wrk is not installed; CI must provide it")


def test_outside_ci_a_missing_tool_skips_the_test_saying_what_is_missing(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(BaseException) as outcome:
        skip_unless_ci("wrk is not installed")
    assert outcome.type is pytest.skip.Exception
    assert str(outcome.value) == "wrk is not installed"


def test_in_ci_the_in_memory_broker_stops_the_run(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
    with pytest.raises(pytest.UsageError, match="never on the in-memory transport"):
        prepare_environment()


def test_outside_ci_the_in_memory_broker_is_allowed(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")
    prepare_environment()


INSTALLS = re.compile(r"apt-get|apt install|which_or_install|playwright install|\bdnf\b|\byum\b")


def test_no_test_installs_a_system_package():
    test_files = [
        path
        for path in ROOT.glob("**/test_*.py")
        if ".venv" not in path.parts and "mutants" not in path.parts and path != Path(__file__)
    ]
    assert len(test_files) > 50
    installing = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in test_files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if INSTALLS.search(line) and not line.lstrip().startswith("#")
    ]
    assert installing == []


def test_every_test_runs_under_a_timeout(request):
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) > 0
