"""Path order must equal a depth-first walk over parent links, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threads.importers.base import CommentRecord, ThreadRecord
from threads.models import Comment
from threads.selectors import comment_ancestors_bounded, comment_subtree
from threads.services import ImportReport, thread_import_from_record
from threads.tree import FLAT_DEPTH, Node, TreeError, assign_paths

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def trees(draw, max_size=40):
    """(external_id, parent index or None, minutes offset or None) per node, parents first."""
    size = draw(st.integers(min_value=1, max_value=max_size))
    ids = draw(
        st.lists(
            st.text("abcxyz0123456789", min_size=1, max_size=4),
            min_size=size,
            max_size=size,
            unique=True,
        )
    )
    nodes = []
    for index, ext in enumerate(ids):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        # Few distinct times, so equal timestamps (ordered by id) happen often.
        minutes = draw(st.one_of(st.none(), st.integers(0, 5)))
        nodes.append((ext, parent, minutes))
    return nodes


def expected_depth_first(nodes):
    """An independent walk: children sorted by (undated last, time, id)."""
    children: dict[int | None, list[int]] = {}
    for index, (_, parent, _) in enumerate(nodes):
        children.setdefault(parent, []).append(index)

    def order(i):
        ext, _, minutes = nodes[i]
        return (minutes is None, minutes if minutes is not None else 0, ext)

    out: list[tuple[str, int]] = []

    def visit(i, depth):
        out.append((nodes[i][0], depth))
        for child in sorted(children.get(i, []), key=order):
            visit(child, depth + 1)

    for root in sorted(children.get(None, []), key=order):
        visit(root, 0)
    return out


def record_for(nodes, external_id="t"):
    comments = [
        CommentRecord(
            external_id=ext,
            parent_id=nodes[parent][0] if parent is not None else None,
            body=f"body {ext}",
            location=f"comment {ext}",
            created_at=BASE_TIME + timedelta(minutes=minutes) if minutes is not None else None,
        )
        for ext, parent, minutes in nodes
    ]
    return ThreadRecord(
        source="test", external_id=external_id, location="thread", comments=comments
    )


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(nodes=trees())
def test_path_order_is_depth_first_order(nodes):
    with transaction.atomic():
        # Arrival order must not matter: import children before their parents.
        record = record_for(nodes)
        record.comments.reverse()
        thread = thread_import_from_record(record=record, report=ImportReport(), path="generated")
        stored = list(thread.comments.order_by("path").values_list("external_id", "depth"))
        assert stored == expected_depth_first(nodes)
        # Every subtree is exactly the contiguous run of descendants.
        by_ext = {c.external_id: c for c in thread.comments.all()}
        order = [ext for ext, _ in stored]
        for ext, depth in stored:
            start = order.index(ext)
            end = start + 1
            while end < len(stored) and stored[end][1] > depth:
                end += 1
            subtree = [c.external_id for c in comment_subtree(comment=by_ext[ext])]
            assert subtree == order[start:end]
        transaction.set_rollback(True)


def test_assign_paths_reports_a_cycle_with_its_ids():
    nodes = [Node("a", "c", 0), Node("b", "a", 0), Node("c", "b", 0), Node("d", None, 0)]
    with pytest.raises(TreeError) as info:
        assign_paths(nodes)
    assert set(info.value.ids) == {"a", "b", "c"}
    assert "reply cycle" in str(info.value)


def test_assign_paths_self_parent_is_a_cycle():
    with pytest.raises(TreeError) as info:
        assign_paths([Node("a", "a", 0)])
    assert info.value.ids == ["a"]


def chain_with_branches(length, branch_at):
    """A reply chain of `length`, with a second reply at each depth in `branch_at`."""
    nodes = [(f"c{i:05d}", i - 1 if i else None, None) for i in range(length)]
    for depth in branch_at:
        nodes.append((f"b{depth:05d}", depth - 1, None))
    return nodes


@pytest.mark.django_db
def test_deep_tree_past_flat_depth_keeps_depth_first_order_and_selectors():
    nodes = chain_with_branches(
        FLAT_DEPTH + 30, branch_at=[3, FLAT_DEPTH - 1, FLAT_DEPTH + 5, FLAT_DEPTH + 20]
    )
    thread = thread_import_from_record(
        record=record_for(nodes), report=ImportReport(), path="generated"
    )
    stored = list(thread.comments.order_by("path").values_list("external_id", "depth"))
    assert stored == expected_depth_first(nodes)
    deep = Comment.objects.get(thread=thread, external_id=f"c{FLAT_DEPTH + 10:05d}")
    assert deep.depth == FLAT_DEPTH + 10
    window = comment_ancestors_bounded(comment=deep, nearest=FLAT_DEPTH + 10)
    assert [c.external_id for c in [window.root, *window.nearest]] == [
        f"c{i:05d}" for i in range(FLAT_DEPTH + 10)
    ]
    window = comment_ancestors_bounded(comment=deep, nearest=3)
    assert [c.external_id for c in [window.root, *window.nearest]] == [
        "c00000", *(f"c{i:05d}" for i in range(FLAT_DEPTH + 7, FLAT_DEPTH + 10))
    ]
    assert window.skipped == FLAT_DEPTH + 6
    subtree = [c.external_id for c in comment_subtree(comment=deep)]
    # The chain below it plus the branch at depth FLAT_DEPTH + 20 (a child of c...+19).
    assert subtree[0] == deep.external_id
    assert set(subtree) == {f"c{i:05d}" for i in range(FLAT_DEPTH + 10, FLAT_DEPTH + 30)} | {
        f"b{FLAT_DEPTH + 20:05d}"
    }
    shallow = Comment.objects.get(thread=thread, external_id="c00002")
    window = comment_ancestors_bounded(comment=shallow)
    assert [c.external_id for c in [window.root, *window.nearest]] == ["c00000", "c00001"]


@pytest.mark.django_db
def test_ten_thousand_deep_chain_imports_without_recursion(tmp_path):
    import json

    from threads.services import threads_import_from_file

    depth = 10_000
    comments = [
        {"external_id": str(i), "parent_id": str(i - 1) if i else None, "body": f"level {i}"}
        for i in range(depth)
    ]
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"threads": [{"external_id": "deep", "comments": comments}]}))
    report = threads_import_from_file(path=path)
    assert report.comments_new == depth
    last = Comment.objects.get(external_id=str(depth - 1))
    assert last.depth == depth - 1
    ordered = list(
        Comment.objects.filter(thread=last.thread).order_by("path").values_list("depth", flat=True)
    )
    assert ordered == list(range(depth))
    assert threads_import_from_file(path=path).comments_unchanged == depth
