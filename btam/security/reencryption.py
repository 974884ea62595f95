"""Re-encrypting every field under its scope's current data key, in batches, resumable; and
counting which key protects how many fields."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Interval,
    MetaData,
    Row,
    Select,
    Table,
    Time,
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


# Rows per batch when the caller names none: few commits (one fsync each) for the whole store.
BATCH_ROWS = 2000
# Ciphertext bytes per batch at most (but always one row): a batch of attachments stays small.
BATCH_BYTES = 8 * 1024 * 1024

# A field waiting to be moved: (row id, ciphertext read, new ciphertext, new key id).
_Move = tuple[Any, bytes, bytes, int]


@dataclass
class _Source:
    """One model's encrypted columns and the statements that read and write them in batches."""

    table: Table
    primary_key: Column[Any]
    descriptors: list[EncryptedText]
    # The primary key, then each descriptor's ciphertext, then what the scopes may read.
    read: Select[Any]
    # The primary key and the bytes of ciphertext its row holds, to size a batch before reading it.
    sizes: Select[Any]
    # Per column: the compare-and-swap UPDATE as the driver takes it, and its parameters' order.
    swaps: dict[str, tuple[str, list[str] | None]] = field(default_factory=dict)

    def swap(self, dialect: Dialect, column: str) -> tuple[str, list[str] | None]:
        """The compiled ``SET c = :new WHERE id = :row AND c = :old`` for ``column``."""
        cached = self.swaps.get(column)
        if cached is None:
            target = self.table.c[column]
            compiled = (
                update(self.table)
                .where(self.primary_key == bindparam("row"), target == bindparam("old"))
                .values({column: bindparam("new")})
                .compile(dialect=dialect)
            )
            order = list(compiled.positiontup or []) if compiled.positional else None
            cached = self.swaps[column] = (compiled.string, order)
        return cached


def _sources(metadata: MetaData | None) -> list[_Source]:
    sources = []
    for model, descriptors in _models(metadata):
        table = descriptors[0].table
        primary_key = _primary_key(table)
        mapper = inspect(model)
        encrypted = [table.c[d.column] for d in descriptors]
        columns: list[Any] = [primary_key.label(mapper.get_property_by_column(primary_key).key)]
        columns += [c.label(mapper.get_property_by_column(c).key) for c in encrypted]
        if any(d.fixed_scope is None for d in descriptors):
            # Plain values named like the model's attributes, for the scope functions; without
            # the times, which no scope names and which cost a conversion each.
            columns += [
                attribute.columns[0].label(attribute.key)
                for attribute in mapper.column_attrs
                if attribute.columns[0] is not primary_key
                and attribute.columns[0] not in encrypted
                and not _is_time(attribute.columns[0])
            ]
        any_value = or_(*(c.is_not(None) for c in encrypted))
        size = sum(
            (func.coalesce(func.length(c), 0) for c in encrypted[1:]),
            start=func.coalesce(func.length(encrypted[0]), 0),
        )
        sources.append(
            _Source(
                table=table,
                primary_key=primary_key,
                descriptors=descriptors,
                read=select(*columns).where(any_value).order_by(primary_key),
                sizes=select(primary_key, size).where(any_value).order_by(primary_key),
            )
        )
    return sources


def reencrypt_fields(
    sessions: sessionmaker[Session],
    *,
    metadata: MetaData | None = None,
    batch_size: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    max_passes: int = 5,
    progress: Progress | None = None,
    after_read: AfterRead | None = None,
) -> ReencryptResult:
    """Move every encrypted field to its scope's current data key, in batches, while the app runs.

    A batch is at most ``batch_size`` rows and ``batch_bytes`` bytes of ciphertext (but at
    least one row). Each batch is read and re-encrypted in one short transaction and written
    in another with one compare-and-swap statement per column, run for all the batch's
    fields at once (``SET x_enc = :new WHERE id = :id AND x_enc = :old``): a value the app
    wrote meanwhile is never overwritten, is counted in ``conflicts`` and is looked at again
    in the next pass. Passes repeat until one changes nothing (then ``complete`` is True and
    ``in_use`` counts every field's key) or ``max_passes`` is reached. Fields already under
    their scope's current key are skipped, so an interrupted run resumes where it stopped.
    ``after_read`` is called between a batch's read and its write (table name, row ids).

    Fields that do not authenticate, or whose key was destroyed, are counted and left as
    they are.

    :raises OperationalError: the case store failed mid-way (committed batches stay done).
    """
    result = ReencryptResult()
    sources = _sources(metadata)
    while result.passes < max_passes:
        result.passes += 1
        label = "Re-encrypting fields" if result.passes == 1 else f"Checking (pass {result.passes})"
        total = _count_fields(sessions, sources)
        done = 0
        scanned_before = result.scanned
        in_use: Counter[int] = Counter()
        moved = conflicts = 0
        for source in sources:
            after: Any = None
            while True:
                with sessions() as db, db.begin():
                    batch = _read_batch(db.connection(), source, after, batch_size, batch_bytes)
                    if batch is None:
                        break
                    rows, after = batch
                    changes, seen = _plan_batch(keyring_for(db), rows, source, result, in_use)
                if after_read is not None and rows:
                    after_read(source.table.name, [row[0] for row in rows])
                if changes:
                    swapped, lost = _write_batch(sessions, source, changes, in_use)
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
    kind = getattr(column.type, "impl_instance", column.type)
    return isinstance(kind, DateTime | Date | Time | Interval)


def _count_fields(sessions: sessionmaker[Session], sources: list[_Source]) -> int:
    total = 0
    with sessions() as db:
        for source in sources:
            # One scan per table: count() of a column counts its non-NULL values.
            counts = [func.count(source.table.c[d.column]) for d in source.descriptors]
            total += sum(db.execute(select(*counts)).one())
    return total


def _read_batch(
    connection: Connection, source: _Source, after: Any, batch_size: int, batch_bytes: int
) -> tuple[Sequence[Row[Any]], Any] | None:
    """The next rows after ``after`` within the batch's bounds, and the key to go on from;
    None at the end of the table."""
    sizes = source.sizes.limit(batch_size)
    if after is not None:
        sizes = sizes.where(source.primary_key > after)
    found = connection.execute(sizes).all()
    if not found:
        return None
    count = total = 0
    for _row_id, size in found:
        total += size
        if count and total > batch_bytes:
            break
        count += 1
    last = found[count - 1][0]
    query = source.read.where(source.primary_key <= last).limit(count)
    if after is not None:
        query = query.where(source.primary_key > after)
    # Rows deleted since the sizes were read are simply not there; the next batch starts
    # after ``last`` either way.
    return connection.execute(query).all(), last


def _plan_batch(
    ring: KeyRing,
    rows: Sequence[Row[Any]],
    source: _Source,
    result: ReencryptResult,
    in_use: Counter[int],
) -> tuple[dict[str, list[_Move]], int]:
    seen = 0
    # (row id, descriptor, ciphertext, key id, scope) of every field with a readable header.
    fields: list[tuple[Any, EncryptedText, bytes, int, str]] = []
    append = fields.append
    columns = [(index, d, d.fixed_scope) for index, d in enumerate(source.descriptors, 1)]
    for row in rows:
        row_id = row[0]
        for index, descriptor, fixed_scope in columns:
            ciphertext = row[index]
            if ciphertext is None:
                continue
            seen += 1
            try:
                key_id = peek_key_id(ciphertext)
            except UnsupportedFormat:
                log.error(
                    "cannot re-encrypt %s: unsupported ciphertext format",
                    _subject(descriptor, row_id),
                )
                result.failed += 1
                continue
            append(
                (row_id, descriptor, ciphertext, key_id, fixed_scope or descriptor.scope_of(row))
            )
    result.scanned += seen
    # Which fields move, from the current key ids alone: a checking pass unwraps nothing.
    current_ids = ring.current_key_ids({found[4] for found in fields})
    pending = []
    for found in fields:
        if current_ids.get(found[4]) == found[3]:
            in_use[found[3]] += 1
        else:
            pending.append(found)
    if not pending:
        return {}, seen
    # The keys of the batch's moves in two queries, not two per scope: a batch of cases,
    # reports or people holds a scope per row.
    ring.load_current({found[4] for found in pending})
    wanted: dict[int, str] = {}
    for found in pending:
        wanted.setdefault(found[3], found[4])
    ring.load(wanted)
    table = source.table.name
    changes: dict[str, list[_Move]] = {d.column: [] for d in source.descriptors}
    currents: dict[str, FieldCipher] = {}
    for row_id, descriptor, ciphertext, key_id, scope in pending:
        try:
            current = currents.get(scope)
            if current is None:
                current = currents[scope] = ring.current_cipher(scope)
            if key_id == current.key_id:
                # Made current since the ids were read (a scope that had no key at all).
                in_use[key_id] += 1
                continue
            # Under its own scope's keys only: re-encrypting a value moved in from another
            # case would launder it into this one.
            new = reencrypt(
                ciphertext,
                old=ring.cipher_for(key_id, scope=scope),
                new=current,
                table=table,
                column=descriptor.column,
                row_id=row_id,
            )
        except KeyDestroyed:
            result.destroyed += 1
            continue
        except (DecryptionFailed, UnknownDataKey, KeyOutOfScope) as exc:
            _cannot_move(descriptor, row_id, exc, key_id, result, in_use)
            continue
        changes[descriptor.column].append((row_id, ciphertext, new, current.key_id))
    return {column: moves for column, moves in changes.items() if moves}, seen


def _cannot_move(
    descriptor: EncryptedText,
    row_id: Any,
    exc: Exception,
    key_id: int,
    result: ReencryptResult,
    in_use: Counter[int],
) -> None:
    # Left as it is, and its key kept: an operator may still want to look at it.
    log.error("cannot re-encrypt %s: %s", _subject(descriptor, row_id), type(exc).__name__)
    result.failed += 1
    in_use[key_id] += 1


def _subject(descriptor: EncryptedText, row_id: Any) -> str:
    return f"{descriptor.table_name}.{descriptor.column} row {row_id}"


def _write_batch(
    sessions: sessionmaker[Session],
    source: _Source,
    changes: dict[str, list[_Move]],
    in_use: Counter[int],
) -> tuple[int, int]:
    """Write a batch in one transaction, one compare-and-swap statement per column.

    Each row is updated only if it still holds the ciphertext read: a value the app wrote
    meanwhile is kept, counted as lost, and looked at again by the next pass.
    """
    swapped = lost = 0
    with sessions() as db, db.begin():
        connection = db.connection()
        dialect = connection.dialect
        for name, group in changes.items():
            sql, order = source.swap(dialect, name)
            # Straight to the driver's executemany: no per-row parameter processing, which
            # cost more than the cipher. Bytes and plain keys need none.
            parameters: Any
            if order is None:
                parameters = [{"row": r, "old": o, "new": n} for r, o, n, _key in group]
            else:
                slots = {"row": 0, "old": 1, "new": 2}
                parameters = list(map(itemgetter(*(slots[n] for n in order)), group))
            matched = connection.exec_driver_sql(sql, parameters).rowcount
            if matched == len(group) and dialect.supports_sane_multi_rowcount:
                written = group
            else:
                # Which ones lost: a row holds its new ciphertext only if this batch wrote it
                # (every encryption takes a fresh nonce), and it stays locked until commit.
                column = source.table.c[name]
                query = select(source.primary_key, column).where(
                    source.primary_key.in_([move[0] for move in group])
                )
                held = {row_id: value for row_id, value in connection.execute(query)}
                written = [move for move in group if held.get(move[0]) == move[2]]
            swapped += len(written)
            lost += len(group) - len(written)
            for move in written:
                in_use[move[3]] += 1
    return swapped, lost
