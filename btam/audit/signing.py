"""Ed25519 keys that sign the audit trail's checkpoints, and the signed checkpoint record.

This module is the whole contract a third party needs to check checkpoints with the key
printed by ``btam audit public-key``:

* Key id: lowercase hex SHA-256 of the raw 32-byte Ed25519 public key.
* Timestamps: ISO 8601 in UTC with microseconds and ``Z`` (``2025-01-31T08:15:00.000000Z``).
* Signed message (ASCII)::

      btam-audit-checkpoint-v1\\n<seq>\\n<entry_hash>\\n<signed_at>\\n

  so a signature vouches for the head of the chain and the time it was sealed, and cannot
  be replayed as a signature over anything else this key might sign.
* Signature: lowercase hex of the 64-byte Ed25519 signature.
* Witness file: one JSON object per line with the keys ``entry_hash``, ``id``, ``key_id``,
  ``seq``, ``signature``, ``signed_at`` (sorted, no spaces), in checkpoint order.

The signing key is not the field-encryption key: it only ever signs checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
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
_WITNESS_KEYS = frozenset({"id", "seq", "entry_hash", "signed_at", "key_id", "signature"})


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


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(_KEY_FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise SigningKeyError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise SigningKeyError(f"{what} file {path} is a directory") from None
    except OSError as exc:
        raise SigningKeyError(f"{what} file {path} cannot be read ({exc.strerror})") from None
    if len(data) > _KEY_FILE_MAX_BYTES:
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
        if self.key_id != key_fingerprint(public_key):
            return False
        try:
            message = checkpoint_message(self.seq, self.entry_hash, self.signed_at)
            public_key.verify(bytes.fromhex(self.signature), message)
        except (ValueError, InvalidSignature):
            return False
        return True

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
