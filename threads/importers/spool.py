"""Group records by thread, for exports whose threads are scattered.

A Disqus export lists `<thread>` elements and then `<post>` elements in any
order; a CSV dump is often sorted by date, not thread. Holding every post
until the file ends would make memory grow with the file. Instead records
are held in memory only up to MEMORY_LIMIT; past it everything goes to a
temporary SQLite database (a file in the system temp dir, deleted
afterwards) keyed by thread, and the second pass reads one thread at a time
back, in the order threads were first seen. Memory is bounded by that limit
plus the largest thread; the disk holds the rest.
"""

from __future__ import annotations

import dataclasses
import marshal
import operator
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .base import CommentRecord

BATCH = 2000
# Text held in memory before the spool moves to disk (about 4,000 typical
# comments per MB; Python objects take a few times the text).
MEMORY_LIMIT = 16 * 1024 * 1024
_RECENT_KEYS = 50_000

# Comments, nearly every spooled item, go to disk as a tuple of their fields
# (created_at as whole microseconds since the epoch), marshalled: pickling a
# slotted dataclass and an aware datetime costs ~8 µs a row each way, marshal
# under 1 µs. Anything else (a zone other than UTC, an unexpected field type)
# is pickled, and the pickle (bytes, not a tuple) goes in its place.
# Each write batch stores one row per key holding all that key's items of the
# batch, which spares SQLite a row per comment.
_COMMENT_FIELDS = [f.name for f in dataclasses.fields(CommentRecord)]
_CREATED = _COMMENT_FIELDS.index("created_at")
_comment_values = operator.attrgetter(*_COMMENT_FIELDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _flat(item: Any) -> tuple | bytes:
    if type(item) is CommentRecord:
        created = item.created_at
        if created is None or created.tzinfo is UTC:
            values = list(_comment_values(item))
            if created is not None:
                values[_CREATED] = (created - _EPOCH) // _MICROSECOND
            return tuple(values)
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def _size(item: Any) -> int:
    """Roughly what holding `item` costs, counted in characters of its text."""
    if type(item) is CommentRecord:
        return 300 + len(item.body) + len(item.body_html) + len(item.location)
    return 1024


def pack_items(items: list[Any]) -> bytes:
    """Records as bytes, quickly (comments as marshalled field tuples); see unpack_items.

    Also how the import's reader process sends a thread's comments (readahead.py).
    """
    flat = [_flat(item) for item in items]
    try:
        return marshal.dumps(flat)
    except ValueError:  # a comment field holding something marshal cannot write
        return marshal.dumps([_marshallable(f, item) for f, item in zip(flat, items, strict=True)])


def _marshallable(flat: tuple | bytes, item: Any) -> tuple | bytes:
    try:
        marshal.dumps(flat)
    except ValueError:
        return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    return flat


def unpack_items(payload: bytes) -> list[Any]:
    """The records pack_items was given, equal field for field."""
    items = []
    for value in marshal.loads(payload):
        if type(value) is bytes:
            items.append(pickle.loads(value))
            continue
        item = CommentRecord(*value)
        if item.created_at is not None:
            item.created_at = _EPOCH + item.created_at * _MICROSECOND
        items.append(item)
    return items


class Spool:
    """Items grouped by key, in memory up to `memory_limit`, then on disk.

    Like `tempfile.SpooledTemporaryFile`: an export of a few thousand
    comments is grouped in memory and never touches the disk; past the limit
    everything goes to the SQLite file, so memory stays bounded however
    large the export is.
    """

    def __init__(self, memory_limit: int = MEMORY_LIMIT, file: Path | None = None) -> None:
        """`file`: keep the disk part there, not in a temporary directory (for
        handing it to another process; the caller removes it)."""
        self._memory_limit = memory_limit
        self._file = file
        # While in memory: key -> items, in the order keys were first seen,
        # the heads, and the approximate size held. None once spilled.
        self._held: dict[str, list[Any]] | None = {}
        self._held_heads: dict[str, Any] = {}
        self._held_size = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None
        self._items: list[tuple[str, Any]] = []
        self._heads: list[tuple[str, bytes]] = []
        self._known: set[str] = set()  # keys surely in grp already (bounded)

    def set_head(self, key: str, head: Any) -> None:
        """The thread's own data; the last one given wins."""
        if self._held is not None:
            self._held.setdefault(key, [])
            self._held_heads[key] = head
            self._hold(1024)
            return
        self._heads.append((key, pickle.dumps(head, protocol=pickle.HIGHEST_PROTOCOL)))
        if len(self._heads) >= BATCH:
            self._flush()

    def add(self, key: str, item: Any) -> None:
        """Spool `item` under `key` (kept as is until it is written: a reader
        hands over fresh records and does not change them afterwards)."""
        if self._held is not None:
            self._held.setdefault(key, []).append(item)
            self._hold(_size(item))
            return
        self._items.append((key, item))
        if len(self._items) >= BATCH:
            self._flush()

    def _hold(self, size: int) -> None:
        self._held_size += size
        if self._held_size > self._memory_limit:
            self._spill()

    def _spill(self) -> None:
        """Move everything held in memory to the disk; from now on, write there."""
        assert self._held is not None
        held, heads = self._held, self._held_heads
        self._held, self._held_heads = None, {}
        if self._file is None:
            self._dir = tempfile.TemporaryDirectory(prefix="threadkeeper-spool-")
        self._db = sqlite3.connect(self._file or Path(self._dir.name) / "spool.sqlite3")
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -16384;
            CREATE TABLE grp (key TEXT PRIMARY KEY, head BLOB);
            CREATE TABLE item (key TEXT NOT NULL, payload BLOB NOT NULL);
            """
        )
        with self._db:
            self._db.executemany(
                "INSERT INTO grp (key, head) VALUES (?, ?)",
                [
                    (key, pickle.dumps(heads[key], protocol=pickle.HIGHEST_PROTOCOL)
                     if key in heads else None)
                    for key in held
                ],
            )
            self._db.executemany(
                "INSERT INTO item (key, payload) VALUES (?, ?)",
                [(key, pack_items(items)) for key, items in held.items() if items],
            )
        self._known.update(list(held)[-_RECENT_KEYS:])

    def _flush(self) -> None:
        if self._db is None:
            return
        with self._db:
            if self._heads:
                self._db.executemany(
                    "INSERT INTO grp (key, head) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET head = excluded.head",
                    self._heads,
                )
                self._known.update(key for key, _ in self._heads)
                self._heads.clear()
            if self._items:
                by_key: dict[str, list[Any]] = {}
                for key, item in self._items:
                    by_key.setdefault(key, []).append(item)
                self._items.clear()
                # In the order first seen (a set would make the order of threads
                # without a head change from run to run).
                new_keys = [key for key in by_key if key not in self._known]
                self._db.executemany(
                    "INSERT OR IGNORE INTO grp (key) VALUES (?)", [(k,) for k in new_keys]
                )
                if len(self._known) > _RECENT_KEYS:
                    self._known.clear()
                self._known.update(new_keys)
                self._db.executemany(
                    "INSERT INTO item (key, payload) VALUES (?, ?)",
                    [(key, pack_items(items)) for key, items in by_key.items()],
                )

    def save(self) -> None:
        """Write everything to the disk part (see `file`)."""
        if self._held is not None:
            self._spill()
        self._flush()

    def merge(self, file: Path) -> None:
        """Add what another spool saved in `file`, after everything here.

        Its items come after this spool's under each key, its new keys after
        this spool's keys, and its heads replace this spool's: as if its
        records had been added here, in order.
        """
        if self._held is not None:
            # Still in memory: take the other's records in (they may push
            # this spool past its limit and onto the disk, as adding would).
            with closing(sqlite3.connect(file)) as other:
                for key, head in other.execute("SELECT key, head FROM grp ORDER BY rowid"):
                    if head is not None:
                        self.set_head(key, pickle.loads(head))
                for key, payload in other.execute("SELECT key, payload FROM item ORDER BY rowid"):
                    for item in unpack_items(payload):
                        self.add(key, item)
            return
        self.save()
        assert self._db is not None
        with self._db:
            self._db.execute("ATTACH DATABASE ? AS other", (str(file),))
        try:
            with self._db:
                # "WHERE true": SQLite's upsert needs it after a SELECT.
                self._db.execute(
                    "INSERT INTO grp (key, head) SELECT key, head FROM other.grp WHERE true "
                    "ORDER BY rowid ON CONFLICT (key) DO UPDATE "
                    "SET head = coalesce(excluded.head, grp.head)"
                )
                self._db.execute(
                    "INSERT INTO item (key, payload) SELECT key, payload FROM other.item "
                    "ORDER BY rowid"
                )
        finally:
            self._db.execute("DETACH DATABASE other")

    def groups(self) -> Iterator[tuple[str, Any | None, list[Any]]]:
        """(key, head or None, items in the order added), one group at a time."""
        if self._held is not None:
            held, heads = self._held, self._held_heads
            while held:
                key = next(iter(held))
                # Handed over and forgotten, one group at a time.
                yield key, heads.pop(key, None), held.pop(key)
            return
        self._flush()
        self._db.execute("CREATE INDEX item_key ON item (key)")
        keys = self._db.execute("SELECT rowid, key, head FROM grp ORDER BY rowid")
        lookup = self._db.cursor()
        while True:
            rows = keys.fetchmany(256)
            if not rows:
                break
            for _, key, head in rows:
                items = []
                for (payload,) in lookup.execute(
                    "SELECT payload FROM item WHERE key = ? ORDER BY rowid", (key,)
                ):
                    items.extend(unpack_items(payload))
                yield key, (pickle.loads(head) if head is not None else None), items

    def close(self) -> None:
        self._held, self._held_heads = {}, {}
        if self._db is not None:
            self._db.close()
        if self._dir is not None:
            self._dir.cleanup()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
