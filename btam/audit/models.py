"""The audit store's tables: hash-chained entries and the signed checkpoints that seal them.

Nothing here may ever hold case content. Every column is an id, a closed-vocabulary value,
a short purpose, a time or a hash: a student's name, a narrative or an identifier such as a
student number must never reach this store, because the auditors who read it are entitled
to see who accessed what, not what the record says.

Rows are never updated or deleted: the migration installs triggers (and, on PostgreSQL,
grants) that refuse it in the database itself, and ``btam audit verify`` detects it anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from btam.audit.events import OBJECT_ID_MAX, OBJECT_TYPE_MAX, PURPOSE_MAX
from btam.audit.signing import SignedCheckpoint
from btam.db import AuditBase, UTCDateTime

__all__ = [
    "OBJECT_ID_MAX",
    "OBJECT_TYPE_MAX",
    "PURPOSE_MAX",
    "AuditCheckpoint",
    "AuditEntry",
]

# Column sizes; the writer refuses longer values instead of letting a database truncate them
# (SQLite would store them whole, PostgreSQL would fail, and the hash must match on both).
ROLE_MAX = 32
ACTION_MAX = 64
OUTCOME_MAX = 16
REQUEST_ID_MAX = 64
CLIENT_ADDRESS_MAX = 45  # the longest textual IPv6 address (IPv4-mapped form)
HASH_HEX = 64
KEY_ID_MAX = 64
SIGNATURE_HEX = 128

# 2**31 entries is reachable by a state-wide deployment; SQLite's INTEGER is already 64 bits
# and must stay INTEGER to remain the rowid alias.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(AuditBase):
    """One audited event, chained to the previous one by ``prev_hash``.

    ``seq`` is assigned by the writer as the previous maximum plus one under the append lock,
    so the sequence has no gaps and a missing number means a deleted entry. ``object_id`` is
    the id of the object acted on (a user id, a case number), never a name or any content.
    """

    __tablename__ = "audit_entries"
    # Entries that name another entry (a grant's review, a change not applied) are looked up
    # by action and object under the append lock, which must stay short on a long trail.
    __table_args__ = (Index("ix_audit_entries_action_object", "action", "object_id"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_role: Mapped[str] = mapped_column(String(ROLE_MAX))
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    outcome: Mapped[str] = mapped_column(String(OUTCOME_MAX))
    object_type: Mapped[str | None] = mapped_column(String(OBJECT_TYPE_MAX))
    object_id: Mapped[str | None] = mapped_column(String(OBJECT_ID_MAX))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    school_id: Mapped[int | None] = mapped_column(Integer, index=True)
    purpose: Mapped[str | None] = mapped_column(String(PURPOSE_MAX))
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX))
    client_address: Mapped[str | None] = mapped_column(String(CLIENT_ADDRESS_MAX))
    prev_hash: Mapped[str] = mapped_column(String(HASH_HEX))
    entry_hash: Mapped[str] = mapped_column(String(HASH_HEX))


class AuditCheckpoint(AuditBase):
    """An Ed25519 signature over the chain's head (``seq``, ``entry_hash``) at ``signed_at``.

    ``id`` is assigned like ``seq`` (previous maximum plus one), so a deleted checkpoint leaves
    a visible gap; every checkpoint is also appended to the witness file outside the database.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(SeqType, unique=True)
    entry_hash: Mapped[str] = mapped_column(String(HASH_HEX))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(KEY_ID_MAX))
    signature: Mapped[str] = mapped_column(String(SIGNATURE_HEX))

    def signed(self) -> SignedCheckpoint:
        """The stored checkpoint as the signing module checks it."""
        return SignedCheckpoint(
            id=self.id,
            seq=self.seq,
            entry_hash=self.entry_hash,
            signed_at=self.signed_at,
            key_id=self.key_id,
            signature=self.signature,
        )


# Where /healthz proves the store takes an INSERT: a row goes in and is rolled back, so the
# table stays empty. The application's role may INSERT and SELECT here, as everywhere.
store_probe = Table(
    "audit_store_probe",
    AuditBase.metadata,
    Column("probed_at", UTCDateTime(), nullable=False),
)
