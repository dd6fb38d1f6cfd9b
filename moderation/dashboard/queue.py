"""Reads for the moderator dashboard: queue tabs, sorts, filters, keyset pages, counts.

Every function here runs a fixed number of queries, whatever the page size or
the thread size: the dashboard's latency must not grow with the data.

Keyset pagination: a page ends with a cursor (the last row's sort value and
id) and the next page starts strictly after it, so a page deep in a queue of a
million rows costs what the first page costs, and acting on cards while paging
never skips or repeats one (OFFSET would). Rows whose sort value is NULL (an
unscored comment, a comment without a date) come after all the others, in id
order: the cursor records which of the two phases it is in. "Most uncertain"
walks the score index both ways from the threshold and merges the two walks;
its cursor holds where each walk stopped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Floor, Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from moderation.decisions.selectors import (
    author_standings,
    comment_ids_decided_since,
    threads_by_last_moderated,
    threads_last_moderated,
)
from moderation.models import ToxicityScore
from moderation.reader_reports.selectors import reported_comments
from moderation.scoring.labels import pivot_threshold
from moderation.scoring.registry import scorer_choice
from threads.models import Comment, Thread
from threads.selectors import AncestorWindow, comment_ancestors_bounded

from .search import SearchQuery, comments_matching

State = Comment.State

TABS: dict[str, str] = {
    "review": "Needs review",
    "flagged": "Flagged",
    "hidden": "Hidden",
    "approved": "Approved",
    "reported": "Reported",
    "all": "All",
}
SORTS: dict[str, str] = {
    "score": "Highest score",
    "newest": "Newest",
    "oldest": "Oldest",
    "uncertain": "Most uncertain",
    "reports": "Most reported",
}
# A tab's sort when the URL names none (others: highest score first).
DEFAULT_SORTS: dict[str, str] = {"reported": "reports"}
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# Tab counts stop at this many: counting a million approved comments exactly
# costs a scan on every page view and tells a moderator nothing "10,000+" does not.
COUNT_CAP = 10_000
EXCERPT_CHARS = 160


class QueueError(ValueError):
    """A bad tab, sort or cursor; the message says which."""


def tab_queryset(tab: str) -> QuerySet[Comment]:
    if tab == "review":
        return Comment.objects.filter(state=State.PENDING, needs_review=True)
    if tab == "flagged":
        return Comment.objects.filter(state=State.FLAGGED)
    if tab == "hidden":
        return Comment.objects.filter(state=State.HIDDEN)
    if tab == "approved":
        return Comment.objects.filter(state=State.APPROVED)
    if tab == "reported":
        return reported_comments()
    if tab == "all":
        return Comment.objects.all()
    raise QueueError(f"unknown tab {tab!r}; use one of: {', '.join(TABS)}")


def comment_in_tab(comment: Comment, tab: str) -> bool:
    if tab == "review":
        return comment.state == State.PENDING and comment.needs_review
    if tab == "all":
        return True
    if tab == "reported":
        return reported_comments().filter(pk=comment.pk).exists()
    return comment.state == tab


def queue_counts() -> dict[str, int]:
    """Comments per tab, each capped at COUNT_CAP + 1 (shown as "10,000+").

    One bounded query per tab: each reads at most COUNT_CAP + 1 index entries.
    """
    return {tab: tab_queryset(tab)[: COUNT_CAP + 1].count() for tab in TABS}


@dataclass(frozen=True)
class QueueFilters:
    thread_id: int | None = None
    label: str = ""
    score_min: float | None = None
    score_max: float | None = None
    author_id: int | None = None
    source: str = ""
    language: str = ""  # a code, LANGUAGE_UNDETERMINED or LANGUAGE_UNSUPPORTED

    # Full-text search (search.py): only comments with every term.
    query: SearchQuery | None = None

    def apply(self, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.thread_id is not None:
            queryset = queryset.filter(thread_id=self.thread_id)
        if self.label:
            queryset = queryset.filter(toxicity_label=self.label)
        if self.score_min is not None:
            queryset = queryset.filter(toxicity__gte=self.score_min)
        if self.score_max is not None:
            queryset = queryset.filter(toxicity__lte=self.score_max)
        if self.author_id is not None:
            queryset = queryset.filter(author_id=self.author_id)
        if self.source:
            queryset = queryset.filter(thread__source=self.source)
        if self.language:
            queryset = queryset.filter(language_q(self.language))

        if self.query is not None:
            queryset = comments_matching(queryset, self.query)
        return queryset

    def as_query(self) -> dict[str, str]:
        """The non-empty filters as URL parameters (for links that keep them)."""
        pairs = {
            "thread": self.thread_id,
            "label": self.label,
            "min": self.score_min,
            "max": self.score_max,
            "author": self.author_id,
            "source": self.source,
            "lang": self.language,

            "q": self.query.text if self.query is not None else "",
        }
        return {key: str(value) for key, value in pairs.items() if value not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(self.as_query())


# The language filter's two values that are not a language code.
LANGUAGE_UNDETERMINED = "und"
LANGUAGE_UNSUPPORTED = "unsupported"


def active_model_languages() -> tuple[str, ...]:
    """The languages the active model reads (() = any); no model is loaded."""
    try:
        return scorer_choice().languages
    except ImproperlyConfigured:  # the scoring pages say so; the queue still works
        return ()


def language_q(language: str) -> Q:
    """Comments in `language`, undetermined ("und"), or in a language the active
    model does not read ("unsupported")."""
    if language == LANGUAGE_UNDETERMINED:
        return Q(language="")
    if language == LANGUAGE_UNSUPPORTED:
        languages = active_model_languages()
        if not languages:
            return Q(pk__in=[])
        return Q(language__isnull=False) & ~Q(language="") & ~Q(language__in=languages)
    return Q(language=language)


def unsupported_language_count() -> int:
    """Comments needing review that the active model cannot read (capped like tab counts)."""
    queryset = tab_queryset("review").filter(language_q(LANGUAGE_UNSUPPORTED))
    return queryset[: COUNT_CAP + 1].count()


@dataclass(frozen=True)
class Walk:
    """One keyset walk of an index: rows in (field, id) order, up or down,
    optionally bounded (`toxicity >= threshold`)."""

    descending: bool
    bound: Q | None = None


@dataclass(frozen=True)
class SortSpec:
    """How a sort orders rows: one or more index walks over one field.

    Single-walk sorts are a plain ORDER BY (field, id). "Most uncertain" is
    two walks outwards from the threshold, merged by distance: each walk is
    an ordered range of the (toxicity, id) index, so a page reads about
    2 x page size index entries instead of sorting the whole tab by
    abs(toxicity - threshold), which no index can serve.
    """

    key: str
    field: str
    walks: tuple[Walk, ...]
    is_datetime: bool = False
    threshold: float | None = None

    @property
    def nulls_descending(self) -> bool:
        # Rows without a value come last, in the direction of the first walk.
        return self.walks[0].descending

    def distance(self, value: float) -> float:
        return abs(value - self.threshold) if self.threshold is not None else 0.0


def sort_spec(sort: str) -> SortSpec:
    if sort == "score":
        return SortSpec("score", "toxicity", (Walk(descending=True),))
    if sort == "newest":
        return SortSpec("newest", "created_at", (Walk(descending=True),), is_datetime=True)
    if sort == "oldest":
        return SortSpec("oldest", "created_at", (Walk(descending=False),), is_datetime=True)
    if sort == "reports":
        return SortSpec("reports", "report_count", (Walk(descending=True),))
    if sort == "uncertain":
        threshold = pivot_threshold()
        return SortSpec(
            "uncertain",
            "toxicity",
            (
                Walk(descending=False, bound=Q(toxicity__gte=threshold)),  # up from it
                Walk(descending=True, bound=Q(toxicity__lt=threshold)),  # down from it
            ),
            threshold=threshold,
        )
    raise QueueError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")


Position = tuple[Any, int]  # (sort value, id) of the last row a walk gave


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: each walk's last (value, id), None where a walk has
    given nothing yet; or, in the NULL phase, the last id."""

    null_phase: bool
    positions: tuple[Position | None, ...]
    last_id: int | None = None

    def encode(self) -> str:
        positions = [
            None if pos is None
            else [pos[0].isoformat() if isinstance(pos[0], datetime) else pos[0], pos[1]]
            for pos in self.positions
        ]
        raw = json.dumps([int(self.null_phase), positions, self.last_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, spec: SortSpec) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            phase, raw_positions, last_id = json.loads(base64.urlsafe_b64decode(padded))
            if phase:
                if not isinstance(last_id, int):
                    raise ValueError("id")
                return cls(True, (), last_id)
            if not isinstance(raw_positions, list) or len(raw_positions) != len(spec.walks):
                raise ValueError("walks")
            positions: list[Position | None] = []
            for raw in raw_positions:
                if raw is None:
                    positions.append(None)
                    continue
                value, row_id = raw
                if not isinstance(row_id, int):
                    raise ValueError("id")
                if spec.is_datetime:
                    parsed = parse_datetime(value)
                    if parsed is None:
                        raise ValueError("date")
                    positions.append((parsed, row_id))
                else:
                    positions.append((float(value), row_id))
            return cls(False, tuple(positions))
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise QueueError("the page cursor in the URL is damaged; start from the top") from None


@dataclass
class QueuePage:
    comments: list[Comment]
    next_cursor: str | None
    scores: dict[int, ToxicityScore] = field(default_factory=dict)


def with_body_preview(queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    """Rows whose body is cut in the database (`body_preview`), the body itself not read.

    One character more than COMMENT_PREVIEW_CHARS, so a template knows the
    body was cut (the "show all" control) without reading it: a page of cards
    costs the same whether a body is 50 characters or 50 MB. The full text
    comes from the comment_body view, on demand.
    """
    return queryset.annotate(
        body_preview=Substr("body", 1, settings.COMMENT_PREVIEW_CHARS + 1),
    ).defer("body", "body_html")


def card_queryset(queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    """What a card shows, in the same query: thread, author, parent excerpt, body preview."""
    return with_body_preview(queryset.select_related("thread", "author").annotate(
        parent_excerpt=Substr("parent__body", 1, EXCERPT_CHARS + 1),
        parent_author=F("parent__author_name"),
        # Reader reports (templates/dashboard/_card_reports.html), joined, not queried per card.
        card_report_count=F("report_summary__count"),
        card_report_reasons=F("report_summary__reasons"),
    )).defer("thread__lead")


def _walk_rows(base: QuerySet[Comment], spec: SortSpec, walk: Walk,
               after: Position | None, limit: int) -> list[Comment]:
    """Up to `limit` rows of one walk, strictly after `after`: one ordered
    index range scan (field, id), forwards or backwards, whatever the depth."""
    name = spec.field
    rows = base.filter(**{f"{name}__isnull": False})
    if walk.bound is not None:
        rows = rows.filter(walk.bound)
    if after is not None:
        value, last_id = after
        op = "lt" if walk.descending else "gt"
        rows = rows.filter(
            Q(**{f"{name}__{op}": value}) | Q(**{name: value, f"id__{op}": last_id})
        )
    # A plain DESC/ASC (not NULLS LAST) with the NULLs filtered out lets
    # PostgreSQL walk the (field, id) index in either direction.
    order = (f"-{name}", "-id") if walk.descending else (name, "id")
    return list(card_queryset(rows).order_by(*order)[:limit])


def _merge(spec: SortSpec, walks: list[list[Comment]]) -> list[tuple[int, Comment]]:
    """The walks' rows in page order, each tagged with its walk.

    One walk: its own order. Two (most uncertain): by distance from the
    threshold, the upward walk first on a tie; each walk is already in
    distance order, so this is a merge, and cutting it anywhere then
    resuming each walk after its own last row gives the same sequence.
    """
    if len(walks) == 1:
        return [(0, row) for row in walks[0]]
    up, down = walks
    merged: list[tuple[int, Comment]] = []
    i = j = 0
    while i < len(up) or j < len(down):
        take_up = j >= len(down) or (
            i < len(up)
            and spec.distance(getattr(up[i], spec.field)) <= spec.distance(
                getattr(down[j], spec.field))
        )
        if take_up:
            merged.append((0, up[i]))
            i += 1
        else:
            merged.append((1, down[j]))
            j += 1
    return merged


def queue_page(
    *,
    tab: str,
    sort: str = "score",
    filters: QueueFilters | None = None,
    after: Cursor | None = None,
    size: int = DEFAULT_PAGE_SIZE,
) -> QueuePage:
    """One page of a tab: one query per walk (and one for the NULL rows when the
    valued ones run out), one for the scores; each reads about a page of index."""
    spec = sort_spec(sort)
    size = max(1, min(size, MAX_PAGE_SIZE))
    base = (filters or QueueFilters()).apply(tab_queryset(tab))
    if spec.field == "report_count" and "report_count" not in base.query.annotations:
        base = base.annotate(report_count=F("report_summary__count"))
    cursor = after
    tagged: list[tuple[int | None, Comment]] = []
    positions: list[Position | None] = (
        list(cursor.positions) if cursor is not None and not cursor.null_phase
        else [None] * len(spec.walks)
    )

    if cursor is None or not cursor.null_phase:
        # size + 1 from every walk: enough to fill the page whichever walk it
        # draws from, and to know whether a next page exists.
        walks = [
            _walk_rows(base, spec, walk, positions[index], size + 1)
            for index, walk in enumerate(spec.walks)
        ]
        tagged = list(_merge(spec, walks))

    if len(tagged) <= size:
        # The valued rows ran out on this page: continue with the NULL ones.
        nulls = base.filter(**{f"{spec.field}__isnull": True})
        if cursor is not None and cursor.null_phase:
            op = "lt" if spec.nulls_descending else "gt"
            nulls = nulls.filter(**{f"id__{op}": cursor.last_id})
        order = "-id" if spec.nulls_descending else "id"
        tagged += [(None, row) for row in
                   card_queryset(nulls).order_by(order)[: size + 1 - len(tagged)]]

    next_cursor = None
    if len(tagged) > size:
        tagged = tagged[:size]
        walk_index, last = tagged[-1]
        if walk_index is None:
            next_cursor = Cursor(True, (), last.pk).encode()
        else:
            for index, row in tagged:
                if index is not None:
                    positions[index] = (getattr(row, spec.field), row.pk)
            next_cursor = Cursor(False, tuple(positions)).encode()
    rows = attach_author_facts([row for _, row in tagged])
    return QueuePage(comments=rows, next_cursor=next_cursor, scores=latest_scores(rows))


def latest_scores(comments: Iterable[Comment]) -> dict[int, ToxicityScore]:
    """The score each card shows, in one query: the newest for the comment's
    current text, else the newest at all (a re-scoring is pending)."""
    by_id = {comment.pk: comment for comment in comments}
    if not by_id:
        return {}
    chosen: dict[int, ToxicityScore] = {}
    candidates = ToxicityScore.objects.filter(comment_id__in=list(by_id)).order_by(
        "comment_id", "-scored_at", "-id"
    )
    for score in candidates:
        current = chosen.get(score.comment_id)
        matches = score.content_hash == by_id[score.comment_id].content_hash
        if current is None or (
            matches and current.content_hash != by_id[score.comment_id].content_hash
        ):
            chosen[score.comment_id] = score
    return chosen


def new_in_tab_count(*, tab: str, since: datetime, exclude_actor_id: int | None,
                     filters: QueueFilters | None = None) -> int:
    """Comments that entered the tab since a moment, moved there by someone else,
    and that match the page's filters.

    Reads the decision log (indexed on created_at): every way into a tab is a
    Decision whose to_state is the tab's state: the scoring policy's `queue`,
    a colleague's action, and a colleague's undo that puts a comment back
    (into review: back to pending, still marked for review).
    Into Reported, a reader's report.
    """
    if tab == "reported":
        recent = reported_comments().filter(report_summary__last_reported_at__gt=since)
        return recent[: COUNT_CAP + 1].count()
    moved = comment_ids_decided_since(
        since=since,
        to_state=State.PENDING if tab == "review" else (tab if tab != "all" else None),
        exclude_actor_id=exclude_actor_id,
    )
    still_there = (filters or QueueFilters()).apply(tab_queryset(tab)).filter(pk__in=moved)
    return still_there[: COUNT_CAP + 1].count()


def thread_sources() -> list[str]:
    """The sources threads came from, for the source filter (one small query)."""
    return list(Thread.objects.order_by("source").values_list("source", flat=True).distinct())


# --- context around one comment ------------------------------------------------


# Ancestors "show context" lists between the top-level comment and the
# comment: the nearest ones; the rest are a count and a link to the thread.
CONTEXT_NEAREST = 5


def comment_replies(*, comment: Comment, limit: int = 50) -> list[Comment]:
    """The direct replies, oldest first (display order), bodies previewed."""
    return list(
        with_body_preview(Comment.objects.filter(parent=comment).select_related("author"))
        .order_by("path")[:limit]
    )


def comment_context_ancestors(*, comment: Comment) -> AncestorWindow:
    """The top-level ancestor and the CONTEXT_NEAREST nearest, bodies previewed.

    At most CONTEXT_NEAREST + 1 rows read, however deep the comment is.
    """
    return comment_ancestors_bounded(
        comment=comment, nearest=CONTEXT_NEAREST,
        rows=with_body_preview(Comment.objects.select_related("author")),
    )


# --- thread view ---------------------------------------------------------------

THREAD_CHUNK = 250


@dataclass
class ThreadChunk:
    comments: list[Comment]
    next_after: str | None


def thread_chunk(*, thread: Thread, after: str | None = None, start: str | None = None,
                 size: int = THREAD_CHUNK) -> ThreadChunk:
    """The next `size` comments of a thread in display order (keyset on path).

    One query on the (thread, path) index whatever the thread's size; the
    page loads the following chunk when the moderator scrolls near the end,
    so a 10,000-comment thread opens as fast as a 10-comment one.
    """
    queryset = Comment.objects.filter(thread=thread)
    if after:
        queryset = queryset.filter(path__gt=after)
    elif start:
        queryset = queryset.filter(path__gte=start)
    rows = list(with_body_preview(queryset.select_related("author")).order_by("path")[: size + 1])
    next_after = None
    if len(rows) > size:
        rows = rows[:size]
        next_after = rows[-1].path
    return ThreadChunk(comments=rows, next_after=next_after)


def thread_model_keys(*, thread: Thread) -> list[str]:
    """The models whose scores appear in the thread (one query)."""
    return sorted(
        set(
            ToxicityScore.objects.filter(comment__thread=thread)
            .values_list("model_key", flat=True)
            .distinct()
        )
    )


def state_counts(comments: QuerySet[Comment]) -> dict[str, int]:
    """How many of these comments are in each moderation state (every state listed)."""
    rows = comments.values("state").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(State.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def thread_state_counts(*, thread_id: int) -> dict[str, int]:
    return state_counts(Comment.objects.filter(thread_id=thread_id))


def thread_needs_review_count(*, thread_id: int) -> int:
    """How many of the thread's comments wait in the review queue (capped like the tabs)."""
    return tab_queryset("review").filter(thread_id=thread_id)[: COUNT_CAP + 1].count()


# --- author view ---------------------------------------------------------------


def author_state_counts(*, author_id: int) -> dict[str, int]:
    return state_counts(Comment.objects.filter(author_id=author_id))


# --- author facts on cards (prior counts, standing) ------------------------------


@dataclass(frozen=True)
class AuthorFacts:
    """What a card says about its author: their comments by state, and their standing."""

    hidden: int = 0
    flagged: int = 0
    approved: int = 0
    pending: int = 0
    banned: bool = False
    suspended_until: datetime | None = None
    trusted: bool = False
    premoderated: bool = False


def author_facts(author_ids: Iterable[int | None]) -> dict[int, AuthorFacts]:
    """Each author's comment counts by state and standing: two queries for a whole page.

    The counts read the (author, created_at) index, one range per author.
    """
    ids = sorted({pk for pk in author_ids if pk is not None})
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    rows = (Comment.objects.filter(author_id__in=ids).values("author_id", "state")
            .annotate(n=Count("id")).order_by())
    for row in rows:
        counts[row["author_id"]][row["state"]] = row["n"]
    standings = author_standings(author_ids=ids)
    now = timezone.now()
    facts = {}
    for pk in ids:
        standing = standings.get(pk)
        by_state = counts[pk]
        facts[pk] = AuthorFacts(
            hidden=by_state.get(State.HIDDEN, 0), flagged=by_state.get(State.FLAGGED, 0),
            approved=by_state.get(State.APPROVED, 0), pending=by_state.get(State.PENDING, 0),
            banned=bool(standing and standing.banned),
            suspended_until=(standing.suspended_until
                             if standing and standing.suspended_at(now) else None),
            trusted=bool(standing and standing.trusted),
            premoderated=bool(standing and standing.premoderated),
        )
    return facts


def attach_author_facts(comments: list[Comment]) -> list[Comment]:
    """Set `author_facts` on each comment (None without an author), for the card's author line."""
    facts = author_facts(comment.author_id for comment in comments)
    for comment in comments:
        comment.author_facts = facts.get(comment.author_id)
    return comments


# --- score bands (histogram, "N of M selected", the batch's snapshot) -------------

BINS = 20
BAND_SAMPLE = 3


@dataclass(frozen=True)
class Bin:
    index: int
    low: float
    high: float
    count: int
    height: int  # 0..100 in steps of 5 (a CSS class: the CSP allows no style attribute)


@dataclass(frozen=True)
class Histogram:
    bins: list[Bin]
    scored: int  # comments of the tab and filters with a score
    unscored: int


def score_histogram(*, tab: str, filters: QueueFilters) -> Histogram:
    """The tab's comments (with the filters, the label filter included) by top-label score,
    in BINS bins of equal width: one grouped query (on PostgreSQL an index-only scan of
    the tab's score index) and one count of the unscored."""
    base = filters.apply(tab_queryset(tab))
    rows = (base.filter(toxicity__isnull=False)
            .annotate(bin=Floor(F("toxicity") * BINS)).values("bin")
            # count(toxicity), not count(id): with a label filter the partial
            # (toxicity_label, toxicity) index then answers without the table.
            .annotate(n=Count("toxicity")).order_by())
    counts = [0] * BINS
    for row in rows:
        counts[min(BINS - 1, max(0, int(row["bin"])))] += row["n"]
    peak = max(counts) or 1
    bins = [
        Bin(index=i, low=i / BINS, high=(i + 1) / BINS, count=n,
            height=0 if n == 0 else max(5, 5 * round(20 * n / peak)))
        for i, n in enumerate(counts)
    ]
    unscored = base.filter(toxicity__isnull=True)[: COUNT_CAP + 1].count()
    return Histogram(bins=bins, scored=sum(counts), unscored=unscored)


def band_queryset(*, tab: str, filters: QueueFilters, low: float,
                  high: float) -> QuerySet[Comment]:
    """The comments of the tab and filters whose top-label score is in [low, high]."""
    return filters.apply(tab_queryset(tab)).filter(toxicity__gte=low, toxicity__lte=high)


@dataclass(frozen=True)
class BandSummary:
    selected: int
    total: int  # scored comments of the tab and filters (the M of "N of M")
    sample_low: list[Comment]  # the band's lowest scores: the borderline ones to check
    sample_high: list[Comment]


def band_summary(*, tab: str, filters: QueueFilters, low: float, high: float) -> BandSummary:
    band = band_queryset(tab=tab, filters=filters, low=low, high=high)
    selected = band.count()
    lowest = list(with_body_preview(band.select_related("thread"))
                  .defer("thread__lead").order_by("toxicity", "id")[:BAND_SAMPLE])
    highest = []
    if selected > BAND_SAMPLE:
        seen = {c.pk for c in lowest}
        highest = [c for c in with_body_preview(band.select_related("thread"))
                   .defer("thread__lead").order_by("-toxicity", "-id")[:BAND_SAMPLE]
                   if c.pk not in seen]
    total = filters.apply(tab_queryset(tab)).filter(toxicity__isnull=False).count()
    return BandSummary(selected=selected, total=total, sample_low=lowest, sample_high=highest)


def band_items(*, tab: str, filters: QueueFilters, low: float, high: float,
               limit: int) -> list[tuple[int, int]]:
    """(id, version) of the band's comments, at most `limit` + 1 (so a caller sees "too many")."""
    rows = band_queryset(tab=tab, filters=filters, low=low, high=high).order_by("pk")
    return [tuple(pair) for pair in rows.values_list("pk", "version")[: limit + 1]]



# --- threads table -----------------------------------------------------------------

THREAD_SORTS: dict[str, str] = {
    "review": "Most needing review",
    "newest_comment": "Newest comment",
    "moderated": "Last moderated",
    "published": "Newest article",
    "title": "Title",
}
THREADS_PAGE = 50


@dataclass
class ThreadRow:
    thread: Thread
    counts: dict[str, int]
    review: int
    newest_comment: datetime | None
    last_moderated: datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ThreadsTable:
    rows: list[ThreadRow]
    page: int
    has_next: bool
    total: int


def threads_table(*, sort: str, source: str = "", page: int = 1,
                  size: int = THREADS_PAGE) -> ThreadsTable:
    """One page of threads, in the chosen order, with their counts: a fixed number of queries.

    The order: needs review (one index-only probe of the partial
    `comment_review_thread` index per thread), newest comment (one probe of
    `comment_thread_created` per thread), last moderated (the moderators'
    decisions grouped by thread: threads nobody acted on are not in this
    order), article date or title (the thread table). Counts are read for
    the page's threads only.
    """
    if sort not in THREAD_SORTS:
        raise QueueError(f"unknown sort {sort!r}; use one of: {', '.join(THREAD_SORTS)}")
    threads = Thread.objects.all()
    if source:
        threads = threads.filter(source=source)
    offset = (page - 1) * size
    if sort == "moderated":
        ordered = threads_by_last_moderated(source=source)
        total = ordered.count()
    else:
        if sort == "review":
            return _threads_page(_threads_by_review(threads, source, offset, size),
                                 page=page, size=size, total=threads.count())
        if sort == "newest_comment":
            newest = Subquery(Comment.objects.filter(thread=OuterRef("pk"),
                                                     created_at__isnull=False)
                              .order_by("-created_at").values("created_at")[:1])
            threads = threads.annotate(key=newest).order_by(F("key").desc(nulls_last=True),
                                                             "-id")
        elif sort == "published":
            threads = threads.order_by(F("published_at").desc(nulls_last=True), "-id")
        else:
            threads = threads.order_by("title", "id")
        ordered = threads.values_list("pk", flat=True)
        total = threads.count()
    return _threads_page(list(ordered[offset: offset + size + 1]), page=page, size=size,
                         total=total)


def _threads_by_review(threads: QuerySet[Thread], source: str, offset: int,
                       size: int) -> list[int]:
    """Thread ids by needs-review count (highest first), then the others newest first.

    One index-only scan of the partial `comment_review_thread` index, grouped
    by thread (the review queue's size, not the table's), instead of a count
    per thread.
    """
    waiting = Comment.objects.filter(state=State.PENDING, needs_review=True)
    if source:
        waiting = waiting.filter(thread__source=source)
    # count(thread_id), not count(id): the partial index holds thread_id only,
    # so the count is an index-only scan.
    counted = [pk for pk, _ in sorted(
        waiting.values("thread_id").annotate(n=Count("thread_id")).order_by()
        .values_list("thread_id", "n"), key=lambda row: (-row[1], -row[0]))]
    ids = counted[offset: offset + size + 1]
    if len(ids) < size + 1:
        rest = threads.exclude(pk__in=counted).order_by("-id").values_list("pk", flat=True)
        start = max(0, offset - len(counted))
        ids += list(rest[start: start + size + 1 - len(ids)])
    return ids


def _threads_page(ids: list[int], *, page: int, size: int, total: int) -> ThreadsTable:
    has_next = len(ids) > size
    ids = ids[:size]
    by_id = {t.pk: t for t in Thread.objects.filter(pk__in=ids).defer("lead")}
    counts: dict[int, dict[str, int]] = {pk: dict.fromkeys(State.values, 0) for pk in ids}
    for row in (Comment.objects.filter(thread_id__in=ids).values("thread_id", "state")
                .annotate(n=Count("id")).order_by()):
        counts[row["thread_id"]][row["state"]] = row["n"]
    review = dict(Comment.objects.filter(thread_id__in=ids, state=State.PENDING,
                                         needs_review=True)
                  .values("thread_id").annotate(n=Count("thread_id")).order_by()
                  .values_list("thread_id", "n"))
    newest = dict(Comment.objects.filter(thread_id__in=ids).values("thread_id")
                  .annotate(last=Max("created_at")).order_by().values_list("thread_id", "last"))
    moderated = threads_last_moderated(thread_ids=ids)
    rows = [
        ThreadRow(thread=by_id[pk], counts=counts[pk], review=review.get(pk, 0),
                  newest_comment=newest.get(pk), last_moderated=moderated.get(pk))
        for pk in ids if pk in by_id
    ]
    return ThreadsTable(rows=rows, page=page, has_next=has_next, total=total)
