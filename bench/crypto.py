"""Field encryption overhead beside raw AES-256-GCM, measured in the same run.

Run: python bench/crypto.py [--users N] [--people N] [--runs N]

Prints, per field size, the time of one encrypt + decrypt through FieldCipher (header, AD
building, per-column key cache) next to bare AESGCM encrypt + decrypt of the same bytes, and
re-encryption throughput (decrypt under the old data key, encrypt under the new one).

Then the same through the ORM on a temporary SQLite store: a round trip of an encrypted
model field (assign, commit, expire, read: the flush encrypts, the read decrypts, each
transaction re-reads its data key) beside the same round trip of a plain text column and
beside raw AESGCM; and the fields per second of ``btam keys rotate --reencrypt``'s path
(batched reads, compare-and-swap writes, a final checking pass, the command's default batch
size) beside raw AESGCM decrypt + encrypt of as many fields, on two stores: accounts (every
field under one scope's key) and people (each person under a key of their own, as cases,
reports and people are). Each store is rotated and re-encrypted several times; the median,
lowest and highest rates are printed. Figures only: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from btam.access.actor import Role
from btam.accounts.models import District, User
from btam.db import make_engine
from btam.people.models import Person
from btam.people.terms import PersonKind
from btam.schema import upgrade
from btam.security.crypto import FieldCipher, generate_key_file, new_data_key, reencrypt
from btam.security.key_rotation import retire_unused_keys, start_data_key_rotation
from btam.security.keys import KekSource, keyring_for, session_info
from btam.security.reencryption import BATCH_ROWS, reencrypt_fields

WHERE = {"table": "cases", "column": "narrative_enc", "row_id": 123_456}
SIZES = {"small (40 B)": 40, "medium (4 KiB)": 4096}
ITERATIONS = {"small (40 B)": 50_000, "medium (4 KiB)": 20_000}
REENCRYPT_ITERATIONS = 50_000
ORM_ITERATIONS = 300
REPEATS = 3


def best_seconds(operation: Callable[[], object], iterations: int) -> float:
    """Best of REPEATS runs of ``iterations`` calls, in seconds per call (least noisy)."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(iterations):
            operation()
        best = min(best, time.perf_counter() - start)
    return best / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", type=int, default=10_000, help="accounts re-encrypted (2 fields each)"
    )
    parser.add_argument(
        "--people", type=int, default=5_000, help="people re-encrypted (4 fields, a key each)"
    )
    parser.add_argument("--runs", type=int, default=5, help="re-encryptions of each store")
    args = parser.parse_args()
    field_cipher()
    with tempfile.TemporaryDirectory() as folder:
        engine, sessions = open_store(Path(folder))
        try:
            orm_round_trip(sessions)
        finally:
            engine.dispose()
    print()
    print(
        f"{'re-encryption, CLI path, SQLite':<34}{'fields/s':>10}{'lowest':>10}{'highest':>10}"
        f"{'raw AESGCM':>12}{'ratio':>8}"
    )
    bare = raw_move_seconds()
    for label, fill in (
        ("accounts, one key", lambda s: fill_accounts(s, args.users)),
        ("people, a key each", lambda s: fill_people(s, args.people)),
    ):
        with tempfile.TemporaryDirectory() as folder:
            engine, sessions = open_store(Path(folder))
            try:
                fill(sessions)
                reencryption(sessions, label=label, runs=args.runs, bare=bare)
            finally:
                engine.dispose()
    print(f"(median of {args.runs} runs each, batches of {BATCH_ROWS:,} rows)")


def field_cipher() -> None:
    cipher = FieldCipher(new_data_key(), key_id=1)
    raw = AESGCM(AESGCM.generate_key(bit_length=256))

    print(f"{'field encrypt+decrypt':<24}{'FieldCipher':>14}{'raw AESGCM':>14}{'ratio':>8}")
    for label, size in SIZES.items():
        value = os.urandom(size)

        def field_round_trip(value: bytes = value) -> bytes:
            return cipher.decrypt_bytes(cipher.encrypt(value, **WHERE), **WHERE)  # type: ignore[arg-type]

        def raw_round_trip(value: bytes = value) -> bytes:
            nonce = os.urandom(12)
            return raw.decrypt(nonce, raw.encrypt(nonce, value, None), None)

        field = best_seconds(field_round_trip, ITERATIONS[label])
        bare = best_seconds(raw_round_trip, ITERATIONS[label])
        print(f"{label:<24}{field * 1e6:>11.2f} us{bare * 1e6:>11.2f} us{field / bare:>7.2f}x")

    old, new = cipher, FieldCipher(new_data_key(), key_id=2)
    raw_new = AESGCM(AESGCM.generate_key(bit_length=256))
    value = os.urandom(SIZES["small (40 B)"])
    field_ciphertext = old.encrypt(value, **WHERE)  # type: ignore[arg-type]
    raw_nonce = os.urandom(12)
    raw_ciphertext = raw.encrypt(raw_nonce, value, None)

    def field_reencrypt() -> bytes:
        return reencrypt(field_ciphertext, old=old, new=new, **WHERE)  # type: ignore[arg-type]

    def raw_reencrypt() -> bytes:
        nonce = os.urandom(12)
        return raw_new.encrypt(nonce, raw.decrypt(raw_nonce, raw_ciphertext, None), None)

    field = best_seconds(field_reencrypt, REENCRYPT_ITERATIONS)
    bare = best_seconds(raw_reencrypt, REENCRYPT_ITERATIONS)
    print()
    print(f"{'re-encryption (40 B)':<24}{'FieldCipher':>14}{'raw AESGCM':>14}{'ratio':>8}")
    print(f"{'fields per second':<24}{1 / field:>14,.0f}{1 / bare:>14,.0f}{field / bare:>7.2f}x")


def open_store(folder: Path) -> tuple[Engine, sessionmaker[Session]]:
    """A migrated SQLite case store and a key file, as ``btam init`` leaves them."""
    generate_key_file(folder / "kek.key")
    engine = make_engine(f"sqlite:///{folder}/btam.sqlite3", immediate=True)
    upgrade(engine, "case")
    source = KekSource.load(folder / "kek.key")
    return engine, sessionmaker(engine, expire_on_commit=False, info=session_info(source))


def new_user(number: int) -> User:
    return User(
        username=f"user{number}",
        display_name=f"User {number}",
        role=Role.TEAM_MEMBER,
        password_hash="not a hash",  # noqa: S106  (no one signs in here)
    )


def orm_round_trip(sessions: sessionmaker[Session]) -> None:
    value = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a TOTP secret's size
    # Alternating values: assigning the value a column already holds would write nothing.
    values = [value, value.lower()]
    raw = AESGCM(AESGCM.generate_key(bit_length=256))
    with sessions() as db:
        user = new_user(0)
        db.add(user)
        db.commit()
        turn = [0]

        def encrypted() -> object:
            turn[0] ^= 1
            user.mfa_secret = values[turn[0]]
            db.commit()
            db.expire(user)
            return user.mfa_secret

        def plain() -> object:
            turn[0] ^= 1
            user.display_name = values[turn[0]]
            db.commit()
            db.expire(user)
            return user.display_name

        helper = best_seconds(encrypted, ORM_ITERATIONS)
        baseline = best_seconds(plain, ORM_ITERATIONS)

    def raw_round_trip() -> bytes:
        nonce = os.urandom(12)
        return raw.decrypt(nonce, raw.encrypt(nonce, value.encode(), None), None)

    bare = best_seconds(raw_round_trip, ITERATIONS["small (40 B)"])
    print()
    print(f"{'ORM round trip (32 B)':<24}{'per field':>14}{'vs raw AESGCM':>16}{'vs plain':>10}")
    print(
        f"{'encrypted_text':<24}{helper * 1e6:>11.1f} us{helper / bare:>15.0f}x"
        f"{helper / baseline:>9.2f}x"
    )
    print(f"{'plain Text column':<24}{baseline * 1e6:>11.1f} us{baseline / bare:>15.0f}x{1:>9.2f}x")
    print(f"{'raw AESGCM':<24}{bare * 1e6:>11.1f} us{1:>15.0f}x")


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105  (a made-up TOTP secret)


def fill_accounts(sessions: sessionmaker[Session], users: int) -> None:
    """``users`` accounts with two encrypted fields each, all under the accounts scope."""
    with sessions() as db:
        for number in range(1, users + 1):
            user = new_user(number)
            user.mfa_secret = SECRET
            user.mfa_pending_secret = SECRET
            db.add(user)
        db.commit()


def fill_people(sessions: sessionmaker[Session], people: int) -> None:
    """``people`` people with four encrypted fields each, each person under a key of their own."""
    with sessions() as db:
        district = District(name="Bench district")
        db.add(district)
        db.flush()
        keyring_for(db).prepare([f"person:{number}" for number in range(1, people + 1)])
        for number in range(1, people + 1):
            db.add(
                Person(
                    id=number,
                    district_id=district.id,
                    kind=PersonKind.STUDENT,
                    given_name=f"Given{number}",
                    family_name=f"Family{number}",
                    date_of_birth_text="2011-04-05",
                    student_number=f"S{number:07d}",
                )
            )
        db.commit()


def raw_move_seconds() -> float:
    """Raw AESGCM decrypt under one key and encrypt under another, seconds per field."""
    old, new = AESGCM(new_data_key()), AESGCM(new_data_key())
    nonce = os.urandom(12)
    sealed = old.encrypt(nonce, SECRET.encode(), None)

    def raw_move() -> bytes:
        fresh = os.urandom(12)
        return new.encrypt(fresh, old.decrypt(nonce, sealed, None), None)

    return best_seconds(raw_move, REENCRYPT_ITERATIONS)


def reencryption(sessions: sessionmaker[Session], *, label: str, runs: int, bare: float) -> None:
    """Rotate the data keys and re-encrypt every field ``runs`` times, as the command does."""
    source = sessions.kw["info"]["btam.kek"]
    rates = []
    moved = 0
    for _ in range(runs):
        start_data_key_rotation(sessions, source)
        start = time.perf_counter()
        result = reencrypt_fields(sessions)
        elapsed = time.perf_counter() - start
        assert result.complete and result.moved > 0 and result.failed == 0
        retire_unused_keys(sessions, result.in_use)
        moved = result.moved
        rates.append(result.moved / elapsed)
    rate = statistics.median(rates)
    print(
        f"{f'{moved:,} fields, {label}':<34}{rate:>10,.0f}{min(rates):>10,.0f}"
        f"{max(rates):>10,.0f}{1 / bare:>12,.0f}{(1 / bare) / rate:>7.0f}x"
    )


if __name__ == "__main__":
    main()
