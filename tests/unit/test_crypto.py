"""Field-level encryption, envelope keys and the key file, with real cryptography."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btam.security.crypto import (
    FORMAT_VERSION,
    CryptoError,
    DecryptionFailed,
    FieldCipher,
    Kek,
    KeyFileError,
    UnknownKeyVersion,
    UnsupportedFormat,
    generate_key_file,
    load_kek,
    new_data_key,
    peek_kek_version,
    peek_key_id,
    reencrypt,
    unwrap_data_key,
    wrap_data_key,
)

WHERE = {"table": "cases", "column": "narrative_enc", "row_id": 17}
SECRET = "Student said he would bring a knife on Friday"


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(new_data_key(), key_id=3)


def write_key_file(path: Path, lines: list[str], mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, mode)
    return path


def kek_line(version: int, key: bytes) -> str:
    return f"btam-kek-v1:{version}:{base64.b64encode(key).decode()}"


# --------------------------------------------------------------------------- field round trip


def test_text_round_trips(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt(SECRET, **WHERE)
    assert cipher.decrypt_text(ciphertext, **WHERE) == SECRET


def test_bytes_round_trip(cipher: FieldCipher) -> None:
    blob = bytes(range(256)) * 3
    assert cipher.decrypt_bytes(cipher.encrypt(blob, **WHERE), **WHERE) == blob


def test_empty_string_is_encrypted_and_round_trips(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt("", **WHERE)
    assert len(ciphertext) == 1 + 4 + 12 + 16
    assert cipher.decrypt_text(ciphertext, **WHERE) == ""


def test_none_is_refused_not_encrypted(cipher: FieldCipher) -> None:
    with pytest.raises(TypeError, match="NULL"):
        cipher.encrypt(None, **WHERE)  # type: ignore[arg-type]


def test_ciphertext_layout_is_version_key_id_nonce_then_sealed_data(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt("abc", **WHERE)
    assert ciphertext[0] == FORMAT_VERSION == 0x01
    assert int.from_bytes(ciphertext[1:5], "big") == 3
    assert len(ciphertext) == 1 + 4 + 12 + 3 + 16
    assert b"abc" not in ciphertext


def test_peek_key_id_reads_the_header_without_the_key(cipher: FieldCipher) -> None:
    assert peek_key_id(cipher.encrypt("x", **WHERE)) == 3
    assert peek_key_id(FieldCipher(new_data_key(), key_id=2**32 - 1).encrypt("x", **WHERE)) == (
        2**32 - 1
    )


def test_nonces_differ_across_encryptions_of_the_same_plaintext(cipher: FieldCipher) -> None:
    ciphertexts = [cipher.encrypt(SECRET, **WHERE) for _ in range(50)]
    assert len({c[5:17] for c in ciphertexts}) == 50
    assert len(set(ciphertexts)) == 50


def test_row_id_as_int_or_its_string_is_the_same_row(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt(SECRET, table="cases", column="narrative_enc", row_id=17)
    assert cipher.decrypt_text(ciphertext, table="cases", column="narrative_enc", row_id="17") == (
        SECRET
    )


@pytest.mark.parametrize(
    "bad", [{"table": ""}, {"column": ""}, {"row_id": ""}, {"row_id": True}, {"row_id": None}]
)
def test_missing_binding_is_refused(cipher: FieldCipher, bad: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        cipher.encrypt(SECRET, **{**WHERE, **bad})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- binding and tamper


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"row_id": 18},
        {"row_id": "17 "},
        {"column": "summary_enc"},
        {"table": "reports"},
        # Length prefixes: moving a boundary between table and column must not match.
        {"table": "casesn", "column": "arrative_enc"},
    ],
)
def test_ciphertext_moved_elsewhere_fails(
    cipher: FieldCipher, elsewhere: dict[str, object]
) -> None:
    ciphertext = cipher.encrypt(SECRET, **WHERE)
    with pytest.raises(DecryptionFailed) as failure:
        cipher.decrypt_text(ciphertext, **{**WHERE, **elsewhere})  # type: ignore[arg-type]
    assert SECRET not in str(failure.value)


def test_decryption_failure_names_only_table_column_and_row(cipher: FieldCipher) -> None:
    ciphertext = bytearray(cipher.encrypt(SECRET, **WHERE))
    ciphertext[-1] ^= 1
    with pytest.raises(DecryptionFailed) as failure:
        cipher.decrypt_text(bytes(ciphertext), **WHERE)
    message = str(failure.value)
    assert "cases.narrative_enc row 17" in message
    assert "knife" not in message
    assert ciphertext.hex() not in message
    assert failure.value.__cause__ is None
    assert failure.value.__suppress_context__


def test_a_flipped_bit_anywhere_fails(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt("short secret", **WHERE)
    for position in range(len(ciphertext)):
        for bit in range(8):
            tampered = bytearray(ciphertext)
            tampered[position] ^= 1 << bit
            # The version byte is read first, so a flip there is an unknown format; any
            # other flip (key id, nonce, data, tag) fails authentication.
            expected = UnsupportedFormat if position == 0 else DecryptionFailed
            with pytest.raises(expected):
                cipher.decrypt_bytes(bytes(tampered), **WHERE)


@pytest.mark.parametrize("keep", [0, 1, 5, 16, 17, 32])
def test_truncated_ciphertext_fails(cipher: FieldCipher, keep: int) -> None:
    ciphertext = cipher.encrypt(SECRET, **WHERE)
    with pytest.raises((UnsupportedFormat, DecryptionFailed)):
        cipher.decrypt_bytes(ciphertext[:keep], **WHERE)


def test_appended_bytes_fail(cipher: FieldCipher) -> None:
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_bytes(cipher.encrypt(SECRET, **WHERE) + b"\x00", **WHERE)


def test_wrong_data_key_fails_even_with_the_same_key_id(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt(SECRET, **WHERE)
    with pytest.raises(DecryptionFailed):
        FieldCipher(new_data_key(), key_id=3).decrypt_text(ciphertext, **WHERE)


def test_ciphertext_under_another_key_id_fails(cipher: FieldCipher) -> None:
    other = FieldCipher(new_data_key(), key_id=4)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text(other.encrypt(SECRET, **WHERE), **WHERE)


def test_the_same_key_bytes_under_another_key_id_are_refused() -> None:
    """The key id is pinned, not advisory: the same key bytes registered under two ids (a
    copy left by a rotation, a row restored from a backup) open only their own ciphertexts."""
    key = new_data_key()
    ciphertext = FieldCipher(key, key_id=3).encrypt(SECRET, **WHERE)
    with pytest.raises(DecryptionFailed):
        FieldCipher(key, key_id=4).decrypt_text(ciphertext, **WHERE)
    with pytest.raises(DecryptionFailed):
        reencrypt(
            ciphertext, old=FieldCipher(key, key_id=4), new=FieldCipher(key, key_id=5), **WHERE
        )
    assert FieldCipher(key, key_id=3).decrypt_text(ciphertext, **WHERE) == SECRET


def test_unknown_version_byte_is_unsupported_format(cipher: FieldCipher) -> None:
    ciphertext = bytearray(cipher.encrypt(SECRET, **WHERE))
    ciphertext[0] = 0x02
    with pytest.raises(UnsupportedFormat, match="0x02"):
        cipher.decrypt_text(bytes(ciphertext), **WHERE)
    with pytest.raises(UnsupportedFormat):
        peek_key_id(bytes(ciphertext))
    with pytest.raises(UnsupportedFormat):
        peek_key_id(b"\x01\x00")


def test_binary_value_read_as_text_fails_without_quoting_it(cipher: FieldCipher) -> None:
    ciphertext = cipher.encrypt(b"\xffsecret\xfe", **WHERE)
    with pytest.raises(DecryptionFailed, match="not UTF-8") as failure:
        cipher.decrypt_text(ciphertext, **WHERE)
    assert "secret" not in str(failure.value)
    assert failure.value.__suppress_context__


def test_every_error_is_a_crypto_error() -> None:
    for error in (DecryptionFailed, KeyFileError, UnknownKeyVersion, UnsupportedFormat):
        assert issubclass(error, CryptoError)


def test_reprs_hide_keys() -> None:
    key = new_data_key()
    assert key.hex() not in repr(FieldCipher(key, key_id=1))
    assert key.hex() not in repr(Kek({1: key}))


# --------------------------------------------------------------------------- re-encryption


def test_reencrypt_moves_a_field_to_the_new_key(cipher: FieldCipher) -> None:
    new = FieldCipher(new_data_key(), key_id=4)
    moved = reencrypt(cipher.encrypt(SECRET, **WHERE), old=cipher, new=new, **WHERE)
    assert peek_key_id(moved) == 4
    assert new.decrypt_text(moved, **WHERE) == SECRET
    with pytest.raises(DecryptionFailed):
        cipher.decrypt_text(moved, **WHERE)


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(text=st.text(), row_id=st.integers(min_value=0, max_value=2**63))
def test_any_text_round_trips(text: str, row_id: int) -> None:
    cipher = FieldCipher(b"k" * 32, key_id=1)
    where = {"table": "people", "column": "given_name_enc", "row_id": row_id}
    assert cipher.decrypt_text(cipher.encrypt(text, **where), **where) == text  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(blob=st.binary(max_size=200_000))
def test_any_bytes_round_trip(blob: bytes) -> None:
    cipher = FieldCipher(b"k" * 32, key_id=1)
    ciphertext = cipher.encrypt(blob, **WHERE)
    assert len(ciphertext) == len(blob) + 33
    assert cipher.decrypt_bytes(ciphertext, **WHERE) == blob


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=0, max_value=200_000))
def test_values_of_any_size_round_trip(size: int) -> None:
    # st.binary rarely draws large values; this covers the whole size range on purpose.
    blob = hashlib.shake_256(str(size).encode()).digest(size)
    cipher = FieldCipher(b"k" * 32, key_id=1)
    assert cipher.decrypt_bytes(cipher.encrypt(blob, **WHERE), **WHERE) == blob


# --------------------------------------------------------------------------- data keys


def test_data_key_wraps_and_unwraps() -> None:
    kek = Kek({1: os.urandom(32)})
    data_key = new_data_key()
    wrapped = wrap_data_key(kek, data_key, purpose="case:17")
    assert data_key not in wrapped
    assert peek_kek_version(wrapped) == 1
    assert unwrap_data_key(kek, wrapped, purpose="case:17") == data_key


def test_unwrap_with_another_purpose_fails() -> None:
    kek = Kek({1: os.urandom(32)})
    wrapped = wrap_data_key(kek, new_data_key(), purpose="case:17")
    with pytest.raises(DecryptionFailed, match="case:18"):
        unwrap_data_key(kek, wrapped, purpose="case:18")


def test_unwrap_under_another_kek_fails() -> None:
    wrapped = wrap_data_key(Kek({1: os.urandom(32)}), new_data_key(), purpose="case:17")
    with pytest.raises(DecryptionFailed):
        unwrap_data_key(Kek({1: os.urandom(32)}), wrapped, purpose="case:17")


def test_tampered_wrapped_key_fails() -> None:
    kek = Kek({1: os.urandom(32)})
    wrapped = wrap_data_key(kek, new_data_key(), purpose="case:17")
    for position in range(5, len(wrapped)):
        tampered = bytearray(wrapped)
        tampered[position] ^= 0x80
        with pytest.raises(DecryptionFailed):
            unwrap_data_key(kek, bytes(tampered), purpose="case:17")
    with pytest.raises(UnsupportedFormat):
        unwrap_data_key(kek, wrapped[:-1], purpose="case:17")


def test_wrapped_key_under_a_version_no_longer_held_is_unknown() -> None:
    key_1, key_2 = os.urandom(32), os.urandom(32)
    wrapped = wrap_data_key(Kek({1: key_1}), new_data_key(), purpose="case:17")
    with pytest.raises(UnknownKeyVersion) as failure:
        unwrap_data_key(Kek({2: key_2}), wrapped, purpose="case:17")
    assert failure.value.version == 1


def test_wrapped_key_is_not_a_field_ciphertext() -> None:
    data_key = new_data_key()
    kek = Kek({1: data_key})
    wrapped = wrap_data_key(kek, new_data_key(), purpose="case:17")
    with pytest.raises(DecryptionFailed):
        FieldCipher(data_key, key_id=1).decrypt_bytes(wrapped, **WHERE)


@pytest.mark.parametrize("bad_key", [b"", b"x" * 31, b"x" * 33])
def test_only_32_byte_data_keys_are_accepted(bad_key: bytes) -> None:
    with pytest.raises(ValueError):
        FieldCipher(bad_key, key_id=1)
    with pytest.raises(ValueError):
        wrap_data_key(Kek({1: os.urandom(32)}), bad_key, purpose="case:1")


# --------------------------------------------------------------------------- key file


def test_generated_key_file_is_owner_only_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "btam.key"
    generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("btam-kek-v1:1:")
    kek = load_kek(path)
    assert kek.versions == (1,)
    assert kek.current_version == 1


def test_generated_keys_differ(tmp_path: Path) -> None:
    generate_key_file(tmp_path / "a.key")
    generate_key_file(tmp_path / "b.key")
    assert (tmp_path / "a.key").read_text() != (tmp_path / "b.key").read_text()


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "btam.key"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_file(path)
    assert path.read_bytes() == before


def test_generate_refuses_a_planted_symlink(tmp_path: Path) -> None:
    path = tmp_path / "btam.key"
    path.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(KeyFileError):
        generate_key_file(path)
    assert not (tmp_path / "elsewhere").exists()


def test_missing_key_file_gives_a_one_line_reason(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as failure:
        load_kek(tmp_path / "absent.key")
    assert "does not exist" in failure.value.reason
    assert "\n" not in str(failure.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_key_file(tmp_path / "btam.key", [kek_line(1, os.urandom(32))], mode)
    with pytest.raises(KeyFileError, match=f"mode {mode:04o}") as failure:
        load_kek(path)
    assert "\n" not in str(failure.value)


def test_owner_read_only_key_file_loads(tmp_path: Path) -> None:
    path = write_key_file(tmp_path / "btam.key", [kek_line(1, os.urandom(32))], 0o400)
    assert load_kek(path).current_version == 1


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="regular file"):
        load_kek(tmp_path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "holds no key"),
        (b"# only a comment\n\n", "holds no key"),
        (b"btam-kek-v1:1:" + base64.b64encode(b"k" * 31), "31 bytes"),
        (b"btam-kek-v1:1:" + base64.b64encode(b"k" * 33), "33 bytes"),
        (b"btam-kek-v1:1:not*base64", "line 1 is not"),
        (b"btam-kek-v1:1:abc", "not valid base64"),
        (b"btam-kek-v1:0:" + base64.b64encode(b"k" * 32), "version must be"),
        (b"btam-kek-v1:4294967296:" + base64.b64encode(b"k" * 32), "version must be"),
        (b"btam-kek-v2:1:" + base64.b64encode(b"k" * 32), "line 1 is not"),
        (base64.b64encode(b"k" * 32), "line 1 is not"),
        (b"\xff\xfe", "not ASCII"),
        (
            b"btam-kek-v1:1:" + base64.b64encode(b"k" * 32) + b"\n"
            b"btam-kek-v1:1:" + base64.b64encode(b"j" * 32),
            "version 1 repeated",
        ),
    ],
)
def test_malformed_key_file_is_refused_with_a_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "btam.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=reason) as failure:
        load_kek(path)
    message = str(failure.value)
    assert "\n" not in message
    assert base64.b64encode(b"k" * 32).decode() not in message


def test_oversized_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "btam.key"
    path.write_bytes(b"#" * 100_000)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="too large"):
        load_kek(path)


def test_key_file_reason_stays_on_one_line_for_odd_paths(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as failure:
        load_kek(tmp_path / "new\nline.key")
    assert "\n" not in str(failure.value)


# --------------------------------------------------------------------------- KEK rotation


def test_key_file_with_two_versions_unwraps_keys_wrapped_under_either(tmp_path: Path) -> None:
    key_1, key_2 = os.urandom(32), os.urandom(32)
    old_file = write_key_file(tmp_path / "old.key", [kek_line(1, key_1)])
    data_key_1 = new_data_key()
    wrapped_1 = wrap_data_key(load_kek(old_file), data_key_1, purpose="case:1")

    # Rotation appends a version; order in the file does not matter, the highest is current.
    rotated = write_key_file(
        tmp_path / "rotated.key",
        ["# rotated", kek_line(2, key_2), "", kek_line(1, key_1)],
    )
    kek = load_kek(rotated)
    assert kek.versions == (1, 2)
    assert kek.current_version == 2
    data_key_2 = new_data_key()
    wrapped_2 = wrap_data_key(kek, data_key_2, purpose="case:2")
    assert peek_kek_version(wrapped_1) == 1
    assert peek_kek_version(wrapped_2) == 2
    assert unwrap_data_key(kek, wrapped_1, purpose="case:1") == data_key_1
    assert unwrap_data_key(kek, wrapped_2, purpose="case:2") == data_key_2

    rewrapped = wrap_data_key(
        kek, unwrap_data_key(kek, wrapped_1, purpose="case:1"), purpose="case:1"
    )
    assert peek_kek_version(rewrapped) == 2
    with pytest.raises(UnknownKeyVersion):
        unwrap_data_key(load_kek(old_file), wrapped_2, purpose="case:2")


def test_kek_refuses_bad_versions_and_keys() -> None:
    with pytest.raises(ValueError):
        Kek({})
    with pytest.raises(ValueError):
        Kek({0: os.urandom(32)})
    with pytest.raises(ValueError):
        Kek({1: os.urandom(16)})
