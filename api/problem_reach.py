"""Which operations can answer with which error code, read from the code itself.

Starting at each endpoint's handler, this follows every function, method and class of the
project that the handler names (called, passed along or imported inside a function), and collects
the error codes those functions name (``CardErrorCode.CARD_NOT_READY``). It reads the source, so
it cannot drift from it; it over-approximates (a code named on a branch an operation never takes
still counts), which is the right side for a client deciding what to handle.

The codes the HTTP plumbing itself answers with (authentication, an unknown method, a body that
cannot be read, an Idempotency-Key reused) come from no handler: :data:`PLUMBING_CODES` says where
they apply instead.
"""

import ast
import inspect
import textwrap
import types
from dataclasses import dataclass
from functools import cache

from common.errors import CommonErrorCode, ErrorCodes

PROJECT_PACKAGES = (
    "common",
    "users",
    "cities",
    "institutions",
    "events",
    "persons",
    "employers",
    "cards",
    "accounts",
    "uploads",
    "settlement",
    "claims",
    "inquiry",
    "provisioning",
    "webhooks",
    "access",
    "jobs",
    "fsi",
    "api",
    "sandbox",
)

# Codes the plumbing answers with before or around any handler, and where.
PLUMBING_CODES: dict[str, str] = {
    CommonErrorCode.NOT_AUTHENTICATED.code: "every operation that needs a login",
    CommonErrorCode.AUTHENTICATION_FAILED.code: "every operation that needs a login",
    CommonErrorCode.PERMISSION_DENIED.code: "every operation a role may not use",
    CommonErrorCode.NOT_FOUND.code: "every address, for an unknown path or an object not visible",
    CommonErrorCode.METHOD_NOT_ALLOWED.code: "every address, for a method it does not take",
    CommonErrorCode.NOT_ACCEPTABLE.code: "every operation, for an Accept header it cannot answer",
    CommonErrorCode.UNSUPPORTED_MEDIA_TYPE.code: "every operation that takes a body",
    CommonErrorCode.MALFORMED_REQUEST.code: "every operation that takes a body",
    CommonErrorCode.REQUEST_TOO_LARGE.code: "every operation that takes a body",
    CommonErrorCode.REQUEST_NESTED_TOO_DEEPLY.code: "every operation that takes a body",
    CommonErrorCode.VALIDATION_ERROR.code: "every operation with fields or parameters",
    CommonErrorCode.IDEMPOTENCY_KEY_INVALID.code: "every operation that takes an Idempotency-Key",
    CommonErrorCode.IDEMPOTENCY_KEY_REUSED.code: "every operation that takes an Idempotency-Key",
    CommonErrorCode.RATE_LIMITED.code: "every operation, over the request rate",
    CommonErrorCode.INTERNAL_ERROR.code: "any operation, on a fault of the server",
    CommonErrorCode.SERVICE_UNAVAILABLE.code: "any operation, while the database is unreachable",
}


# What DRF runs around a handler, whatever the method, where a view of the project defines it.
VIEW_HOOKS = frozenset(
    {
        "dispatch",
        "initial",
        "check_permissions",
        "check_object_permissions",
        "get_permissions",
        "get_queryset",
        "filter_queryset",
        "get_object",
        "paginate_queryset",
    }
)
NATIONAL_INTERFACE_PATH = "/fsi/api/rsfComIfsService/callService"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str


def _in_project(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in PROJECT_PACKAGES and ".tests" not in module


def _resolve(node: ast.AST, namespace: dict, owner: type | None):
    """The object an expression names (``f``, ``module.f``, ``Class.method``, ``self.method``)."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"} and owner:
            return inspect.getattr_static(owner, node.attr, None)
        base = _resolve(node.value, namespace, owner)
        if base is None:
            return None
        try:
            return inspect.getattr_static(base, node.attr, None)
        except Exception:  # a descriptor that cannot be read statically names nothing to follow
            return None
    return None


def _unwrap(obj):
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return inspect.unwrap(obj) if callable(obj) else obj


@cache
def _function_facts(function) -> tuple[frozenset[str], tuple]:
    """The error codes a function names and the project objects it names."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return frozenset(), ()
    namespace = dict(getattr(function, "__globals__", {}))
    owner = _owner_class(function)
    # Imports inside the function (the lazy ones) name things too.
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = _import(node.module)
            for alias in node.names:
                target = getattr(module, alias.name, None) if module else None
                if target is None:
                    target = _import(f"{node.module}.{alias.name}")
                namespace[alias.asname or alias.name] = target
    codes: set[str] = set()
    named: list = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        target = _resolve(node, namespace, owner)
        if isinstance(target, ErrorCodes):
            codes.add(target.code)
        elif target is not None:
            named.append(target)
    return frozenset(codes), tuple(named)


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _owner_class(function) -> type | None:
    qualname = getattr(function, "__qualname__", "")
    if "." not in qualname:
        return None
    obj = inspect.getmodule(function)
    for part in qualname.split(".")[:-1]:
        if part == "<locals>":
            return None
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _followed(obj) -> list:
    """The functions to read for a named object: itself, or a project class's own methods."""
    obj = _unwrap(obj)
    if isinstance(obj, type):
        if not _in_project(obj):
            return []
        return [
            _unwrap(value)
            for klass in obj.__mro__
            if _in_project(klass)
            for value in vars(klass).values()
            if isinstance(value, types.FunctionType | staticmethod | classmethod | property)
        ]
    if isinstance(obj, types.FunctionType) and _in_project(obj):
        return [obj]
    return []


def codes_reachable_from(functions) -> frozenset[str]:
    seen: set = set()
    pending = [function for start in functions for function in _followed(start)]
    codes: set[str] = set()
    while pending:
        function = pending.pop()
        if function in seen or function is None:
            continue
        seen.add(function)
        named_codes, named = _function_facts(function)
        codes |= named_codes
        for obj in named:
            pending.extend(f for f in _followed(obj) if f not in seen)
    return frozenset(codes)


def _national_interface_transactions():
    """Each transaction of the national platform's interface, as an operation of its own."""
    import fsi.transactions  # noqa: F401 (each module registers its transactions)
    from fsi.registry import TRANSACTIONS

    for infno, transaction in sorted(TRANSACTIONS.items()):
        operation = Operation(
            "POST", NATIONAL_INTERFACE_PATH, f"fsi-{infno}", f"{infno} {transaction.name_en}"
        )
        yield operation, transaction.handler


@cache
def operations_by_code() -> dict[str, tuple[Operation, ...]]:
    """Each code a handler can raise, with the documented operations that can answer with it."""
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    documented = {
        (method.upper(), path): operation
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    found: dict[str, list[Operation]] = {}
    for path, _regex, method, view in generator.endpoints:
        operation = documented.get((method, path))
        view_class = getattr(view, "cls", None)
        handler = getattr(view_class, method.lower(), None) if view_class else None
        if operation is None or handler is None:
            continue
        entry = Operation(method, path, operation["operationId"], operation.get("summary", ""))
        # The handler (what it calls through ``self`` is followed from it), and the view's own
        # hooks that run around every handler.
        hooks = [function for function in _followed(view_class) if function.__name__ in VIEW_HOOKS]
        for code in codes_reachable_from([handler, *hooks]):
            found.setdefault(code, []).append(entry)
    for operation, handler in _national_interface_transactions():
        for code in codes_reachable_from([handler]):
            found.setdefault(code, []).append(operation)
    return {
        code: tuple(sorted(set(ops), key=lambda op: (op.path, op.method)))
        for code, ops in found.items()
    }
