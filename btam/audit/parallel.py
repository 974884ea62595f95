"""Batches of the trail re-hashed in helper processes, ahead of the walk that checks them.

Re-hashing is nearly all a walk costs, one core's worth, and a batch's hashes depend on its
own rows alone. So helper processes take batches ahead of the walk: each reads a batch,
re-hashes it and checks it as the walk would (every seq of its range, in order; each entry
linked to the one before; each stored hash its entry's), and hands back the hashes and the
hash its first entry says it follows. The walk accepts such a batch only when that is the
hash it reached, and then checks checkpoints and witness lines against the hashes as for a
batch it read itself. A batch a helper found anything wrong with, or could not read, the
walk reads and checks itself, entry by entry, so a fault is reported exactly as it is
without helpers. The walk also takes for itself every batch no helper has claimed yet.

Helpers are forked, so they start at once with everything imported, and only from a
process running a single thread (a fork copies only the thread that forks, and any lock
another thread held stays locked in the copy); elsewhere the walk goes alone. No connection
crosses the fork: the engine's pool is emptied first, and each helper opens its own
connections (SQLite's own rule: a connection is used only in the process that opened it).
A helper never touches the files the walk has open, and ends with ``os._exit`` like every
forked process of multiprocessing, so nothing of the caller's is closed or flushed by it.
Helpers only read.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import BoundedSemaphore
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.rehash import StoredBatches
from btam.audit.writer import ENTRY_FIELDS

__all__ = ["Helpers", "SoundBatch", "whole_batch"]

_FORK = (
    multiprocessing.get_context("fork")
    if "fork" in multiprocessing.get_all_start_methods()
    else None
)
# How long the walk waits for a helper's batch before it checks the helpers are alive.
_POLL_SECONDS = 1.0
# Beyond any batch: helpers that claim it stop.
_NO_MORE = 1 << 62
# Batches each helper may have taken that the walk has not (see Helpers.__init__).
_AHEAD = 4
_PREV_HASH = ENTRY_FIELDS.index("prev_hash")
_ENTRY_HASH = len(ENTRY_FIELDS)
# The walk takes a batch no helper has claimed yet; tests turn this off so that every batch
# goes through the helpers.
_WALK_TAKES_UNCLAIMED = True


@dataclass(frozen=True)
class SoundBatch:
    """A batch a helper found whole: its entries' hashes, and the hash its first follows."""

    follows: str
    hashes: list[str]


class Helpers:
    """Helper processes re-hashing the batches after seq ``base`` up to ``upto``, in turn."""

    @classmethod
    def start(
        cls,
        sessions: sessionmaker[Session],
        *,
        base: int,
        upto: int,
        batch_size: int,
        count: int,
    ) -> Helpers | None:
        """``count`` helpers for the sessions' store, or None where none can be forked.

        None when this platform cannot fork, when another thread runs in this process, or
        when the store is not one another process can open (an in-memory SQLite database).
        """
        engine = sessions.kw.get("bind")
        if _FORK is None or threading.active_count() != 1 or not isinstance(engine, Engine):
            return None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        engine.dispose()  # its next session connects anew
        return cls(engine, base, upto, batch_size, count)

    def __init__(self, engine: Engine, base: int, upto: int, batch_size: int, count: int) -> None:
        assert _FORK is not None  # noqa: S101  (start() returns None without fork)
        self._base = base
        self._batch_size = batch_size
        # The index of the next batch nobody has claimed: helpers and the walk claim from it.
        self._next: Synchronized[int] = _FORK.Value("q", 0)
        self._results: multiprocessing.Queue[tuple[int, SoundBatch | None]] = _FORK.Queue()
        self._received: dict[int, SoundBatch | None] = {}
        # A helper claims a batch only with a credit, which the walk gives back as it takes
        # a helper's batch: helpers run at most this many batches ahead, whatever holds the
        # walk up, so their batches waiting for it never fill the memory.
        self._credits = _FORK.BoundedSemaphore(_AHEAD * count)
        self._processes = [
            _FORK.Process(
                target=_help,
                args=(engine, base, upto, batch_size, self._next, self._credits, self._results),
                daemon=True,
            )
            for _ in range(count)
        ]
        for process in self._processes:
            process.start()

    def take(self, after: int) -> SoundBatch | None:
        """The batch after seq ``after`` if a helper found it whole; None: the walk reads it.

        Waits for a helper that is working on it; claims it for the walk when none has.
        """
        index, offset = divmod(after - self._base, self._batch_size)
        if offset:
            return None  # off the helpers' ranges (only after a fault, which ends the walk)
        while index not in self._received:
            if _WALK_TAKES_UNCLAIMED or not self._alive():
                with self._next.get_lock():
                    if self._next.value <= index:
                        self._next.value = index + 1
                        return None
            try:
                done, batch = self._results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not self._alive():
                    # The helper that claimed it died: the walk reads it itself.
                    return None
                continue
            self._received[done] = batch
        self._credits.release()
        return self._received.pop(index)

    def stop(self) -> None:
        """End the helpers, whatever they are doing (they only read)."""
        with self._next.get_lock():
            self._next.value = _NO_MORE
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join()
        self._results.close()

    def _alive(self) -> bool:
        return any(process.is_alive() for process in self._processes)


def whole_batch(
    rows: Sequence[Sequence[Any]], digests: Sequence[str | None], after: int, count: int
) -> SoundBatch | None:
    """The batch as a SoundBatch when it holds seqs after+1 to after+count, linked and intact."""
    if (
        len(rows) != count
        or None in digests
        or [row[0] for row in rows] != list(range(after + 1, after + count + 1))
        or [row[_PREV_HASH] for row in rows[1:]] != digests[:-1]
        or [row[_ENTRY_HASH] for row in rows] != digests
    ):
        return None
    follows = rows[0][_PREV_HASH]
    if follows.__class__ is not str:
        return None
    return SoundBatch(follows, cast(list[str], list(digests)))


def _help(
    engine: Engine,
    base: int,
    upto: int,
    batch_size: int,
    next_index: Synchronized[int],
    credits: BoundedSemaphore,
    results: multiprocessing.Queue[tuple[int, SoundBatch | None]],
) -> None:
    # Ctrl-C reaches the whole process group: the walk's process ends the helpers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SQLAlchemy's way for a forked process: forget the parent's pool (empty anyway) unclosed.
    engine.dispose(close=False)
    batches = StoredBatches(sessionmaker(engine), batch_size, upto)
    while True:
        credits.acquire()
        with next_index.get_lock():
            index = next_index.value
            next_index.value = index + 1
        after = base + index * batch_size
        if after >= upto:
            break
        try:
            rows, stored = batches.after(after)
            found = whole_batch(
                rows, stored.readable_digests(rows), after, min(batch_size, upto - after)
            )
        except Exception:
            found = None
        results.put((index, found))
    engine.dispose()
