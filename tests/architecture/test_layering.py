"""What the import contracts cannot say: services stage their changes and never commit.

The layering itself (views → services → repositories → models, nothing imports views, only
repositories query, only the audit writer writes audit rows, only the field layer decrypts)
is declared as import-linter contracts in pyproject.toml and checked by ``lint-imports``
in ``make test``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "btam"
COMMITS = frozenset({"commit", "commit_with_audit"})
# Signing in owns its transactions: a failed attempt is counted even when the answer is a
# refusal, and a password is checked outside any write transaction (see accounts/signin.py).
OWN_TRANSACTIONS = frozenset({PACKAGE / "accounts" / "signin.py"})


def _service_modules() -> list[Path]:
    found = [p for p in PACKAGE.rglob("*.py") if "services" in p.parts or p.stem == "services"]
    return sorted(set(found) - OWN_TRANSACTIONS)


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in COMMITS
    ]


def test_there_are_service_modules_of_every_stage() -> None:
    stages = {p.relative_to(PACKAGE).parts[0] for p in _service_modules()}
    assert {"accounts", "cases", "intake", "people"} <= stages


def test_no_service_commits_on_its_own() -> None:
    """Services stage their changes and return the audit events; the use case commits once."""
    offences = {
        str(path.relative_to(PACKAGE)): lines
        for path in _service_modules()
        if (lines := _commit_calls(path))
    }
    assert offences == {}


def test_no_view_module_builds_its_blueprint_in_a_closure() -> None:
    """A blueprint is a module-level object and its views are module-level functions."""
    offences = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "def make_blueprint" in p.read_text(encoding="utf-8")
    ]
    assert offences == []
