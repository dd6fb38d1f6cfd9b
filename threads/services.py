"""Writes to the discussion domain. Imports go through `thread_import` only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from .importers import ImportFailure, InvalidRecord, ThreadRecord, read_path
from .importers.base import CommentRecord, content_hash, salted_hash
from .importers.readahead import read_files
from .models import Author, Comment, Thread
from .signals import comments_changed
from .tree import Node, TreeError, assign_paths

BULK_BATCH = 2000
# Files of one import run are committed together until they have written
# about this many comments (see threads_import_paths).
GROUP_COMMIT_COMMENTS = 20_000
# Most authors an import keeps in memory (identity -> id, and the HMACs of
# e-mail/name keys): past this the caches start again, so memory stays
# bounded however many distinct commenters an export has.
AUTHOR_CACHE_MAX = 50_000


@dataclass
class ImportReport:
    files: int = 0
    threads_new: int = 0
    threads_updated: int = 0
    threads_unchanged: int = 0
    comments_new: int = 0
    comments_updated: int = 0
    comments_unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: ImportReport) -> None:
        for name, value in asdict(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        return (
            f"{self.files} file(s): threads {self.threads_new} new / {self.threads_updated} "
            f"updated / {self.threads_unchanged} unchanged; comments {self.comments_new} new / "
            f"{self.comments_updated} updated / {self.comments_unchanged} unchanged; "
            f"{len(self.warnings)} warning(s), {len(self.skipped)} skipped, "
            f"{len(self.errors)} error(s)"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def threads_import_file(
    *,
    path: Path,
    fmt: str = "auto",
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    author_cache: dict[str, int] | None = None,
    identity_hashes: dict[tuple[str, ...], str] | None = None,
    records: Iterable[ThreadRecord | InvalidRecord] | None = None,
) -> ImportReport:
    """Import one file in one transaction: any error rolls the whole file back.

    `records` are the file's records when already being read (read-ahead);
    by default the file is read here.

    With `skip_invalid`, each thread gets its own savepoint instead: a bad
    thread is listed in `report.skipped` and the good ones are kept.
    `author_cache` (identity -> Author id) holds authors committed by earlier
    files of the same run; this file's authors are added to it once the file
    is committed, never before (a rolled-back file's rows do not exist).
    `identity_hashes` (e-mail/name key -> HMAC) may be shared by the files of
    a run likewise; it holds no database state.
    Raises ImportFailure (naming the file, the record and the reason).
    """
    report = ImportReport(files=1)
    # Author ids already looked up in this file's transaction: threads of one
    # export share most commenters, so later threads need no author query.
    known_authors: dict[str, int] = dict(author_cache or {})
    # One HMAC per distinct commenter, not per thread they post in; pure
    # arithmetic, so it may be shared by the files of a run.
    if identity_hashes is None:
        identity_hashes = {}
    with transaction.atomic():
        for record in read_path(path, fmt) if records is None else records:
            if isinstance(record, InvalidRecord):
                if not skip_invalid:
                    raise ImportFailure(path, record.location, record.reason)
                report.skipped.append(f"{path}: {record.location}: {record.reason}")
                continue
            try:
                # A savepoint per thread only where a failed thread may be skipped;
                # otherwise the file's transaction is the unit (and two queries cheaper).
                with transaction.atomic(savepoint=skip_invalid):
                    thread_import(
                        record=record,
                        report=report,
                        path=path,
                        known_authors=known_authors,
                        identity_hashes=identity_hashes,
                    )
            except ImportFailure as exc:
                if not skip_invalid:
                    raise
                # The savepoint rollback may have removed authors this thread created.
                known_authors.clear()
                report.skipped.append(str(exc))
            if on_progress:
                on_progress(len(record.comments))
            if len(known_authors) > AUTHOR_CACHE_MAX:
                known_authors.clear()
            if len(identity_hashes) > AUTHOR_CACHE_MAX:
                identity_hashes.clear()
    if author_cache is not None:
        if len(author_cache) + len(known_authors) > AUTHOR_CACHE_MAX:
            author_cache.clear()
        author_cache.update(known_authors)
    return report


def thread_import(
    *,
    record: ThreadRecord,
    report: ImportReport,
    path: Path | str,
    known_authors: dict[str, int] | None = None,
    identity_hashes: dict[tuple[str, ...], str] | None = None,
) -> Thread:
    """Create or update one thread and its comments from a parsed record.

    Idempotent: the same record again changes nothing. Parents are looked up
    in the record and then among the comments already stored for the thread,
    so an export of new replies attaches to what was imported before. Paths
    of the whole thread are recomputed, since a new reply can shift siblings.
    Locks the thread row so two imports of one thread cannot interleave.
    `known_authors` (identity -> Author id, valid in the current transaction)
    saves author queries across the threads of one file; it is added to.
    `identity_hashes` (e-mail/name key -> HMAC) saves hashing them again.
    """
    incoming = _incoming_by_id(record, path)
    thread, thread_status = _thread_upsert(record)
    report.warnings.extend(f"{path}: {record.location}: {w}" for w in record.warnings)

    stored = {} if thread_status == "new" else {
        c.external_id: c
        for c in Comment.objects.filter(thread=thread).only(
            "id", "external_id", "parent_id", "author_id", "author_name", "body", "body_html",
            "created_at", "content_hash", "path", "depth", "source_state", "version",
        )
    }
    stored_ext_by_id = {c.id: ext for ext, c in stored.items()}

    # The tree: stored comments not in this record keep their parent; the
    # record's comments take theirs from the record.
    nodes = [
        Node(ext, stored_ext_by_id.get(c.parent_id), _sibling_order(c.created_at, ext))
        for ext, c in stored.items()
        if ext not in incoming
    ]
    for ext, comment in incoming.items():
        parent = comment.parent_id
        if parent is not None and parent not in incoming and parent not in stored:
            report.warnings.append(
                f"{path}: {comment.location}: comment {ext!r} replies to {parent!r}, "
                "which is not in the thread; attached at top level"
            )
            parent = None
        nodes.append(Node(ext, parent, _sibling_order(comment.created_at, ext)))
    parents = {node.key: node.parent for node in nodes}
    try:
        placements = assign_paths(nodes)
    except TreeError as exc:
        raise ImportFailure(path, record.location, f"{exc} (comment ids: {exc.ids})") from None

    authors = _authors_for(
        record,
        {} if known_authors is None else known_authors,
        {} if identity_hashes is None else identity_hashes,
    )
    changed_ids: list[int] = []
    to_update: list[Comment] = []
    fields_to_update: set[str] = set()
    new: list[tuple[object, ...]] = []
    # Ids are reserved up front so that every parent link is known before any
    # write: new comments go in with one bulk insert however deep the tree (a
    # level-by-level insert costs a query per level of a deep chain), and a
    # stored comment can be re-parented under a comment new in this import.
    new_exts = [ext for ext in placements if ext not in stored]
    ids_by_ext = {ext: c.id for ext, c in stored.items()}
    if new_exts:
        ids_by_ext.update(zip(new_exts, _reserve_comment_ids(len(new_exts)), strict=True))

    adapt_datetime = _datetime_adapter(connections[Comment.objects.db])
    pending = Comment.State.PENDING.value
    thread_id = thread.id
    for ext, placement in placements.items():
        item = incoming.get(ext)
        existing = stored.get(ext)
        if existing is None:
            assert item is not None
            parent_ext = parents[ext]
            body = item.body
            # In _NEW_COLUMNS order.
            new.append(
                (
                    ids_by_ext[ext],
                    thread_id,
                    ids_by_ext[parent_ext] if parent_ext is not None else None,
                    ext,
                    authors.get(ext),
                    item.author,
                    body,
                    item.body_html,
                    adapt_datetime(item.created_at),
                    content_hash(body),
                    placement.path,
                    placement.depth,
                    item.state or pending,
                    item.source_state,
                )
            )
            continue
        author_id = authors.get(ext) if item else None
        changed = _apply_changes(existing, item, author_id, placement, ids_by_ext, parents[ext])
        if changed:
            to_update.append(existing)
            fields_to_update |= changed
            if "body" in changed:
                changed_ids.append(existing.id)
        if item is None:
            continue
        if changed - {"path", "depth"}:
            report.comments_updated += 1
        else:
            report.comments_unchanged += 1

    if new:
        # Placement order is depth-first: parents are inserted before replies.
        _insert_comments(new)
        changed_ids.extend(row[0] for row in new)
        report.comments_new += len(new)

    if to_update:
        Comment.objects.bulk_update(to_update, sorted(fields_to_update), batch_size=BULK_BATCH)

    if thread_status == "new":
        report.threads_new += 1
    elif thread_status == "updated" or new or to_update:
        report.threads_updated += 1
    else:
        report.threads_unchanged += 1

    if changed_ids:
        comments_changed.send(sender=Comment, comment_ids=changed_ids)
    return thread


# The columns an import gives for a new comment, in the order of the row
# tuples thread_import builds; every other column takes its default.
_NEW_COLUMNS = (
    "id", "thread_id", "parent_id", "external_id", "author_id", "author_name", "body",
    "body_html", "created_at", "content_hash", "path", "depth", "state", "source_state",
)


def _insert_comments(rows: list[tuple[object, ...]]) -> None:
    """INSERT new comment rows (tuples in _NEW_COLUMNS order, datetimes adapted).

    COPY on PostgreSQL, one prepared executemany elsewhere. Equivalent to
    `bulk_create` (which sends no signals either) for these plain columns,
    without its per-value SQL compilation and model instances, which cost
    more than the database itself on large imports (see docs/benchmarks.md).
    COPY streams the rows in one command instead of a statement per row
    (several times faster than even a pipelined executemany); SQLite has no
    COPY and its executemany is already an in-process loop.
    Columns not given take the model field's default; auto_now fields get now.
    """
    connection = connections[Comment.objects.db]
    now = timezone.now()
    rest = [f for f in Comment._meta.concrete_fields if f.attname not in _NEW_COLUMNS]
    defaults: list[object] = []
    for f in rest:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value: object = now
        else:
            value = f.get_default()  # the field's, or None / ""
        if isinstance(f, models.DateTimeField) and value is not None:
            value = connection.ops.adapt_datetimefield_value(value)
        defaults.append(value)
    tail = tuple(defaults)
    qn = connection.ops.quote_name
    table = qn(Comment._meta.db_table)
    names = [*_NEW_COLUMNS, *(f.column for f in rest)]
    columns = ", ".join(qn(name) for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor: Django's wrapper has no copy(). Same
            # connection, so the rows are in the import's transaction.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + tail)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
        for start in range(0, len(rows), BULK_BATCH):
            cursor.executemany(sql, [row + tail for row in rows[start : start + BULK_BATCH]])


def _datetime_adapter(connection: BaseDatabaseWrapper) -> Callable[[datetime | None], object]:
    """The connection's adapter for datetime values, quicker for the usual case.

    Django's SQLite adapter turns an aware datetime into naive text in the
    connection's zone (UTC) with several calls; nearly every imported
    datetime is already UTC, for which that is just the text without zone.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone is not UTC:
        return adapt

    def adapt_utc(value: datetime | None) -> object:
        if value is not None and value.tzinfo is UTC:
            return value.isoformat(" ")[:-6]  # without "+00:00": what make_naive + str give
        return adapt(value)

    return adapt_utc


def _reserve_comment_ids(count: int) -> list[int]:
    """`count` fresh primary keys for Comment rows, in increasing order."""
    connection = connections[Comment.objects.db]
    table = Comment._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if connection.vendor == "sqlite":
            # The import runs in a write transaction (BEGIN IMMEDIATE on SQLite):
            # no other writer can take these ids before the insert. Explicit ids
            # above the AUTOINCREMENT mark move the mark, as SQLite documents.
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT MAX(high) FROM (SELECT MAX(id) AS high FROM {quoted} "
                "UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)",
                [table],
            )
            start = (cursor.fetchone()[0] or 0) + 1
            return list(range(start, start + count))
    raise NotImplementedError(f"reserving ids on {connection.vendor}")


def _incoming_by_id(record: ThreadRecord, path: Path | str) -> dict[str, CommentRecord]:
    """The record's comments by external id; two with one id is an error."""
    incoming = {c.external_id: c for c in record.comments}
    if len(incoming) != len(record.comments):
        counts = Counter(c.external_id for c in record.comments)
        duplicates = sorted(ext for ext, count in counts.items() if count > 1)
        raise ImportFailure(
            path, record.location, f"duplicate comment ids: {', '.join(duplicates)}"
        )
    return incoming


def _thread_upsert(record: ThreadRecord) -> tuple[Thread, str]:
    values = {
        "title": record.title[:500],
        "url": record.url,
        "author_name": record.author,
        "published_at": record.published_at,
        "lead": record.lead,
    }
    # Plain SQL for the lookup: most threads of a bulk import are new, and the
    # ORM's query compilation cost about 0.3 ms a thread, 15x the query.
    connection = connections[Thread.objects.db]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {connection.ops.quote_name(Thread._meta.db_table)} "
            f"WHERE source = %s AND external_id = %s{lock}",
            [record.source, record.external_id],
        )
        found = cursor.fetchone()
    if found is None:
        return _thread_insert(source=record.source, external_id=record.external_id, **values), "new"
    thread = Thread.objects.get(pk=found[0])  # locked above
    changed = [name for name, value in values.items() if getattr(thread, name) != value]
    if not changed:
        return thread, "unchanged"
    for name in changed:
        setattr(thread, name, values[name])
    thread.save(update_fields=[*changed, "updated_at"])
    return thread, "updated"


def _thread_insert(**values: object) -> Thread:
    """INSERT a new thread row with one plain statement.

    `Thread.objects.create` costs about 1 ms of Python per thread (model
    save machinery, SQL compilation), as much as the round trip, and an
    import creates a thread every ~160 comments. The returned instance
    carries every column, as `create` would give.
    """
    connection = connections[Thread.objects.db]
    qn = connection.ops.quote_name
    now = timezone.now()
    thread = Thread(**values, imported_at=now, updated_at=now)
    fields = [f for f in Thread._meta.concrete_fields if not f.primary_key]
    params = [
        connection.ops.adapt_datetimefield_value(value)
        if isinstance(f, models.DateTimeField) and value is not None
        else value
        for f in fields
        for value in [getattr(thread, f.attname)]
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(Thread._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn('id')}",
            params,
        )
        thread.pk = cursor.fetchone()[0]
    thread._state.adding = False
    thread._state.db = connection.alias
    return thread


def _sibling_order(
    created_at: datetime | None, external_id: str
) -> tuple[bool, datetime | str, str]:
    # Undated comments (scraped pages) keep their id order, after dated ones
    # (the "" is only ever compared with another undated comment's "").
    # Aware datetimes compare as instants, whatever zone each was given in.
    return (created_at is None, created_at or "", external_id)


def _authors_for(
    record: ThreadRecord, known: dict[str, int], hashes: dict[tuple[str, ...], str]
) -> dict[str, int]:
    """Author row ids for the record's comments, rows created as needed, by comment id.

    `known` (identity -> id) is consulted first and updated with what is found;
    `hashes` (key -> HMAC, one per distinct author) likewise.
    """
    salt = settings.AUTHOR_HASH_SALT
    identities: dict[str, tuple[str, str, str]] = {}  # comment ext -> (identity, name, email)
    for comment in record.comments:
        if comment.author_email:
            key = ("email", comment.author_email.strip().lower())
            email_hash = hashes.get(key) or hashes.setdefault(key, salted_hash(salt, *key))
            identities[comment.external_id] = (email_hash, comment.author, email_hash)
        elif comment.author:
            key = ("name", record.source, comment.author)
            identity = hashes.get(key) or hashes.setdefault(key, salted_hash(salt, *key))
            identities[comment.external_id] = (identity, comment.author, "")
    wanted = {
        identity: (name, email)
        for identity, name, email in identities.values()
        if identity not in known
    }
    existing = _author_ids(wanted) if wanted else {}
    known.update(existing)
    return {ext: known[identity] for ext, (identity, _, _) in identities.items()}


def _author_ids(wanted: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Row ids for author identities (identity -> (name, email hash)), creating missing rows.

    Plain SQL rather than `bulk_create(ignore_conflicts=True)` and a re-select:
    INSERT ... ON CONFLICT DO NOTHING RETURNING gives the new ids in the same
    query (PostgreSQL; SQLite >= 3.35), one query fewer per thread with new
    commenters and no model instances. Only a row a concurrent import created
    between our SELECT and INSERT is selected again.
    """
    connection = connections[Author.objects.db]
    qn = connection.ops.quote_name
    table = qn(Author._meta.db_table)
    ids: dict[str, int] = {}
    identities = list(wanted)
    chunk = 300  # rows per statement: 3 parameters each, under SQLite's 999
    with connection.cursor() as cursor:
        for start in range(0, len(identities), chunk * 3):
            part = identities[start : start + chunk * 3]
            cursor.execute(
                f"SELECT identity, id FROM {table} WHERE identity IN "
                f"({', '.join(['%s'] * len(part))})",
                part,
            )
            ids.update(cursor.fetchall())
        missing = [identity for identity in identities if identity not in ids]
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            params: list[str] = []
            for identity in part:
                params.extend((identity, *wanted[identity]))
            cursor.execute(
                f"INSERT INTO {table} (identity, name, email_hash) VALUES "
                f"{', '.join(['(%s, %s, %s)'] * len(part))} "
                "ON CONFLICT (identity) DO NOTHING RETURNING identity, id",
                params,
            )
            ids.update(cursor.fetchall())
        raced = [identity for identity in missing if identity not in ids]
        if raced:
            cursor.execute(
                f"SELECT identity, id FROM {table} WHERE identity IN "
                f"({', '.join(['%s'] * len(raced))})",
                raced,
            )
            ids.update(cursor.fetchall())
    return ids


def _apply_changes(
    comment: Comment,
    item: CommentRecord | None,
    author_id: int | None,
    placement: object,
    ids_by_ext: dict[str, int],
    parent_ext: str | None,
) -> set[str]:
    """Copy what differs onto `comment`; return the names of changed fields."""
    changed: set[str] = set()
    if item is not None:
        updates = {
            "body": item.body,
            "body_html": item.body_html,
            "author_name": item.author,
            "created_at": item.created_at,
            "source_state": item.source_state,
            "author_id": author_id,
        }
        updates["parent_id"] = ids_by_ext[parent_ext] if parent_ext is not None else None
        for name, value in updates.items():
            if getattr(comment, name) != value:
                setattr(comment, name, value)
                changed.add(name)
        if "body" in changed:
            comment.content_hash = content_hash(item.body)
            # A moderator who saw the old text must not act on the new one blindly.
            comment.version += 1
            changed |= {"content_hash", "version"}
    for name in ("path", "depth"):
        value = getattr(placement, name)
        if getattr(comment, name) != value:
            setattr(comment, name, value)
            changed.add(name)
    return changed


def threads_import_paths(
    *,
    paths: Iterable[Path],
    fmt: str = "auto",
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import each file atomically; failures are collected per file.

    Each file is all or nothing (its own savepoint): a bad file changes
    nothing and the others go on. Small files are committed in groups of
    about GROUP_COMMIT_COMMENTS comments rather than one by one: a Reddit
    export is a file per thread, and a commit per file cost a third of the
    import (each commit rewrites the index pages the file touched). An
    unexpected error (not a bad file) rolls back the group in progress;
    importing again is idempotent.
    """
    total = ImportReport()
    # Exports of one thread per file (Reddit, Conversations) share commenters
    # across files: authors stored by earlier files need no query again.
    author_cache: dict[str, int] = {}
    identity_hashes: dict[tuple[str, ...], str] = {}
    # The next files' threads are parsed in a second process meanwhile.
    with closing(read_files(paths, fmt)) as files:
        more = True
        while more:
            more = False
            written = 0
            with transaction.atomic():
                for path, records in files:
                    try:
                        report = threads_import_file(
                            path=path,
                            fmt=fmt,
                            skip_invalid=skip_invalid,
                            on_progress=on_progress,
                            author_cache=author_cache,
                            identity_hashes=identity_hashes,
                            records=records,
                        )
                    except ImportFailure as exc:
                        total.files += 1
                        total.errors.append(str(exc))
                        continue
                    total.merge(report)
                    written += report.comments_new + report.comments_updated
                    if written >= GROUP_COMMIT_COMMENTS:
                        more = True
                        break
    return total
