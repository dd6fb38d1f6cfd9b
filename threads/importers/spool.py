"""Group records by thread, for exports whose threads are scattered.

A Disqus export lists `<thread>` elements and then `<post>` elements in any
order; a CSV dump is often sorted by date, not thread. Holding every post
until the file ends would make memory grow with the file. Instead records
are held in memory up to MEMORY_LIMIT (a small export never touches the
disk); past it they go, and from then on go every FLUSH_LIMIT, to a
temporary SQLite database keyed by thread, which is read back one thread at
a time, in the order threads were first seen. Memory is bounded by that
limit plus the largest thread; the disk holds the rest.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import CommentRecord

# Text held in memory before the spool moves to disk (about 4,000 typical
# comments per MB; Python objects take a few times the text).
MEMORY_LIMIT = 16 * 1024 * 1024
# Once on disk: text held before each write.
FLUSH_LIMIT = 1024 * 1024


def _size(item: Any) -> int:
    """Roughly what holding `item` costs, counted in characters of its text."""
    if type(item) is CommentRecord:
        return 300 + len(item.body) + len(item.body_html) + len(item.location)
    return 1024


class Spool:
    """Items grouped by key, in memory up to `memory_limit`, then on disk.

    Like `tempfile.SpooledTemporaryFile`, for records grouped by thread.
    """

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self._limit = memory_limit
        # Not yet written: key -> items (keys in the order first seen), the
        # heads, and roughly what they hold.
        self._held: dict[str, list[Any]] = {}
        self._heads: dict[str, Any] = {}
        self._held_size = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None

    def set_head(self, key: str, head: Any) -> None:
        """The thread's own data; the last one given wins."""
        self._held.setdefault(key, [])
        self._heads[key] = head
        self._hold(1024)

    def add(self, key: str, item: Any) -> None:
        """Spool `item` under `key` (kept as is until it is written: a reader
        hands over fresh records and does not change them afterwards)."""
        self._held.setdefault(key, []).append(item)
        self._hold(_size(item))

    def _hold(self, size: int) -> None:
        self._held_size += size
        if self._held_size > self._limit:
            if self._db is None:
                self._db = self._open()
                self._limit = FLUSH_LIMIT
            self._flush()

    def _open(self) -> sqlite3.Connection:
        self._dir = tempfile.TemporaryDirectory(prefix="threadkeeper-spool-")
        db = sqlite3.connect(Path(self._dir.name) / "spool.sqlite3")
        db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE grp (key TEXT PRIMARY KEY, head BLOB);
            CREATE TABLE item (key TEXT NOT NULL, payload BLOB NOT NULL);
            """
        )
        return db

    def _flush(self) -> None:
        """Write what is held: one row per key of its items (a pickled list)."""
        assert self._db is not None
        with self._db:
            self._db.executemany(
                "INSERT INTO grp (key) VALUES (?) ON CONFLICT (key) DO NOTHING",
                [(key,) for key in self._held],
            )
            self._db.executemany(
                "UPDATE grp SET head = ? WHERE key = ?",
                [(pickle.dumps(head, pickle.HIGHEST_PROTOCOL), key)
                 for key, head in self._heads.items()],
            )
            self._db.executemany(
                "INSERT INTO item (key, payload) VALUES (?, ?)",
                [(key, pickle.dumps(items, pickle.HIGHEST_PROTOCOL))
                 for key, items in self._held.items() if items],
            )
        self._held, self._heads, self._held_size = {}, {}, 0

    def groups(self) -> Iterator[tuple[str, Any | None, list[Any]]]:
        """(key, head or None, items in the order added), one group at a time."""
        if self._db is None:
            while self._held:
                key = next(iter(self._held))
                # Handed over and forgotten, one group at a time.
                yield key, self._heads.pop(key, None), self._held.pop(key)
            return
        self._flush()
        self._db.execute("CREATE INDEX item_key ON item (key)")
        lookup = self._db.cursor()
        for key, head in self._db.execute("SELECT key, head FROM grp ORDER BY rowid"):
            items = []
            for (payload,) in lookup.execute(
                "SELECT payload FROM item WHERE key = ? ORDER BY rowid", (key,)
            ):
                items.extend(pickle.loads(payload))
            yield key, (pickle.loads(head) if head is not None else None), items

    def close(self) -> None:
        self._held, self._heads = {}, {}
        if self._db is not None:
            self._db.close()
        if self._dir is not None:
            self._dir.cleanup()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
