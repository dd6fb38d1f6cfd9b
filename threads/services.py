"""Writes to the discussion domain.

Imports: `threads_import_from_files` (a run of files, committed in groups),
`threads_import_from_file` (one file, all or nothing), and
`threads_import_from_records` (parsed threads stored together: what a file
import calls for each batch of its threads, and the API's ingest for a
request); `thread_import_from_record` stores one parsed thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connections, models, transaction

from .bulk import rows_insert
from .importers import ImportFailure, InvalidRecord, ThreadRecord, read_path
from .importers.base import CommentRecord, content_hash, salted_hash
from .models import Author, Comment, Thread
from .signals import comments_changed
from .tree import FLAT_DEPTH, MAX_SIBLINGS, SEGMENT_WIDTH, Node, Placement, TreeError, assign_paths

# What thread_import_from_record gives each new comment, in this order.
NEW_COMMENT_FIELDS = (
    "id", "thread_id", "parent_id", "external_id", "author_id", "author_name", "body",
    "body_html", "created_at", "content_hash", "path", "depth", "state", "source_state",
)

BULK_BATCH = 2000
# Files of one import run are committed together until they have written
# about this many comments (see threads_import_from_files).
GROUP_COMMIT_COMMENTS = 20_000
# Values per `IN (...)` list (identities, external ids, paths). A query may
# also name up to API_MAX_BATCH thread ids: SQLite allows 32,766 parameters.
IN_CHUNK = 900
# Author ids one file's import remembers (about 300 bytes each); past this
# it starts again.
AUTHOR_CACHE_LIMIT = 20_000
# What an author is known by before hashing -> Author id: ("email", address)
# or ("name", source, display name). In memory only, for one file's threads.
AuthorCache = dict[tuple[str, ...], int]


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


def threads_import_from_files(
    *,
    paths: Iterable[Path],
    fmt: str = "auto",
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import each file atomically; failures are collected per file.

    Each file is all or nothing (its own savepoint): whatever goes wrong in
    one file (a bad record, a reader's crash, a database error) rolls back
    that file's writes alone, is listed in `report.errors` naming the file
    and the record, and the other files go on. Small files are committed in
    groups of about GROUP_COMMIT_COMMENTS comments rather than one by one: a
    Reddit export is a file per thread, and every commit rewrites the index
    pages the file touched. Only an interrupt (KeyboardInterrupt, SystemExit)
    or a database that cannot go on stops the run, losing the group in
    progress; importing again is idempotent.
    """
    total = ImportReport()
    remaining = iter(paths)
    more = True
    while more:
        more = False
        written = 0
        # The group's files share an author cache: a commenter of many threads
        # (a Reddit export is a file per thread) is looked up once.
        authors: AuthorCache = {}
        with transaction.atomic():
            for path in remaining:
                try:
                    report = threads_import_from_file(
                        path=path, fmt=fmt, skip_invalid=skip_invalid, on_progress=on_progress,
                        authors=authors,
                    )
                except Exception as exc:
                    if transaction.get_connection().needs_rollback:
                        raise  # the file's savepoint could not be rolled back
                    authors.clear()  # it may hold authors of the rolled-back file
                    total.files += 1
                    total.errors.append(str(_unexpected(exc, path, "")))
                    continue
                total.merge(report)
                written += report.comments_new + report.comments_updated
                if written >= GROUP_COMMIT_COMMENTS:
                    more = True
                    break
    return total


def threads_import_from_file(
    *,
    path: Path,
    fmt: str = "auto",
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    authors: AuthorCache | None = None,
) -> ImportReport:
    """Import one file in one transaction: any error rolls the whole file back.

    With `skip_invalid`, a bad thread is listed in `report.skipped` instead
    and the good ones are kept. Raises ImportFailure (naming the file, the
    record and the reason), for an unexpected error too: a reader that
    crashes or a row the database refuses is reported with the record being
    read or stored. The file's threads are stored a batch at a time
    (`_records_store`), so a file costs a few queries per batch, not per
    thread. `authors`: a cache of commenters' rows the caller keeps across
    files in one transaction (by default, one for this file).
    """
    report = ImportReport(files=1)
    authors = {} if authors is None else authors
    batch: list[ThreadRecord] = []
    keys: set[tuple[str, str]] = set()
    comments = 0

    def store() -> None:
        nonlocal comments
        _records_store(batch, report, path, authors, skip_invalid)
        if on_progress:
            on_progress(comments)
        batch.clear()
        keys.clear()
        comments = 0

    # The record in hand, for the message of an unexpected error.
    where = "reading the first record"
    try:
        with transaction.atomic():
            for record in read_path(path, fmt):
                if isinstance(record, InvalidRecord):
                    if not skip_invalid:
                        raise ImportFailure(path, record.location, record.reason)
                    report.skipped.append(f"{path}: {record.location}: {record.reason}")
                    continue
                key = (record.source, record.external_id)
                if batch and (key in keys or comments + len(record.comments) > RECORD_BATCH):
                    store()  # a batch holds each thread once
                batch.append(record)
                keys.add(key)
                comments += len(record.comments)
                where = f"reading after {record.location}"
            if batch:
                store()
    except ImportFailure:
        raise
    except Exception as exc:
        raise _unexpected(exc, path, where) from exc
    return report


# Comments of the records a file import stores together.
RECORD_BATCH = BULK_BATCH


def _records_store(
    records: list[ThreadRecord],
    report: ImportReport,
    path: Path,
    authors: AuthorCache,
    skip_invalid: bool,
) -> None:
    """Store `records` together, in a savepoint; when that raises, one at a time.

    A record that cannot be placed fails alone (`threads_import_from_records`
    returns it). An unexpected error (a row the database refuses) rolls back
    the batch, which is then stored record by record to name the one at
    fault, and with `skip_invalid` to keep the others.
    """
    part = ImportReport()
    try:
        with transaction.atomic():
            _, failures = threads_import_from_records(
                records=records, report=part, path=path, authors=authors)
            if failures and not skip_invalid:
                raise failures[0][1]
    except Exception as exc:
        authors.clear()  # it may hold authors of the rolled-back writes
        # Final: a record stored alone, or a failure naming its record when the
        # file fails with it; otherwise each record again, in its own savepoint.
        if len(records) == 1 or (isinstance(exc, ImportFailure) and not skip_invalid):
            failure = _unexpected(exc, path, records[0].location)
            if skip_invalid:
                report.skipped.append(str(failure))
                return
            if failure is exc:
                raise
            raise failure from exc
        for record in records:
            _records_store([record], report, path, authors, skip_invalid)
        return
    report.merge(part)
    report.skipped.extend(str(failure) for _, failure in failures)


def _unexpected(exc: Exception, path: Path, location: str) -> ImportFailure:
    """`exc` as the ImportFailure it is, or one naming the record in hand."""
    if isinstance(exc, ImportFailure):
        return exc
    return ImportFailure(path, location, f"unexpected error: {type(exc).__name__}: {exc}")


def thread_import_from_record(
    *,
    record: ThreadRecord,
    report: ImportReport,
    path: Path | str,
    authors: AuthorCache | None = None,
) -> Thread:
    """Create or update one thread and its comments from a parsed record
    (`threads_import_from_records` with one record; its ImportFailure is raised)."""
    threads, failures = threads_import_from_records(
        records=[record], report=report, path=path, authors=authors)
    if failures:
        raise failures[0][1]
    return threads[(record.source, record.external_id)]


@dataclass
class _Plan:
    """One record's thread, read and placed, before anything is written for it."""

    record: ThreadRecord
    incoming: dict[str, CommentRecord]
    thread: Thread | None  # the stored thread, locked; None until a new one is inserted
    stored: dict[str, Comment]
    placements: dict[str, Placement]
    parents: dict[str, str | None]
    status: str = ""  # new | updated | unchanged (the thread row)


def threads_import_from_records(
    *,
    records: list[ThreadRecord],
    report: ImportReport,
    path: Path | str,
    authors: AuthorCache | None = None,
) -> tuple[dict[tuple[str, str], Thread], list[tuple[ThreadRecord, ImportFailure]]]:
    """Create or update these threads (one record each) and their comments.

    Returns the stored threads by (source, external id), and the records that
    could not be placed (two comments with one id, a reply cycle) with their
    failure: nothing is written for those, the others are stored.

    Idempotent: the same records again change nothing. Parents are looked up
    in the record and then among the comments already stored for the thread,
    so an export of new replies attaches to what was imported before. A
    record that only adds replies after the stored ones is placed from its
    parents and their last replies; otherwise the whole thread is placed
    again, since a new reply can shift siblings. The threads' rows are locked
    first, in (source, external id) order, so two imports of one thread
    cannot interleave and two of many threads cannot deadlock.

    The reads and writes are a few queries for all the records together (the
    API stores a request's threads in one pass), except that a thread placed
    whole reads its own comments. `authors` is a cache the caller keeps
    across calls in one transaction, so that a commenter seen before costs
    no query and no hashing; the new authors are added once the writes are
    done.
    """
    locked = threads_locked(keys=[(r.source, r.external_id) for r in records])
    plans, failures = _plans(records, locked, report, path)
    if not plans:
        return {}, failures
    author_ids, new_authors = _authors_for([plan.record for plan in plans], authors or {})
    _threads_write(plans)

    changed_ids: list[int] = []
    to_update: list[Comment] = []  # comments in a record
    fields_to_update: set[str] = set()
    moved: list[Comment] = []  # comments not in their record whose place changed
    new: list[tuple[object, ...]] = []  # values in NEW_COMMENT_FIELDS order
    # Ids are reserved up front so that every parent link is known before any
    # write: new comments go in with one bulk insert however deep the tree (a
    # level-by-level insert costs a query per level of a deep chain), and a
    # stored comment can be re-parented under a comment new in this import.
    new_exts = [[ext for ext in plan.placements if ext not in plan.stored] for plan in plans]
    reserved = iter(_reserve_comment_ids(sum(map(len, new_exts))) if any(new_exts) else [])
    for plan, exts, thread_authors in zip(plans, new_exts, author_ids, strict=True):
        thread = plan.thread
        assert thread is not None
        ids_by_ext = {ext: c.id for ext, c in plan.stored.items()}
        ids_by_ext.update((ext, next(reserved)) for ext in exts)
        written = len(exts)
        for ext, placement in plan.placements.items():
            item = plan.incoming.get(ext)
            existing = plan.stored.get(ext)
            if existing is None:
                assert item is not None
                parent_ext = plan.parents[ext]
                new.append(
                    (
                        ids_by_ext[ext],
                        thread.id,
                        ids_by_ext[parent_ext] if parent_ext is not None else None,
                        ext,
                        thread_authors.get(ext),
                        item.author,
                        item.body,
                        item.body_html,
                        item.created_at,
                        content_hash(item.body),
                        placement.path,
                        placement.depth,
                        item.state or Comment.State.PENDING,
                        item.source_state,
                    )
                )
                continue
            author_id = thread_authors.get(ext) if item else None
            changed = _apply_changes(existing, item, author_id, placement, ids_by_ext,
                                     plan.parents[ext])
            if changed:
                written += 1
            if item is None:
                if changed:
                    moved.append(existing)
                continue
            if changed:
                to_update.append(existing)
                fields_to_update |= changed
                if "body" in changed:
                    changed_ids.append(existing.id)
            if changed - {"path", "depth"}:
                report.comments_updated += 1
            else:
                report.comments_unchanged += 1
        if plan.status == "new":
            report.threads_new += 1
        elif plan.status == "updated" or written:
            report.threads_updated += 1
        else:
            report.threads_unchanged += 1

    if new:
        # Placement order is depth-first: parents are inserted before replies.
        rows_insert(Comment, NEW_COMMENT_FIELDS, new)
        changed_ids.extend(row[0] for row in new)
        report.comments_new += len(new)
    if to_update:
        Comment.objects.bulk_update(to_update, sorted(fields_to_update), batch_size=BULK_BATCH)
    if moved:
        Comment.objects.bulk_update(moved, ["path", "depth"], batch_size=BULK_BATCH)

    if changed_ids:
        comments_changed.send(sender=Comment, comment_ids=changed_ids)
    if authors is not None:
        if len(authors) + len(new_authors) > AUTHOR_CACHE_LIMIT:
            authors.clear()
        authors.update(new_authors)
    return {(p.record.source, p.record.external_id): p.thread for p in plans}, failures


def threads_locked(*, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Thread]:
    """The stored threads of these (source, external id) keys, locked for update, by key.

    Locked in key order (sources, then external ids, sorted), whatever order
    the caller names them in, so two transactions that lock overlapping sets
    wait for each other instead of deadlocking.
    """
    by_source: dict[str, set[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, set()).add(external_id)
    found: dict[tuple[str, str], Thread] = {}
    for source in sorted(by_source):
        for part in _chunks(sorted(by_source[source])):
            for thread in (Thread.objects.select_for_update()
                           .filter(source=source, external_id__in=part).order_by("external_id")):
                found[(thread.source, thread.external_id)] = thread
    return found


def _plans(
    records: list[ThreadRecord],
    locked: dict[tuple[str, str], Thread],
    report: ImportReport,
    path: Path | str,
) -> tuple[list[_Plan], list[tuple[ThreadRecord, ImportFailure]]]:
    """Read what each record needs and place its comments; nothing is written."""
    plans: list[_Plan] = []
    failures: list[tuple[ThreadRecord, ImportFailure]] = []
    incoming: dict[int, dict[str, CommentRecord]] = {}
    for i, record in enumerate(records):
        try:
            incoming[i] = _incoming_by_id(record, path)
        except ImportFailure as exc:
            failures.append((record, exc))
    stored = [(i, locked[(r.source, r.external_id)]) for i, r in enumerate(records)
              if i in incoming and (r.source, r.external_id) in locked]
    # The incoming comments already stored (sent again), read once for the three
    # ways of placing below.
    again = _incoming_stored([(thread, incoming[i]) for i, thread in stored])
    appended = dict(zip((i for i, _ in stored), _appended_placements(
        [(thread, incoming[i]) for i, thread in stored], again, report, path), strict=True))
    pending = [(i, thread) for i, thread in stored if appended[i] is None]
    kept = dict(zip((i for i, _ in pending), _kept_placements(
        [(thread, incoming[i]) for i, thread in pending], again), strict=True))
    # The stored threads that are placed whole, read together.
    whole = _stored_comments([thread for i, thread in pending if kept[i] is None], again)
    for i, record in enumerate(records):
        if i not in incoming:
            continue
        report.warnings.extend(f"{path}: {record.location}: {w}" for w in record.warnings)
        thread = locked.get((record.source, record.external_id))
        placed = appended.get(i) or kept.get(i)
        try:
            if placed is None:
                placed = _whole_placements(whole.get(thread.id, {}) if thread else {},
                                           incoming[i], report, path, record.location)
        except ImportFailure as exc:
            failures.append((record, exc))
            continue
        plans.append(_Plan(record, incoming[i], thread, *placed))
    return plans, failures


def _threads_write(plans: list[_Plan]) -> None:
    """Insert the new threads (in key order) and update the changed ones; sets each
    plan's thread and status."""
    new = sorted((plan for plan in plans if plan.thread is None),
                 key=lambda plan: (plan.record.source, plan.record.external_id))
    if new:
        rows = [Thread(source=plan.record.source, external_id=plan.record.external_id,
                       **_thread_values(plan.record)) for plan in new]
        Thread.objects.bulk_create(rows)
        for plan, thread in zip(new, rows, strict=True):
            plan.thread, plan.status = thread, "new"
    for plan in plans:
        if plan.status:
            continue
        thread, values = plan.thread, _thread_values(plan.record)
        changed = [name for name, value in values.items() if getattr(thread, name) != value]
        plan.status = "updated" if changed else "unchanged"
        if changed:
            for name in changed:
                setattr(thread, name, values[name])
            thread.save(update_fields=[*changed, "updated_at"])


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


# The thread page shows the last import's warnings; a few lines are enough.
IMPORT_NOTES_MAX_CHARS = 4000


def _whole_placements(
    stored: dict[str, Comment],
    incoming: dict[str, CommentRecord],
    report: ImportReport,
    path: Path | str,
    location: str,
) -> tuple[dict[str, Comment], dict[str, Placement], dict[str, str | None]]:
    """The whole thread placed (a new one: its record alone), from its stored comments:
    (the stored comments, placements, parents)."""
    stored_ext_by_id = {c.id: ext for ext, c in stored.items()}
    # Stored comments not in this record keep their parent; the record's
    # comments take theirs from the record.
    nodes = [
        Node(ext, stored_ext_by_id.get(c.parent_id), _sibling_order(c.created_at, ext))
        for ext, c in stored.items()
        if ext not in incoming
    ]
    for ext, comment in incoming.items():
        parent = _known_parent(comment, incoming, stored, report, path)
        nodes.append(Node(ext, parent, _sibling_order(comment.created_at, ext)))
    try:
        placements = assign_paths(nodes)
    except TreeError as exc:
        raise ImportFailure(path, location, f"{exc} (comment ids: {exc.ids})") from None
    return stored, placements, {node.key: node.parent for node in nodes}


def _known_parent(
    comment: CommentRecord,
    incoming: dict[str, CommentRecord],
    stored: dict[str, Comment],
    report: ImportReport,
    path: Path | str,
) -> str | None:
    """The comment's parent, or None (top level) with a warning when it is nowhere."""
    parent = comment.parent_id
    if parent is not None and parent not in incoming and parent not in stored:
        report.warnings.append(
            f"{path}: {comment.location}: comment {comment.external_id!r} replies to "
            f"{parent!r}, which is not in the thread; attached at top level"
        )
        return None
    return parent


def _appended_placements(
    threads: list[tuple[Thread, dict[str, CommentRecord]]],
    again: dict[int, dict[str, Comment]],
    report: ImportReport,
    path: Path | str,
) -> list[tuple[dict[str, Comment], dict[str, Placement], dict[str, str | None]] | None]:
    """For each (stored thread, incoming comments): placements for new comments that all
    sort after their stored siblings, or None.

    Then no stored comment moves, and only the stored parents and the last
    stored reply under each are read, however long the thread, in a few
    queries for all the threads together. None (place the whole thread)
    when a stored comment comes again, a new comment sorts before a stored
    sibling, or the new comments reach FLAT_DEPTH, where paths are numbered
    across a whole subtree.
    """
    ids = [thread.id for thread, _ in threads if thread.id not in again]
    wanted = {thread.id: {c.parent_id for c in incoming.values()} - set(incoming) - {None}
              for thread, incoming in threads if thread.id not in again}
    anchors: dict[int, dict[str, Comment]] = {thread_id: {} for thread_id in ids}
    for part in _chunks(sorted(set().union(*wanted.values()))):
        for c in Comment.objects.filter(thread_id__in=ids, external_id__in=part).only(
                "thread_id", *TREE_FIELDS):
            if c.external_id in wanted[c.thread_id]:
                anchors[c.thread_id][c.external_id] = c
    last_replies = _last_replies(
        ids, [c.id for by_ext in anchors.values() for c in by_ext.values()])
    return [
        None if thread.id in again else _appended_place(
            incoming, anchors[thread.id], last_replies, thread.id, report, path)
        for thread, incoming in threads
    ]


def _appended_place(
    incoming: dict[str, CommentRecord],
    anchors: dict[str, Comment],
    last_replies: dict[tuple[int, int | None], tuple[datetime | None, str, str]],
    thread_id: int,
    report: ImportReport,
    path: Path | str,
) -> tuple[dict[str, Comment], dict[str, Placement], dict[str, str | None]] | None:
    """_appended_placements for one thread, from what was read for it."""
    # The new comments as one forest under a stand-in root per place they
    # attach to (a stored parent, or the top level), placed alone and then
    # moved after that place's stored replies.
    parents: dict[str, str | None] = {}
    first_new: dict[str | None, tuple] = {}  # place -> smallest sort key of its new replies
    nodes = [Node(("at", None), None, ())]
    nodes += [Node(("at", ext), None, ()) for ext in anchors]
    for ext, comment in incoming.items():
        parent = parents[ext] = _known_parent(comment, incoming, anchors, report, path)
        order = _sibling_order(comment.created_at, ext)
        if parent not in incoming:
            first_new[parent] = min(first_new.get(parent, order), order)
        nodes.append(Node(ext, parent if parent in incoming else ("at", parent), order))
    try:
        local = assign_paths(nodes)
    except TreeError:
        return None  # placing the whole thread names the ids

    places: dict[str, tuple[str, int, int]] = {}  # stand-in path -> (prefix, depth, next index)
    for ext in (None, *anchors):
        anchor = anchors[ext] if ext is not None else None
        last = last_replies.get((thread_id, anchor.id if anchor else None))
        if last is not None and ext in first_new and first_new[ext] <= _sibling_order(*last[:2]):
            return None
        start = int(last[2][-SEGMENT_WIDTH:]) + 1 if last is not None else 0
        prefix, depth = (anchor.path, anchor.depth + 1) if anchor else ("", 0)
        places[local[("at", ext)].path] = (prefix, depth, start)
    placements: dict[str, Placement] = {}
    for ext in incoming:
        spot = local[ext]  # stand-in segment, index under the place, the rest
        prefix, depth, start = places[spot.path[:SEGMENT_WIDTH]]
        index = start + int(spot.path[SEGMENT_WIDTH : 2 * SEGMENT_WIDTH])
        depth += spot.depth - 1
        if max(depth, spot.depth) >= FLAT_DEPTH or index >= MAX_SIBLINGS:
            return None
        rest = spot.path[2 * SEGMENT_WIDTH :]
        placements[ext] = Placement(prefix + str(index).zfill(SEGMENT_WIDTH) + rest, depth)
    return anchors, placements, parents


def _kept_placements(
    threads: list[tuple[Thread, dict[str, CommentRecord]]],
    again: dict[int, dict[str, Comment]],
) -> list[tuple[dict[str, Comment], dict[str, Placement], dict[str, str | None]] | None]:
    """For each (stored thread, incoming comments): when every incoming comment is stored
    already under the same parent with the same time (a batch sent again, an
    edit of the text), their places as they are; else None (place the thread
    whole).

    Nothing moves then: a comment's place follows from its parent and its
    (time, id) among its siblings. Besides the incoming comments' rows
    (`again`), only their stored parents' ids are read, for all the threads
    together.
    """
    ids = [thread.id for thread, _ in threads]
    wanted = {(thread.id, c.parent_id) for thread, incoming in threads
              for c in incoming.values() if c.parent_id is not None and c.parent_id not in incoming}
    parents: dict[int, dict[str, Comment]] = {thread_id: {} for thread_id in ids}
    for part in _chunks(sorted({ext for _, ext in wanted})):
        for c in Comment.objects.filter(thread_id__in=ids, external_id__in=part).only(
                "thread_id", *TREE_FIELDS):
            if (c.thread_id, c.external_id) in wanted:
                parents[c.thread_id][c.external_id] = c
    result: list[tuple[dict[str, Comment], dict[str, Placement], dict[str, str | None]] | None] = []
    for thread, incoming in threads:
        stored = again.get(thread.id, {})
        known = {**parents[thread.id], **stored}
        unmoved = True
        for ext, item in incoming.items():
            c = stored.get(ext)
            parent = known.get(item.parent_id) if item.parent_id is not None else None
            if (c is None or c.created_at != item.created_at
                    or (item.parent_id is not None and parent is None)
                    or c.parent_id != (parent.id if parent else None)):
                unmoved = False
                break
        result.append((known, {ext: Placement(stored[ext].path, stored[ext].depth)
                               for ext in incoming},
                       {ext: item.parent_id for ext, item in incoming.items()})
                      if unmoved else None)
    return result


def _incoming_stored(
    threads: list[tuple[Thread, dict[str, CommentRecord]]],
) -> dict[int, dict[str, Comment]]:
    """The incoming comments that are stored already, with every compared column: thread
    id -> external id -> comment (threads with none are left out)."""
    ids = [thread.id for thread, _ in threads]
    wanted = {(thread.id, ext) for thread, incoming in threads for ext in incoming}
    found: dict[int, dict[str, Comment]] = {}
    for part in _chunks(sorted({ext for _, ext in wanted})):
        for c in Comment.objects.filter(thread_id__in=ids, external_id__in=part).only(
                "thread_id", *RECORD_FIELDS):
            if (c.thread_id, c.external_id) in wanted:
                found.setdefault(c.thread_id, {})[c.external_id] = c
    return found


def _last_replies(
    thread_ids: list[int], parent_ids: list[int]
) -> dict[tuple[int, int | None], tuple[datetime | None, str, str]]:
    """(created_at, external id, path) of the last stored reply under each of these
    parents and at the top level of each of these threads (parent None), by
    (thread id, parent id), where there is one."""
    in_threads = Comment.objects.filter(thread_id__in=thread_ids)
    last_paths: dict[tuple[int, int | None], str] = {
        (thread_id, None): last for thread_id, last in in_threads.filter(parent=None)
        .values("thread_id").annotate(last=models.Max("path")).values_list("thread_id", "last")
    }
    for part in _chunks(parent_ids):
        rows = in_threads.filter(parent_id__in=part).values("thread_id", "parent_id")
        last_paths.update(((thread_id, parent_id), last) for thread_id, parent_id, last in
                          rows.annotate(last=models.Max("path"))
                          .values_list("thread_id", "parent_id", "last"))
    wanted = set(last_paths.items())
    by_key: dict[tuple[int, int | None], tuple[datetime | None, str, str]] = {}
    for part in _chunks(sorted(set(last_paths.values()))):
        for thread_id, parent_id, created_at, ext, at in in_threads.filter(path__in=part) \
                .values_list("thread_id", "parent_id", "created_at", "external_id", "path"):
            if ((thread_id, parent_id), at) in wanted:
                by_key[(thread_id, parent_id)] = (created_at, ext, at)
    return by_key


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


def _thread_values(record: ThreadRecord) -> dict[str, object]:
    """The thread row's fields a record sets."""
    return {
        "title": record.title[:500],
        "url": record.url,
        "author_name": record.author,
        "published_at": record.published_at,
        "lead": record.lead,
        "import_notes": "\n".join(record.warnings)[:IMPORT_NOTES_MAX_CHARS],
    }


def _sibling_order(
    created_at: datetime | None, external_id: str
) -> tuple[bool, datetime | str, str]:
    # Undated comments (scraped pages) keep their id order, after dated ones
    # (the "" is only ever compared with another undated comment's "").
    # Aware datetimes compare as instants, whatever zone each was given in.
    return (created_at is None, created_at or "", external_id)


def _authors_for(
    records: list[ThreadRecord], known: AuthorCache
) -> tuple[list[dict[str, int]], AuthorCache]:
    """Author row ids for the records' comments: (per record, by comment id; by author key).

    Missing rows are created; `known` is asked first. An author is known by
    a salted hash (`identity`) of the e-mail address, else of the source and
    display name (see Author).
    """
    keys: list[dict[str, tuple[str, ...]]] = []  # per record: comment external id -> key
    names: dict[tuple[str, ...], str] = {}  # author key -> display name
    for record in records:
        keys.append(by_comment := {})
        for comment in record.comments:
            if comment.author_email:
                key: tuple[str, ...] = ("email", comment.author_email.strip().lower())
            elif comment.author_external_id:
                key = ("id", record.source, comment.author_external_id)
            elif comment.author:
                key = ("name", record.source, comment.author)
            else:
                continue
            by_comment[comment.external_id] = key
            names.setdefault(key, comment.author)
    ids = {key: known[key] for key in names if key in known}
    salt = settings.AUTHOR_HASH_SALT
    unknown = {salted_hash(salt, *key): key for key in names if key not in ids}
    if unknown:
        stored = _author_ids(list(unknown))
        ids.update((unknown[identity], author_id) for identity, author_id in stored.items())
    missing = [
        Author(
            identity=identity,
            name=names[key],
            email_hash=identity if key[0] == "email" else "",
        )
        # In identity order: two imports that meet the same new commenters lock
        # their rows in the same order, so they wait for each other, never deadlock.
        for identity, key in sorted(unknown.items())
        if key not in ids
    ]
    if missing:
        # A concurrent import may create some of them first. On a conflict the
        # row is "updated" to the identity it already has: a no-op that, unlike
        # ignore_conflicts, still returns the row's id (RETURNING), so the ids
        # need no second query.
        Author.objects.bulk_create(
            missing,
            update_conflicts=True,
            unique_fields=["identity"],
            update_fields=["identity"],
            batch_size=BULK_BATCH,
        )
        ids.update((unknown[author.identity], author.id) for author in missing)
    return [{ext: ids[key] for ext, key in by_comment.items()} for by_comment in keys], ids


def _author_ids(identities: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(identities), IN_CHUNK):
        part = identities[start : start + IN_CHUNK]
        ids.update(Author.objects.filter(identity__in=part).values_list("identity", "id"))
    return ids


# What placing a stored comment in the tree needs; the rest is read only for
# the comments the record brings again (which may have changed).
TREE_FIELDS = ("id", "external_id", "parent_id", "created_at", "path", "depth")
RECORD_FIELDS = (*TREE_FIELDS, "author_id", "author_name", "body", "body_html",
                 "content_hash", "source_state", "version")


def _stored_comments(
    threads: list[Thread], again: dict[int, dict[str, Comment]],
) -> dict[int, dict[str, Comment]]:
    """Each thread's stored comments by external id, by thread id: tree columns for all of
    them, and the incoming ones already read with every compared column (`again`).

    A thread imported in many records (a long JSONL run) would otherwise hold
    every stored body in memory for every later record.
    """
    ids = [thread.id for thread in threads]
    stored: dict[int, dict[str, Comment]] = {thread_id: {} for thread_id in ids}
    for part in _chunks(ids):
        for c in Comment.objects.filter(thread_id__in=part).only(
                "thread_id", *TREE_FIELDS).iterator(2000):
            stored[c.thread_id][c.external_id] = c
    for thread_id in ids:
        stored[thread_id].update(again.get(thread_id, {}))
    return stored


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
            # The new text's language is detected when it is scored.
            comment.language = None
            changed |= {"content_hash", "version", "language"}
    for name in ("path", "depth"):
        value = getattr(placement, name)
        if getattr(comment, name) != value:
            setattr(comment, name, value)
            changed.add(name)
    return changed


# --- API (issue 15): the author edited a comment on the site ---------------------------


class StaleEdit(Exception):
    """The comment changed since the caller read it (its version moved)."""

    def __init__(self, comment: Comment, expected_version: int) -> None:
        self.comment = comment
        self.expected_version = expected_version
        super().__init__(
            f"comment #{comment.pk} changed since you read it (version {expected_version}, "
            f"now {comment.version})"
        )


def comment_body_edit(
    *, comment: Comment, body: str, expected_version: int | None = None
) -> Comment:
    """New text for a comment: checked by the importers' record rules, a new version,
    and `comments_changed` so that it is scored again (as a re-import's edit is).

    Raises django.core.exceptions.ValidationError for a body the rules refuse,
    StaleEdit when `expected_version` is given and no longer current. The
    same text again changes nothing.
    """
    from django.core.exceptions import ValidationError

    from .importers.validate import comment_problem

    problem = comment_problem(
        CommentRecord(external_id=comment.external_id, parent_id=None, body=body,
                      location="body")
    )
    if problem:
        raise ValidationError(problem)
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if expected_version is not None and locked.version != expected_version:
            raise StaleEdit(locked, expected_version)
        if locked.body == body:
            return locked
        locked.body = body
        # The source's markup was of the old text.
        locked.body_html = ""
        locked.content_hash = content_hash(body)
        locked.version += 1
        locked.save(update_fields=["body", "body_html", "content_hash", "version", "updated_at"])
        comments_changed.send(sender=Comment, comment_ids=[locked.pk])
    return locked
