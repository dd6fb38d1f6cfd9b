"""Keyset paging of every sort, straight through moderation.queue.queue_page.

"Most uncertain" is two index walks (up from the threshold, down from it)
merged by distance, with a cursor per walk: these tests cut the merged
sequence at every page size and check the pages join up to exactly the
one-page sequence, with no row twice and none missing.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from moderation.dashboard.queue import Cursor, QueueError, QueueFilters, queue_page, sort_spec
from tests.helpers import CommentFactory, ThreadFactory
from threads.models import Comment

# Both sides of 0.5, the threshold itself, equal distances on both sides
# (0.75 / 0.25 are exact in binary), repeated values (the id tie-break), and
# the extremes.
SCORES = [0.5, 0.75, 0.25, 0.75, 0.25, 0.5, 0.51, 0.49, 0.0, 1.0, 0.9, 0.1, 0.75, 0.6,
          0.4, 0.49, None, None, 0.25, 0.99]


@pytest.fixture
def scored(db, settings):
    settings.MODERATION_REVIEW_THRESHOLDS = {"toxicity": 0.5}
    thread = ThreadFactory()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    comments = []
    for i, score in enumerate(SCORES):
        comment = CommentFactory(thread=thread, toxicity=score,
                                 created_at=start + timedelta(minutes=i % 7))
        comments.append(comment)
    return comments


def walk_pages(*, tab: str, sort: str, size: int, filters: QueueFilters | None = None
               ) -> list[list[int]]:
    pages: list[list[int]] = []
    after = None
    for _ in range(100):
        page = queue_page(tab=tab, sort=sort, size=size, after=after, filters=filters)
        pages.append([c.pk for c in page.comments])
        if page.next_cursor is None:
            return pages
        after = Cursor.decode(page.next_cursor, sort_spec(sort))
    raise AssertionError("paging did not end")


def expected_uncertain(comments: list[Comment]) -> list[int]:
    """The order the two walks define: distance from 0.5, the upward walk
    (score >= 0.5, then by id) before the downward one (score < 0.5, by id
    descending) on a tie, then the unscored by id."""
    def key(c: Comment):
        up = c.toxicity >= 0.5
        return (abs(c.toxicity - 0.5), 0 if up else 1, c.toxicity if not up else -c.toxicity,
                c.pk if up else -c.pk)

    scored = sorted((c for c in comments if c.toxicity is not None), key=key)
    return [c.pk for c in scored] + sorted(c.pk for c in comments if c.toxicity is None)


def test_uncertain_one_page_is_the_merged_order(scored):
    (page,) = walk_pages(tab="all", sort="uncertain", size=100)
    assert page == expected_uncertain(scored)
    rows = {c.pk: c for c in scored}
    distances = [abs(rows[pk].toxicity - 0.5) for pk in page if rows[pk].toxicity is not None]
    assert distances == sorted(distances)
    assert page[0] in {scored[0].pk, scored[5].pk}  # exactly at the threshold


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 19, 20, 21])
def test_uncertain_pages_have_no_duplicates_and_no_gaps(scored, size):
    pages = walk_pages(tab="all", sort="uncertain", size=size)
    flat = [pk for page in pages for pk in page]
    assert flat == expected_uncertain(scored)
    assert len(flat) == len(set(flat)) == len(SCORES)
    assert all(len(page) == size for page in pages[:-1])


@pytest.mark.parametrize("sort", ["score", "newest", "oldest", "uncertain"])
@pytest.mark.parametrize("size", [1, 3, 8])
def test_every_sort_pages_join_up_to_the_single_page(scored, sort, size):
    (whole,) = walk_pages(tab="all", sort=sort, size=100)
    pages = walk_pages(tab="all", sort=sort, size=size)
    assert [pk for page in pages for pk in page] == whole
    assert sorted(whole) == sorted(c.pk for c in scored)


def test_uncertain_pages_stay_correct_when_acting_between_pages(scored):
    """A card acted on after its page was shown leaves the tab; the next page
    still starts right after the last card shown."""
    first = queue_page(tab="review", sort="uncertain", size=2)
    Comment.objects.filter(pk__in=[c.pk for c in first.comments]).update(needs_review=False)
    shown = {c.pk for c in first.comments}
    rest = queue_page(tab="review", sort="uncertain", size=100, after=first.next_cursor)
    assert shown.isdisjoint(c.pk for c in rest.comments)


def test_uncertain_respects_tab_and_filters(scored):
    Comment.objects.filter(pk__in=[c.pk for c in scored[:6]]).update(state="flagged")
    pages = walk_pages(tab="flagged", sort="uncertain", size=2)
    assert sorted(pk for page in pages for pk in page) == sorted(c.pk for c in scored[:6])
    pages = walk_pages(tab="all", sort="uncertain", size=2,
                       filters=QueueFilters(score_min=0.4, score_max=0.6))
    flat = [pk for page in pages for pk in page]
    assert flat == [pk for pk in expected_uncertain(scored)
                    if (t := Comment.objects.get(pk=pk).toxicity) is not None and 0.4 <= t <= 0.6]


@pytest.mark.parametrize("payload", [
    [0, [[0.5, 1]], None],  # one walk's position for a two-walk sort
    [0, [[0.5, "x"], None], None],
    [1, [], "7"],
    [0, "nope", None],
])
def test_damaged_uncertain_cursor_is_a_clear_error(scored, payload):
    token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(QueueError, match="cursor"):
        Cursor.decode(token, sort_spec("uncertain"))
