"""html_to_text on typical comment markup, the streaming XML reader against
ElementTree's own parse, and the spool's round trip in memory and on disk."""

from __future__ import annotations

import weakref
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from threads.importers import spool as spool_module
from threads.importers import xmlstream
from threads.importers.base import CommentRecord
from threads.importers.html_text import html_to_text
from threads.importers.spool import Spool


@pytest.mark.parametrize(
    ("markup", "keep_newlines", "text"),
    [
        ("<p>One  two</p><p>three<br>four</p>", False, "One two\n\nthree\nfour"),
        ("<P>One<BR />two</P>", False, "One\ntwo"),
        ("<pre>a  b</pre>", False, "a  b"),
        ("<p>a &amp; b &lt; c</p>", False, "a & b < c"),
        ('<p class="x">see <a href="https://x.invalid/">this</a></p>', False, "see this"),
        ("<script>alert(1)</script>hello<style>p{}</style>", False, "hello"),
        ("<p>a < b</p>", False, "a < b"),
        ("line one\nline two", True, "line one\nline two"),
        ("<p>line one\nline two</p>", False, "line one line two"),
        ("<p>line one\nline two</p>", True, "line one\nline two"),
        ("  no markup  ", False, "no markup"),
        ("<p>x\x00y</p>", False, "xy"),
        ("<p></p><p></p><p>z</p>", False, "z"),
    ],
)
def test_html_to_text(markup, keep_newlines, text):
    assert html_to_text(markup, keep_newlines=keep_newlines) == text


DOC = (
    b'<?xml version="1.0"?>\n<r xmlns="urn:a" xmlns:q="urn:q"><head q:id="h">x</head>'
    b'<s><i q:id="1" plain="p">one<q:b>two</q:b>tail</i><i>three</i></s>\n'
    b"<s> <i>four</i>\n <i><![CDATA[<p>five</p>]]></i> </s>\n<q:i q:id='5'/> <z/></r>\n"
)


def _shape(elem: ET.Element) -> tuple:
    return (elem.tag, dict(elem.attrib), elem.text, elem.tail, [_shape(c) for c in elem])


def test_iter_elements_matches_elementtree(tmp_path, monkeypatch):
    path = tmp_path / "doc.xml"
    path.write_bytes(DOC)
    root = ET.fromstring(DOC)
    # Element ends split across reads at every point, and all in one read.
    for chunk in (*range(1, 20), 64 * 1024):
        monkeypatch.setattr(xmlstream, "CHUNK", chunk)
        (whole,) = [_shape(e) for e in xmlstream.iter_elements(path, depth=0)]
        assert whole == _shape(root)
        ones = [_shape(e) for e in xmlstream.iter_elements(path, depth=1)]
        assert ones == [_shape(e) for e in root]
        twos = [_shape(e) for e in xmlstream.iter_elements(path, depth=2)]
        assert twos == [_shape(e) for child in root for e in child]
        threes = [_shape(e) for e in xmlstream.iter_elements(path, depth=3)]
        assert threes == [_shape(e) for child in root for e in child for e in e]


def test_iter_elements_lets_go_of_what_was_read(tmp_path):
    # Elements handed over before the last read are gone from the tree
    # (nothing else refers to them): memory does not grow with the file.
    items = "".join(f"<item><a>{n}</a><b>{'x' * 50}</b></item>\n" for n in range(20_000))
    path = tmp_path / "big.xml"
    path.write_text(f"<rss><channel><title>t</title>{items}</channel></rss>")
    per_read = xmlstream.CHUNK // 80 + 2
    alive: list[weakref.ref] = []
    for n, elem in enumerate(xmlstream.iter_elements(path, depth=2)):
        alive = [ref for ref in alive if ref() is not None]
        assert len(alive) <= 2 * per_read, n
        alive.append(weakref.ref(elem))
        if n:
            assert elem.find("a").text == str(n - 1)
    assert n == 20_000


# On disk from the first item, on disk from midway, and in memory throughout.
SPOOL_LIMITS = [0, 5_000, 16 * 1024 * 1024]


@pytest.mark.parametrize("memory_limit", SPOOL_LIMITS)
def test_spool_gives_back_what_was_spooled(memory_limit):
    plus_two = timezone(timedelta(hours=2), "+0200")
    items = [
        CommentRecord("1", None, "body é", "post 1", "a", "a@x.invalid", "<p>b</p>",
                      datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), None, ""),
        CommentRecord("2", "1", "x", "post 2", created_at=datetime(1901, 1, 1, tzinfo=UTC),
                      state="hidden", source_state="disqus:deleted"),
        CommentRecord("3", "1", "x", "post 3"),
        CommentRecord("4", None, "x", "post 4", created_at=datetime(2020, 1, 1, tzinfo=plus_two)),
        ("[7]", {"not": "a comment"}),
    ]
    with Spool(memory_limit=memory_limit) as spool:
        spool.set_head("t", {"title": "T"})
        for item in items:
            spool.add("t", item)
        groups = list(spool.groups())
    assert groups == [("t", {"title": "T"}, items)]
    back = groups[0][2]
    assert back[0].created_at.tzinfo is UTC and back[3].created_at.tzinfo == plus_two


@pytest.mark.parametrize("memory_limit", SPOOL_LIMITS)
def test_spool_keeps_order_across_writes(monkeypatch, memory_limit):
    monkeypatch.setattr(spool_module, "FLUSH_LIMIT", 3_000)  # a write every few items
    added: dict[str, list] = {}
    with Spool(memory_limit=memory_limit) as spool:
        for n in range(100):
            key = f"t{n * 7 % 5}"
            item = CommentRecord(str(n), None, "b", f"post {n}")
            spool.add(key, item)
            added.setdefault(key, []).append(item)
            if n == 90:
                spool.set_head("t3", {"title": "three"})  # a head given late still counts
        groups = list(spool.groups())
    assert [(key, items) for key, _, items in groups] == list(added.items())
    heads = {key: head for key, head, _ in groups}
    assert heads.pop("t3") == {"title": "three"}
    assert set(heads.values()) == {None}
