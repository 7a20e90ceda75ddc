"""The domain says what went wrong (an ErrorKind); only common.problems turns a kind into an HTTP
status. Error codes name kinds, never status numbers, and a domain error carries no status."""

import ast
import gc
from pathlib import Path

import pytest

from api.views import all_error_codes
from common.errors import CommonErrorCode, DomainError, ErrorCodes, ErrorKind
from common.problems import HTTP_STATUS_BY_KIND
from config import urls  # noqa: F401  (imports every app's views, and so every error-code enum)

PROJECT = Path(__file__).resolve().parent.parent.parent


def _error_code_sources() -> list[Path]:
    """Every app's error_codes.py, and common/errors.py, which holds the common codes."""
    found = sorted(
        path for path in PROJECT.glob("*/error_codes.py") if not path.parent.name.startswith(".")
    )
    return [*found, PROJECT / "common" / "errors.py"]


def test_every_kind_has_exactly_one_http_status():
    assert set(HTTP_STATUS_BY_KIND) == set(ErrorKind)
    assert all(100 <= status <= 599 for status in HTTP_STATUS_BY_KIND.values())


@pytest.mark.parametrize("code", sorted(all_error_codes()))
def test_a_codes_status_is_the_one_its_kind_maps_to(code):
    member = all_error_codes()[code]
    assert isinstance(member.kind, ErrorKind)
    assert member.status == HTTP_STATUS_BY_KIND[member.kind]


def test_the_sources_of_error_codes_hold_no_status_number():
    sources = _error_code_sources()
    assert len(sources) >= 8, sources  # seven apps define codes, plus the common ones
    for path in sources:
        tree = ast.parse(path.read_text(), filename=str(path))
        enums = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", None) == "ErrorCodes" for base in node.bases)
        ]
        assert enums, f"{path}: no error-code enum found"
        for enum in enums:
            for statement in enum.body:
                if not isinstance(statement, ast.Assign):
                    continue
                where = f"{path.relative_to(PROJECT)}:{statement.lineno}"
                value = statement.value
                assert isinstance(value, ast.Tuple) and len(value.elts) == 2, where
                kind = value.elts[0]
                assert isinstance(kind, ast.Attribute), f"{where}: name an ErrorKind"
                assert getattr(kind.value, "id", None) == "ErrorKind", where
                assert kind.attr in ErrorKind.__members__, where
                numbers = [
                    node.value
                    for node in ast.walk(statement)
                    if isinstance(node, ast.Constant) and isinstance(node.value, int)
                ]
                assert not numbers, f"{where}: a bare number {numbers} in an error code"


def test_an_error_code_given_a_status_number_is_refused():
    with pytest.raises(TypeError, match="ErrorKind"):

        class StatusCarryingErrorCode(ErrorCodes):
            SOMETHING = 409, "A title."

    # The half-made enum lingers among ErrorCodes' subclasses until collected; the problem list
    # walks those subclasses, so leave none behind.
    gc.collect()
    assert "StatusCarryingErrorCode" not in {cls.__name__ for cls in ErrorCodes.__subclasses__()}


def test_a_domain_error_carries_its_code_not_an_http_status():
    error = DomainError(CommonErrorCode.CONFLICT)
    assert error.code is CommonErrorCode.CONFLICT
    assert not hasattr(error, "status")
    assert not hasattr(error, "status_code")
