"""The audit trail's pure parts: vocabulary, context, canonical encoding, keys and checkpoints."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from btam.access.actor import Actor, Role, SystemActor
from btam.audit.actions import CHANGE_ACTIONS, AuditAction, Outcome
from btam.audit.context import AuditContext, InvalidAuditEntry
from btam.audit.models import AuditEntry
from btam.audit.rehash import StoredRows
from btam.audit.signing import (
    SignedCheckpoint,
    SigningKeyError,
    SigningKeyFile,
    WitnessHead,
    add_to_key_ring,
    checkpoint_message,
    generate_signing_key_file,
    key_fingerprint,
    load_key_ring,
    load_public_key,
    load_public_keys,
    load_signing_key,
    parse_witness_line,
    public_key_pem,
    rotate_signing_key_file,
    verification_keys,
)
from btam.audit.verify import postgres_role_sql
from btam.audit.writer import ENTRY_FIELDS, AuditWriter, canonical_entry, compute_entry_hash

GOLDEN_ENTRY = {
    "seq": 1,
    "at": datetime(2025, 1, 31, 8, 15, 0, tzinfo=UTC),
    "actor_id": 7,
    "actor_role": "counselor",
    "action": "auth:login:success",
    "outcome": "allowed",
    "object_type": "user",
    "object_id": "7",
    "case_id": None,
    "school_id": 3,
    "purpose": "FERPA \u00a799.31(a)(1)",
    "request_id": "r-1",
    "client_address": "192.0.2.1",
    "prev_hash": "0" * 64,
}
GOLDEN_BYTES = (
    b'{"action":"auth:login:success","actor_id":7,"actor_role":"counselor",'
    b'"at":"2025-01-31T08:15:00.000000Z","case_id":null,"client_address":"192.0.2.1",'
    b'"object_id":"7","object_type":"user","outcome":"allowed","prev_hash":"'
    + b"0" * 64
    + b'","purpose":"FERPA \\u00a799.31(a)(1)","request_id":"r-1","school_id":3,"seq":1,"v":1}'
)
GOLDEN_HASH = "06d68bdc53428fce7ef05f048703161167f158cd4abae794166da50d143108c1"


# --- vocabulary -------------------------------------------------------------------------


def test_every_action_is_named_source_subject_action() -> None:
    for action in AuditAction:
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z_]+", action.value), action
        assert action.name == action.value.replace(":", "_").upper()


def test_the_required_actions_exist() -> None:
    required = {
        "auth:login:success", "auth:login:failure", "auth:login:locked", "auth:mfa:success",
        "auth:mfa:failure", "auth:mfa:enrolled", "auth:recovery_code:used",
        "auth:session:signed_out",
        "auth:session:expired", "account:password:changed", "account:sessions:ended",
        "admin:user:created", "admin:user:updated", "admin:user:disabled", "admin:user:enabled",
        "admin:user:mfa_reset", "admin:user:password_reset", "admin:team:created",
        "admin:team:updated", "admin:school:created", "access:route:denied",
        "audit:trail:viewed", "audit:trail:exported", "audit:checkpoint:signed",
        "system:store:initialised", "system:demo:loaded",
    }  # fmt: skip
    assert required <= {a.value for a in AuditAction}
    assert {o.value for o in Outcome} == {"allowed", "denied", "error"}


def test_change_actions_name_changes_to_the_case_store_and_nothing_else() -> None:
    assert set(CHANGE_ACTIONS) <= set(AuditAction)
    looks = {"viewed", "run", "downloaded", "exported", "followed_up"}
    refusals = {"denied", "failure", "locked", "refused", "accepted"}
    for action in AuditAction:
        source, _subject, verb = action.value.split(":")
        if verb in looks | refusals or source == "audit":
            assert action not in CHANGE_ACTIONS, action
    # What the load test left without its change: tip messages, and what triage records.
    for action in ("intake:tip_message:added", "triage:report:decided", "case:record:opened"):
        assert AuditAction(action) in CHANGE_ACTIONS


# --- context ----------------------------------------------------------------------------


def test_system_context_has_no_actor_request_or_address() -> None:
    ctx = AuditContext.system()
    assert (ctx.actor_id, ctx.actor_role, ctx.request_id, ctx.client_address) == (
        None,
        "system",
        None,
        None,
    )


def test_anonymous_tip_context_never_keeps_an_address() -> None:
    ctx = AuditContext.anonymous("abc123")
    assert ctx.actor_role == "anonymous"
    assert ctx.request_id == "abc123"
    assert ctx.client_address is None


def test_for_actor_takes_id_and_role() -> None:
    actor = Actor(
        user_id=4,
        username="ana",
        display_name="Ana",
        role=Role.COUNSELOR,
        discipline=None,
        district_wide=False,
        school_ids=frozenset({1}),
        team_ids=frozenset(),
    )
    ctx = AuditContext.for_actor(actor, request_id="r1", client_address="192.0.2.9")
    assert (ctx.actor_id, ctx.actor_role, ctx.client_address) == (4, "counselor", "192.0.2.9")
    assert AuditContext.for_actor(SystemActor()) == AuditContext.system()


def test_context_normalises_addresses() -> None:
    mapped = AuditContext(1, "staff", None, "::ffff:10.0.0.1")
    assert mapped.client_address == "10.0.0.1"
    assert AuditContext(1, "staff", None, "2001:DB8::1").client_address == "2001:db8::1"
    assert AuditContext(None, "anonymous", None, "").client_address is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"actor_role": "superuser"}, "actor_role"),
        ({"actor_role": "system", "actor_id": 3}, "actor_id"),
        ({"actor_role": "counselor", "actor_id": None}, "actor_id"),
        ({"actor_id": True}, "actor_id"),
        ({"request_id": "x" * 65}, "request_id"),
        ({"request_id": "has space"}, "request_id"),
        ({"client_address": "Jane Doe"}, "client_address"),
    ],
)
def test_context_refuses_bad_values_naming_the_field_only(kwargs: dict, field: str) -> None:
    values = {"actor_id": 1, "actor_role": "staff", "request_id": None, "client_address": None}
    values.update(kwargs)
    with pytest.raises(InvalidAuditEntry) as info:
        AuditContext(**values)
    assert field in str(info.value)
    for value in kwargs.values():
        if isinstance(value, str) and len(value) > 8:
            assert value not in str(info.value)


# --- canonical encoding -----------------------------------------------------------------


def test_canonical_encoding_is_the_documented_bytes() -> None:
    assert canonical_entry(GOLDEN_ENTRY) == GOLDEN_BYTES
    assert hashlib.sha256(GOLDEN_BYTES).hexdigest() == GOLDEN_HASH
    assert compute_entry_hash(GOLDEN_ENTRY) == GOLDEN_HASH


def test_canonical_encoding_ignores_dict_order_extra_keys_and_time_zone() -> None:
    shuffled = dict(reversed(list(GOLDEN_ENTRY.items())))
    shuffled["entry_hash"] = "ignored"
    shuffled["at"] = GOLDEN_ENTRY["at"].astimezone(timezone(timedelta(hours=-5)))
    assert canonical_entry(shuffled) == GOLDEN_BYTES


def test_canonical_encoding_refuses_naive_times_and_missing_fields() -> None:
    with pytest.raises(ValueError, match="naive"):
        canonical_entry({**GOLDEN_ENTRY, "at": datetime(2025, 1, 1)})
    incomplete = dict(GOLDEN_ENTRY)
    del incomplete["purpose"]
    with pytest.raises(KeyError):
        canonical_entry(incomplete)


field_values = {
    "seq": st.integers(1, 2**62),
    "actor_id": st.none() | st.integers(1, 2**31),
    "actor_role": st.sampled_from(["counselor", "system", "anonymous"]),
    "action": st.sampled_from([a.value for a in AuditAction]),
    "outcome": st.sampled_from([o.value for o in Outcome]),
    "object_type": st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,39}", fullmatch=True),
    "object_id": st.none() | st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True),
    "case_id": st.none() | st.integers(1, 2**31),
    "school_id": st.none() | st.integers(1, 2**31),
    "purpose": st.none() | st.text(min_size=1, max_size=120),
    "request_id": st.none() | st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    "client_address": st.none() | st.ip_addresses().map(str),
    "prev_hash": st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    "at": st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
}
entries = st.fixed_dictionaries(field_values)


@given(entries)
def test_encoding_is_ascii_json_of_exactly_the_fields(entry: dict) -> None:
    encoded = canonical_entry(entry)
    assert encoded.isascii()
    decoded = json.loads(encoded)
    assert decoded == {
        **entry,
        "at": entry["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "v": 1,
    }
    assert encoded == json.dumps(decoded, sort_keys=True, separators=(",", ":")).encode()


@given(entries, st.sampled_from(ENTRY_FIELDS), st.data())
def test_changing_any_field_changes_the_hash(entry: dict, name: str, data: st.DataObject) -> None:
    other = data.draw(field_values[name].filter(lambda v: v != entry[name]))
    assert compute_entry_hash({**entry, name: other}) != compute_entry_hash(entry)


# --- signing keys -----------------------------------------------------------------------


def test_generated_key_file_is_private_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing.key"
    key = generate_signing_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_signing_key(path).public_key() == key.public_key()


def test_generating_never_overwrites_a_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing.key"
    generate_signing_key_file(path)
    before = path.read_bytes()
    with pytest.raises(SigningKeyError, match="already exists"):
        generate_signing_key_file(path)
    assert path.read_bytes() == before


def _pem(key: Ed448PrivateKey | Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"not a key at all", "not a PEM private key"),
        (_pem(Ed448PrivateKey.generate()), "not an Ed25519 key"),
        (_pem(Ed25519PrivateKey.generate(), b"passphrase"), "encrypted"),
        (b"x" * 100_000, "too large"),
    ],
)
def test_key_loading_fails_with_one_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SigningKeyError) as info:
        load_signing_key(path)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert "PRIVATE KEY" not in text


def test_public_key_pem_round_trips_with_the_same_fingerprint(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "public.pem"
    path.write_text(public_key_pem(key))
    loaded = load_public_key(path)
    assert key_fingerprint(loaded) == key_fingerprint(key)
    assert re.fullmatch(r"[0-9a-f]{64}", key_fingerprint(key))
    path.write_text(public_key_pem(Ed25519PrivateKey.generate()))
    assert key_fingerprint(load_public_key(path)) != key_fingerprint(key)


def test_load_public_key_refuses_a_private_key(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(Ed25519PrivateKey.generate()))
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        load_public_key(path)


# --- checkpoints ------------------------------------------------------------------------


def test_checkpoint_signature_covers_seq_hash_and_time() -> None:
    key = Ed25519PrivateKey.generate()
    at = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    cp = SignedCheckpoint.sign(key, id=1, seq=10, entry_hash="a" * 64, signed_at=at)
    assert cp.signature_valid(key.public_key())
    assert checkpoint_message(10, "a" * 64, at) == (
        b"btam-audit-checkpoint-v1\n10\n" + b"a" * 64 + b"\n2025-03-01T12:00:00.123456Z\n"
    )
    for change in (
        {"seq": 11},
        {"entry_hash": "b" * 64},
        {"signed_at": at + timedelta(microseconds=1)},
        {"signature": "00" * 64},
        {"signature": "not hex"},
    ):
        forged = SignedCheckpoint(**{**cp.__dict__, **change})
        assert not forged.signature_valid(key.public_key()), change
    assert not cp.signature_valid(Ed25519PrivateKey.generate().public_key())


def test_witness_line_round_trips_and_refuses_other_shapes() -> None:
    key = Ed25519PrivateKey.generate()
    cp = SignedCheckpoint.sign(key, id=3, seq=30, entry_hash="c" * 64, signed_at=datetime.now(UTC))
    line = cp.witness_line()
    assert line.endswith("\n") and line.count("\n") == 1
    assert SignedCheckpoint.from_witness_line(line) == cp
    for bad in ("", "{}", "[1]", line.replace('"id":3', '"id":"3"'), line.replace('"seq"', '"s"')):
        with pytest.raises(ValueError):
            SignedCheckpoint.from_witness_line(bad)


def test_head_lines_are_the_documented_bytes_and_read_back_either_kind() -> None:
    head = WitnessHead(seq=12, entry_hash="e" * 64, after="d" * 64)
    line = head.witness_line()
    assert line == '{"after":"' + "d" * 64 + '","entry_hash":"' + "e" * 64 + '","seq":12}\n'
    assert parse_witness_line(line) == head
    assert parse_witness_line(line.replace(",", ", ")) == head  # any JSON spelling
    cp = SignedCheckpoint.sign(
        Ed25519PrivateKey.generate(), id=1, seq=12, entry_hash="e" * 64, signed_at=datetime.now(UTC)
    )
    assert parse_witness_line(cp.witness_line()) == cp
    for bad in (
        line.replace('"seq":12', '"seq":0'),
        line.replace('"seq":12', '"seq":"12"'),
        line.replace('"seq":12', '"seq":true'),
        line.replace("e" * 64, "E" * 64),
        line.replace("d" * 64, "d" * 63),
        line.replace('"after"', '"before"'),
        line[:-2] + ',"extra":1}\n',
    ):
        with pytest.raises(ValueError):
            parse_witness_line(bad)


# --- key ring and rotation ----------------------------------------------------------------


def test_the_key_ring_keeps_public_keys_once_each_in_order(tmp_path: Path) -> None:
    ring = tmp_path / "ring.pem"
    assert load_key_ring(ring) == []
    first, second = (Ed25519PrivateKey.generate().public_key() for _ in range(2))
    at = datetime(2026, 1, 31, 8, 15, tzinfo=UTC)
    assert add_to_key_ring(ring, first, retired_at=at)
    assert add_to_key_ring(ring, second, retired_at=at)
    assert not add_to_key_ring(ring, first, retired_at=at)  # a rerun adds nothing
    assert [key_fingerprint(k) for k in load_key_ring(ring)] == [
        key_fingerprint(first),
        key_fingerprint(second),
    ]
    assert stat.S_IMODE(ring.stat().st_mode) == 0o644
    text = ring.read_text()
    assert f"# key id {key_fingerprint(first)} retired 2026-01-31T08:15:00.000000Z" in text
    assert "PRIVATE" not in text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"# nothing here\n", "holds no PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "malformed"),
    ],
)
def test_a_key_ring_that_holds_no_usable_key_is_refused(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    ring = tmp_path / "ring.pem"
    ring.write_bytes(content)
    with pytest.raises(SigningKeyError, match=reason):
        load_public_keys(ring)


def test_rotation_retires_the_key_into_the_ring_and_keeps_no_private_copy(
    tmp_path: Path,
) -> None:
    path, ring = tmp_path / "audit-signing.key", tmp_path / "ring.pem"
    original = generate_signing_key_file(path)
    source = SigningKeyFile(path)
    retired, new = rotate_signing_key_file(path, ring, now=datetime.now(UTC))
    assert key_fingerprint(retired) == key_fingerprint(original)
    assert key_fingerprint(load_signing_key(path)) == key_fingerprint(new)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [key_fingerprint(k) for k in load_public_keys(ring)] == [key_fingerprint(original)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit-signing.key", "ring.pem"]
    # A process that loaded the key before the rotation signs with the new one after it.
    assert key_fingerprint(source.current()) == key_fingerprint(new)
    assert [key_fingerprint(k) for k in verification_keys(path, ring)] == [
        key_fingerprint(original),
        key_fingerprint(new),
    ]


# --- writer input validation (before any database work) ---------------------------------


@pytest.fixture
def offline_writer(tmp_path: Path) -> AuditWriter:
    """A writer whose store does not exist: validation must fail before touching it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'audit.sqlite3'}")
    return AuditWriter(
        sessionmaker(engine),
        signing_key=Ed25519PrivateKey.generate(),
        checkpoint_every=10,
        witness=None,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "case:narrative:leaked"},
        {"outcome": "maybe"},
        {"object_type": "Student Record"},
        {"object_type": "x" * 41},
        {"object_id": "Jane Doe"},
        {"object_id": "1" * 65},
        {"case_id": 0},
        {"case_id": True},
        {"school_id": "3"},
        {"purpose": "p" * 121},
        {"purpose": "line one\nline two"},
        {"purpose": ""},
    ],
)
def test_writer_refuses_bad_values_before_touching_the_store(
    offline_writer: AuditWriter, kwargs: dict
) -> None:
    call = {"action": AuditAction.AUTH_SESSION_SIGNED_OUT, "outcome": Outcome.ALLOWED, **kwargs}
    with pytest.raises(InvalidAuditEntry):
        offline_writer.append(AuditContext.system(), **call)


# --- role SQL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("owner", "app", 'db"; DROP TABLE x; --'),
        ("Owner", "app", "db"),
        ("owner", "app role", "db"),
        ("same", "same", "db"),
    ],
)
def test_role_sql_refuses_names_that_are_not_plain_identifiers(names: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError):
        postgres_role_sql(*names)


def test_role_sql_grants_only_insert_and_select() -> None:
    script = postgres_role_sql("btam_audit_owner", "btam_audit_app", "btam_audit")
    grants = [line for line in script.splitlines() if "GRANT" in line and "REVOKE" not in line]
    assert grants
    for line in grants:
        assert '"btam_audit_app"' in line
        assert not {"UPDATE", "DELETE", "TRUNCATE"} & set(line.replace(",", " ").split()), line


# --- re-hashing stored rows (what verify reads) -----------------------------------------


def _stored(entry: dict, at: object) -> tuple:
    return (*(at if name == "at" else entry[name] for name in ENTRY_FIELDS), "0" * 64)


@given(entries)
def test_a_stored_row_hashes_as_its_entry_on_sqlite_and_postgresql(entry: dict) -> None:
    sqlite_text = entry["at"].strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite spelling
    for dialect, at in ((sqlite.dialect(), sqlite_text), (postgresql.dialect(), entry["at"])):
        (digest,) = StoredRows(dialect).digests([_stored(entry, at)])
        assert digest == compute_entry_hash(entry)


@pytest.mark.parametrize(
    ("name", "value", "same"),
    [
        ("at", "2025-01-31T08:15:00+00:00", True),  # other spellings of the same instant
        ("at", "2025-01-31 09:15:00.000000+01:00", True),
        ("at", "2025-W05-5 08:15:00.000000", True),  # a week date: Friday 31 January
        ("at", "2025-01-31 08:15:00.000001", False),
        ("actor_id", "7", False),  # text in an integer column (SQLite keeps what it is given)
        ("actor_id", 7.0, False),
        ("actor_id", True, False),
        ("seq", "1", False),
        ("purpose", 'a "quoted" \\ back\tslash, \u00a7 and \U0001f600', False),
        ("object_id", 7, False),
    ],
)
def test_a_stored_value_of_another_type_or_spelling_hashes_as_an_orm_read_would(
    name: str, value: object, same: bool
) -> None:
    dialect = sqlite.dialect()
    at = "2025-01-31 08:15:00.000000"
    row = _stored({**GOLDEN_ENTRY, name: value}, value if name == "at" else at)
    # What verify hashed before rows were read raw: the column's own conversion, then the
    # canonical encoding of the resulting entry.
    convert = AuditEntry.__table__.c.at.type.dialect_impl(dialect).result_processor(dialect, None)
    expected = compute_entry_hash({**GOLDEN_ENTRY, name: value, "at": convert(row[1])})
    assert StoredRows(dialect).digests([row]) == [expected]
    assert (expected == GOLDEN_HASH) is same


@pytest.mark.parametrize("at", ["2025-02-30 08:15:00.000000", "2025-01-31 24:00:00.000000"])
def test_a_stored_time_that_is_no_instant_fails_as_an_orm_read_would(at: str) -> None:
    with pytest.raises(ValueError):
        StoredRows(sqlite.dialect()).digests([_stored(GOLDEN_ENTRY, at)])
