"""The domain's rules read as their steps: no function in a services or selectors module runs
over 60 lines (a longer one is split into named steps, as settlement_submit is)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60
SKIPPED = {".venv", "tests", "migrations", "bench", "node_modules"}


def _domain_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.glob("*/**/*.py")
        if path.stem in {"services", "selectors"}
        and not SKIPPED.intersection(path.relative_to(ROOT).parts)
    )


def test_services_and_selectors_exist_to_be_measured():
    names = {str(path.relative_to(ROOT)) for path in _domain_modules()}
    assert {"settlement/services.py", "accounts/services.py", "claims/services.py"} <= names


def test_no_function_in_services_or_selectors_runs_over_60_lines():
    too_long = []
    for path in _domain_modules():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_LINES:
                    too_long.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})"
                    )
    assert not too_long, too_long
