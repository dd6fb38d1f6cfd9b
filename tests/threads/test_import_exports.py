"""Export formats against real samples: expectations are computed here, from the
raw files with the standard library, never from the importer's own output."""

from __future__ import annotations

import csv
import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from threads.importers import ImportFailure, read_path, sniff
from threads.importers.html_text import html_to_text
from threads.models import Author, Comment, Thread
from threads.services import threads_import_from_file

DATA = Path(__file__).resolve().parent.parent / "data" / "exports"
DSQ = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"
WP = "{http://wordpress.org/export/1.0/}"

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------


def depth_of(parents: dict[str, str | None], key: str) -> int:
    depth = 0
    while parents[key] is not None:
        key = parents[key]
        depth += 1
    return depth


def stored(source: str, thread_id: str) -> dict[str, Comment]:
    thread = Thread.objects.get(source=source, external_id=thread_id)
    return {
        c.external_id: c
        for c in Comment.objects.filter(thread=thread).select_related("parent")
    }


def assert_tree(comments: dict[str, Comment], parents: dict[str, str | None]) -> None:
    assert set(comments) == set(parents)
    for key, parent in parents.items():
        comment = comments[key]
        assert (comment.parent.external_id if comment.parent else None) == parent, key
        assert comment.depth == depth_of(parents, key), key
        if parent is not None:
            assert comment.path.startswith(comments[parent].path)


def snapshot() -> list[tuple]:
    return list(
        Comment.objects.order_by("id").values_list(
            "id", "thread_id", "parent_id", "external_id", "body", "body_html", "path",
            "depth", "state", "source_state", "author_id", "created_at", "version",
        )
    )


def assert_idempotent(path: Path, **kwargs) -> None:
    before = snapshot()
    threads = Thread.objects.count()
    report = threads_import_from_file(path=path, **kwargs)
    assert report.comments_new == 0 and report.comments_updated == 0
    assert report.threads_new == 0 and report.threads_updated == 0
    assert Thread.objects.count() == threads
    assert snapshot() == before


def no_ip_anywhere() -> None:
    for comment in Comment.objects.all():
        for value in (comment.body, comment.body_html, comment.author_name, comment.source_state):
            assert "192.0.2." not in value
    for author in Author.objects.all():
        assert "192.0.2." not in author.name and "@" not in author.email_hash


# --- Disqus -------------------------------------------------------------------


def disqus_expectations(path: Path):
    root = ET.parse(path).getroot()
    threads = {t.get(DSQ_ID) for t in root.findall(f"{DSQ}thread")}
    posts: dict[str, dict[str, str | None]] = {}
    states: dict[str, tuple[str, str]] = {}
    for post in root.findall(f"{DSQ}post"):
        thread = post.find(f"{DSQ}thread").get(DSQ_ID)
        parent = post.find(f"{DSQ}parent")
        posts.setdefault(thread, {})[post.get(DSQ_ID)] = (
            parent.get(DSQ_ID) if parent is not None else None
        )
        flags = [
            name
            for name, tag in (("deleted", "isDeleted"), ("spam", "isSpam"))
            if post.findtext(f"{DSQ}{tag}") == "true"
        ]
        states[post.get(DSQ_ID)] = (
            ("hidden", "disqus:" + ",".join(flags)) if flags else ("pending", "")
        )
    return threads, posts, states


@pytest.mark.parametrize("name", ["isso_tests_disqus.xml", "yesilmavihayat_disqus-export.xml"])
def test_disqus_sample(name):
    path = DATA / name
    assert sniff(path) == "disqus"
    threads, posts, states = disqus_expectations(path)
    report = threads_import_from_file(path=path)
    assert set(Thread.objects.filter(source="disqus").values_list("external_id", flat=True)) == (
        threads | set(posts)
    )
    assert report.comments_new == sum(len(p) for p in posts.values())
    for thread_id, parents in posts.items():
        comments = stored("disqus", thread_id)
        assert_tree(comments, parents)
        for key, (state, source_state) in states.items():
            if key in comments:
                assert (comments[key].state, comments[key].source_state) == (state, source_state)
    assert Comment.objects.filter(state="hidden").count() == sum(
        1 for s, _ in states.values() if s == "hidden"
    )
    no_ip_anywhere()
    assert_idempotent(path)


def test_disqus_keeps_markup_and_plain_text_and_reports_orphans():
    report = threads_import_from_file(path=DATA / "isso_tests_disqus.xml")
    reply = Comment.objects.get(external_id="5")
    assert reply.body_html == "<p>Hello, World.</p>"
    assert reply.body == "Hello, World."
    deleted = Comment.objects.get(external_id="9")
    assert (deleted.state, deleted.source_state) == ("hidden", "disqus:deleted")
    assert Comment.objects.get(external_id="11").parent == deleted
    orphan = Thread.objects.get(source="disqus", external_id="1337")
    assert orphan.comments.count() == 1
    assert any("1337" in w and "not in the export" in w for w in report.warnings)
    assert Comment.objects.get(external_id="4").created_at.tzinfo is not None


def test_disqus_same_email_is_one_author_and_never_stored_in_clear():
    threads_import_from_file(path=DATA / "isso_tests_disqus.xml")
    # user1@ wrote posts 4, 5, 6, 9, 11 in threads 2 and 1337, under different names.
    authors = {Comment.objects.get(external_id=k).author_id for k in ("4", "6", "11")}
    assert len(authors) == 1
    author = Author.objects.get(pk=authors.pop())
    assert author.email_hash and "example.invalid" not in author.email_hash
    for value in Author.objects.values_list("identity", "name", "email_hash"):
        assert not any("example.invalid" in v for v in value)


def test_disqus_scattered_posts_are_grouped_by_thread(tmp_path):
    path = tmp_path / "scattered.xml"
    path.write_text(
        '<?xml version="1.0"?><disqus xmlns="http://disqus.com" '
        'xmlns:dsq="http://disqus.com/disqus-internals">'
        '<post dsq:id="b1"><message>b one</message><thread dsq:id="B"/></post>'
        '<post dsq:id="a1"><message>a one</message><thread dsq:id="A"/></post>'
        '<thread dsq:id="A"><title>Thread A</title></thread>'
        '<post dsq:id="b2"><message>b two</message><thread dsq:id="B"/>'
        '<parent dsq:id="b1"/></post>'
        '<thread dsq:id="B"><title>Thread B</title></thread>'
        '<post dsq:id="a2"><message>a two</message><thread dsq:id="A"/>'
        '<parent dsq:id="a1"/></post>'
        "</disqus>",
        encoding="utf-8",
    )
    records = list(read_path(path))
    assert sorted(
        (r.external_id, r.title, [c.external_id for c in r.comments]) for r in records
    ) == [("A", "Thread A", ["a1", "a2"]), ("B", "Thread B", ["b1", "b2"])]


def test_disqus_malformed_sample_names_line_and_column_and_changes_nothing():
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=DATA / "remark42_testdata_disqus.xml")
    assert info.value.location == "line 1 column 1"
    assert "malformed XML" in info.value.reason
    assert Thread.objects.count() == 0 and Comment.objects.count() == 0


def test_disqus_bad_flag_is_a_skippable_record(tmp_path):
    path = tmp_path / "flag.xml"
    path.write_text(
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
        '<thread dsq:id="T"/>'
        '<post dsq:id="p1"><message>ok</message><thread dsq:id="T"/></post>'
        '<post dsq:id="p2"><message>bad</message><isSpam>123</isSpam><thread dsq:id="T"/></post>'
        "</disqus>",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailure, match="post dsq:id=p2.*isSpam"):
        threads_import_from_file(path=path)
    assert Comment.objects.count() == 0
    report = threads_import_from_file(path=path, skip_invalid=True)
    assert report.comments_new == 1 and len(report.skipped) == 1


# --- WordPress WXR ---------------------------------------------------------------


def wxr_expectations(path: Path):
    root = ET.parse(path).getroot()
    uris = {el.tag[1:].split("}")[0] for el in root.iter() if el.tag[0] == "{"}
    uri = next(u for u in uris if "wordpress.org/export/" in u and "excerpt" not in u)
    WP = f"{{{uri}}}"  # noqa: N806 - the sample's own WXR version
    channel = root.find("channel")
    blog = (channel.findtext(f"{WP}base_blog_url") or "").split("://")[-1].rstrip("/")
    items = {}
    for item in channel.findall("item"):
        comments = item.findall(f"{WP}comment")
        if not comments:
            continue
        post_id = (item.findtext(f"{WP}post_id") or "").strip()
        key = (f"{blog}/?p={post_id}" if blog else post_id) if post_id else item.findtext("link")
        parents, approved = {}, {}
        for comment in comments:
            cid = comment.findtext(f"{WP}comment_id").strip()
            parent = (comment.findtext(f"{WP}comment_parent") or "0").strip()
            parents[cid] = None if parent == "0" else parent
            approved[cid] = (comment.findtext(f"{WP}comment_approved") or "").strip()
        items[key] = (parents, approved)
    return items


@pytest.mark.parametrize(
    "name", ["isso_tests_wordpress.xml", "wordpress-importer_theme-unit-test-data.xml"]
)
def test_wxr_sample(name):
    path = DATA / name
    assert sniff(path) == "wxr"
    items = wxr_expectations(path)
    report = threads_import_from_file(path=path)
    assert report.comments_new == sum(len(p) for p, _ in items.values())
    for key, (parents, approved) in items.items():
        comments = stored("wxr", key)
        assert_tree(comments, parents)
        for cid, value in approved.items():
            hidden = value in ("spam", "trash")
            assert comments[cid].state == ("hidden" if hidden else "pending")
            assert comments[cid].source_state == f"wxr:{value}"
    no_ip_anywhere()
    assert_idempotent(path)


def test_wxr_states_and_text():
    threads_import_from_file(path=DATA / "wordpress-importer_theme-unit-test-data.xml")
    assert Comment.objects.filter(source_state="wxr:0", state="pending").exists()
    multiline = threads_import_from_file(path=DATA / "isso_tests_wordpress.xml")
    assert multiline.comments_new == 8
    comment = Comment.objects.get(thread__url="http://example.tld/2014/test/", external_id="10")
    assert comment.body == (
        "When you have a comment with multiple lines:\nWordPress exports it like this."
    )


# --- Reddit ------------------------------------------------------------------------


def reddit_expectations(path: Path):
    document = json.loads(path.read_text(encoding="utf-8"))
    parents, bodies, listed = {}, {}, 0
    stack = list(document[1]["data"]["children"])
    while stack:
        item = stack.pop()
        if item["kind"] == "more":
            listed += len(item["data"]["children"])
            continue
        data = item["data"]
        parent = data["parent_id"]
        parents[data["id"]] = parent[3:] if parent.startswith("t1_") else None
        bodies[data["id"]] = data["body"]
        if data["replies"]:
            stack.extend(data["replies"]["data"]["children"])
    return document[0]["data"]["children"][0]["data"], parents, bodies, listed


@pytest.mark.parametrize(
    "name", ["reddit_3hahrw_funny_thread.json", "reddit_2gmzqe_redditdev_tiny_thread.json"]
)
def test_reddit_sample(name):
    path = DATA / name
    assert sniff(path) == "reddit"
    post, parents, bodies, listed = reddit_expectations(path)
    report = threads_import_from_file(path=path)
    thread = Thread.objects.get(source="reddit", external_id=post["id"])
    assert thread.title == post["title"]
    comments = stored("reddit", post["id"])
    assert_tree(comments, parents)
    for key, body in bodies.items():
        assert comments[key].body == body
        gone = body in ("[deleted]", "[removed]")
        assert comments[key].state == ("hidden" if gone else "pending")
    if listed:
        assert any(f"{listed} comment id(s) listed" in w for w in report.warnings)
    else:
        assert not report.warnings
    assert_idempotent(path)


def test_reddit_deleted_comments_are_kept_and_not_attributed():
    threads_import_from_file(path=DATA / "reddit_3hahrw_funny_thread.json")
    deleted = Comment.objects.filter(body="[deleted]")
    assert deleted.count() == 6
    assert all(c.source_state == "reddit:deleted" and c.author_id is None for c in deleted)


# --- Conversations ---------------------------------------------------------------------


def test_conversations_sample():
    path = DATA / "conversationai-crowdsource_conversations_job1_x1000.json.gz"
    assert sniff(path) == "conversations"
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        document = json.load(stream)
    report = threads_import_from_file(path=path)
    assert Thread.objects.filter(source="conversations").count() == len(document)
    assert report.comments_new == sum(len(c) for c in document)
    for conversation in document[:50] + document[100:120]:
        parents = {
            k: (u["parent_id"] or None) if u["parent_id"] != k else None
            for k, u in conversation.items()
        }
        root = next(k for k, p in parents.items() if p is None)
        assert_tree(stored("conversations", root), parents)
    assert any("names itself as parent" in w for w in report.warnings)
    first = Comment.objects.get(external_id="43141647.1360.1360")
    assert first.created_at.isoformat() == "2006-03-10T14:50:43+00:00"
    assert first.thread.title.endswith("§ Utroms")
    assert_idempotent(path)


def test_conversations_flat_utterances(tmp_path):
    path = tmp_path / "flat.json"
    rows = [
        {"id": "u2", "parent_id": "u1", "conversation_id": "c1", "content": "reply"},
        {"id": "x1", "parent_id": "", "conversation_id": "c2", "content": "other"},
        {"id": "u1", "parent_id": "", "conversation_id": "c1", "content": "first"},
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert sniff(path) == "conversations"
    threads_import_from_file(path=path)
    assert_tree(stored("conversations", "c1"), {"u1": None, "u2": "u1"})
    assert_idempotent(path)


# --- CSV -----------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)


def test_csv_scattered_rows_extra_columns(tmp_path):
    path = tmp_path / "comments.csv"
    write_csv(
        path,
        [
            ["Thread ID", "thread_title", "comment_id", "parent_id", "author", "created_at",
             "body", "ip"],
            ["t1", "First", "1", "", "ann", "2024-01-01T10:00:00Z", "hello", "192.0.2.9"],
            ["t2", "Second", "9", "", "bob", "1704103200", "other thread", "192.0.2.9"],
            ["t1", "First", "2", "1", "bob", "2024-01-01 10:05:00", "a reply,\nover two lines",
             "192.0.2.9"],
            ["t1", "First", "3", "2", "ann", "", "deeper", "192.0.2.9"],
        ],
    )
    assert sniff(path) == "csv"
    report = threads_import_from_file(path=path)
    assert report.threads_new == 2 and report.comments_new == 4
    comments = stored("csv", "t1")
    assert_tree(comments, {"1": None, "2": "1", "3": "2"})
    assert comments["2"].body == "a reply,\nover two lines"
    assert comments["2"].created_at.tzinfo is not None
    assert Thread.objects.get(external_id="t2").title == "Second"
    no_ip_anywhere()
    assert_idempotent(path)


def test_csv_missing_column_and_bad_row(tmp_path):
    path = tmp_path / "bad.csv"
    write_csv(path, [["thread_id", "comment_id", "text"], ["t", "1", "x"]])
    with pytest.raises(ImportFailure, match="missing column.*body"):
        threads_import_from_file(path=path, fmt="csv")
    write_csv(
        path,
        [["thread_id", "comment_id", "body", "created_at"], ["t", "1", "x", "not a date"]],
    )
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=path)
    assert info.value.location == "row 1 (line 2)"


# --- hostile input ------------------------------------------------------------------------

BOMB = """<?xml version="1.0"?>
<!DOCTYPE disqus [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<thread dsq:id="1"/><post dsq:id="2"><message>&e;</message><thread dsq:id="1"/></post>
</disqus>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><wp:post_id>1</wp:post_id>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_content>&xxe;</wp:comment_content>
</wp:comment></item></channel></rss>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE disqus SYSTEM "http://attacker.invalid/disqus.dtd">
<disqus xmlns="http://disqus.com"></disqus>"""


@pytest.mark.parametrize(
    ("text", "fmt", "line"),
    [(BOMB, "disqus", 2), (XXE, "wxr", 2), (EXTERNAL_DTD, "disqus", 2)],
    ids=["entity-bomb", "xxe", "external-dtd"],
)
def test_hostile_xml_is_refused_and_changes_nothing(tmp_path, text, fmt, line):
    path = tmp_path / "hostile.xml"
    path.write_text(text, encoding="utf-8")
    assert sniff(path) == fmt
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=path, skip_invalid=True)
    assert "refused" in info.value.reason and "DTD" in info.value.reason
    assert info.value.location.startswith(f"line {line} ")
    assert Thread.objects.count() == 0 and Comment.objects.count() == 0


def test_hostile_xml_via_the_command(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_threads", str(path), "--format", "disqus")
    assert Thread.objects.count() == 0


@pytest.mark.parametrize("fmt", ["disqus", "wxr", "csv", "conversations", "reddit"])
def test_invalid_utf8_names_the_byte_offset(tmp_path, fmt):
    heads = {
        "disqus": b'<disqus xmlns="http://disqus.com"><thread><title>caf',
        "wxr": b'<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>caf',
        "csv": b"thread_id,comment_id,body\nt,1,caf",
        "conversations": b'[{"a": {"id": "a", "parent_id": "", "content": "caf',
        "reddit": b'[{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"id": "caf',
    }
    data = heads[fmt] + b"\xff" + b" trailing"
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=path, fmt=fmt)
    assert info.value.location == f"byte offset {len(heads[fmt])}"
    assert "UTF-8" in info.value.reason


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "thread.json.gz"
    sample = DATA / "reddit_2gmzqe_redditdev_tiny_thread.json"
    path.write_bytes(gzip.compress(sample.read_bytes()))
    assert sniff(path) == "reddit"
    assert threads_import_from_file(path=path).comments_new == 2


def test_format_can_be_forced_from_the_command(tmp_path, capsys):
    path = tmp_path / "export.txt"
    path.write_bytes((DATA / "isso_tests_wordpress.xml").read_bytes())
    call_command("import_threads", str(path), "--format", "wxr")
    assert Comment.objects.count() == 8


# --- HTML to text -----------------------------------------------------------------------------


def test_html_to_text():
    assert html_to_text("<p>One &amp; two</p><p>three<br>four</p>") == "One & two\n\nthree\nfour"
    assert html_to_text("<script>alert(1)</script><style>p{}</style>ok") == "ok"
    assert html_to_text('<a href="x">link <b>text</b></a>') == "link text"
    assert html_to_text("<p>unclosed <i>tags") == "unclosed tags"
    assert html_to_text("a\nb", keep_newlines=True) == "a\nb"
    assert html_to_text("<p>a\nb</p>") == "a b"


def test_html_to_text_of_one_paragraph_reads_as_any_markup_does():
    """The common Disqus body, <p>text</p>: spaces collapse, lines join unless kept,
    and text that only looks like markup stays text."""
    assert html_to_text(" <p>  a \t b\n\n  c  </p>\n") == "a b c"
    assert html_to_text("<p>a \n\n\n\n b</p>", keep_newlines=True) == "a\n\nb"
    assert html_to_text("<p>1 > 0 \"quoted\"</p>") == '1 > 0 "quoted"'
    assert html_to_text("<p>x\x00y</p>") == "xy"
    assert html_to_text("<p>one</p><p>two</p>") == "one\n\ntwo"
    assert html_to_text("<p>AT&amp;T</p>") == "AT&T"
