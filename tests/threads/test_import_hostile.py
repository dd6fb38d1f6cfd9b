"""Hostile and unlucky input: one bad file never costs the good ones.

Every file of tests/data/hostile/ (plus the large cases written by
`write_large_hostile_files`) is imported in one run with good files; each
either lands (checked) or fails alone with a message naming file, record
and field. The other tests pin one rule each.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.helpers import (
    DEEP,
    HOSTILE_DIR,
    nested_native_replies,
    nested_reddit_replies,
    thread_document,
    write_large_hostile_files,
)
from threads.importers import ImportFailure
from threads.models import Comment, Thread
from threads.services import threads_import_from_file, threads_import_from_files

pytestmark = pytest.mark.django_db

# file -> the text its error names (file, record, field), or None: it imports.
HOSTILE_OUTCOMES: dict[str, str | None] = {
    "nul_body.json": "threads[0].comments[1]: body: contains a NUL character",
    "nul_author.jsonl": "line 1: author: contains a NUL character",
    "lone_surrogate.jsonl": "line 1: body: contains a lone surrogate",
    "long_author.json": "threads[0].comments[1]: author: 256 characters, over the limit of 255",
    "long_id.json": "threads[0].comments[1]: external_id: 256 characters, over the limit of 255",
    "long_url.json": "threads[0]: url: 2,020 characters, over the limit of 2,000",
    "long_source.json": "threads[0]: source: 33 characters, over the limit of 32",
    "time_1e20.json": "threads[0].comments[1].created_at: not a timestamp: 1e+20 seconds",
    "time_nan.json": "[0] utterance c1: not a timestamp: nan",
    "superscript_time.csv": "row 2 (line 3): not a timestamp: '²'",
    "year_10000.json": "threads[0].comments[1]: created_at: 9999-12-31T23:59:59-05:00 is outside",
    "deep_nesting.json": "threads[0]: a thread must be an object",
    "gzip_bomb.json.gz": "over IMPORT_GZIP_MAX_RATIO",
    "body_too_long.json":
        "threads[0].comments[1]: body: 50,001 characters, over the limit of 50,000",
    "javascript_url.json": None,
    "javascript_link_disqus.xml": None,
    "javascript_link_wxr.xml": None,
    "native_deep_replies.json": None,
    "reddit_deep_replies.json": None,
}


def _hostile_corpus(directory):
    shutil.copytree(HOSTILE_DIR, directory)
    write_large_hostile_files(directory)
    for n in range(2):
        document = {"threads": [thread_document(f"good{n}", [f"good {i}" for i in range(100)])]}
        (directory / f"good{n}.json").write_text(json.dumps(document))
    return directory


def test_the_hostile_corpus_with_good_files_fails_file_by_file(tmp_path, capsys):
    corpus = _hostile_corpus(tmp_path / "corpus")
    on_disk = {p.name for p in corpus.iterdir() if p.suffix != ".md"}
    assert on_disk == {*HOSTILE_OUTCOMES, "good0.json", "good1.json"}

    with pytest.raises(CommandError) as info:
        call_command("import_threads", str(corpus))

    failing = {name: text for name, text in HOSTILE_OUTCOMES.items() if text}
    message = str(info.value)
    assert message.startswith(f"{len(failing)} of {len(on_disk)} file(s) failed")
    lines = message.splitlines()[1:]
    assert len(lines) == len(failing)
    for name, text in failing.items():
        (line,) = [line for line in lines if f"{corpus / name}:" in line]
        assert text in line, (name, line)
    # The good files and the hostile files that are only odd all landed.
    for n in range(2):
        assert Comment.objects.filter(thread__external_id=f"good{n}").count() == 100
    deep = Comment.objects.filter(thread__external_id="deep")
    assert deep.count() == DEEP and max(deep.values_list("depth", flat=True)) == DEEP - 1
    assert Comment.objects.filter(thread__source="reddit").count() == DEEP
    # Links that are not http(s) are dropped with a warning naming the record.
    err = capsys.readouterr().err
    for source, title in (("native", "javascript_url"), ("disqus", "Disqus link"),
                          ("wxr", "WXR link")):
        thread = Thread.objects.get(source=source, title=title)
        assert thread.url == "" and thread.comments.count() == 1
    assert err.count("dropped: only http and https links are kept") == 3
    assert f"{corpus / 'javascript_url.json'}: threads[0]: url 'javascript:alert" in err
    # Nothing of a failed file was written.
    assert not Thread.objects.filter(external_id__in=["nul_body", "year_10000"]).exists()


def test_skip_invalid_keeps_the_good_records_of_the_hostile_files(tmp_path, capsys):
    corpus = _hostile_corpus(tmp_path / "corpus")
    with pytest.raises(CommandError) as info:
        call_command("import_threads", str(corpus), "--skip-invalid")
    # Record problems are skipped; what is wrong with a file as a whole still fails it.
    failed = {line.split(": ", 1)[0].strip() for line in str(info.value).splitlines()[1:]}
    assert failed == {str(corpus / "gzip_bomb.json.gz")}
    # (time_1e20 is refused by its reader, which skips the whole thread.)
    assert not Thread.objects.filter(external_id="time_1e20").exists()
    for name in ("nul_body", "long_author", "long_id", "year_10000", "body_too_long"):
        assert list(Comment.objects.filter(thread__external_id=name)
                    .values_list("external_id", flat=True)) == ["ok"], name
    skipped = [line for line in capsys.readouterr().err.splitlines() if line.startswith("skipped")]
    assert any("nul_body.json: threads[0].comments[1]: body: contains a NUL" in s for s in skipped)


def _good_files(tmp_path, count=2):
    paths = []
    for n in range(count):
        path = tmp_path / f"good{n}.json"
        path.write_text(json.dumps({"threads": [thread_document(f"g{n}", ["a", "b"])]}))
        paths.append(path)
    return paths


def test_a_nul_file_between_good_files_fails_alone_and_is_named(tmp_path):
    first, last = _good_files(tmp_path)
    bad = tmp_path / "nul.json"
    bad.write_text(json.dumps({"threads": [thread_document("n", ["x\u0000y"])]}))
    report = threads_import_from_files(paths=[first, bad, last])
    assert report.errors == [f"{bad}: threads[0].comments[0]: body: contains a NUL character "
                             "at character 1"]
    assert Comment.objects.count() == 4


@pytest.fixture
def trigger_refusing_body():
    """A real database error for one body, raised by the database itself."""
    table = Comment._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.body = 'boom' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(f"CREATE TRIGGER refuse_boom BEFORE INSERT ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        else:
            cursor.execute(f"CREATE TRIGGER refuse_boom BEFORE INSERT ON {table} "
                           "WHEN NEW.body = 'boom' BEGIN SELECT RAISE(ABORT, "
                           "'refused by trigger'); END")


def test_an_unexpected_database_error_fails_only_its_file(tmp_path, trigger_refusing_body):
    first, last = _good_files(tmp_path)
    bad = tmp_path / "boom.json"
    bad.write_text(json.dumps({"threads": [
        thread_document("fine-before", ["kept only if the file lands"]),
        thread_document("boom", ["boom"]),
        thread_document("fine-after", ["stored in the same batch as the refused thread"]),
    ]}))
    report = threads_import_from_files(paths=[first, bad, last])
    (error,) = report.errors
    assert error.startswith(f"{bad}: threads[1]: unexpected error: ")
    assert "refused by trigger" in error
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["g0", "g1"]
    # --skip-invalid: the refused thread alone is left out; the file's others land,
    # each once, with their authors.
    report = threads_import_from_files(paths=[bad], skip_invalid=True)
    assert report.errors == [] and len(report.skipped) == 1
    assert "threads[1]: unexpected error" in report.skipped[0]
    assert (report.threads_new, report.comments_new) == (2, 2)
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == [
        "fine-after", "fine-before", "g0", "g1"]
    assert Comment.objects.get(thread__external_id="fine-after").author.name == "author0"


def test_a_commenter_first_met_in_a_failed_file_is_stored_with_a_later_one(tmp_path):
    """The files of a run share a cache of commenters; a failed file's new commenters
    were rolled back with it and are stored again by the next file that has them
    (here the failed file stored a batch before its bad record)."""
    from threads.services import RECORD_BATCH

    def comments(count: int) -> list[dict]:
        return [{"external_id": str(i), "author": "newcomer", "body": "a comment"}
                for i in range(count)]

    failed = tmp_path / "a.json"
    failed.write_text(json.dumps({"threads": [
        {"external_id": "long", "comments": comments(RECORD_BATCH + 1)},
        {"external_id": "short", "comments": comments(1)},
        {"external_id": "bad", "comments": [{"external_id": "1"}]},  # no body
    ]}))
    later = tmp_path / "b.json"
    later.write_text(json.dumps({"threads": [{"external_id": "b", "comments": comments(1)}]}))
    report = threads_import_from_files(paths=[failed, later])
    assert len(report.errors) == 1 and "threads[2]" in report.errors[0]
    assert report.comments_new == 1
    comment = Comment.objects.get(thread__external_id="b")
    assert comment.author is not None and comment.author.name == "newcomer"


def test_the_command_exits_non_zero_naming_each_failed_file(tmp_path, capsys):
    first, last = _good_files(tmp_path)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text('{"threads": [{"external_id": "x", "url": 7,')
    with pytest.raises(CommandError) as info:
        call_command("import_threads", str(tmp_path))
    lines = str(info.value).splitlines()
    assert lines[0].startswith("2 of 4 file(s) failed")
    assert [line.split(":", 1)[0].strip() for line in lines[1:]] == [
        str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert Comment.objects.count() == 4


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-05:00", "1969-12-31T23:59:59Z",
                                   "2101-01-01T00:00:00Z", -1, 4_200_000_000])
def test_times_outside_1970_to_2100_are_refused(import_json, stamp):
    with pytest.raises(ImportFailure, match="created_at: .* is outside the accepted range"):
        import_json({"threads": [{"external_id": "t", "comments": [
            {"external_id": "c", "body": "x", "created_at": stamp}]}]})
    assert not Comment.objects.exists()


def test_times_at_the_edges_of_the_range_are_kept(import_json):
    import_json({"threads": [{"external_id": "t", "comments": [
        {"external_id": "a", "body": "x", "created_at": "1970-01-01T00:00:00Z"},
        {"external_id": "b", "body": "x", "created_at": "2100-12-31T23:59:59Z"}]}]})
    assert sorted(Comment.objects.values_list("created_at", flat=True)) == [
        datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)]


@pytest.mark.parametrize("stamp", ["NaN", "Infinity", "-Infinity", "1e300", "-1e20"])
def test_numeric_times_out_of_range_are_a_clean_error(tmp_path, stamp):
    # The conversation reader's decoder, like json.loads, takes NaN and Infinity.
    path = tmp_path / "t.json"
    path.write_text(f'[{{"id": "c", "parent_id": "", "conversation_id": "t", "content": "x", '
                    f'"timestamp": {stamp}}}]')
    with pytest.raises(ImportFailure, match=r"\[0\] utterance c: not a timestamp"):
        threads_import_from_file(path=path)
    lines = tmp_path / "t.jsonl"
    lines.write_text('{"thread": {"external_id": "t"}, "external_id": "c", "body": "x", '
                     f'"created_at": {stamp}}}\n')
    with pytest.raises(ImportFailure, match=r"line 1.*(not a timestamp|is not JSON)"):
        threads_import_from_file(path=lines, fmt="jsonl")


def test_csv_unicode_digits_are_not_unix_seconds(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("thread_id,comment_id,body,created_at\nt,c1,x,\u0663\u0663\nt,c2,y,60\n")
    report = threads_import_from_file(path=path, skip_invalid=True)
    assert report.comments_new == 1 and "row 1 (line 2): not a timestamp" in report.skipped[0]
    assert Comment.objects.get().created_at == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example/",
                                 "java\tscript:alert(1)", "https://", "vbscript:x"])
def test_only_http_and_https_urls_are_kept(import_json, url):
    report = import_json({"threads": [{"external_id": "t", "url": url, "comments": []}]})
    assert Thread.objects.get().url == ""
    assert "threads[0]: url" in report.warnings[0] and "dropped" in report.warnings[0]


def test_a_body_over_the_limit_is_refused_never_cut(import_json, settings):
    settings.IMPORT_MAX_BODY_CHARS = 10
    with pytest.raises(ImportFailure, match="body: 11 characters, over the limit of 10"):
        import_json({"threads": [{"external_id": "t", "comments": [
            {"external_id": "c", "body": "x" * 11}]}]})
    import_json({"threads": [{"external_id": "t", "comments": [
        {"external_id": "c", "body": "x" * 10}]}]})
    assert Comment.objects.get().body == "x" * 10


def test_deeply_nested_native_and_reddit_replies_import_without_recursion(tmp_path):
    native = tmp_path / "deep.json"
    native.write_text(nested_native_replies(3 * DEEP))
    reddit = tmp_path / "deep_reddit.json"
    reddit.write_text(nested_reddit_replies(3 * DEEP))
    report = threads_import_from_files(paths=[native, reddit])
    assert report.errors == [] and report.comments_new == 6 * DEEP
    deepest = Comment.objects.get(thread__source="reddit", external_id=f"r{3 * DEEP - 1}")
    assert deepest.depth == 3 * DEEP - 1


def test_a_deeply_nested_first_line_is_sniffed_without_recursion(tmp_path):
    path = tmp_path / "deep.json"
    nested = "[" * 5000 + "]" * 5000
    path.write_text('{"x": ' + nested + "}\n")
    # Sniffed as JSONL (one whole object without "threads"); the line is refused.
    with pytest.raises(ImportFailure, match="line 1: JSON nested too deeply for a line"):
        threads_import_from_file(path=path)
    path.write_text('{"threads": [], "x": ' + nested + "}\n")
    assert threads_import_from_file(path=path).threads_new == 0


def test_a_gzip_bomb_is_refused_by_size_and_by_ratio(tmp_path, settings):
    path = tmp_path / "bomb.json.gz"
    body = "A" * (20 * 1024 * 1024)
    document = {"threads": [{"external_id": "t", "comments": [{"external_id": "c", "body": body}]}]}
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    settings.IMPORT_MAX_BODY_CHARS = 30 * 1024 * 1024
    with pytest.raises(ImportFailure, match="over IMPORT_GZIP_MAX_RATIO"):
        threads_import_from_file(path=path)
    settings.IMPORT_GZIP_MAX_RATIO = 1_000_000
    settings.IMPORT_GZIP_MAX_BYTES = 1024 * 1024
    with pytest.raises(ImportFailure, match=r"more than IMPORT_GZIP_MAX_BYTES \(1,048,576"):
        threads_import_from_file(path=path)
    settings.IMPORT_GZIP_MAX_BYTES = 64 * 1024 * 1024
    assert threads_import_from_file(path=path).comments_new == 1
