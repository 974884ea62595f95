"""Encrypted fields declared once on a model: plaintext in the code, ciphertext in the store.

The models here live on a metadata of their own, so the case store's registry (what
``btam keys`` scans) never sees them. Their notes are per case, like the real case notes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Integer, LargeBinary, MetaData, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from btam import schema
from btam.accounts.models import User
from btam.db import make_engine
from btam.security.crypto import DecryptionFailed, generate_key_file, peek_key_id
from btam.security.fields import EncryptedText, encrypted_fields, encrypted_text
from btam.security.key_rotation import retire_unused_keys, start_data_key_rotation
from btam.security.keys import (
    KekSource,
    KeyDestroyed,
    KeyRingUnavailable,
    destroy_scope,
    keyring_for,
    session_info,
)
from btam.security.reencryption import field_usage, reencrypt_fields

SECRET = "Told the counselor he would bring his father's gun on Friday"


class Base(DeclarativeBase):
    metadata = MetaData()


class Note(Base):
    __tablename__ = "sample_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer)
    text = encrypted_text("text", scope=lambda note: f"case:{note.case_id}")
    summary = encrypted_text("summary", scope=lambda note: f"case:{note.case_id}")


@dataclass
class Store:
    engine: Engine
    source: KekSource
    sessions: sessionmaker[Session]

    def raw(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    generate_key_file(tmp_path / "kek.key")
    engine = make_engine(f"sqlite:///{tmp_path}/case.sqlite3")
    schema.upgrade(engine, "case")  # data_keys
    Base.metadata.create_all(engine)
    source = KekSource.load(tmp_path / "kek.key")
    yield Store(engine, source, sessionmaker(engine, info=session_info(source)))
    engine.dispose()


def add_note(store: Store, case_id: int = 1, **values: str | None) -> int:
    with store.sessions() as db:
        note = Note(case_id=case_id, **values)
        db.add(note)
        db.commit()
        return note.id


def read_note(store: Store, note_id: int) -> tuple[str | None, str | None]:
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        return note.text, note.summary


# --------------------------------------------------------------------------- declaration


def test_one_declaration_maps_an_enc_column_and_a_plaintext_attribute() -> None:
    columns = Note.__table__.c
    assert "text" not in columns and "summary" not in columns
    assert isinstance(columns["text_enc"].type, LargeBinary)
    assert columns["text_enc"].nullable
    assert isinstance(Note.text, EncryptedText)
    assert {(f.owner, f.column) for f in encrypted_fields(Base.metadata)} == {
        (Note, "text_enc"),
        (Note, "summary_enc"),
    }


def test_the_case_store_registry_holds_the_mfa_secrets_and_nothing_of_other_stores() -> None:
    assert {(f.owner, f.name, f.column) for f in encrypted_fields()} >= {
        (User, "mfa_secret", "mfa_secret_enc"),
        (User, "mfa_pending_secret", "mfa_pending_secret_enc"),
    }
    assert all(f.owner is not Note for f in encrypted_fields())


def test_a_declaration_must_name_the_plaintext_attribute_it_is_assigned_to() -> None:
    with pytest.raises(ValueError):
        encrypted_text("text_enc", scope="accounts")
    # Python 3.11 wraps errors of __set_name__ in a RuntimeError; 3.12 raises them as they are.
    with pytest.raises((TypeError, RuntimeError)) as caught:

        class _Wrong(Base):
            __tablename__ = "wrong"
            id: Mapped[int] = mapped_column(primary_key=True)
            body = encrypted_text("text", scope="accounts")

    assert "assigned to 'body'" in f"{caught.value} {caught.value.__cause__}"


# --------------------------------------------------------------------------- round trip


def test_a_value_round_trips_and_only_ciphertext_is_stored(store: Store) -> None:
    note_id = add_note(store, text=SECRET, summary="short")
    assert read_note(store, note_id) == (SECRET, "short")
    (stored,) = store.raw("SELECT text_enc FROM sample_notes WHERE id = :id", id=note_id)
    ciphertext = bytes(stored[0])
    assert SECRET.encode() not in ciphertext
    assert ciphertext[0] == 1 and len(ciphertext) == len(SECRET.encode()) + 33
    # Bound to (table, _enc column, row id), under the case's own key.
    with store.sessions() as db:
        cipher = keyring_for(db).current_cipher("case:1")
        assert peek_key_id(ciphertext) == cipher.key_id
        assert (
            cipher.decrypt_text(ciphertext, table="sample_notes", column="text_enc", row_id=note_id)
            == SECRET
        )


def test_a_new_row_has_its_ciphertext_in_the_same_flush(store: Store) -> None:
    with store.sessions() as db:
        note = Note(case_id=1, text=SECRET)
        db.add(note)
        db.flush()
        # The INSERT wrote NULL; the UPDATE with the row id followed within the flush.
        stored = db.execute(text("SELECT text_enc FROM sample_notes")).scalar_one()
        assert stored is not None and SECRET.encode() not in bytes(stored)
        assert note.text == SECRET


def test_none_is_null_and_the_empty_string_is_a_value(store: Store) -> None:
    note_id = add_note(store, text="", summary=None)
    assert read_note(store, note_id) == ("", None)
    (row,) = store.raw("SELECT text_enc, summary_enc FROM sample_notes")
    assert row[0] is not None and row[1] is None


def test_changing_only_an_encrypted_field_is_written(store: Store) -> None:
    note_id = add_note(store, text="first")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        note.text = "second"
        assert note.text == "second"  # visible before the flush
        db.commit()
    assert read_note(store, note_id) == ("second", None)


def test_setting_none_clears_the_stored_value(store: Store) -> None:
    note_id = add_note(store, text="first", summary="also")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        note.summary = None
        db.commit()
    assert read_note(store, note_id) == ("first", None)
    assert store.raw("SELECT summary_enc FROM sample_notes")[0][0] is None


def test_copying_one_field_to_another_reencrypts_it_for_its_own_column(store: Store) -> None:
    note_id = add_note(store, text="moved")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        note.summary = note.text
        note.text = None
        db.commit()
    assert read_note(store, note_id) == (None, "moved")


def test_a_rollback_discards_an_unflushed_value(store: Store) -> None:
    note_id = add_note(store, text="kept")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        note.text = "abandoned"
        db.rollback()
        assert note.text == "kept"
        db.commit()
    assert read_note(store, note_id) == ("kept", None)


def test_the_scope_is_read_at_flush_time_from_the_final_row(store: Store) -> None:
    with store.sessions() as db:
        note = Note(case_id=1, text=SECRET)
        note.case_id = 2  # moved before it was ever stored
        db.add(note)
        db.commit()
        case_2 = keyring_for(db).current_cipher("case:2").key_id
    stored = store.raw("SELECT text_enc FROM sample_notes")[0][0]
    assert peek_key_id(bytes(stored)) == case_2


def test_values_that_are_not_text_are_refused_at_assignment(store: Store) -> None:
    note = Note(case_id=1)
    with pytest.raises(TypeError):
        note.text = b"bytes"  # type: ignore[assignment]
    with pytest.raises(ValueError) as caught:
        note.text = "lone \ud800 surrogate"
    assert "surrogate" not in str(caught.value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(max_size=500)
    | st.integers(min_value=0, max_value=200_000).map(lambda n: ("a€𝄞\n" * (n // 4 + 1))[:n])
)
def test_any_text_round_trips_through_the_model(store: Store, value: str) -> None:
    note_id = add_note(store, text=value)
    assert read_note(store, note_id)[0] == value


# --------------------------------------------------------------------------- failures


def test_a_ciphertext_copied_to_another_row_or_column_fails(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    source_id = add_note(store, text=SECRET, summary="x")
    target_id = add_note(store, text="other", summary="y")
    store.raw(
        "UPDATE sample_notes SET text_enc = "
        "(SELECT text_enc FROM sample_notes WHERE id = :src) WHERE id = :dst",
        src=source_id,
        dst=target_id,
    )
    store.raw("UPDATE sample_notes SET summary_enc = text_enc WHERE id = :src", src=source_id)
    caplog.set_level(logging.DEBUG)
    with store.sessions() as db:
        moved = db.get(Note, target_id)
        swapped = db.get(Note, source_id)
        assert moved is not None and swapped is not None
        with pytest.raises(DecryptionFailed) as row_error:
            _ = moved.text
        with pytest.raises(DecryptionFailed):
            _ = swapped.summary
        assert swapped.text == SECRET  # the original stays readable
    assert f"sample_notes.text_enc row {target_id}" in str(row_error.value)
    assert "failed authentication: sample_notes.summary_enc row" in caplog.text
    assert SECRET not in caplog.text and SECRET not in str(row_error.value)


def test_a_value_moved_into_another_cases_row_is_refused_even_where_it_authenticates(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Someone with write access to the store moves case 1's note into case 2: table, column
    # and row id are unchanged, so the bytes authenticate; the key is case 1's, not case 2's.
    moved = add_note(store, case_id=1, text=SECRET)
    own = add_note(store, case_id=2, text="case two's own note")
    store.raw("UPDATE sample_notes SET case_id = 2 WHERE id = :i", i=moved)
    with store.sessions() as db:
        note = db.get(Note, moved)
        assert note is not None
        with pytest.raises(DecryptionFailed) as caught:
            _ = note.text
    assert caught.value.reason == "a data key of another scope"
    assert f"sample_notes.text_enc row {moved} (a data key of another scope)" in caplog.text
    # A ciphertext made under case 1's key for case 2's own row, pasted in: refused too.
    with store.sessions() as db:
        forged = (
            keyring_for(db)
            .current_cipher("case:1")
            .encrypt(SECRET, table="sample_notes", column="text_enc", row_id=own)
        )
    store.raw("UPDATE sample_notes SET text_enc = :v WHERE id = :i", v=forged, i=own)
    with pytest.raises(DecryptionFailed):
        read_note(store, own)
    assert SECRET not in caplog.text
    # Back in its own case, the note reads again: nothing was lost, only refused.
    store.raw("UPDATE sample_notes SET case_id = 1 WHERE id = :i", i=moved)
    assert read_note(store, moved)[0] == SECRET


def test_a_row_moved_by_the_app_is_read_first_and_reencrypted_under_its_new_scope(
    store: Store,
) -> None:
    note_id = add_note(store, case_id=1, text=SECRET)
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        text_of = note.text
        note.case_id = 2
        note.text = text_of
        db.commit()
        case_2 = keyring_for(db).current_cipher("case:2").key_id
    stored = store.raw("SELECT text_enc FROM sample_notes")[0][0]
    assert peek_key_id(bytes(stored)) == case_2 and read_note(store, note_id)[0] == SECRET


def test_a_tampered_ciphertext_fails_and_never_yields_partial_text(store: Store) -> None:
    note_id = add_note(store, text=SECRET)
    stored = bytearray(store.raw("SELECT text_enc FROM sample_notes")[0][0])
    stored[-1] ^= 1
    store.raw("UPDATE sample_notes SET text_enc = :v", v=bytes(stored))
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        with pytest.raises(DecryptionFailed):
            _ = note.text
    store.raw("UPDATE sample_notes SET text_enc = :v", v=b"\x07garbage")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        with pytest.raises(DecryptionFailed, match="unsupported"):
            _ = note.text


def test_a_session_without_the_kek_writes_nothing(store: Store) -> None:
    with Session(store.engine) as db:
        db.add(Note(case_id=1, text=SECRET))
        with pytest.raises(KeyRingUnavailable):
            db.commit()
    assert store.raw("SELECT count(*) FROM sample_notes")[0][0] == 0


def test_a_row_outside_a_session_decrypts_only_what_was_read_inside(store: Store) -> None:
    note_id = add_note(store, text="read", summary="unread")
    with store.sessions() as db:
        note = db.get(Note, note_id)
        assert note is not None
        assert note.text == "read"
    assert note.text == "read"
    with pytest.raises(KeyRingUnavailable):
        _ = note.summary


# --------------------------------------------------------------------------- destruction


def test_a_destroyed_case_is_unreadable_and_every_other_case_intact(store: Store) -> None:
    doomed = [add_note(store, case_id=1, text=f"case one {n}") for n in range(3)]
    kept = [add_note(store, case_id=2, text=f"case two {n}") for n in range(3)]
    with store.sessions() as db:
        assert destroy_scope(db, "case:1") == 1
        db.commit()
    for note_id in doomed:
        with pytest.raises(KeyDestroyed):
            read_note(store, note_id)
    assert [read_note(store, n)[0] for n in kept] == [f"case two {n}" for n in range(3)]
    with pytest.raises(KeyDestroyed):
        add_note(store, case_id=1, text="after the destruction")
    assert store.raw("SELECT count(*) FROM sample_notes WHERE case_id = 1")[0][0] == 3


# --------------------------------------------------------------------------- re-encryption


def test_reencryption_moves_every_field_to_its_scopes_new_key(store: Store) -> None:
    ids = [add_note(store, case_id=n % 3, text=f"t{n}", summary=f"s{n}") for n in range(7)]
    before = field_usage(store.sessions, metadata=Base.metadata)
    assert before.total == 14 and len(before.by_key) == 3
    assert start_data_key_rotation(store.sessions, store.source) == 3
    seen: list[tuple[str, int, int]] = []
    result = reencrypt_fields(
        store.sessions,
        metadata=Base.metadata,
        batch_size=3,
        progress=lambda *a: seen.append(a),
    )
    assert (result.moved, result.conflicts, result.failed, result.complete) == (14, 0, 0, True)
    assert result.passes == 2 and result.checked == 14
    assert seen[0][0] == "Re-encrypting fields" and seen[-1][1:] == (14, 14)
    after = field_usage(store.sessions, metadata=Base.metadata)
    assert set(after.by_key).isdisjoint(before.by_key) and after.total == 14
    assert retire_unused_keys(store.sessions, result.in_use) == 3
    assert [read_note(store, i) for i in ids] == [(f"t{n}", f"s{n}") for n in range(7)]


def test_reencryption_never_overwrites_a_value_written_meanwhile(store: Store) -> None:
    ids = [add_note(store, text=f"old {n}") for n in range(4)]
    start_data_key_rotation(store.sessions, store.source)

    def app_writes(table: str, row_ids: Any) -> None:
        assert table == "sample_notes"
        with store.sessions() as db:
            note = db.get(Note, row_ids[0])
            assert note is not None
            note.text = f"new {row_ids[0]}"
            db.commit()

    result = reencrypt_fields(
        store.sessions, metadata=Base.metadata, batch_size=2, after_read=app_writes
    )
    assert result.conflicts == 2 and result.complete
    texts = [read_note(store, i)[0] for i in ids]
    assert texts == [f"new {ids[0]}", "old 1", f"new {ids[2]}", "old 3"]


def test_a_batch_written_at_once_keeps_each_field_the_app_changed_meanwhile(
    store: Store,
) -> None:
    ids = [add_note(store, case_id=n % 2, text=f"t{n}", summary=f"s{n}") for n in range(6)]
    start_data_key_rotation(store.sessions, store.source)
    changed: list[int] = []

    def app_writes(table: str, row_ids: Any) -> None:
        # One column of the batch's second row, the other left: one field of the batch is lost.
        if not changed:
            changed.append(row_ids[1])
            with store.sessions() as db:
                note = db.get(Note, row_ids[1])
                assert note is not None
                note.summary = "changed meanwhile"
                db.commit()

    result = reencrypt_fields(
        store.sessions, metadata=Base.metadata, batch_size=3, after_read=app_writes
    )
    # 12 fields, one lost to the app (under the new key already, so nothing to move again).
    assert (result.moved, result.conflicts, result.complete) == (11, 1, True)
    assert sum(result.in_use.values()) == 12
    expected = [(f"t{n}", f"s{n}") for n in range(6)]
    expected[ids.index(changed[0])] = (f"t{ids.index(changed[0])}", "changed meanwhile")
    assert [read_note(store, i) for i in ids] == expected
    # Every old key is unused now; none in use is retired.
    assert retire_unused_keys(store.sessions, result.in_use) == 2
    assert [read_note(store, i) for i in ids] == expected


def test_fields_under_a_destroyed_key_are_left_alone(store: Store) -> None:
    add_note(store, case_id=1, text="gone")
    kept = add_note(store, case_id=2, text="kept")
    with store.sessions() as db:
        destroy_scope(db, "case:1")
        db.commit()
    start_data_key_rotation(store.sessions, store.source)
    result = reencrypt_fields(store.sessions, metadata=Base.metadata)
    assert (result.moved, result.destroyed, result.complete) == (1, 2, True)
    assert read_note(store, kept)[0] == "kept"


def test_a_key_that_cannot_be_unwrapped_fails_its_fields_and_the_batch_moves_the_rest(
    store: Store,
) -> None:
    ids = {n: add_note(store, case_id=n % 3, text=f"t{n}") for n in range(6)}
    stored = store.raw("SELECT text_enc FROM sample_notes WHERE id = :i", i=ids[1])[0][0]
    broken = peek_key_id(bytes(stored))  # case 1's key
    start_data_key_rotation(store.sessions, store.source)
    wrapped = bytearray(store.raw("SELECT wrapped FROM data_keys WHERE id = :i", i=broken)[0][0])
    wrapped[-1] ^= 1
    store.raw("UPDATE data_keys SET wrapped = :w WHERE id = :i", w=bytes(wrapped), i=broken)
    result = reencrypt_fields(store.sessions, metadata=Base.metadata)
    # Case 1's two notes are counted in each pass and keep their key; one batch moved the rest.
    assert (result.moved, result.failed, result.complete) == (4, 4, True)
    assert result.in_use[broken] == 2
    assert [read_note(store, ids[n])[0] for n in (0, 2, 3, 5)] == ["t0", "t2", "t3", "t5"]


def test_reencryption_does_not_launder_a_value_moved_in_from_another_case(store: Store) -> None:
    moved = add_note(store, case_id=1, text=SECRET)
    add_note(store, case_id=2, text="case two")
    store.raw("UPDATE sample_notes SET case_id = 2 WHERE id = :i", i=moved)
    start_data_key_rotation(store.sessions, store.source)
    result = reencrypt_fields(store.sessions, metadata=Base.metadata)
    # Left under case 1's key, refused in case 2 as before, and case 1's key kept in use.
    assert (result.moved, result.failed) == (1, 2)  # one failure per pass
    with pytest.raises(DecryptionFailed):
        read_note(store, moved)
    stored = store.raw("SELECT text_enc FROM sample_notes WHERE id = :i", i=moved)[0][0]
    assert result.in_use[peek_key_id(bytes(stored))] == 1


def test_a_field_that_fails_authentication_is_counted_and_keeps_its_key(store: Store) -> None:
    bad = add_note(store, text="tampered")
    add_note(store, text="fine")
    stored = bytearray(store.raw("SELECT text_enc FROM sample_notes WHERE id = :i", i=bad)[0][0])
    stored[-1] ^= 1
    store.raw("UPDATE sample_notes SET text_enc = :v WHERE id = :i", v=bytes(stored), i=bad)
    old_key = peek_key_id(bytes(stored))
    start_data_key_rotation(store.sessions, store.source)
    result = reencrypt_fields(store.sessions, metadata=Base.metadata)
    assert (result.moved, result.failed) == (1, 2)  # one per pass
    assert result.in_use[old_key] == 1
    assert retire_unused_keys(store.sessions, result.in_use) == 0
