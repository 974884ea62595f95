"""Data keys in the case store: per scope, wrapped by the KEK, destroyable, rotated.

Real SQLite files (and PostgreSQL for the race between workers), real cryptography.
"""

from __future__ import annotations

import base64
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from btam import schema
from btam.db import make_engine
from btam.security.blind_index import PersonIndexes, choose_bits
from btam.security.crypto import (
    DecryptionFailed,
    KeyFileError,
    generate_key_file,
    load_kek,
    unwrap_data_key,
)
from btam.security.key_rotation import (
    KeyFileLock,
    add_kek_version,
    data_keys,
    live_keys_behind,
    rewrap_data_keys,
    rotation_in_progress,
    start_data_key_rotation,
)
from btam.security.keys import (
    BLIND_INDEX_SCOPE,
    DEFAULT_PLANNING_PEOPLE,
    DataKey,
    KekMismatch,
    KekSource,
    KeyDestroyed,
    KeyOutOfScope,
    KeyRing,
    KeyRingUnavailable,
    RotationBusy,
    ScopeBinding,
    UnknownDataKey,
    bind_scope,
    check_kek_matches,
    destroy_scope,
    keyring_for,
    person_indexes,
    session_info,
)
from tests.support.postgres import fresh_database


@dataclass
class Store:
    engine: Engine
    key_file: Path
    source: KekSource
    sessions: sessionmaker[Session]


def open_store(url: str, key_file: Path) -> Store:
    engine = make_engine(url)
    schema.upgrade(engine, "case")
    source = KekSource.load(key_file)
    return Store(engine, key_file, source, sessionmaker(engine, info=session_info(source)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite case store and a fresh key file."""
    generate_key_file(tmp_path / "kek.key")
    opened = open_store(f"sqlite:///{tmp_path}/case.sqlite3", tmp_path / "kek.key")
    yield opened
    opened.engine.dispose()


@pytest.fixture
def pg_store(tmp_path: Path) -> Iterator[Store]:
    """The same on a throwaway PostgreSQL database."""
    generate_key_file(tmp_path / "kek.key")
    with fresh_database("btam_keys") as url:
        opened = open_store(url, tmp_path / "kek.key")
        yield opened
        opened.engine.dispose()


def key_rows(store: Store) -> list[DataKey]:
    with store.sessions() as db:
        return list(db.execute(select(DataKey).order_by(DataKey.id)).scalars())


WHERE = {"table": "notes", "column": "text_enc", "row_id": 1}


# --------------------------------------------------------------------------- first use


def test_a_scope_gets_one_current_key_on_first_use_wrapped_for_that_scope(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        first = ring.current_cipher("case:17")
        assert ring.current_cipher("case:17") is first
        other = ring.current_cipher("case:18")
        db.commit()
    assert first.key_id != other.key_id
    rows = key_rows(store)
    assert [(r.scope, r.current_for, r.kek_version) for r in rows] == [
        ("case:17", "case:17", 1),
        ("case:18", "case:18", 1),
    ]
    assert all(r.wrapped and r.destroyed_at is None and r.retired_at is None for r in rows)
    # Bound to its purpose: the wrapped key of case 17 is no key for case 18.
    kek = store.source.kek
    assert rows[0].wrapped is not None
    unwrap_data_key(kek, rows[0].wrapped, purpose="case:17")
    with pytest.raises(DecryptionFailed):
        unwrap_data_key(kek, rows[0].wrapped, purpose="case:18")


def test_another_session_uses_the_same_key(store: Store) -> None:
    with store.sessions() as db:
        ciphertext = keyring_for(db).current_cipher("accounts").encrypt("s", **WHERE)  # type: ignore[arg-type]
        db.commit()
    with store.sessions() as db:
        ring = keyring_for(db)
        assert ring.current_cipher("accounts").decrypt_text(ciphertext, **WHERE) == "s"  # type: ignore[arg-type]
    assert len(key_rows(store)) == 1


def test_a_key_created_in_a_rolled_back_transaction_is_not_kept(store: Store) -> None:
    with store.sessions() as db:
        keyring_for(db).current_cipher("case:1")
        db.rollback()
        assert key_rows(store) == []
        # The ring forgot it with the transaction: the next use makes a key that exists.
        key_id = keyring_for(db).current_cipher("case:1").key_id
        db.commit()
    assert [r.id for r in key_rows(store)] == [key_id]


def test_losing_the_race_for_a_scopes_first_key_uses_the_winners(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker B looked before worker A committed the scope's first key, then inserts too."""
    with store.sessions() as db:
        winner = keyring_for(db).current_cipher("case:5").key_id
        db.commit()
    real_select = KeyRing._select_current
    calls = []

    def stale_first_look(self: KeyRing, scope: str) -> object:
        calls.append(scope)
        return None if len(calls) == 1 else real_select(self, scope)

    monkeypatch.setattr(KeyRing, "_select_current", stale_first_look)
    with store.sessions() as db:
        db.execute(text("SELECT 1"))  # the worker's own transaction is under way
        assert keyring_for(db).current_cipher("case:5").key_id == winner
        # The unique violation was contained in a savepoint: the transaction goes on.
        db.execute(update(DataKey).where(DataKey.id == winner).values(kek_version=1))
        db.commit()
    assert [r.id for r in key_rows(store)] == [winner]


@pytest.mark.postgres
def test_two_workers_creating_a_scopes_first_key_at_once_agree_on_one(pg_store: Store) -> None:
    ready = threading.Barrier(2)
    found: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with pg_store.sessions() as db:
                db.execute(text("SELECT 1"))
                ready.wait(timeout=30)
                found.append(keyring_for(db).current_cipher("case:9").key_id)
                db.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(found) == 2 and found[0] == found[1]
    assert [r.scope for r in key_rows(pg_store)] == ["case:9"]


def test_scopes_are_checked(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        for bad in ("", "Case:1", "case:", "case:1:2", "case 1", "x" * 40):
            with pytest.raises(ValueError):
                ring.current_cipher(bad)
        with pytest.raises(ValueError, match="blind-index"):
            ring.current_cipher(BLIND_INDEX_SCOPE)


def test_a_session_without_the_kek_has_no_key_ring(store: Store) -> None:
    with Session(store.engine) as db, pytest.raises(KeyRingUnavailable):
        keyring_for(db)


def test_an_unknown_key_id_is_reported_as_such(store: Store) -> None:
    with store.sessions() as db, pytest.raises(UnknownDataKey):
        keyring_for(db).cipher_for(4242, scope="case:1")


# --------------------------------------------------------------------------- destruction


def test_destroying_a_scope_erases_its_keys_and_spares_the_others(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        doomed = ring.current_cipher("case:1")
        kept = ring.current_cipher("case:2")
        doomed_text = doomed.encrypt("gone", **WHERE)  # type: ignore[arg-type]
        kept_text = kept.encrypt("kept", **WHERE)  # type: ignore[arg-type]
        db.commit()
    with store.sessions() as db:
        assert destroy_scope(db, "case:1") == 1
        db.commit()
    row = next(r for r in key_rows(store) if r.scope == "case:1")
    assert row.wrapped is None and row.destroyed_at is not None
    with store.sessions() as db:
        ring = keyring_for(db)
        with pytest.raises(KeyDestroyed) as caught:
            ring.cipher_for(doomed.key_id, scope="case:1")
        assert "case:1" in str(caught.value) and caught.value.key_id == doomed.key_id
        # Nothing new may be encrypted under a destroyed scope either.
        with pytest.raises(KeyDestroyed):
            ring.current_cipher("case:1")
        kept_cipher = ring.cipher_for(kept.key_id, scope="case:2")
        assert kept_cipher.decrypt_text(kept_text, **WHERE) == "kept"  # type: ignore[arg-type]
    assert doomed_text  # the ciphertext still exists; nothing can open it


def test_a_destruction_by_another_worker_holds_for_the_next_transaction(store: Store) -> None:
    with store.sessions() as worker:
        key_id = keyring_for(worker).current_cipher("case:3").key_id
        worker.commit()
        # Unwrapped and cached in this transaction.
        keyring_for(worker).cipher_for(key_id, scope="case:3")
        with store.sessions() as other:
            destroy_scope(other, "case:3")
            other.commit()
        worker.rollback()  # the request ends; the next one must not use the cached key
        with pytest.raises(KeyDestroyed):
            keyring_for(worker).cipher_for(key_id, scope="case:3")


def test_a_key_decrypts_for_its_own_scope_only(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        case_1 = ring.current_cipher("case:1")
        ring.current_cipher("case:2")
        ciphertext = case_1.encrypt("case 1 only", **WHERE)  # type: ignore[arg-type]
        db.commit()
    # Fresh ring and cached ring alike: the bytes would authenticate, the scope is wrong.
    with store.sessions() as db:
        ring = keyring_for(db)
        with pytest.raises(KeyOutOfScope) as caught:
            ring.cipher_for(case_1.key_id, scope="case:2")
        assert caught.value.key_id == case_1.key_id and caught.value.scope == "case:2"
        opened = ring.cipher_for(case_1.key_id, scope="case:1")
        assert opened.decrypt_text(ciphertext, **WHERE) == "case 1 only"  # type: ignore[arg-type]
        for scope in ("case:2", "person:1", "accounts"):
            with pytest.raises(KeyOutOfScope):
                ring.cipher_for(case_1.key_id, scope=scope)


def test_destroying_a_scope_destroys_the_scopes_bound_to_it(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        for scope in ("case:1", "report:7", "report:8", "report:9", "case:2"):
            ring.current_cipher(scope)
        bind_scope(db, "report:7", to="case:1")
        bind_scope(db, "report:8", to="case:1")
        bind_scope(db, "report:8", to="case:1")  # again: nothing changes
        bind_scope(db, "report:9", to="case:2")
        db.commit()
    with store.sessions() as db:
        assert destroy_scope(db, "case:1") == 3
        db.commit()
    states = {r.scope: r.destroyed_at is not None for r in key_rows(store)}
    assert states == {
        "case:1": True,
        "report:7": True,
        "report:8": True,
        "report:9": False,
        "case:2": False,
    }
    with store.sessions() as db:
        with pytest.raises(KeyDestroyed):
            keyring_for(db).current_cipher("report:7")
        assert len(db.execute(select(ScopeBinding)).scalars().all()) == 3


def test_a_scope_is_bound_to_one_other_field_scope(store: Store) -> None:
    with store.sessions() as db:
        bind_scope(db, "report:7", to="case:1")
        for scope, to in (
            ("report:7", "case:2"),  # a report belongs to one case
            ("case:1", "case:1"),
            ("report:8", BLIND_INDEX_SCOPE),
            (BLIND_INDEX_SCOPE, "case:1"),
            ("Report 8", "case:1"),
        ):
            with pytest.raises(ValueError):
                bind_scope(db, scope, to=to)


def test_destroying_a_scope_that_never_had_a_key_forbids_one(store: Store) -> None:
    with store.sessions() as db:
        assert destroy_scope(db, "person:8") == 0
        db.commit()
    with store.sessions() as db, pytest.raises(KeyDestroyed):
        keyring_for(db).current_cipher("person:8")


def test_the_blind_index_key_cannot_be_destroyed(store: Store) -> None:
    with store.sessions() as db, pytest.raises(ValueError):
        destroy_scope(db, BLIND_INDEX_SCOPE)


# --------------------------------------------------------------------------- blind indexes


def test_person_indexes_use_a_blind_index_data_key_of_their_own(store: Store) -> None:
    with store.sessions() as db:
        field_key = keyring_for(db).current_cipher("person:1").key_id
        indexes = person_indexes(db)
        first = indexes.student_id_index("S-1234")
        db.commit()
    rows = {r.scope: r for r in key_rows(store)}
    assert set(rows) == {"person:1", BLIND_INDEX_SCOPE}
    assert rows[BLIND_INDEX_SCOPE].id != field_key
    assert rows[BLIND_INDEX_SCOPE].wrapped is not None
    root = unwrap_data_key(
        store.source.kek, rows[BLIND_INDEX_SCOPE].wrapped, purpose=BLIND_INDEX_SCOPE
    )
    bits = choose_bits(DEFAULT_PLANNING_PEOPLE, indexes=2)
    expected = PersonIndexes(root, student_id_bits=bits, name_dob_bits=bits)
    assert first == expected.student_id_index("s-1234 ")
    assert len(first) == (bits + 3) // 4
    with store.sessions() as db:  # another worker finds the same index
        assert person_indexes(db).student_id_index("S-1234") == first
        # The root key is no field key: a ciphertext naming its id is not decrypted with it.
        with pytest.raises(UnknownDataKey):
            keyring_for(db).cipher_for(rows[BLIND_INDEX_SCOPE].id, scope=BLIND_INDEX_SCOPE)


def test_blind_indexes_survive_a_data_key_rotation(store: Store) -> None:
    with store.sessions() as db:
        before = person_indexes(db).student_id_index("S-77")
        keyring_for(db).current_cipher("person:1")
        db.commit()
    assert start_data_key_rotation(store.sessions, store.source) == 1  # person:1 only
    with store.sessions() as db:
        assert person_indexes(db).student_id_index("S-77") == before


# --------------------------------------------------------------------------- the key file


def test_adding_a_kek_version_keeps_the_old_ones_and_the_file_private(store: Store) -> None:
    original = store.key_file.read_text()
    with store.key_file.open("a") as handle:
        handle.write("# a comment the operator wrote\n")
    with KeyFileLock(store.key_file) as lock:
        assert add_kek_version(lock) == 2
    content = store.key_file.read_text()
    assert content.startswith(original + "# a comment the operator wrote\nbtam-kek-v1:2:")
    kek = load_kek(store.key_file)
    assert kek.versions == (1, 2) and kek.current_version == 2
    assert stat.S_IMODE(store.key_file.stat().st_mode) == 0o600
    assert not list(store.key_file.parent.glob(".kek.key.*"))


def test_a_second_rotation_is_refused_while_one_holds_the_lock(store: Store) -> None:
    with KeyFileLock(store.key_file), pytest.raises(RotationBusy, match="another key rotation"):
        KeyFileLock(store.key_file).__enter__()
    with KeyFileLock(store.key_file) as lock:  # free again afterwards
        assert add_kek_version(lock) == 2


def test_adding_a_version_needs_the_lock(store: Store) -> None:
    with pytest.raises(RotationBusy):
        add_kek_version(KeyFileLock(store.key_file))


def test_a_bad_key_file_is_not_rewritten(store: Store) -> None:
    os.chmod(store.key_file, 0o644)
    with KeyFileLock(store.key_file) as lock, pytest.raises(KeyFileError, match="chmod 600"):
        add_kek_version(lock)


def test_a_running_worker_picks_up_a_version_added_to_the_file(store: Store) -> None:
    with store.sessions() as db:
        key_id = keyring_for(db).current_cipher("accounts").key_id
        db.commit()
    with KeyFileLock(store.key_file) as lock:
        add_kek_version(lock)
    rotated = KekSource.load(store.key_file)
    assert rewrap_data_keys(store.sessions, rotated).rewrapped == 1
    # ``store.source`` was loaded before the rotation, like a worker started earlier.
    assert store.source.kek.versions == (1,)
    with store.sessions() as db:
        keyring_for(db).cipher_for(key_id, scope="accounts")
    assert store.source.kek.versions == (1, 2)


# --------------------------------------------------------------------------- start-up check


def test_the_right_key_file_matches_the_store(store: Store) -> None:
    check_kek_matches(store.sessions, store.source)  # no keys yet: nothing to check
    with store.sessions() as db:
        keyring_for(db).current_cipher("accounts")
        db.commit()
    check_kek_matches(store.sessions, store.source)


def test_another_key_file_does_not_match(store: Store, tmp_path: Path) -> None:
    with store.sessions() as db:
        keyring_for(db).current_cipher("accounts")
        db.commit()
    generate_key_file(tmp_path / "other.key")
    with pytest.raises(KekMismatch, match="cannot unwrap data key"):
        check_kek_matches(store.sessions, KekSource.load(tmp_path / "other.key"))


def test_a_key_file_missing_the_version_in_use_does_not_match(store: Store, tmp_path: Path) -> None:
    with store.sessions() as db:
        keyring_for(db).current_cipher("accounts")
        db.commit()
    only_v2 = tmp_path / "v2.key"
    fd = os.open(only_v2, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"btam-kek-v1:2:{base64.b64encode(os.urandom(32)).decode()}\n")
    with pytest.raises(KekMismatch, match="KEK version 1, which key file"):
        check_kek_matches(store.sessions, KekSource.load(only_v2))


def test_an_unmigrated_store_is_not_checked(tmp_path: Path) -> None:
    generate_key_file(tmp_path / "kek.key")
    engine = make_engine(f"sqlite:///{tmp_path}/empty.sqlite3")
    try:
        check_kek_matches(sessionmaker(engine), KekSource.load(tmp_path / "kek.key"))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- rotation


def test_rewrapping_moves_every_live_key_and_is_resumable(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        for scope in ("accounts", "case:1", "case:2"):
            ring.current_cipher(scope)
        db.commit()
    with store.sessions() as db:
        destroy_scope(db, "case:2")
        db.commit()
    with KeyFileLock(store.key_file) as lock:
        add_kek_version(lock)
    source = KekSource.load(store.key_file)
    assert live_keys_behind(store.sessions, 2) == 2
    seen: list[tuple[str, int, int]] = []
    result = rewrap_data_keys(
        store.sessions, source, batch_size=1, progress=lambda *a: seen.append(a)
    )
    assert (result.version, result.rewrapped, result.failed) == (2, 2, 0)
    assert seen[-1] == ("Re-wrapping data keys", 2, 2)
    versions = {r.scope: (r.kek_version, r.wrapped is None) for r in key_rows(store)}
    assert versions == {"accounts": (2, False), "case:1": (2, False), "case:2": (1, True)}
    assert rewrap_data_keys(store.sessions, source).rewrapped == 0  # nothing left to do
    # The file's first version can go once nothing needs it; the store then needs only v2.
    check_kek_matches(store.sessions, source)


def test_a_data_key_rotation_supersedes_each_live_scope_once(store: Store) -> None:
    with store.sessions() as db:
        ring = keyring_for(db)
        for scope in ("accounts", "case:1", "case:2"):
            ring.current_cipher(scope)
        person_indexes(db)
        destroy_scope(db, "case:2")
        db.commit()
    assert not rotation_in_progress(store.sessions)
    assert start_data_key_rotation(store.sessions, store.source) == 2
    assert rotation_in_progress(store.sessions)
    states = sorted((k.scope, k.state) for k in data_keys(store.sessions))
    assert states == [
        ("accounts", "current"),
        ("accounts", "superseded"),
        (BLIND_INDEX_SCOPE, "current"),
        ("case:1", "current"),
        ("case:1", "superseded"),
        ("case:2", "destroyed"),
    ]
