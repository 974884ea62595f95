"""Ed25519 keys that sign audit checkpoints, the signed checkpoint, and the witness file.

This module is the whole contract a third party needs to check checkpoints with the keys
printed by ``btam audit public-key --all``:

* Key id: lowercase hex SHA-256 of the raw 32-byte Ed25519 public key.
* Timestamps: ISO 8601 in UTC with microseconds and ``Z`` (``2025-01-31T08:15:00.000000Z``).
* Signed message (ASCII)::

      btam-audit-checkpoint-v1\\n<seq>\\n<entry_hash>\\n<signed_at>\\n

  so a signature vouches for the head of the chain and the time it was sealed, and cannot
  be replayed as a signature over anything else this key might sign.
* Signature: lowercase hex of the 64-byte Ed25519 signature.
* Key ring: the public keys of retired signing keys, PEM blocks one after the other in one
  file (``audit_public_keys_file``), each after a ``#`` line naming its key id and when it was
  retired. A checkpoint is valid when its key id names a key of the ring or the current key
  and that key's signature verifies; keys only move forward (a checkpoint signed by a key
  that an earlier checkpoint's key replaced is refused).

Witness file: one JSON object per line (sorted keys, no spaces, ``\\n``-terminated), appended
while the append lock is held and before the database commits, so lines are in commit order:

* **head line**, written by every append's transaction, for the newest entry it commits::

      {"after":"<entry_hash of the head before>","entry_hash":"<hash>","seq":<seq>}

  It is not signed: it pins the chain's head outside the database at the moment it is
  committed, so with the witness intact no committed entry can be cut, rewritten or added to
  unseen. ``after`` is the previous head line's ``entry_hash`` (64 zeros before the first
  entry), so the head lines form a chain of their own and a line removed from the witness
  shows.
* **checkpoint line**, written when a checkpoint is signed, after the head line it seals::

      {"entry_hash":"<hash>","id":<id>,"key_id":"<key id>","seq":<seq>,
       "signature":"<hex>","signed_at":"<timestamp>"}

  (one line in the file). Witness files written before head lines existed hold only
  checkpoint lines; they are read the same way, and entries older than the first head line
  are then sealed by checkpoints alone.

The signing key is not the field-encryption key: it only ever signs checkpoints.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

CHECKPOINT_DOMAIN = "btam-audit-checkpoint-v1"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# A PEM Ed25519 key is ~120 bytes; refusing big files stops a mistyped path (a database, a
# log) from being read into memory.
_KEY_FILE_MAX_BYTES = 16 * 1024
# A ring of retired public keys grows by ~200 bytes per rotation.
_RING_FILE_MAX_BYTES = 1024 * 1024
_WITNESS_KEYS = frozenset({"id", "seq", "entry_hash", "signed_at", "key_id", "signature"})
_HEAD_KEYS = frozenset({"seq", "entry_hash", "after"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEAD_LINE = re.compile(
    r'\{"after":"([0-9a-f]{64})","entry_hash":"([0-9a-f]{64})","seq":([1-9][0-9]{0,18})\}\n?'
)
# The same over the bytes of a line read without its newline: verify's fast path.
HEAD_LINE_BYTES = re.compile(
    rb'\{"after":"([0-9a-f]{64})","entry_hash":"([0-9a-f]{64})","seq":([1-9][0-9]{0,18})\}'
)
_PEM_PUBLIC_BLOCK = re.compile(
    rb"-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----"
)


class SigningKeyError(Exception):
    """The audit signing key (or a public key) cannot be created or used.

    The message is one line for the operator; it names the file, never key material.
    """


def format_timestamp(at: datetime) -> str:
    """Render an aware datetime as the canonical UTC text used in hashes and signatures.

    :raises ValueError: for a naive datetime, whose instant is unknown.
    """
    if at.tzinfo is None:
        raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
    # isoformat always gives four-digit years and is ten times faster than strftime, which
    # matters when verify renders a million of these.
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """Read back a timestamp written by :func:`format_timestamp`.

    :raises ValueError: when ``text`` is not in that exact form.
    """
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def generate_signing_key_file(path: Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 signing key in ``path`` (mode 0600), never replacing one.

    Overwriting would silently orphan every checkpoint signed so far, so an existing file is
    an error; rotating the key is a deliberate operator action.

    :raises SigningKeyError: when the file exists or cannot be written.
    """
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL makes "does it exist?" and "create it" one atomic step, and the mode is set at
        # creation so the key is never readable by others, not even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(
            f"audit signing key file {path} already exists; refusing to overwrite it"
        ) from None
    except OSError as exc:
        raise SigningKeyError(
            f"audit signing key file {path} cannot be created ({exc.strerror})"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise SigningKeyError(
            f"audit signing key file {path} cannot be written ({exc.strerror})"
        ) from None
    return key


def _read_key_file(path: Path, what: str, limit: int = _KEY_FILE_MAX_BYTES) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise SigningKeyError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise SigningKeyError(f"{what} file {path} is a directory") from None
    except OSError as exc:
        raise SigningKeyError(f"{what} file {path} cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise SigningKeyError(f"{what} file {path} is too large to be a key")
    return data


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the Ed25519 signing key written by :func:`generate_signing_key_file`.

    :raises SigningKeyError: when the file is missing, unreadable, not an unencrypted PEM
        private key, or not an Ed25519 key.
    """
    what = "audit signing key"
    data = _read_key_file(path, what)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        # cryptography signals a passphrase-protected key with TypeError.
        raise SigningKeyError(f"{what} file {path} is encrypted; store it unencrypted") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{what} file {path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{what} file {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key, as printed by ``btam audit public-key``.

    :raises SigningKeyError: when the file is missing, unreadable or not an Ed25519 public key.
    """
    what = "audit public key"
    data = _read_key_file(path, what)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{what} file {path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{what} file {path} is not an Ed25519 key")
    return key


def load_public_keys(path: Path) -> list[Ed25519PublicKey]:
    """Load every PEM Ed25519 public key of a file: a key ring, or one printed key.

    :raises SigningKeyError: when the file is missing, unreadable, holds no public key, or
        holds one that is not an Ed25519 key.
    """
    what = "audit public key"
    data = _read_key_file(path, what, _RING_FILE_MAX_BYTES)
    blocks = _PEM_PUBLIC_BLOCK.findall(data)
    if not blocks:
        raise SigningKeyError(f"{what} file {path} holds no PEM public key")
    keys = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm):
            raise SigningKeyError(f"{what} file {path} holds a malformed PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{what} file {path} holds a key that is not Ed25519")
        keys.append(key)
    return keys


def load_key_ring(ring: Path) -> list[Ed25519PublicKey]:
    """The retired public keys of a ring file; none when the file does not exist or is empty.

    :raises SigningKeyError: when the file cannot be read or holds something else.
    """
    try:
        if ring.stat().st_size == 0:
            return []
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SigningKeyError(
            f"audit public key ring {ring} cannot be read ({exc.strerror})"
        ) from None
    return load_public_keys(ring)


def verification_keys(signing_key_file: Path, ring: Path | None) -> list[Ed25519PublicKey]:
    """The keys whose checkpoints verify: the ring's retired keys, then the current one.

    :raises SigningKeyError: when the signing key or the ring cannot be read.
    """
    retired = load_key_ring(ring) if ring is not None else []
    return [*retired, load_signing_key(signing_key_file).public_key()]


class SigningKeyFile:
    """The signing key as its file holds it now, read again when the file is replaced.

    Every process keeps one of these, so after ``btam audit rotate-signing-key`` running
    workers sign their next checkpoint with the new key instead of the retired one; the file
    is only looked at (one ``stat``) when a checkpoint is signed.

    :raises SigningKeyError: when the key cannot be loaded at construction.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._identity: tuple[int, int, int, int] | None = None
        self._key = self.current()

    @property
    def path(self) -> Path:
        return self._path

    def current(self) -> Ed25519PrivateKey:
        """The key in the file now.

        :raises SigningKeyError: when the file is gone or no longer holds a usable key.
        """
        try:
            st = self._path.stat()
        except FileNotFoundError:
            raise SigningKeyError(f"audit signing key file {self._path} does not exist") from None
        except OSError as exc:
            raise SigningKeyError(
                f"audit signing key file {self._path} cannot be read ({exc.strerror})"
            ) from None
        identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if identity != self._identity:
            self._key = load_signing_key(self._path)
            self._identity = identity
        return self._key


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def add_to_key_ring(ring: Path, key: Ed25519PublicKey, *, retired_at: datetime) -> bool:
    """Append a public key to the ring file (mode 0644) unless it is there already.

    Returns whether the key was added. The ring holds public keys only: anyone may read it,
    and auditors are given it to check old checkpoints.

    :raises SigningKeyError: when the ring exists but cannot be read, or cannot be written.
    """
    if ring.exists() and key_fingerprint(key) in {key_fingerprint(k) for k in load_key_ring(ring)}:
        return False
    block = (
        f"# key id {key_fingerprint(key)} retired {format_timestamp(retired_at)}\n"
        + public_key_pem(key)
    ).encode("ascii")
    created = not ring.exists()
    try:
        fd = os.open(ring, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(block)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _sync_directory(ring.parent)
    except OSError as exc:
        raise SigningKeyError(
            f"audit public key ring {ring} cannot be written ({exc.strerror})"
        ) from None
    return True


def rotate_signing_key_file(
    path: Path, ring: Path, *, now: datetime
) -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    """Retire the signing key in ``path``: its public key joins the ring, a new key replaces it.

    Returns ``(retired, new)``. Crash-safe in this order: the ring gains the old public key
    (fsync'd) before a new key is written beside the old one and renamed over it in one
    atomic step, so at every instant ``path`` holds a whole key and every key that ever
    signed is either in ``path`` or in the ring. The retired private key is not kept: its
    public key verifies everything it signed, and a copy left on disk could only sign new
    checkpoints that the ring would accept.

    :raises SigningKeyError: when the current key cannot be loaded or a file cannot be written.
    """
    retired = load_signing_key(path)
    add_to_key_ring(ring, retired.public_key(), retired_at=now)
    new = Ed25519PrivateKey.generate()
    staging = path.with_name(path.name + ".new")
    pem = new.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # A leftover from a run that stopped here was never used to sign anything.
        staging.unlink(missing_ok=True)
        _write_new_file(staging, pem, 0o600)
        os.replace(staging, path)
        _sync_directory(path.parent)
    except OSError as exc:
        raise SigningKeyError(
            f"audit signing key file {path} cannot be replaced ({exc.strerror})"
        ) from None
    return retired, new


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The PEM (SubjectPublicKeyInfo) text of the verification key, to hand to auditors."""
    return (
        _public(key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The key id stored with each checkpoint: hex SHA-256 of the raw public key."""
    raw = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# The auditor's page re-checks every checkpoint's signature on each visit. A signature over
# the same bytes by the same key stays valid (or invalid), so each distinct (key, signature,
# message) is worked out once per process; any change to a checkpoint changes the key.
@functools.lru_cache(maxsize=16_384)
def _signed_by(public_raw: bytes, signature: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(bytes.fromhex(signature), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def checkpoint_message(seq: int, entry_hash: str, signed_at: datetime) -> bytes:
    """The exact bytes a checkpoint signature covers.

    :raises ValueError: for a naive ``signed_at``.
    """
    text = f"{CHECKPOINT_DOMAIN}\n{seq}\n{entry_hash}\n{format_timestamp(signed_at)}\n"
    return text.encode("ascii")


@dataclass(frozen=True)
class SignedCheckpoint:
    """A signed head of the chain, as stored in the database and in the witness file."""

    id: int
    seq: int
    entry_hash: str
    signed_at: datetime
    key_id: str
    signature: str

    @classmethod
    def sign(
        cls,
        key: Ed25519PrivateKey,
        *,
        id: int,
        seq: int,
        entry_hash: str,
        signed_at: datetime,
    ) -> SignedCheckpoint:
        """Sign the head ``(seq, entry_hash)`` at ``signed_at`` with ``key``.

        :raises ValueError: for a naive ``signed_at``.
        """
        signature = key.sign(checkpoint_message(seq, entry_hash, signed_at)).hex()
        return cls(
            id=id,
            seq=seq,
            entry_hash=entry_hash,
            signed_at=signed_at.astimezone(UTC),
            key_id=key_fingerprint(key),
            signature=signature,
        )

    def signature_valid(self, public_key: Ed25519PublicKey) -> bool:
        """Answer whether this checkpoint was signed by ``public_key`` over its own fields."""
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if self.key_id != hashlib.sha256(raw).hexdigest():
            return False
        try:
            message = checkpoint_message(self.seq, self.entry_hash, self.signed_at)
        except ValueError:
            return False
        return _signed_by(raw, self.signature, message)

    def witness_line(self) -> str:
        """This checkpoint as one line of the witness file, newline included."""
        record: dict[str, Any] = {
            "id": self.id,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "signed_at": format_timestamp(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_witness_line(cls, line: str) -> SignedCheckpoint:
        """Read one witness line back.

        :raises ValueError: when the line is not a checkpoint record of the expected shape.
        """
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError("not JSON") from None
        if not isinstance(record, dict) or set(record) != _WITNESS_KEYS:
            raise ValueError("not a checkpoint record")
        ints = (record["id"], record["seq"])
        texts = (record["entry_hash"], record["signed_at"], record["key_id"], record["signature"])
        if any(isinstance(v, bool) or not isinstance(v, int) for v in ints) or not all(
            isinstance(v, str) for v in texts
        ):
            raise ValueError("a field has the wrong type")
        return cls(
            id=record["id"],
            seq=record["seq"],
            entry_hash=record["entry_hash"],
            signed_at=parse_timestamp(record["signed_at"]),
            key_id=record["key_id"],
            signature=record["signature"],
        )


@dataclass(frozen=True)
class WitnessHead:
    """A head line of the witness file: entry ``seq`` with ``entry_hash`` was being committed.

    ``after`` is the head the commit followed (the previous head line's ``entry_hash``).
    """

    seq: int
    entry_hash: str
    after: str

    def witness_line(self) -> str:
        """This head as one line of the witness file, newline included."""
        record = {"seq": self.seq, "entry_hash": self.entry_hash, "after": self.after}
        return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def parse_witness_line(line: str) -> SignedCheckpoint | WitnessHead:
    """Read one witness line back, either kind.

    :raises ValueError: when the line is neither a head nor a checkpoint record.
    """
    exact = _HEAD_LINE.fullmatch(line)
    if exact is not None:
        # The writer's own spelling, one per commit: read without the JSON parser.
        return WitnessHead(seq=int(exact[3]), entry_hash=exact[2], after=exact[1])
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    if isinstance(record, dict) and set(record) == _HEAD_KEYS:
        seq, entry_hash, after = record["seq"], record["entry_hash"], record["after"]
        if (
            isinstance(seq, bool)
            or not isinstance(seq, int)
            or seq < 1
            or not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in (entry_hash, after))
        ):
            raise ValueError("a field has the wrong type")
        return WitnessHead(seq=seq, entry_hash=entry_hash, after=after)
    return SignedCheckpoint.from_witness_line(line)
