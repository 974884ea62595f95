"""``btam audit verify | checkpoint | public-key`` from the operator's side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import text

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.signing import generate_signing_key_file, key_fingerprint, public_key_pem
from btam.audit.writer import writer_from_settings
from btam.cli.audit import audit
from btam.db import make_engine, open_stores
from btam.schema import upgrade
from btam.settings import Settings, load_settings


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A migrated SQLite audit store with a signing key and a witness, named by BTAM_* vars."""
    monkeypatch.setenv("BTAM_CONFIG", "testing")
    monkeypatch.setenv("BTAM_INSTANCE", str(tmp_path))
    monkeypatch.setenv("BTAM_AUDIT_WITNESS", str(tmp_path / "witness" / "audit-witness.log"))
    (tmp_path / "witness").mkdir()
    settings = load_settings()
    generate_signing_key_file(settings.audit_signing_key_file)
    engine = make_engine(settings.audit_database_url, immediate=True)
    upgrade(engine, "audit")
    engine.dispose()
    yield settings


def append(settings: Settings, count: int) -> None:
    stores = open_stores(settings.database_url, settings.audit_database_url)
    writer = writer_from_settings(settings, stores)
    for _ in range(count):
        writer.append(
            AuditContext.system(), action=AuditAction.SYSTEM_DEMO_LOADED, outcome=Outcome.ALLOWED
        )
    stores.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(audit, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_an_empty_trail(instance: Settings) -> None:
    code, out, _ = run("verify")
    assert code == 0
    assert out == (
        "audit trail intact: 0 entries and 0 checkpoints verified (head seq 0, no checkpoint yet)\n"
    )


def test_checkpoint_then_verify(instance: Settings) -> None:
    append(instance, 3)
    code, out, _ = run("checkpoint")
    assert code == 0 and out.startswith("checkpoint #1 signed at seq 4 (hash ")
    code, out, _ = run("verify")
    assert code == 0
    assert out.strip().endswith("(head seq 4, last checkpoint at seq 4)")
    assert out.count("\n") == 1  # no progress bar when stdout is not a terminal
    code, out, _ = run("verify", "--from", "5")  # anchored at the checkpoint sealing seq 4
    assert code == 0 and "0 entries and 1 checkpoints verified" in out


def test_verify_names_the_first_bad_seq(instance: Settings) -> None:
    append(instance, 5)
    engine = make_engine(instance.audit_database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("UPDATE audit_entries SET actor_role = 'auditor' WHERE seq = 3"))
    engine.dispose()
    code, out, err = run("verify")
    assert code == 1
    assert out == ""
    assert err.startswith("audit trail TAMPERED at seq 3: entry 3 was altered")
    assert err.count("\n") == 1


def test_public_key_prints_the_verification_key(instance: Settings, tmp_path: Path) -> None:
    append(instance, 2)
    run("checkpoint")
    code, out, err = run("public-key")
    assert code == 0
    public = load_pem_public_key(out.encode())
    assert err.strip() == f"key id {key_fingerprint(public)}"  # type: ignore[arg-type]
    # A third party verifies with only the public key.
    path = tmp_path / "public.pem"
    path.write_text(out)
    code, out, _ = run("verify", "--public-key", str(path))
    assert code == 0 and "1 checkpoints" in out


def test_verify_with_someone_elses_key_fails(instance: Settings, tmp_path: Path) -> None:
    append(instance, 1)
    run("checkpoint")
    other = public_key_pem(generate_signing_key_file(tmp_path / "other.key"))
    (tmp_path / "other.pem").write_text(other)
    code, _, err = run("verify", "--public-key", str(tmp_path / "other.pem"))
    assert code == 1 and "another key" in err


@pytest.mark.parametrize("command", [["verify"], ["checkpoint"], ["public-key"]])
def test_commands_fail_in_one_line_without_the_signing_key(
    instance: Settings, command: list[str]
) -> None:
    instance.audit_signing_key_file.unlink()
    code, out, err = run(*command)
    assert code == 2
    assert out == ""
    assert err.strip().endswith("does not exist")
    assert err.strip().count("\n") == 0


def test_commands_fail_in_one_line_when_the_store_is_missing(
    instance: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/audit.sqlite3")
    for command in (["verify"], ["checkpoint"]):
        code, _, err = run(*command)
        assert code == 2, command
        assert err.strip() in {
            "Error: the audit store cannot be read",
            "Error: the audit store cannot sign a checkpoint",
        }
