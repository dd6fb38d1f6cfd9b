"""A thread imported in many records (a long JSONL run) ends exactly as if imported whole.

Later records that only add comments after the stored ones are placed without
reading the thread (threads/services.py `_appended_placements`); any other
record places the whole thread again. Either way every path and depth must be
what one import of the whole thread gives.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from threads.importers.base import CommentRecord, ThreadRecord
from threads.models import Comment, Thread
from threads.services import ImportReport, _appended_placements, thread_import_from_record
from threads.tree import FLAT_DEPTH

pytestmark = pytest.mark.django_db

START = datetime(2024, 1, 1, tzinfo=UTC)


def random_thread(n: int, seed: int, *, reply_share: float = 0.6) -> list[CommentRecord]:
    """n comments in time order, each replying to an earlier one or at top level."""
    rng = random.Random(seed)
    comments = []
    for i in range(n):
        parent = f"c{rng.randrange(i)}" if i and rng.random() < reply_share else None
        # Some share a timestamp: siblings then go by external id.
        when = START + timedelta(minutes=i - i % 3)
        comments.append(CommentRecord(f"c{i}", parent, f"body {i}", f"line {i}", created_at=when))
    return comments


def import_parts(thread_id: str, parts: list[list[CommentRecord]]) -> ImportReport:
    report = ImportReport()
    for number, part in enumerate(parts):
        record = ThreadRecord("test", thread_id, f"part {number}", comments=part)
        thread_import_from_record(record=record, report=report, path="parts.jsonl")
    return report


def tree(thread_id: str) -> dict[str, tuple[str, int, str | None]]:
    thread = Thread.objects.get(source="test", external_id=thread_id)
    rows = Comment.objects.filter(thread=thread).values_list(
        "external_id", "path", "depth", "parent__external_id"
    )
    return {ext: (path, depth, parent) for ext, path, depth, parent in rows}


def split(comments: list[CommentRecord], size: int) -> list[list[CommentRecord]]:
    return [comments[start : start + size] for start in range(0, len(comments), size)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_thread_in_time_order_imported_in_parts_equals_it_imported_whole(seed):
    comments = random_thread(400, seed)
    import_parts("whole", [comments])
    report = import_parts("parts", split(comments, 37))
    assert tree("parts") == tree("whole")
    assert report.comments_new == 400 and not report.warnings


def test_later_parts_in_time_order_are_placed_without_placing_the_thread_again():
    comments = random_thread(60, 4)
    import_parts("t", [comments[:30]])
    thread = Thread.objects.get(external_id="t")
    later = {c.external_id: c for c in comments[30:]}
    assert _appended_placements([(thread, later)], {}, ImportReport(), "x") != [None]
    # A reply older than a stored sibling would shift it: the whole thread is placed.
    early = CommentRecord("early", None, "late", "line", created_at=START - timedelta(days=1))
    assert _appended_placements([(thread, {"early": early})], {}, ImportReport(), "x") == [None]


def test_parts_out_of_time_order_still_equal_the_whole_import():
    # Parents still come before their replies, but the times are in no order:
    # a later part's comment often sorts before a stored sibling.
    comments = random_thread(300, 5)
    rng = random.Random(6)
    for comment in comments:
        comment.created_at = START + timedelta(minutes=rng.randrange(500))
    import_parts("whole", [comments])
    import_parts("parts", split(comments, 41))
    assert tree("parts") == tree("whole")


def test_a_chain_deeper_than_the_flat_depth_in_parts_equals_the_whole_import():
    chain = [
        CommentRecord(f"d{i}", f"d{i - 1}" if i else None, "deep", f"line {i}",
                      created_at=START + timedelta(seconds=i))
        for i in range(FLAT_DEPTH + 40)
    ]
    side = [
        CommentRecord(f"s{i}", f"d{i * 9}", "side", f"side {i}",
                      created_at=START + timedelta(hours=1, seconds=i))
        for i in range(12)
    ]
    import_parts("whole", [chain + side])
    import_parts("parts", split(chain, 25) + split(side, 5))
    assert tree("parts") == tree("whole")


def test_a_part_that_brings_stored_comments_again_equals_the_whole_import():
    comments = random_thread(120, 7)
    import_parts("whole", [comments])
    import_parts("parts", [comments[:60], comments[40:90], comments[90:]])
    assert tree("parts") == tree("whole")


def test_a_reply_to_a_comment_in_no_part_goes_to_the_top_level_with_a_warning():
    comments = random_thread(50, 8)
    orphan = CommentRecord("orphan", "nowhere", "lost", "99", created_at=START + timedelta(days=9))
    import_parts("whole", [[*comments, orphan]])
    report = import_parts("parts", [comments[:25], [*comments[25:], orphan]])
    assert tree("parts") == tree("whole")
    assert tree("parts")["orphan"][1:] == (0, None)
    assert len(report.warnings) == 1 and "'nowhere'" in report.warnings[0]
