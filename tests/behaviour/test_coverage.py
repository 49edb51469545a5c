"""Coverage check: every operation in the target's OpenAPI schema has a behaviour test.

Read statically: the API client's methods name the (method, path) they call; the tests name
the client methods they use (or call ``request`` with a literal path). An operation of the
target's schema that no test reaches fails here, with its name. The schema comes from the
target itself (``/api/schema/``), so the check holds for whatever the suite is pointed at.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from .api_client import ApiClient

pytestmark = [pytest.mark.behaviour]

HERE = Path(__file__).parent
METHODS = {"get", "post", "put", "patch", "delete"}


def _template(node: ast.expr) -> str | None:
    """A path literal or f-string as a template: every interpolation becomes ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def _calls(tree: ast.AST) -> list[tuple[str, str]]:
    """``(METHOD, path template)`` of every ``request(...)`` / ``_json(...)`` call."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"request", "_json"}
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
        ):
            # A path passed in by the caller (jwks(path)) is kept as "" and resolved from the
            # literal paths of the test module that calls the method.
            path = _template(node.args[1])
            found.append((str(node.args[0].value).upper(), path if path is not None else ""))
    return found


def client_operations() -> dict[str, list[tuple[str, str]]]:
    """Client method name -> the operations it calls."""
    tree = ast.parse((HERE / "api_client.py").read_text())
    methods: dict[str, list[tuple[str, str]]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ApiClient"):
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            if not fn.name.startswith("_") and fn.name != "request":
                methods[fn.name] = _calls(fn)
    return methods


def exercised() -> set[tuple[str, str]]:
    """Operations the tests reach, as (METHOD, normalised template)."""
    methods = client_operations()
    used: set[tuple[str, str]] = set()
    for source in [*sorted(HERE.glob("test_*.py")), HERE / "conftest.py", HERE / "steps.py"]:
        tree = ast.parse(source.read_text())
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("/")
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                for method, path in methods[node.attr]:
                    paths = [path] if path else literals
                    used.update((method, _normalise(p)) for p in paths)
        used.update((m, _normalise(p)) for m, p in _calls(tree) if p)
    return used


def _normalise(path: str) -> str:
    path = path.split("?", 1)[0]
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"


def test_checker_sees_a_missing_operation() -> None:
    used = exercised()
    assert ("POST", "/api/orders/checkout") in used
    assert ("GET", "/api/orders/{}") in used
    assert ("DELETE", "/api/never/tested") not in used


def test_every_schema_operation_has_a_behaviour_test(api: ApiClient) -> None:
    response = api.request("GET", "/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.text)
    operations = {
        (method.upper(), _normalise(path))
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    }
    assert len(operations) >= 30  # the whole shop, not an empty schema
    missing = sorted(operations - exercised())
    assert missing == [], f"operations without a behaviour test: {missing}"
