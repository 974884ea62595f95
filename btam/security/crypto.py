"""Field-level encryption: AES-256-GCM bound to (table, column, row id), under envelope keys.

Key hierarchy::

    KEK (key file, several versions)  --wraps-->  data key (stored wrapped in the case store)
    data key  --HKDF(table, column)-->  column key  --AES-256-GCM-->  field ciphertext

Field ciphertext layout (all integers big-endian)::

    offset  size  content
    0       1     format version, 0x01
    1       4     key id: which data key encrypted this field (unsigned)
    5       12    random nonce
    17      n+16  AES-GCM ciphertext of the n-byte plaintext, then the 16-byte tag

Associated data = the 5 header bytes + length-prefixed UTF-8 of table, column and
``str(row_id)``, so a ciphertext copied to another row, column or table, or given another
header, fails authentication.

Wrapped data key layout::

    0  1   format version, 0x01
    1  4   KEK version that wrapped it (unsigned)
    5  12  random nonce
    17 48  AES-GCM ciphertext of the 32-byte data key, then the tag

with associated data = domain label + the 5 header bytes + the length-prefixed purpose.

Key file: ASCII text, one KEK version per line, ``btam-kek-v1:<version>:<base64 of 32 bytes>``;
blank lines and lines starting with ``#`` are ignored. The highest version is current; older
versions are kept so data keys they wrapped can still be unwrapped.

This module imports neither Flask nor SQLAlchemy: the repository calls it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import stat
import struct
from collections.abc import Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "FORMAT_VERSION",
    "KEY_SIZE",
    "MAX_KEY_ID",
    "CryptoError",
    "DecryptionFailed",
    "FieldCipher",
    "Kek",
    "KeyFileError",
    "UnknownKeyVersion",
    "UnsupportedFormat",
    "generate_key_file",
    "load_kek",
    "new_data_key",
    "peek_kek_version",
    "peek_key_id",
    "reencrypt",
    "unwrap_data_key",
    "wrap_data_key",
]

FORMAT_VERSION: Final = 0x01
KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
MAX_KEY_ID: Final = 2**32 - 1

_HEADER: Final = struct.Struct(">BI")
_LENGTH: Final = struct.Struct(">I")
# A stateless description of the hash, shared by every column key derivation.
_SHA256: Final = hashes.SHA256()
_MIN_FIELD_SIZE: Final = _HEADER.size + NONCE_SIZE + TAG_SIZE
_WRAPPED_SIZE: Final = _HEADER.size + NONCE_SIZE + KEY_SIZE + TAG_SIZE

_FIELD_KEY_INFO: Final = b"btam/field/v1/"
# Distinct from any field AD, so a wrapped data key can never pass as a field ciphertext.
_WRAP_AD_LABEL: Final = b"btam/data-key/v1/"

_KEY_FILE_PREFIX: Final = "btam-kek-v1"
_KEY_LINE: Final = re.compile(r"btam-kek-v1:([0-9]{1,10}):([A-Za-z0-9+/=]+)")
# A key file is a few lines; anything much bigger is the wrong file and is not read into memory.
_MAX_KEY_FILE_SIZE: Final = 64 * 1024


class CryptoError(Exception):
    """Base class of every error this module raises on purpose."""


class KeyFileError(CryptoError):
    """The key file is missing, unreadable, badly formatted or too widely readable."""

    def __init__(self, reason: str) -> None:
        # The CLI prints this as its one-line reason; a path with a newline must not split it.
        self.reason = " ".join(reason.split())
        super().__init__(self.reason)


class DecryptionFailed(CryptoError):
    """A ciphertext did not authenticate: tampered, moved to another row, or the wrong key.

    The message names only what was being decrypted (table, column, row id, or a data key's
    purpose); never plaintext, ciphertext or key material.
    """

    def __init__(self, subject: str, *, reason: str = "authentication failed") -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"cannot decrypt {subject}: {reason}")


class UnknownKeyVersion(CryptoError):
    """A wrapped data key names a KEK version the key file does not hold."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"key file holds no KEK version {version}")


class UnsupportedFormat(CryptoError):
    """A ciphertext or wrapped key has an unknown format version or is too short to parse."""


def _length_prefixed(*parts: str) -> bytes:
    # A 4-byte length before each part keeps ("ab", "c") and ("a", "bc") apart.
    if len(parts) == 1:
        raw = parts[0].encode("utf-8")
        return _LENGTH.pack(len(raw)) + raw
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += struct.pack(">I", len(raw))
        out += raw
    return bytes(out)


def _require_name(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


@functools.lru_cache(maxsize=1024)
def _column_ad(table: str, column: str) -> bytes:
    # Cached: with a data key per case, report or person, re-encrypting a store derives a
    # column key for nearly every field, and these few names are always the same.
    return _length_prefixed(_require_name(table, "table"), _require_name(column, "column"))


def _row_key(row_id: int | str) -> str:
    # bool is an int; True as a row id is always a bug, and would collide with row "True".
    if isinstance(row_id, bool) or not isinstance(row_id, int | str):
        raise TypeError(f"row_id must be int or str, not {type(row_id).__name__}")
    text = str(row_id)
    if not text:
        raise ValueError("row_id must not be empty")
    return text


def _require_key(key: object, what: str) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes")
    return key


def _require_uint32(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KEY_ID:
        raise ValueError(f"{what} must be an integer in 0..{MAX_KEY_ID}")
    return value


def _parse_header(blob: bytes, *, what: str) -> int:
    if len(blob) < _HEADER.size:
        raise UnsupportedFormat(f"{what} is too short to carry a header ({len(blob)} bytes)")
    version, key_id = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise UnsupportedFormat(f"{what} has unsupported format version 0x{version:02x}")
    return int(key_id)


# --------------------------------------------------------------------------- key file / KEK


class Kek:
    """The key-encryption key as loaded from the key file: every version, the highest current.

    Never stored in a database: it lives only in the key file and in process memory.
    """

    __slots__ = ("_aead", "_current")

    def __init__(self, versions: Mapping[int, bytes]) -> None:
        """Hold the given KEK versions; the highest version number wraps new data keys.

        :raises ValueError: no versions, a version outside 1..2**32-1, or a key not 32 bytes.
        """
        if not versions:
            raise ValueError("a KEK needs at least one version")
        aead: dict[int, AESGCM] = {}
        for version, key in versions.items():
            if _require_uint32(version, "KEK version") == 0:
                raise ValueError("KEK versions start at 1")
            aead[version] = AESGCM(_require_key(key, "a KEK"))
        self._aead = aead
        self._current = max(aead)

    @property
    def current_version(self) -> int:
        """The version that wraps new data keys."""
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version held, ascending."""
        return tuple(sorted(self._aead))

    def _aead_for(self, version: int) -> AESGCM:
        try:
            return self._aead[version]
        except KeyError:
            raise UnknownKeyVersion(version) from None

    def __repr__(self) -> str:
        # Keys stay out of reprs, logs and tracebacks.
        return f"Kek(versions={list(self.versions)}, current={self._current})"


def generate_key_file(path: str | os.PathLike[str]) -> None:
    """Create a key file holding a new random KEK as version 1, readable by the owner only.

    :raises KeyFileError: the file already exists or cannot be created or written.
    """
    line = f"{_KEY_FILE_PREFIX}:1:{base64.b64encode(os.urandom(KEY_SIZE)).decode('ascii')}\n"
    # O_EXCL: never overwrite a KEK, which would make every data key it wrapped unreadable.
    # It also refuses a pre-planted symlink at the path. The mode is set at creation, so the
    # key is never readable by others, not even for an instant.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(
            f"key file {os.fsdecode(path)} already exists; refusing to overwrite it"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {os.fsdecode(path)}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        # A truncated key file would later be mistaken for a corrupt one; leave nothing behind.
        os.unlink(path)
        raise KeyFileError(f"cannot write key file {os.fsdecode(path)}: {exc.strerror}") from None


def load_kek(path: str | os.PathLike[str]) -> Kek:
    """Read every KEK version from the key file, refusing a file others could read.

    :raises KeyFileError: the file is missing, unreadable, not a regular file, accessible to
        group or others, too large, or not in the ``btam-kek-v1:<version>:<base64>`` format.
    """
    name = os.fsdecode(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyFileError(f"key file {name} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {name}: {exc.strerror}") from None
    try:
        # fstat on the open descriptor: the file checked is the file read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {name} is not a regular file")
        # Group or world access would let another local account copy (or replace) the KEK.
        if os.name == "posix" and info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise KeyFileError(
                f"key file {name} has mode {mode:04o}; it must be accessible to its owner "
                "only (chmod 600)"
            )
        if info.st_size > _MAX_KEY_FILE_SIZE:
            raise KeyFileError(f"key file {name} is too large to be a key file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {name}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return Kek(_parse_key_file(raw, name=name))


def _parse_key_file(raw: bytes, *, name: str) -> dict[int, bytes]:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"key file {name} is not ASCII text") from None
    versions: dict[int, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # The offending line is never echoed: it may hold key material.
        match = _KEY_LINE.fullmatch(line)
        if match is None:
            raise KeyFileError(
                f"key file {name} line {number} is not "
                f"'{_KEY_FILE_PREFIX}:<version>:<base64 of {KEY_SIZE} bytes>'"
            )
        version = int(match.group(1))
        if not 1 <= version <= MAX_KEY_ID:
            raise KeyFileError(f"key file {name} line {number}: version must be in 1..{MAX_KEY_ID}")
        if version in versions:
            raise KeyFileError(f"key file {name} line {number}: version {version} repeated")
        try:
            key = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise KeyFileError(f"key file {name} line {number}: key is not valid base64") from None
        if len(key) != KEY_SIZE:
            raise KeyFileError(
                f"key file {name} line {number}: key is {len(key)} bytes, not {KEY_SIZE}"
            )
        versions[version] = key
    if not versions:
        raise KeyFileError(f"key file {name} holds no key")
    return versions


# --------------------------------------------------------------------------- data keys


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key (to be wrapped before it is stored)."""
    return os.urandom(KEY_SIZE)


def _wrap_ad(header: bytes, purpose: str) -> bytes:
    return _WRAP_AD_LABEL + header + _length_prefixed(purpose)


def wrap_data_key(kek: Kek, data_key: bytes, *, purpose: str) -> bytes:
    """Encrypt a data key under the current KEK version, bound to its purpose (e.g. "case:17").

    :raises ValueError: the data key is not 32 bytes or the purpose is empty.
    """
    _require_key(data_key, "a data key")
    _require_name(purpose, "purpose")
    header = _HEADER.pack(FORMAT_VERSION, kek.current_version)
    nonce = os.urandom(NONCE_SIZE)
    sealed = kek._aead_for(kek.current_version).encrypt(nonce, data_key, _wrap_ad(header, purpose))
    return header + nonce + sealed


def peek_kek_version(wrapped: bytes) -> int:
    """Return the KEK version that wrapped a data key, without unwrapping it (re-wrap progress).

    :raises UnsupportedFormat: unknown format version or too short to carry a header.
    """
    return _parse_header(wrapped, what="wrapped data key")


def unwrap_data_key(kek: Kek, wrapped: bytes, *, purpose: str) -> bytes:
    """Recover a data key wrapped under any KEK version the key file still holds.

    :raises UnsupportedFormat: unknown format version or a wrapped key of the wrong length.
    :raises UnknownKeyVersion: the KEK version that wrapped it is no longer in the key file.
    :raises DecryptionFailed: wrong purpose, tampered bytes, or a different KEK.
    """
    _require_name(purpose, "purpose")
    version = _parse_header(wrapped, what="wrapped data key")
    if len(wrapped) != _WRAPPED_SIZE:
        raise UnsupportedFormat(f"wrapped data key has {len(wrapped)} bytes, not {_WRAPPED_SIZE}")
    aead = kek._aead_for(version)
    header = wrapped[: _HEADER.size]
    nonce = wrapped[_HEADER.size : _HEADER.size + NONCE_SIZE]
    try:
        return aead.decrypt(nonce, wrapped[_HEADER.size + NONCE_SIZE :], _wrap_ad(header, purpose))
    except InvalidTag:
        raise DecryptionFailed(f"data key for purpose {purpose!r}") from None


# --------------------------------------------------------------------------- fields


def peek_key_id(ciphertext: bytes) -> int:
    """Return the id of the data key a field was encrypted under, without decrypting it.

    :raises UnsupportedFormat: unknown format version or too short to carry a header.
    """
    # Inline for the well-formed case: a whole store's re-encryption peeks every field twice.
    if len(ciphertext) >= _HEADER.size:
        version, key_id = _HEADER.unpack_from(ciphertext)
        if version == FORMAT_VERSION:
            return int(key_id)
    return _parse_header(ciphertext, what="field ciphertext")


class FieldCipher:
    """Encrypts and decrypts field values under one data key, each bound to its table, column, row.

    ``None`` is not a value here: the caller stores a missing field as SQL NULL and never
    passes it in. The empty string is a value and is encrypted like any other. A ciphertext
    is always 33 bytes longer than its plaintext: lengths are not hidden.

    A new random 96-bit nonce per encryption under a per-column key: the NIST limit of 2**32
    encryptions per key then applies per column of one data key, far beyond any school's use.
    """

    __slots__ = ("_columns", "_data_key", "_header", "_key_id")

    def __init__(self, data_key: bytes, *, key_id: int) -> None:
        """Prepare to encrypt under ``data_key``, recording ``key_id`` in every ciphertext.

        :raises ValueError: the data key is not 32 bytes or the key id is not in 0..2**32-1.
        """
        self._data_key = _require_key(data_key, "a data key")
        self._key_id = _require_uint32(key_id, "key_id")
        self._header = _HEADER.pack(FORMAT_VERSION, self._key_id)
        # Per column: its AEAD and the table/column part of the AD. Cached per instance only;
        # nothing is shared between processes.
        self._columns: dict[tuple[str, str], tuple[AESGCM, bytes]] = {}

    @property
    def key_id(self) -> int:
        """The data key id written into (and expected in) every ciphertext."""
        return self._key_id

    def __repr__(self) -> str:
        return f"FieldCipher(key_id={self._key_id})"

    def _column(self, table: str, column: str) -> tuple[AESGCM, bytes]:
        cached = self._columns.get((table, column))
        if cached is None:
            column_ad = _column_ad(table, column)
            # One key per column: a key recovered from one column's misuse opens no other.
            hkdf = HKDF(
                algorithm=_SHA256,
                length=KEY_SIZE,
                # The data key is already uniformly random, so HKDF needs no salt (RFC 5869 3.1).
                salt=None,
                info=_FIELD_KEY_INFO + column_ad,
            )
            cached = (AESGCM(hkdf.derive(self._data_key)), column_ad)
            self._columns[(table, column)] = cached
        return cached

    def encrypt(
        self, plaintext: str | bytes, *, table: str, column: str, row_id: int | str
    ) -> bytes:
        """Encrypt one field value so that it decrypts only as this table, column and row.

        Text is stored as UTF-8. The row must already have its id: the caller assigns ids
        before encrypting.

        :raises TypeError: the value is not str or bytes (e.g. None), or the row id is not
            int or str.
        :raises ValueError: empty table, column or row id.
        """
        if isinstance(plaintext, str):
            data = plaintext.encode("utf-8")
        elif isinstance(plaintext, bytes):
            data = plaintext
        else:
            raise TypeError(
                f"plaintext must be str or bytes, not {type(plaintext).__name__}; "
                "store a missing value as NULL without encrypting it"
            )
        aead, column_ad = self._column(table, column)
        ad = self._header + column_ad + _length_prefixed(_row_key(row_id))
        nonce = os.urandom(NONCE_SIZE)
        return self._header + nonce + aead.encrypt(nonce, data, ad)

    def decrypt_bytes(
        self, ciphertext: bytes, *, table: str, column: str, row_id: int | str
    ) -> bytes:
        """Return the value encrypted for this table, column and row, or fail; never partial data.

        :raises UnsupportedFormat: unknown format version or too short to carry a header.
        :raises DecryptionFailed: tampered, truncated, moved to another table, column or row,
            or encrypted under another data key.
        """
        aead, column_ad = self._column(table, column)
        row = _row_key(row_id)
        key_id = _parse_header(ciphertext, what="field ciphertext")
        if key_id != self._key_id or len(ciphertext) < _MIN_FIELD_SIZE:
            raise DecryptionFailed(f"{table}.{column} row {row}")
        # The header is in the AD, so its bytes are authenticated along with the data.
        ad = ciphertext[: _HEADER.size] + column_ad + _length_prefixed(row)
        nonce = ciphertext[_HEADER.size : _MIN_FIELD_SIZE - TAG_SIZE]
        try:
            return aead.decrypt(nonce, ciphertext[_MIN_FIELD_SIZE - TAG_SIZE :], ad)
        except InvalidTag:
            raise DecryptionFailed(f"{table}.{column} row {row}") from None

    def decrypt_text(self, ciphertext: bytes, *, table: str, column: str, row_id: int | str) -> str:
        """Return the text encrypted for this table, column and row, or fail; never partial text.

        :raises UnsupportedFormat: unknown format version or too short to carry a header.
        :raises DecryptionFailed: as ``decrypt_bytes``, or the value is bytes that are not UTF-8.
        """
        data = self.decrypt_bytes(ciphertext, table=table, column=column, row_id=row_id)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # from None: UnicodeDecodeError's message quotes plaintext bytes.
            raise DecryptionFailed(
                f"{table}.{column} row {_row_key(row_id)}", reason="value is not UTF-8 text"
            ) from None


def reencrypt(
    ciphertext: bytes,
    *,
    old: FieldCipher,
    new: FieldCipher,
    table: str,
    column: str,
    row_id: int | str,
) -> bytes:
    """Move one field from the old data key to the new one, for the same table, column and row.

    :raises UnsupportedFormat: unknown format version or too short to carry a header.
    :raises DecryptionFailed: the ciphertext does not authenticate under ``old``.
    """
    # decrypt_bytes then encrypt, with the column's and the row's parts of the AD built once
    # and the header checked as bytes: re-encrypting a store spends much of its time here.
    old_aead, column_ad = old._column(table, column)
    new_aead, _ = new._column(table, column)
    row = _row_key(row_id)
    raw_row = row.encode("utf-8")
    row_ad = _LENGTH.pack(len(raw_row)) + raw_row
    old_header = old._header
    if len(ciphertext) < _MIN_FIELD_SIZE or ciphertext[: _HEADER.size] != old_header:
        _parse_header(ciphertext, what="field ciphertext")  # an unknown format says so
        raise DecryptionFailed(f"{table}.{column} row {row}")
    try:
        plaintext = old_aead.decrypt(
            ciphertext[_HEADER.size : _MIN_FIELD_SIZE - TAG_SIZE],
            ciphertext[_MIN_FIELD_SIZE - TAG_SIZE :],
            old_header + column_ad + row_ad,
        )
    except InvalidTag:
        raise DecryptionFailed(f"{table}.{column} row {row}") from None
    fresh = os.urandom(NONCE_SIZE)
    header = new._header
    return header + fresh + new_aead.encrypt(fresh, plaintext, header + column_ad + row_ad)
