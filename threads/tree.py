"""Reply-tree arithmetic, free of the ORM so it is easy to test and reuse.

A comment's `path` is its position in display order written as fixed-width
decimal segments, one per level: the third reply to the first top-level
comment is `000000` + `000002`. Sorting by path is a depth-first walk with
siblings ordered by (created_at, external_id).

Materialised paths grow with depth, and PostgreSQL cannot index a key longer
than about 2.7 kB. Real comment systems stop nesting long before 64 levels,
so below `FLAT_DEPTH` every comment of a subtree is numbered in depth-first
order under its ancestor at depth `FLAT_DEPTH - 1` (one `TAIL_WIDTH` segment).
Sort order stays depth-first; `depth` keeps the true depth; a 10,000-deep
chain stays cheap. Everything here is iterative: no recursion limit applies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from operator import itemgetter
from typing import Any, NamedTuple

SEGMENT_WIDTH = 6
MAX_SIBLINGS = 10**SEGMENT_WIDTH
FLAT_DEPTH = 64
TAIL_WIDTH = 10
MAX_PATH_LENGTH = FLAT_DEPTH * SEGMENT_WIDTH + TAIL_WIDTH


class TreeError(ValueError):
    """The parent links do not form a tree (a cycle, or too many siblings)."""

    def __init__(self, message: str, ids: list[Any] | None = None) -> None:
        super().__init__(message)
        self.ids = ids or []


# Named tuples rather than frozen dataclasses: an import makes two of these
# per comment, and a tuple is built several times faster.
class Node(NamedTuple):
    key: Hashable
    parent: Hashable | None
    # Siblings are shown in this order: (created_at-ish, external id).
    sort_key: Any


class Placement(NamedTuple):
    path: str
    depth: int


_by_sort_key = itemgetter(2)  # Node.sort_key


def find_cycle(nodes: dict[Hashable, Node]) -> list[Hashable] | None:
    """Return the keys of one parent-link cycle, in link order, or None."""
    state: dict[Hashable, int] = {}  # 1 = on the current walk, 2 = known acyclic
    for start in nodes:
        if state.get(start):
            continue
        walk: list[Hashable] = []
        key: Hashable | None = start
        while key is not None and key in nodes and not state.get(key):
            state[key] = 1
            walk.append(key)
            key = nodes[key].parent
        if key is not None and state.get(key) == 1:
            return walk[walk.index(key) :]
        for done in walk:
            state[done] = 2
    return None


def assign_paths(nodes: Iterable[Node]) -> dict[Hashable, Placement]:
    """Place every node; parents must be present (or None) and acyclic.

    Returns the placements in depth-first (display) order: every parent
    before its replies. Raises TreeError naming the ids on a cycle or a
    dangling parent.
    """
    by_key = {node.key: node for node in nodes}
    children: dict[Hashable | None, list[Node]] = defaultdict(list)
    for node in by_key.values():
        if node.parent is not None and node.parent not in by_key:
            raise TreeError(f"parent {node.parent!r} of {node.key!r} is unknown", [node.key])
        children[node.parent].append(node)
    for siblings in children.values():
        if len(siblings) > MAX_SIBLINGS:
            raise TreeError(f"more than {MAX_SIBLINGS} replies under one comment")
        siblings.sort(key=_by_sort_key)

    placements: dict[Hashable, Placement] = {}
    tail_counters: dict[str, int] = defaultdict(int)
    # Each stack entry: (node, its path, its depth, path of its flat anchor).
    # A node's path is made when its parent is placed, which knows the
    # sibling positions from its sorted list of replies.
    stack: list[tuple[Node, str, int, str | None]] = [
        (node, _segment(index), 0, None)
        for index, node in reversed(list(enumerate(children[None])))
    ]
    while stack:
        node, path, depth, anchor = stack.pop()
        if anchor is not None:
            # Below FLAT_DEPTH: one tail segment under the anchor, numbered
            # in depth-first order as the nodes come off the stack.
            tail_counters[anchor] += 1
            path = anchor + str(tail_counters[anchor]).zfill(TAIL_WIDTH)
        placements[node.key] = Placement(path, depth)
        replies = children.get(node.key)
        if not replies:
            continue
        depth += 1
        if depth < FLAT_DEPTH:
            for index in range(len(replies) - 1, -1, -1):
                stack.append((replies[index], path + _segment(index), depth, None))
        else:
            child_anchor = anchor or path
            for reply in reversed(replies):
                stack.append((reply, "", depth, child_anchor))

    if len(placements) != len(by_key):
        cycle = find_cycle(by_key) or sorted(set(by_key) - set(placements), key=str)
        raise TreeError(f"reply cycle: {' -> '.join(map(str, cycle))}", list(cycle))
    return placements


def _segment(index: int) -> str:
    return str(index).zfill(SEGMENT_WIDTH)


def subtree_upper_bound(path: str) -> str | None:
    """The first path after every path that starts with `path` (None: no bound).

    The bound is all digits, of the same length as `path`, so the range
    `path <= p < bound` means the same under any database collation and uses
    the (thread, path) index, where `LIKE 'path%'` may not.
    """
    if set(path) == {"9"}:
        return None
    return str(int(path) + 1).zfill(len(path))
