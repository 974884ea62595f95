"""Field encryption overhead beside raw AES-256-GCM, measured in the same run.

Run: python bench/crypto.py

Prints, per field size, the time of one encrypt + decrypt through FieldCipher (header, AD
building, per-column key cache) next to bare AESGCM encrypt + decrypt of the same bytes, and
re-encryption throughput (decrypt under the old data key, encrypt under the new one). Figures
only: nothing here asserts a speed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from btam.security.crypto import FieldCipher, new_data_key, reencrypt

WHERE = {"table": "cases", "column": "narrative_enc", "row_id": 123_456}
SIZES = {"small (40 B)": 40, "medium (4 KiB)": 4096}
ITERATIONS = {"small (40 B)": 50_000, "medium (4 KiB)": 20_000}
REENCRYPT_ITERATIONS = 50_000
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


if __name__ == "__main__":
    main()
