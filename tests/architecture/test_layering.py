"""Imports flow one way: views → services → repository → models; crypto stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "btam"

# What a view module may never import: it must go through a service.
FORBIDDEN_IN_VIEWS = (
    "btam.accounts.models",
    "btam.audit.models",
    "btam.audit.writer",
    "btam.security.crypto",
    "btam.db",
    "sqlalchemy",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _view_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.stem.endswith("views"))


def test_there_are_view_modules_to_check() -> None:
    assert len(_view_modules()) >= 4


def test_views_never_import_models_stores_crypto_or_the_audit_writer() -> None:
    offences = []
    for path in _view_modules():
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IN_VIEWS):
                offences.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offences == []


def test_crypto_imports_neither_flask_nor_sqlalchemy() -> None:
    for module in ("crypto.py", "blind_index.py"):
        names = _imports(PACKAGE / "security" / module)
        assert not any(n.split(".")[0] in {"flask", "sqlalchemy"} for n in names), module


def test_services_never_read_flask_globals() -> None:
    service_modules = [
        PACKAGE / "services.py",
        PACKAGE / "accounts" / "services.py",
        PACKAGE / "accounts" / "signin.py",
        PACKAGE / "cases" / "repository.py",
        PACKAGE / "security" / "policy.py",
        *sorted((PACKAGE / "cases" / "services").glob("*.py")),
    ]
    for path in service_modules:
        names = _imports(path)
        assert not any(n.split(".")[0] in {"flask", "flask_login"} for n in names), path.name


def test_only_the_repository_queries_the_case_tables() -> None:
    """Case services go through ``btam.cases.repository`` (and so through the policy filters)."""
    offences = []
    for path in sorted((PACKAGE / "cases" / "services").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("db.execute(", "db.get(", "select("):
            if needle in text:
                offences.append(f"{path.name} uses {needle}")
    assert offences == []
