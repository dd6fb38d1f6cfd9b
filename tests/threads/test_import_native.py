"""The native JSON / JSONL import: idempotency, tree faults, hostile and odd input."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from threads.importers import ImportFailure, sniff
from threads.models import Author, Comment, Thread
from threads.services import threads_import_from_file

pytestmark = pytest.mark.django_db


def thread_doc(comments, external_id="t1", **fields):
    return {
        "threads": [
            {
                "source": "site",
                "external_id": external_id,
                "title": "Title",
                **fields,
                "comments": comments,
            }
        ]
    }


NESTED = thread_doc(
    [
        {
            "external_id": "1",
            "author": "Ann",
            "body": "first",
            "created_at": "2024-05-01T10:00:00Z",
            "replies": [
                {
                    "external_id": "2",
                    "author": "Bob",
                    "body": "reply",
                    "created_at": "2024-05-01T11:00:00Z",
                    "replies": [
                        {"external_id": "3", "body": "deeper", "created_at": "2024-05-01T12:00:00"}
                    ],
                },
            ],
        },
        {
            "external_id": "4",
            "author": "Ann",
            "body": "second top",
            "created_at": "2024-05-01T09:00:00Z",
        },
    ]
)


def database_snapshot():
    return (
        list(Thread.objects.order_by("id").values()),
        list(Comment.objects.order_by("id").values()),
        list(Author.objects.order_by("id").values()),
    )


def test_nested_import_builds_the_tree(import_json):
    report = import_json(NESTED)
    assert (report.threads_new, report.comments_new) == (1, 4)
    rows = list(
        Comment.objects.order_by("path").values_list("external_id", "depth", "parent__external_id")
    )
    # "4" was posted before "1", so it is shown first among top-level comments.
    assert rows == [("4", 0, None), ("1", 0, None), ("2", 1, "1"), ("3", 2, "2")]
    naive = Comment.objects.get(external_id="3").created_at
    assert naive.utcoffset().total_seconds() == 0  # naive times are taken as UTC
    # One author recognised across comments; no e-mail or name hash in clear.
    assert Author.objects.filter(name="Ann").count() == 1


def test_flat_list_with_parent_ids_equals_nested(import_json):
    flat = thread_doc(
        [
            {
                "external_id": "3",
                "parent_id": "2",
                "body": "deeper",
                "created_at": "2024-05-01T12:00:00",
            },
            {
                "external_id": "2",
                "parent_id": "1",
                "author": "Bob",
                "body": "reply",
                "created_at": "2024-05-01T11:00:00Z",
            },
            {
                "external_id": "1",
                "author": "Ann",
                "body": "first",
                "created_at": "2024-05-01T10:00:00Z",
            },
            {
                "external_id": "4",
                "author": "Ann",
                "body": "second top",
                "created_at": "2024-05-01T09:00:00Z",
            },
        ]
    )
    import_json(flat)
    rows = list(Comment.objects.order_by("path").values_list("external_id", "depth"))
    assert rows == [("4", 0), ("1", 0), ("2", 1), ("3", 2)]


def test_reimport_is_idempotent(import_json):
    import_json(NESTED)
    before = database_snapshot()
    report = import_json(NESTED)
    assert (report.threads_new, report.threads_updated, report.threads_unchanged) == (0, 0, 1)
    assert (report.comments_new, report.comments_updated, report.comments_unchanged) == (0, 0, 4)
    assert database_snapshot()[1] == before[1]


def test_changed_body_updates_comment_and_hash(import_json):
    import_json(NESTED)
    original = Comment.objects.get(external_id="2")
    changed = json.loads(json.dumps(NESTED))
    changed["threads"][0]["comments"][0]["replies"][0]["body"] = "reply, edited"
    report = import_json(changed)
    assert (report.comments_updated, report.comments_unchanged, report.threads_updated) == (1, 3, 1)
    edited = Comment.objects.get(external_id="2")
    assert edited.body == "reply, edited"
    assert edited.content_hash != original.content_hash
    assert edited.version == original.version + 1


def test_new_reply_in_a_later_export_attaches_to_stored_parent(import_json):
    import_json(NESTED)
    report = import_json(
        thread_doc(
            [
                {
                    "external_id": "5",
                    "parent_id": "1",
                    "body": "late reply",
                    "created_at": "2024-05-02T00:00:00Z",
                }
            ]
        )
    )
    assert report.comments_new == 1 and not report.warnings
    rows = list(Comment.objects.order_by("path").values_list("external_id", flat=True))
    assert rows == ["4", "1", "2", "3", "5"]


def test_missing_parent_attaches_at_top_level_with_a_warning(import_json):
    report = import_json(thread_doc([{"external_id": "9", "parent_id": "404", "body": "orphan"}]))
    assert report.comments_new == 1
    orphan = Comment.objects.get(external_id="9")
    assert orphan.parent is None and orphan.depth == 0
    assert (
        len(report.warnings) == 1 and "'404'" in report.warnings[0] and "'9'" in report.warnings[0]
    )


def test_cycle_is_an_error_naming_the_ids_and_changes_nothing(import_json):
    import_json(NESTED, name="first.json")
    before = database_snapshot()
    cyclic = {
        "threads": [
            {"external_id": "ok", "comments": [{"external_id": "x", "body": "fine"}]},
            {
                "external_id": "loop",
                "comments": [
                    {"external_id": "a", "parent_id": "b", "body": "1"},
                    {"external_id": "b", "parent_id": "a", "body": "2"},
                ],
            },
        ]
    }
    with pytest.raises(ImportFailure) as info:
        import_json(cyclic, name="cyclic.json")
    message = str(info.value)
    assert "cyclic.json" in message and "threads[1]" in message
    assert "'a'" in message and "'b'" in message
    assert database_snapshot() == before


def test_duplicate_external_id_is_an_error(import_json):
    with pytest.raises(ImportFailure, match=r"duplicate comment ids: 7"):
        import_json(
            thread_doc(
                [
                    {"external_id": "7", "body": "one"},
                    {"external_id": "7", "body": "two"},
                ]
            )
        )
    assert not Comment.objects.exists() and not Thread.objects.exists()


def test_malformed_json_reports_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"threads": [\n  {"external_id": "a",\n   "comments": [}\n]}')
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=path, fmt="json")
    assert info.value.location == "line 3 column 17"
    assert str(path) in str(info.value)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.json"
    path.write_bytes(b"")
    with pytest.raises(ImportFailure, match="empty"):
        threads_import_from_file(path=path)


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "windows.json"
    text = json.dumps(NESTED, indent=2).replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert threads_import_from_file(path=path).comments_new == 4


def test_invalid_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.json"
    data = json.dumps(
        thread_doc([{"external_id": "1", "body": "caf\u00e9"}]), ensure_ascii=False
    ).encode()
    data = data.replace("é".encode(), b"\xe9")
    path.write_bytes(data)
    with pytest.raises(ImportFailure) as info:
        threads_import_from_file(path=path)
    offset = data.index(b"\xe9")
    assert info.value.location == f"byte offset {offset}"


def test_emoji_rtl_and_a_one_megabyte_body_survive_exactly(import_json, settings):
    # Over the default body limit: an operator who raises it gets the body whole.
    settings.IMPORT_MAX_BODY_CHARS = 2 * 1024 * 1024
    rtl = "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c"
    emoji = "\U0001f600\U0001f469\u200d\U0001f4bb flags \U0001f1fa\U0001f1e6"
    huge = ("x" * 1023 + "\n") * 1024
    import_json(
        thread_doc(
            [
                {"external_id": "r", "body": rtl},
                {"external_id": "e", "body": emoji},
                {"external_id": "h", "body": huge},
            ]
        )
    )
    assert Comment.objects.get(external_id="r").body == rtl
    assert Comment.objects.get(external_id="e").body == emoji
    assert Comment.objects.get(external_id="h").body == huge and len(huge) == 1024 * 1024


def test_failed_file_changes_nothing_but_skip_invalid_keeps_good_threads(tmp_path, import_json):
    document = {
        "threads": [
            {"external_id": "good", "comments": [{"external_id": "1", "body": "fine"}]},
            {"external_id": "bad", "comments": [{"external_id": "1"}]},  # no body
            {"external_id": "good2", "comments": [{"external_id": "1", "body": "fine too"}]},
        ]
    }
    with pytest.raises(ImportFailure, match=r"threads\[1\]\.comments\[0\].*body"):
        import_json(document)
    assert not Thread.objects.exists()
    report = import_json(document, skip_invalid=True)
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["good", "good2"]
    assert len(report.skipped) == 1 and "threads[1]" in report.skipped[0]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")


def test_jsonl_streams_comments_grouped_by_thread(tmp_path):
    thread = {"source": "site", "external_id": "j1", "title": "JSONL thread"}
    rows = [
        {"thread": thread, "external_id": "1", "body": "top"},
        {"thread": thread, "external_id": "2", "parent_id": "1", "body": "reply"},
        {"thread": {"source": "site", "external_id": "j2"}, "external_id": "1", "body": "other"},
    ]
    path = tmp_path / "comments.jsonl"
    write_jsonl(path, rows)
    assert sniff(path) == "jsonl"
    report = threads_import_from_file(path=path)
    assert (report.threads_new, report.comments_new) == (2, 3)
    reply = Comment.objects.get(thread__external_id="j1", external_id="2")
    assert reply.parent.external_id == "1" and reply.thread.title == "JSONL thread"
    assert threads_import_from_file(path=path).comments_unchanged == 3


def test_jsonl_thread_whose_lines_are_interleaved_with_another_lands_whole(tmp_path):
    """Lines of a thread, then another's, then the first's again: the second part is
    stored in a batch of its own, after the first, so its replies find their parents
    among the first part's comments, new ones included."""
    first = {"source": "site", "external_id": "a"}
    rows = [
        {"thread": first, "external_id": "1", "body": "top"},
        {"thread": {"source": "site", "external_id": "b"}, "external_id": "1", "body": "b top"},
        {"thread": first, "external_id": "2", "parent_id": "1", "body": "a reply"},
    ]
    path = tmp_path / "interleaved.jsonl"
    write_jsonl(path, rows)
    report = threads_import_from_file(path=path)
    assert (report.threads_new, report.comments_new, report.errors) == (2, 3, [])
    reply = Comment.objects.get(thread__external_id="a", external_id="2")
    assert reply.parent.external_id == "1" and reply.depth == 1
    assert Thread.objects.count() == 2
    assert threads_import_from_file(path=path).comments_unchanged == 3
    # New replies, interleaved again: the second part answers the first part's new one.
    more = tmp_path / "more.jsonl"
    write_jsonl(more, [
        {"thread": first, "external_id": "3", "parent_id": "2", "body": "a reply to it"},
        {"thread": {"source": "site", "external_id": "b"}, "external_id": "2", "body": "b2"},
        {"thread": first, "external_id": "4", "parent_id": "3", "body": "and deeper"},
    ])
    report = threads_import_from_file(path=more)
    assert (report.comments_new, report.warnings, report.errors) == (3, [], [])
    deeper = Comment.objects.get(thread__external_id="a", external_id="4")
    assert deeper.parent.external_id == "3" and deeper.depth == 3


def test_jsonl_malformed_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"thread": {"external_id": "a"}, "external_id": "1", "body": "ok"})
    path.write_text(f'{good}\n{{"thread": oops}}\n', encoding="utf-8")
    with pytest.raises(ImportFailure, match=r"line 2 column \d+: malformed JSON"):
        threads_import_from_file(path=path)
    assert not Comment.objects.exists()
    report = threads_import_from_file(path=path, skip_invalid=True)
    assert report.comments_new == 1 and "line 2" in report.skipped[0]


def test_command_prints_summary_json_and_fails_loudly(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(NESTED))
    call_command("import_threads", str(good), "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["comments_new"] == 4 and summary["threads_new"] == 1
    call_command("import_threads", str(tmp_path))
    assert "comments 0 new / 0 updated / 4 unchanged" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_threads", str(bad))
    assert "bad.json: line 1 column 2" in capsys.readouterr().err


def test_gzipped_native_json_and_jsonl_import(tmp_path):
    import gzip

    path = tmp_path / "threads.json.gz"
    path.write_bytes(gzip.compress(json.dumps(NESTED).encode("utf-8")))
    assert threads_import_from_file(path=path).comments_new == 4
    rows = [{"thread": {"external_id": "gz"}, "external_id": "1", "body": "zipped"}]
    lines = tmp_path / "comments.jsonl.gz"
    lines.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode("utf-8")))
    assert threads_import_from_file(path=lines, fmt="jsonl").comments_new == 1

def test_authors_are_shared_by_the_threads_of_a_file(tmp_path):
    threads = [
        {"source": "site", "external_id": f"t{n}", "title": "Title", "comments": [
            {"external_id": "1", "author": "Ann", "body": f"hello {n}"},
            {"external_id": "2", "author": "Bob", "body": "hi"},
        ]}
        for n in range(3)
    ]
    path = tmp_path / "three.json"
    path.write_text(json.dumps({"threads": threads}), encoding="utf-8")
    threads_import_from_file(path=path)
    ann = Author.objects.get(name="Ann")
    assert Comment.objects.filter(external_id="1", author=ann).count() == 3
    assert Author.objects.count() == 2


def test_authors_seen_in_an_earlier_thread_of_a_file_cost_no_query(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    threads = [
        {"source": "site", "external_id": f"t{n}", "title": "Title", "comments": [
            {"external_id": "1", "author": "Ann", "body": f"hello {n}"},
            {"external_id": "2", "author": "Bob", "body": "hi"},
        ]}
        for n in range(5)
    ]
    path = tmp_path / "five.json"
    path.write_text(json.dumps({"threads": threads}), encoding="utf-8")
    with CaptureQueriesContext(connection) as queries:
        threads_import_from_file(path=path)
    # The first thread looks Ann and Bob up and creates them; the other four
    # threads ask nothing about authors.
    author_queries = [q["sql"] for q in queries if "threads_author" in q["sql"]]
    assert len(author_queries) == 2, author_queries
    assert Comment.objects.filter(author__name="Ann").count() == 5


def test_an_author_of_a_rolled_back_file_is_created_again_later(tmp_path):
    from threads.services import threads_import_from_files

    def write(name, threads):
        path = tmp_path / name
        path.write_text(json.dumps({"threads": threads}), encoding="utf-8")
        return path

    def thread(external_id, comments):
        return {"source": "site", "external_id": external_id, "title": "T", "comments": comments}

    ann = {"external_id": "1", "author": "Ann", "body": "hello"}
    first = write("1.json", [thread("a", [ann])])
    # Zed is created by this file's first thread, then the file is rolled back
    # by its second thread (duplicate ids): Zed must not be remembered as stored.
    failing = write("2.json", [
        thread("b", [{"external_id": "1", "author": "Zed", "body": "gone"}]),
        thread("c", [ann, ann]),
    ])
    last = write("3.json", [thread("d", [
        {"external_id": "1", "author": "Ann", "body": "again"},
        {"external_id": "2", "author": "Zed", "body": "back"},
    ])])
    report = threads_import_from_files(paths=[first, failing, last])
    assert len(report.errors) == 1 and "duplicate comment ids" in report.errors[0]
    assert report.comments_new == 3
    zed = Author.objects.get(name="Zed")
    assert Comment.objects.get(body="back").author == zed
    assert Comment.objects.get(body="again").author == Comment.objects.get(body="hello").author
    assert Author.objects.count() == 2


def _write_threads(tmp_path, count):
    paths = []
    for n in range(count):
        path = tmp_path / f"{n}.json"
        comments = [{"external_id": "1", "author": "Ann", "body": f"comment of file {n}"}]
        path.write_text(json.dumps(thread_doc(comments, external_id=f"t{n}")), encoding="utf-8")
        paths.append(path)
    return paths


class _Interrupted(BaseException):  # noqa: N818 (like KeyboardInterrupt: stops the run)
    pass


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("group", "kept"), [(1, 2), (100, 0)])
def test_files_are_committed_in_groups(tmp_path, monkeypatch, group, kept):
    """An unexpected error (not a bad file) loses only the group in progress."""
    from threads import services

    monkeypatch.setattr(services, "GROUP_COMMIT_COMMENTS", group)
    seen = []

    def progress(count):
        seen.append(count)
        if len(seen) == 3:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        services.threads_import_from_files(paths=_write_threads(tmp_path, 4), on_progress=progress)
    # Groups of one comment: files 1 and 2 were committed before file 3 failed.
    assert Thread.objects.count() == kept
    # Importing again is idempotent: what was committed is not doubled.
    report = services.threads_import_from_files(paths=_write_threads(tmp_path, 4))
    assert (report.threads_new, report.threads_unchanged) == (4 - kept, kept)
    assert Comment.objects.count() == 4


def test_a_bad_file_inside_a_group_changes_nothing_and_the_others_stay(tmp_path):
    from threads.services import threads_import_from_files

    first, second, third = _write_threads(tmp_path, 3)
    second.write_text(json.dumps(thread_doc([
        {"external_id": "1", "body": "fine"},
        {"external_id": "2", "parent_id": "9", "body": "orphan"},
        {"external_id": "1", "body": "duplicate id"},
    ], external_id="bad")), encoding="utf-8")
    report = threads_import_from_files(paths=[first, second, third])
    assert len(report.errors) == 1 and str(second) in report.errors[0]
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["t0", "t2"]
    assert not Comment.objects.filter(body="fine").exists()


def test_siblings_are_ordered_by_instant_whatever_the_zone(tmp_path):
    path = tmp_path / "zones.json"
    # 10:00+02:00 is 08:00 UTC, before 09:00 UTC: as text it would sort after.
    path.write_text(json.dumps(thread_doc([
        {"external_id": "late", "body": "b", "created_at": "2024-05-01T09:00:00+00:00"},
        {"external_id": "early", "body": "a", "created_at": "2024-05-01T10:00:00+02:00"},
        {"external_id": "undated", "body": "c"},
    ])), encoding="utf-8")
    threads_import_from_file(path=path)
    ordered = Comment.objects.order_by("path").values_list("external_id", flat=True)
    assert list(ordered) == ["early", "late", "undated"]
    assert threads_import_from_file(path=path).comments_unchanged == 3


def test_a_file_costs_the_same_queries_for_4_threads_as_for_16(tmp_path):
    """A file's threads are stored a batch at a time, not a round of queries each (16
    threads of 2 comments: one INSERT of up to ROWS_PER_STATEMENT rows on SQLite too)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.helpers import thread_document

    def queries(threads: int, run: str) -> int:
        path = tmp_path / f"{run}.json"
        path.write_text(json.dumps({"threads": [
            thread_document(f"{run}-{k}", ["first", "a reply"]) for k in range(threads)
        ]}))
        with CaptureQueriesContext(connection) as captured:
            report = threads_import_from_file(path=path)
        assert (report.threads_new, report.comments_new) == (threads, threads * 2)
        return len(captured)

    queries(1, "authors")  # the commenters stored: both runs below only look them up
    assert queries(4, "few") == queries(16, "many")
    reply = Comment.objects.get(external_id="many-15-1")
    assert reply.parent.external_id == "many-15-0" and reply.thread.external_id == "many-15"
