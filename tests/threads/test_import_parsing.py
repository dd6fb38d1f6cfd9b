"""html_to_text's regular-expression path for bare tags against html.parser, and
the streaming XML reader against ElementTree's own parse, the spool round trip."""

from __future__ import annotations

import re
import weakref
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threads.importers import xmlstream
from threads.importers.html_text import _bare_parts, _TextExtractor, _tidy, html_to_text

TAGS = ["p", "br", "b", "em", "pre", "div", "li", "script", "style", "title", "x", "P", "BR"]
PIECES = st.one_of(
    st.text(alphabet=" \t\n\r\x0bab<>&;/!-=\"'é", max_size=8),
    st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"<{t}/>"),
    st.sampled_from(TAGS).map(lambda t: f"<{t} />"),
    st.sampled_from(["&amp;", "&lt;", "&#39;", "&nbsp;", "<!-- c -->", '<a href="x">', "</a>"]),
)


def _slow(markup: str, keep_newlines: bool) -> str:
    parser = _TextExtractor(keep_newlines)
    parser.feed(markup)
    parser.close()
    return _tidy("".join(parser.parts))


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join), st.booleans())
def test_bare_tag_path_matches_html_parser(markup, keep_newlines):
    markup = markup.replace("\x00", "")
    parts = _bare_parts(markup, keep_newlines)
    if parts is not None:
        assert _tidy("".join(parts)) == _slow(markup, keep_newlines)
    if "<" in markup or "&" in markup:
        assert html_to_text(markup, keep_newlines=keep_newlines) == _slow(markup, keep_newlines)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x85\u2028\x00ab<>&;é", max_size=12), st.booleans())
def test_one_paragraph_path_matches_html_parser(text, keep_newlines):
    # `<p>text</p>`, the usual Disqus body, has its own shortcut in html_to_text.
    for markup in (f"<p>{text}</p>", f"<p> {text} </p>", text):
        expected = _slow(markup.replace("\x00", ""), keep_newlines)
        if "<" in markup or "&" in markup:
            assert html_to_text(markup, keep_newlines=keep_newlines) == expected
    assert _tidy(text) == _tidy_reference(text)


def _tidy_reference(text: str) -> str:
    # _tidy as first written, before it skipped work that changes nothing.
    lines = [line.strip() for line in re.sub(r"[ \t\r\f\v]+", " ", text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip().replace("\x00", " ")


def test_bare_tag_path_is_taken_only_for_bare_known_tags():
    assert _bare_parts("<p>One<br/>two</p>", False) is not None
    assert _bare_parts("<P>One<BR />two</P>", False) is not None
    assert _bare_parts('<p class="x">One</p>', False) is None
    assert _bare_parts("<p>a &amp; b</p>", False) is None
    assert _bare_parts("<script>x</script>", False) is None
    assert _bare_parts("<p>a < b</p>", False) is None
    assert html_to_text("<p>One  two</p><p>three<br>four</p>") == "One two\n\nthree\nfour"
    assert html_to_text("<pre>a  b</pre>") == "a  b"


DOC = (
    b'<?xml version="1.0"?>\n<r xmlns="urn:a" xmlns:q="urn:q"><head q:id="h">x</head>'
    b'<s><i q:id="1" plain="p">one<q:b>two</q:b>tail</i><i>three</i></s>\n'
    b"<s> <i>four</i>\n <i><![CDATA[<p>five</p>]]></i> </s>\n<q:i q:id='5'/> <z/></r>\n"
)


def _shape(elem: ET.Element) -> tuple:
    # iter_elements spells names as expat does, `uri}local`, not `{uri}local`.
    return (
        elem.tag.removeprefix("{"),
        {name.removeprefix("{"): value for name, value in elem.attrib.items()},
        elem.text,
        elem.tail,
        [_shape(c) for c in elem],
    )


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
    # Elements yielded before the last read are gone from the tree (nothing
    # else refers to them), so the tree never holds more than about one read.
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
    import marshal
    from datetime import UTC, datetime, timedelta, timezone

    from threads.importers.base import CommentRecord
    from threads.importers.spool import Spool, pack_items

    plus_two = timezone(timedelta(hours=2), "+0200")
    items = [
        CommentRecord("1", None, "body é", "post 1", "a", "a@x.invalid", "<p>b</p>",
                      datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), None, ""),
        CommentRecord("2", "1", "x", "post 2", created_at=datetime(1901, 1, 1, tzinfo=UTC),
                      state="hidden", source_state="disqus:deleted"),
        CommentRecord("3", "1", "x", "post 3"),
        CommentRecord("4", None, "x", "post 4", created_at=datetime(2020, 1, 1, tzinfo=plus_two)),
        {"not": "a comment"},
    ]
    # Comments in UTC go as marshalled field tuples, anything else as a pickle.
    packed = marshal.loads(pack_items(items))
    assert [type(v) for v in packed] == [tuple, tuple, tuple, bytes, bytes]
    with Spool(memory_limit=memory_limit) as spool:
        spool.set_head("t", {"title": "T"})
        for item in items:
            spool.add("t", item)
        groups = list(spool.groups())
    assert groups == [("t", {"title": "T"}, items)]
    back = groups[0][2]
    assert back[0].created_at.tzinfo is UTC and back[3].created_at.tzinfo == plus_two


def _parse_timestamp_reference(value, location, path):
    # parse_timestamp for strings as first written, on Django's parsers alone.
    from datetime import UTC, datetime

    from django.utils.dateparse import parse_date, parse_datetime

    from threads.importers.base import ImportFailure

    if value == "":
        return None
    text = value.strip()
    try:
        parsed = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
        if parsed is None:
            parsed = parse_date(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, datetime):
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed is not None:
        return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    raise ImportFailure(path, location, f"not a timestamp: {value!r}")


STAMPS = st.one_of(
    st.datetimes().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(" ", "minutes") + " "),
    st.builds(
        lambda d, zone, sep: d.isoformat(sep) + zone,
        st.datetimes(),
        st.sampled_from(["Z", "+00:00", "-05:30", "+0100", "+01", " +01:00", "z", "+24:00"]),
        st.sampled_from(["T", " ", "t", "x"]),
    ),
    st.dates().map(str),
    st.text(alphabet="0123456789-:T .Z+,W", max_size=26),
)


@settings(max_examples=1500, deadline=None)
@given(STAMPS)
def test_parse_timestamp_matches_django_parsers(value):
    from threads.importers.base import ImportFailure, parse_timestamp

    try:
        expected = _parse_timestamp_reference(value, "here", "f.xml")
    except ImportFailure as exc:
        expected = str(exc)
    try:
        got = parse_timestamp(value, "here", "f.xml")
    except ImportFailure as exc:
        got = str(exc)
    assert got == expected
    if not isinstance(got, str) and value:
        assert got.tzinfo == expected.tzinfo and got.fold == expected.fold


class Text(str):  # marshal cannot write a str subclass: such a comment is pickled
    pass


@pytest.mark.parametrize("memory_limit", SPOOL_LIMITS)
def test_spool_keeps_order_across_batches_and_odd_fields(monkeypatch, memory_limit):
    from threads.importers import spool as spool_module
    from threads.importers.base import CommentRecord

    monkeypatch.setattr(spool_module, "BATCH", 7)
    added: dict[str, list] = {}
    with spool_module.Spool(memory_limit=memory_limit) as spool:
        for n in range(100):
            key = f"t{n * 7 % 5}"
            item = CommentRecord(str(n), None, Text("odd") if n % 13 == 0 else "b", f"post {n}")
            spool.add(key, item)
            added.setdefault(key, []).append(item)
        if memory_limit:
            spool.set_head("t3", {"title": "three"})  # a head given late still counts
        groups = list(spool.groups())
    assert [(key, items) for key, _, items in groups] == list(added.items())
    assert type(groups[0][2][0].body) is Text
    heads = {key: head for key, head, _ in groups}
    assert heads.pop("t3") == ({"title": "three"} if memory_limit else None)
    assert set(heads.values()) == {None}
    assert (spool._db is None) == (memory_limit == SPOOL_LIMITS[-1])  # where it was kept
