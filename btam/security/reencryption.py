"""Re-encrypting every field under its scope's current data key, in batches, resumable; and
counting which key protects how many fields."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Table,
    bindparam,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from btam.security.crypto import (
    DecryptionFailed,
    FieldCipher,
    UnsupportedFormat,
    peek_key_id,
    reencrypt,
)
from btam.security.fields import AfterRead, EncryptedText, encrypted_fields
from btam.security.key_rotation import Progress
from btam.security.keys import (
    KeyDestroyed,
    KeyOutOfScope,
    KeyRing,
    UnknownDataKey,
    keyring_for,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldUsage:
    """How many stored encrypted fields each data key id protects."""

    by_key: Counter[int]
    unreadable: int

    @property
    def total(self) -> int:
        """Every non-NULL encrypted field counted."""
        return sum(self.by_key.values()) + self.unreadable


def _models(metadata: MetaData | None) -> list[tuple[type[Any], list[EncryptedText]]]:
    grouped: dict[type[Any], list[EncryptedText]] = {}
    for descriptor in encrypted_fields(metadata):
        # Registered from __set_name__, so every descriptor here has its owner.
        grouped.setdefault(descriptor.owner or object, []).append(descriptor)
    return list(grouped.items())


def _primary_key(table: Table) -> Column[Any]:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        raise TypeError(f"{table.name}: encrypted fields need a single-column primary key")
    return columns[0]


def field_usage(
    sessions: sessionmaker[Session], *, metadata: MetaData | None = None, batch_size: int = 1000
) -> FieldUsage:
    """Count the encrypted fields under each data key by reading ciphertext headers only.

    Nothing is decrypted and no key is needed, so this runs with any key file.
    """
    counts: Counter[int] = Counter()
    unreadable = 0
    for _model, descriptors in _models(metadata):
        table = descriptors[0].table
        primary_key = _primary_key(table)
        columns = [table.c[d.column] for d in descriptors]
        after: Any = None
        while True:
            query = (
                select(primary_key, *columns)
                .where(or_(*(c.is_not(None) for c in columns)))
                .order_by(primary_key)
                .limit(batch_size)
            )
            if after is not None:
                query = query.where(primary_key > after)
            with sessions() as db:
                rows = db.execute(query).all()
            if not rows:
                break
            for row in rows:
                for ciphertext in row[1:]:
                    if ciphertext is None:
                        continue
                    try:
                        counts[peek_key_id(ciphertext)] += 1
                    except UnsupportedFormat:
                        unreadable += 1
            after = rows[-1][0]
    return FieldUsage(by_key=counts, unreadable=unreadable)


@dataclass
class ReencryptResult:
    """What a re-encryption run found and did, over all its passes."""

    scanned: int = 0
    moved: int = 0
    # Lost a compare-and-swap to a concurrent write by the app; the next pass looks again.
    conflicts: int = 0
    destroyed: int = 0
    failed: int = 0
    passes: int = 0
    # Fields seen by the last pass: every encrypted field in the store at that time.
    checked: int = 0
    # True when the last pass found every readable field on its scope's current key.
    complete: bool = False
    in_use: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Change:
    table: Table
    row_id: Any
    column: str
    old: bytes
    new: bytes
    new_key: int


def reencrypt_fields(
    sessions: sessionmaker[Session],
    *,
    metadata: MetaData | None = None,
    batch_size: int = 200,
    max_passes: int = 5,
    progress: Progress | None = None,
    after_read: AfterRead | None = None,
) -> ReencryptResult:
    """Move every encrypted field to its scope's current data key, in batches, while the app runs.

    Each batch is read and re-encrypted in one short transaction and written in another
    with one compare-and-swap statement per column, run for all the batch's fields at once
    (``SET x_enc = :new WHERE id = :id AND x_enc = :old``): a value the app wrote meanwhile
    is never overwritten, is counted in ``conflicts`` and is looked at again in the next
    pass. Passes repeat until one changes nothing (then ``complete`` is True and ``in_use``
    counts every field's key) or ``max_passes`` is reached. Fields already under their
    scope's current key are skipped, so an interrupted run resumes where it stopped.
    ``after_read`` is called between a batch's read and its write (table name, row ids).

    Fields that do not authenticate, or whose key was destroyed, are counted and left as
    they are.

    :raises OperationalError: the case store failed mid-way (committed batches stay done).
    """
    result = ReencryptResult()
    models = _models(metadata)
    while result.passes < max_passes:
        result.passes += 1
        label = "Re-encrypting fields" if result.passes == 1 else f"Checking (pass {result.passes})"
        total = _count_fields(sessions, models)
        done = 0
        scanned_before = result.scanned
        in_use: Counter[int] = Counter()
        moved = conflicts = 0
        for model, descriptors in models:
            table = descriptors[0].table
            primary_key = _primary_key(table)
            mapper = inspect(model)
            key_name = mapper.get_property_by_column(primary_key).key
            key_attribute = getattr(model, key_name)
            # Plain rows named like the model's attributes, no ORM object per row; without the
            # times, which no scope names and which cost a conversion each.
            columns = [
                getattr(model, attribute.key)
                for attribute in mapper.column_attrs
                if not _is_time(attribute.columns[0])
            ]
            any_value = or_(*(table.c[d.column].is_not(None) for d in descriptors))
            after: Any = None
            while True:
                query = select(*columns).where(any_value).order_by(key_attribute).limit(batch_size)
                if after is not None:
                    query = query.where(key_attribute > after)
                with sessions() as db, db.begin():
                    rows = db.execute(query).all()
                    if not rows:
                        break
                    ids = [getattr(row, key_name) for row in rows]
                    changes, seen = _plan_batch(
                        keyring_for(db), rows, ids, descriptors, result, in_use
                    )
                after = ids[-1]
                if after_read is not None:
                    after_read(table.name, ids)
                if changes:
                    swapped, lost = _write_batch(sessions, changes, in_use)
                    moved += swapped
                    conflicts += lost
                done += seen
                if progress is not None:
                    progress(label, min(done, total), total)
        result.moved += moved
        result.conflicts += conflicts
        result.in_use = in_use
        result.checked = result.scanned - scanned_before
        if moved == 0 and conflicts == 0:
            result.complete = True
            break
    return result


def _is_time(column: Any) -> bool:
    try:
        return column.type.python_type in (datetime, date)
    except NotImplementedError:
        return False


def _count_fields(
    sessions: sessionmaker[Session], models: list[tuple[type[Any], list[EncryptedText]]]
) -> int:
    total = 0
    with sessions() as db:
        for _model, descriptors in models:
            table = descriptors[0].table
            for descriptor in descriptors:
                column = table.c[descriptor.column]
                total += db.execute(
                    select(func.count()).select_from(table).where(column.is_not(None))
                ).scalar_one()
    return total


def _plan_batch(
    ring: KeyRing,
    rows: Sequence[Any],
    ids: Sequence[Any],
    descriptors: list[EncryptedText],
    result: ReencryptResult,
    in_use: Counter[int],
) -> tuple[list[_Change], int]:
    changes: list[_Change] = []
    seen = 0
    # A batch often holds many fields of one scope: its current key is looked up once.
    currents: dict[str, FieldCipher] = {}
    for row, row_id in zip(rows, ids, strict=True):
        for descriptor in descriptors:
            ciphertext = getattr(row, descriptor.column)
            if ciphertext is None:
                continue
            seen += 1
            result.scanned += 1
            try:
                key_id = peek_key_id(ciphertext)
            except UnsupportedFormat:
                log.error(
                    "cannot re-encrypt %s: unsupported ciphertext format",
                    _subject(descriptor, row_id),
                )
                result.failed += 1
                continue
            try:
                scope = descriptor.scope_of(row)
                current = currents.get(scope)
                if current is None:
                    current = currents[scope] = ring.current_cipher(scope)
                if key_id == current.key_id:
                    in_use[key_id] += 1
                    continue
                # Under its own scope's keys only: re-encrypting a value moved in from another
                # case would launder it into this one.
                new = reencrypt(
                    ciphertext,
                    old=ring.cipher_for(key_id, scope=scope),
                    new=current,
                    table=descriptor.table_name,
                    column=descriptor.column,
                    row_id=row_id,
                )
            except KeyDestroyed:
                result.destroyed += 1
                continue
            except (DecryptionFailed, UnknownDataKey, KeyOutOfScope) as exc:
                # Left as it is, and its key kept: an operator may still want to look at it.
                log.error(
                    "cannot re-encrypt %s: %s", _subject(descriptor, row_id), type(exc).__name__
                )
                result.failed += 1
                in_use[key_id] += 1
                continue
            changes.append(
                _Change(
                    descriptor.table, row_id, descriptor.column, ciphertext, new, current.key_id
                )
            )
    return changes, seen


def _subject(descriptor: EncryptedText, row_id: Any) -> str:
    return f"{descriptor.table_name}.{descriptor.column} row {row_id}"


def _write_batch(
    sessions: sessionmaker[Session], changes: list[_Change], in_use: Counter[int]
) -> tuple[int, int]:
    """Write a batch in one transaction, one compare-and-swap statement per column.

    Each row is updated only if it still holds the ciphertext read: a value the app wrote
    meanwhile is kept, counted as lost, and looked at again by the next pass.
    """
    swapped = lost = 0
    by_column: dict[tuple[Table, str], list[_Change]] = {}
    for change in changes:
        by_column.setdefault((change.table, change.column), []).append(change)
    with sessions() as db, db.begin():
        connection = db.connection()
        for (table, name), group in by_column.items():
            primary_key = _primary_key(table)
            column = table.c[name]
            statement = (
                update(table)
                .where(primary_key == bindparam("cas_row"), column == bindparam("cas_old"))
                .values({name: bindparam("cas_new")})
            )
            matched = connection.execute(
                statement,
                [{"cas_row": c.row_id, "cas_old": c.old, "cas_new": c.new} for c in group],
            ).rowcount
            if matched == len(group) and connection.dialect.supports_sane_multi_rowcount:
                written = group
            else:
                # Which ones lost: a row holds its new ciphertext only if this batch wrote it
                # (every encryption takes a fresh nonce), and it stays locked until commit.
                query = select(primary_key, column).where(
                    primary_key.in_([c.row_id for c in group])
                )
                held = {row_id: value for row_id, value in connection.execute(query)}
                written = [c for c in group if held.get(c.row_id) == c.new]
            swapped += len(written)
            lost += len(group) - len(written)
            for change in written:
                in_use[change.new_key] += 1
    return swapped, lost
