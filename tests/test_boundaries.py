"""Boundaries are checked, not hoped for.

- A monolith app imports another context only through its ``services`` or ``selectors``.
- ``contracts`` is Django-free; nothing under ``extracted/`` imports the monolith.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "monolith" / "shop"
CONTEXTS = ("users", "catalog", "cart", "orders", "payments", "notifications")
PUBLIC = ("services", "selectors")


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """Every module a source file imports, as ``(line, dotted name)``; ``from a import b``
    yields ``a.b`` so that importing a submodule by name is seen."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def cross_context_violations(context: str, source: str) -> list[str]:
    bad = []
    for line, module in imported_modules(source):
        parts = module.split(".")
        foreign = len(parts) >= 2 and parts[0] == "shop" and parts[1] in {*CONTEXTS} - {context}
        if foreign and (len(parts) < 3 or parts[2] not in PUBLIC):
            bad.append(f"line {line}: {module}")
    return bad


def app_files() -> Iterator[tuple[str, Path]]:
    for context in CONTEXTS:
        for path in sorted((SHOP / context).rglob("*.py")):
            if "migrations" not in path.parts:
                yield context, path


def test_checker_catches_a_model_import() -> None:
    source = "from shop.catalog.models import Variant\nfrom shop.catalog import services\n"
    assert cross_context_violations("orders", source) == ["line 1: shop.catalog.models.Variant"]
    assert cross_context_violations("catalog", source) == []
    assert cross_context_violations("cart", "import shop.payments.provider") == [
        "line 1: shop.payments.provider"
    ]


@pytest.mark.parametrize("context", CONTEXTS)
def test_contexts_meet_only_through_services_and_selectors(context: str) -> None:
    problems = []
    for owner, path in app_files():
        if owner != context:
            continue
        for violation in cross_context_violations(context, path.read_text()):
            problems.append(f"{path.relative_to(REPO)} {violation}")
    assert problems == [], "import another context's services/selectors instead:\n" + "\n".join(
        problems
    )


def test_contracts_do_not_import_django() -> None:
    offenders = [
        f"{path.relative_to(REPO)} {module}"
        for path in (REPO / "contracts" / "src").rglob("*.py")
        for _, module in imported_modules(path.read_text())
        if module.split(".")[0] in {"django", "rest_framework", "shop", "config"}
    ]
    assert offenders == []


def test_extracted_services_do_not_import_the_monolith() -> None:
    offenders = [
        f"{path.relative_to(REPO)} {module}"
        for path in (REPO / "extracted").rglob("*.py")
        for _, module in imported_modules(path.read_text())
        if module.split(".")[0] in {"shop", "config"}
    ]
    assert offenders == []
