"""``btam audit verify | checkpoint | public-key`` from the operator's side."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import text

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.signing import (
    SignedCheckpoint,
    generate_signing_key_file,
    key_fingerprint,
    load_public_keys,
    load_signing_key,
    public_key_pem,
)
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


def audit_actions_with_objects(settings: Settings) -> list[tuple[str, str, str, str]]:
    engine = make_engine(settings.audit_database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, object_type, object_id, purpose FROM audit_entries ORDER BY seq")
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def load_pem_public_keys_text(text_: str) -> list[str]:
    return [block for block in text_.split("-----END PUBLIC KEY-----") if "BEGIN" in block]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(audit, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_an_empty_trail(instance: Settings) -> None:
    code, out, _ = run("verify")
    assert code == 0
    assert out == (
        "audit trail intact: 0 entries and 0 checkpoints verified (head seq 0, no checkpoint yet)\n"
        "sealed: every entry is under a signed checkpoint\n"
    )


def test_checkpoint_then_verify(instance: Settings) -> None:
    append(instance, 3)  # the first entry is sealed at once (nothing was sealed before)
    code, out, _ = run("checkpoint")
    assert code == 0 and out.startswith("checkpoint #2 signed at seq 4 (hash ")
    code, out, _ = run("verify")
    assert code == 0
    assert out.splitlines() == [
        "audit trail intact: 4 entries and 2 checkpoints verified "
        "(head seq 4, last checkpoint at seq 4)",
        "sealed: every entry is under a signed checkpoint",
    ]  # and no progress bar when stdout is not a terminal
    code, out, _ = run("verify", "--from", "5")  # anchored at the checkpoint sealing seq 4
    assert code == 0
    assert out.splitlines()[:2] == [
        "audit trail intact: 0 entries and 2 checkpoints verified "
        "(head seq 4, last checkpoint at seq 4)",
        "not checked: entries 1-4 not re-hashed, nor their witness lines read; "
        "anchored at checkpoint #2",
    ]


def test_verify_from_before_any_checkpoint_says_it_rehashed_everything(
    instance: Settings,
) -> None:
    append(instance, 3)
    code, out, _ = run("verify", "--from", "1")
    assert code == 0 and "not checked" not in out
    code, out, _ = run("verify", "--from", "2")  # checkpoint #1 seals seq 1
    assert "not checked: entry 1 not re-hashed, nor their witness lines read; " in out
    assert out.splitlines()[1].endswith("anchored at checkpoint #1")


def test_verify_reports_the_size_and_age_of_the_unsealed_tail(instance: Settings) -> None:
    append(instance, 3)
    code, out, _ = run("verify")
    assert code == 0
    last = out.splitlines()[-1]
    assert last.startswith("not under a signed checkpoint: 2 entries (seq 2-3), the oldest ")
    assert last.endswith(" old; the witness holds their heads")


def test_verify_catches_the_last_entry_cut_with_the_witness_intact(instance: Settings) -> None:
    append(instance, 5)
    engine = make_engine(instance.audit_database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
    engine.dispose()
    code, out, err = run("verify")
    assert (code, out) == (1, "")
    assert err.startswith("audit trail TAMPERED at seq 5: entries after seq 4 were removed")


def test_verify_creates_no_store_that_is_missing(
    instance: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "elsewhere" / "audit.sqlite3"
    missing.parent.mkdir()
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", f"sqlite:///{missing}")
    for command in (["verify"], ["checkpoint"], ["rotate-signing-key"], ["reconcile"]):
        code, out, err = run(*command)
        assert (code, out) == (2, ""), command
        assert err == f"Error: the audit store {missing} does not exist (btam init creates it)\n"
    assert list(missing.parent.iterdir()) == []
    assert not (tmp_path / "btam.sqlite3").exists()  # nor the case store


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


def test_verify_with_helper_processes_reports_the_same(
    instance: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However short the trail, every batch is re-hashed by the helpers.
    monkeypatch.setattr("btam.audit.verify.HELPERS_FROM", 0)
    monkeypatch.setattr("btam.audit.parallel._WALK_TAKES_UNCLAIMED", False)
    append(instance, 12)
    code, out, _ = run("verify", "--workers", "2")
    assert code == 0 and out.startswith("audit trail intact: 12 entries"), out
    engine = make_engine(instance.audit_database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("UPDATE audit_entries SET actor_role = 'auditor' WHERE seq = 9"))
    engine.dispose()
    code, _, err = run("verify", "--workers", "2")
    assert code == 1 and err.startswith("audit trail TAMPERED at seq 9: entry 9 was altered")
    assert run("verify", "--workers", "0") == (code, "", err)


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
    assert code == 0 and "2 checkpoints" in out


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


def test_commands_fail_in_one_line_when_the_store_is_not_migrated(
    instance: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", f"sqlite:///{empty}")
    for command in (["verify"], ["checkpoint"]):
        code, _, err = run(*command)
        assert code == 2, command
        assert err.strip() in {
            "Error: the audit store cannot be read",
            "Error: the audit store cannot sign a checkpoint",
        }


# --- rotating the signing key -------------------------------------------------------------


def checkpoint_keys(settings: Settings) -> list[str]:
    engine = make_engine(settings.audit_database_url)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT key_id FROM audit_checkpoints ORDER BY id")).scalars()
        found = list(keys)
    engine.dispose()
    return found


def test_rotating_the_signing_key_keeps_old_checkpoints_verifiable(
    instance: Settings, tmp_path: Path
) -> None:
    append(instance, 3)
    run("checkpoint")
    old_id = key_fingerprint(load_signing_key(instance.audit_signing_key_file))
    # A worker started before the rotation, still running after it.
    stores = open_stores(instance.database_url, instance.audit_database_url)
    running = writer_from_settings(instance, stores)

    code, out, err = run("rotate-signing-key")
    assert (code, err) == (0, "")
    new_key = load_signing_key(instance.audit_signing_key_file)
    new_id = key_fingerprint(new_key)
    assert new_id != old_id
    assert out.splitlines() == [
        f"retired key {old_id} (its public key is kept in {instance.audit_public_keys_file})",
        f"new key {new_id} signed checkpoint #3 at seq 5",
    ]
    ring = instance.audit_public_keys_file
    assert ring is not None
    assert stat.S_IMODE(ring.stat().st_mode) == 0o644
    assert stat.S_IMODE(instance.audit_signing_key_file.stat().st_mode) == 0o600
    assert [key_fingerprint(k) for k in load_public_keys(ring)] == [old_id]
    assert "PRIVATE" not in ring.read_text()
    assert sorted(
        p.name for p in instance.audit_signing_key_file.parent.glob("audit-signing*")
    ) == [
        "audit-signing.key"  # the retired private key is not kept
    ]
    assert checkpoint_keys(instance) == [old_id, old_id, new_id]
    entry = audit_actions_with_objects(instance)[-1]
    assert entry == ("audit:signing_key:rotated", "signing_key", new_id, f"retired key {old_id}")

    # The running worker signs its next checkpoint with the new key, not the retired one.
    running.checkpoint(AuditContext.system())
    stores.dispose()
    assert checkpoint_keys(instance)[-1] == new_id

    code, out, _ = run("verify")
    assert code == 0 and "4 checkpoints verified" in out
    # A third party holding only public keys: the ring and the printed current key.
    code, out, _ = run("public-key", "--all")
    assert len(load_pem_public_keys_text(out)) == 2
    (tmp_path / "all.pem").write_text(out)
    code, out, _ = run("verify", "--public-key", str(tmp_path / "all.pem"))
    assert code == 0 and "4 checkpoints verified" in out
    (tmp_path / "current.pem").write_text(public_key_pem(new_key))
    code, out, _ = run(
        "verify", "--public-key", str(ring), "--public-key", str(tmp_path / "current.pem")
    )
    assert code == 0
    # The current key alone does not vouch for what the retired key signed.
    code, _, err = run("verify", "--public-key", str(tmp_path / "current.pem"))
    assert code == 1 and "checkpoint #1" in err and "another key" in err


def test_rotating_twice_keeps_every_retired_key(instance: Settings) -> None:
    append(instance, 1)
    first = key_fingerprint(load_signing_key(instance.audit_signing_key_file))
    assert run("rotate-signing-key")[0] == 0
    second = key_fingerprint(load_signing_key(instance.audit_signing_key_file))
    assert run("rotate-signing-key")[0] == 0
    ring = instance.audit_public_keys_file
    assert ring is not None
    assert [key_fingerprint(k) for k in load_public_keys(ring)] == [first, second]
    code, out, _ = run("verify")
    assert code == 0 and "3 checkpoints verified" in out


def forge_checkpoint(settings: Settings, key: Ed25519PrivateKey) -> None:
    """An insider's checkpoint over the head, signed with ``key``, in the store and the witness."""
    engine = make_engine(settings.audit_database_url)
    with engine.begin() as conn:
        seq, entry_hash = conn.execute(
            text("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        ).one()
        last_id = conn.execute(text("SELECT max(id) FROM audit_checkpoints")).scalar_one()
        forged = SignedCheckpoint.sign(
            key, id=last_id + 1, seq=seq, entry_hash=entry_hash, signed_at=datetime.now(UTC)
        )
        conn.execute(
            text(
                "INSERT INTO audit_checkpoints (id, seq, entry_hash, signed_at, key_id, signature)"
                " VALUES (:id, :seq, :h, :at, :k, :s)"
            ),
            {
                "id": forged.id,
                "seq": forged.seq,
                "h": forged.entry_hash,
                "at": forged.signed_at,
                "k": forged.key_id,
                "s": forged.signature,
            },
        )
    engine.dispose()
    assert settings.audit_witness is not None
    with settings.audit_witness.open("a") as fh:
        fh.write(forged.witness_line())


def test_a_checkpoint_signed_by_a_stray_key_fails(instance: Settings) -> None:
    append(instance, 2)
    run("rotate-signing-key")
    append(instance, 1)
    forge_checkpoint(instance, Ed25519PrivateKey.generate())
    code, _, err = run("verify")
    assert code == 1 and "names another key" in err


def test_a_retired_key_cannot_sign_after_its_successor(instance: Settings, tmp_path: Path) -> None:
    append(instance, 2)
    retired = load_signing_key(instance.audit_signing_key_file)
    run("rotate-signing-key")
    append(instance, 1)
    # Whoever kept a copy of the retired key signs a checkpoint now: the ring knows the key,
    # but keys only move forward.
    forge_checkpoint(instance, retired)
    code, _, err = run("verify")
    assert code == 1 and "a key that an earlier checkpoint's key replaced" in err


def test_rotation_refuses_when_the_trail_cannot_record_it(
    instance: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    append(instance, 1)
    before = instance.audit_signing_key_file.read_bytes()
    monkeypatch.setenv("BTAM_AUDIT_WITNESS", str(tmp_path / "gone" / "witness.log"))
    code, out, err = run("rotate-signing-key")
    assert (code, out) == (2, "")
    assert err == (
        "Error: the audit store or its witness cannot record the rotation now; "
        "the signing key is unchanged\n"
    )
    assert instance.audit_signing_key_file.read_bytes() == before
    assert instance.audit_public_keys_file is not None
    assert not instance.audit_public_keys_file.exists()
