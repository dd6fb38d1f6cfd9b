"""Property-based fuzzing of every reader: arbitrary bytes and mutated exports.

Whatever the bytes, a reader yields records or raises ImportFailure, and an
import either lands or fails cleanly without leaving anything of the file
behind: never another exception, never a half-written file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threads.importers import READERS, ImportFailure, InvalidRecord, ThreadRecord, read_path
from threads.models import Comment, Thread
from threads.services import threads_import_from_file

EXPORTS = Path(__file__).parent.parent / "data" / "exports"

NATIVE = json.dumps({"threads": [{
    "external_id": "t1", "title": "T", "url": "https://example.org/t1",
    "published_at": "2024-05-01T08:00:00Z",
    "comments": [{"external_id": "c1", "author": "a", "body": "one", "created_at": 1714550400,
                  "replies": [{"external_id": "c2", "body": "two"}]},
                 {"external_id": "c3", "parent_id": "c1", "body": "three"}]}]}, indent=1)
JSONL = "\n".join(json.dumps({"thread": {"external_id": "t1", "title": "T"},
                              "external_id": f"c{i}", "parent_id": f"c{i - 1}" if i else None,
                              "body": f"line {i}", "created_at": "2024-05-01T08:00:00Z"})
                  for i in range(3))
CSV = ("thread_id,comment_id,parent_id,body,author,created_at\n"
       "t1,c1,,one,a,1714550400\nt1,c2,c1,\"two, quoted\",b,2024-05-01T08:00:00Z\n"
       "t2,c1,,other,a,\n")
CONVERSATIONS = json.dumps([{"a1": {"id": "a1", "parent_id": "", "content": "== Topic ==",
                                    "user_text": "u", "timestamp": "2006-03-10 14:50:43 UTC",
                                    "page_title": "Talk:X"},
                             "a2": {"id": "a2", "parent_id": "a1", "content": "reply",
                                    "comment_type": "ADDITION"}}])

SEEDS: dict[str, bytes] = {
    "json": NATIVE.encode(),
    "jsonl": JSONL.encode(),
    "csv": CSV.encode(),
    "conversations": CONVERSATIONS.encode(),
    "disqus": (EXPORTS / "isso_tests_disqus.xml").read_bytes(),
    "wxr": (EXPORTS / "isso_tests_wordpress.xml").read_bytes(),
    "reddit": (EXPORTS / "reddit_2gmzqe_redditdev_tiny_thread.json").read_bytes(),
}
assert set(SEEDS) == set(READERS)

# Bytes that matter to the parsers: structure, quotes, escapes, NUL, UTF-8 leads.
INTERESTING = st.sampled_from(
    [b"\x00", b"\\u0000", b"\\ud800", b'"', b"{", b"}", b"[", b"]", b",", b":", b"<", b">",
     b"&", b"\n", b"\xff", b"\xe2\x82", b"\xc2\xb2", b"1e400", b"NaN", b"-", b"9999", b"]]>",
     b"<!DOCTYPE x>", b"javascript:", b"[" * 600, b"\x1f\x8b"]
)
# Whole values put in place of one value of a seed: each once escaped the importer.
VALUES = st.sampled_from(
    [b"1e20", b"-1e20", b"1e400", b'"\\u0000"', b'"a\\u0000b"', b'"\\ud800"',
     b'"9999-12-31T23:59:59-05:00"', b'"0001-01-01T00:00:00+01:00"', b'"\xc2\xb2"',
     b'"' + b"x" * 300 + b'"', b'"javascript:alert(1)"', b"[" * 600 + b"]" * 600, b"{}", b"[]",
     b"null", b"true", b"0", b'"x\x00y"', b"\xc2\xb2", b"9999-12-31T23:59:59-05:00",
     b"javascript:alert(1)", b"x" * 300]
)
# A JSON string or number, a CSV cell, an XML element's text.
_TOKEN = re.compile(
    rb'(?<=": )(?:"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)'  # a JSON value (not a key)
    rb"|(?<=>)[^<\s][^<]*(?=<)"  # XML text
    rb"|(?<=,)[^,\n]+"  # a CSV cell
)
_VALUE = st.tuples(st.just("value"), st.floats(min_value=0, max_value=1), VALUES)
# Mostly whole values (a mutated export that still parses reaches the boundary).
MUTATION = st.one_of(
    _VALUE, _VALUE, _VALUE,
    st.tuples(
        st.sampled_from(["insert", "delete", "replace"]),
        st.floats(min_value=0, max_value=1),
        st.one_of(INTERESTING, st.binary(min_size=1, max_size=8)),
    ),
)
FUZZ = settings(
    max_examples=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for op, where, chunk in mutations:
        at = int(where * len(data))
        if op == "insert":
            data = data[:at] + chunk + data[at:]
        elif op == "value":
            tokens = list(_TOKEN.finditer(data))
            if tokens:
                token = tokens[min(int(where * len(tokens)), len(tokens) - 1)]
                data = data[: token.start()] + chunk + data[token.end():]
        elif op == "delete":
            data = data[:at] + data[at + len(chunk) * 4:]
        else:
            data = data[:at] + chunk + data[at + len(chunk):]
    return data


def check_clean(path: Path, fmt: str) -> None:
    # The reader: records, or an ImportFailure; nothing else.
    try:
        for record in read_path(path, fmt):
            assert isinstance(record, ThreadRecord | InvalidRecord)
    except ImportFailure:
        pass
    # The import: lands, or fails without a trace and without an unexpected error.
    before = (Thread.objects.count(), Comment.objects.count())
    with transaction.atomic():
        try:
            threads_import_from_file(path=path, fmt=fmt)
        except ImportFailure as exc:
            assert "unexpected error" not in exc.reason, str(exc)
            assert (Thread.objects.count(), Comment.objects.count()) == before
        else:
            check_readable()
        transaction.set_rollback(True)


def check_readable() -> None:
    """What landed reads back and holds nothing the boundary refuses."""
    for row in Comment.objects.values_list("external_id", "author_name", "body", "created_at"):
        for text in row[:3]:
            assert "\x00" not in text and len(text) < 60_000
    for row in Thread.objects.values_list("url", "published_at", "external_id", "source"):
        assert row[0] == "" or row[0].startswith(("http://", "https://"))


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", sorted(READERS))
def test_arbitrary_bytes_give_a_clean_error_or_an_import(tmp_path, fmt):
    @FUZZ
    @given(data=st.one_of(st.binary(max_size=300),
                          st.lists(INTERESTING, max_size=30).map(b"".join)))
    def run(data: bytes) -> None:
        path = tmp_path / "fuzz"
        path.write_bytes(data)
        check_clean(path, fmt)
        check_clean(path, "auto")

    run()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", sorted(READERS))
def test_mutated_exports_give_a_clean_error_or_an_import(tmp_path, fmt):
    seed = SEEDS[fmt]
    path = tmp_path / "seed"
    path.write_bytes(seed)
    # The seed itself imports.
    with transaction.atomic():
        assert threads_import_from_file(path=path, fmt=fmt).comments_new > 0
        transaction.set_rollback(True)

    @FUZZ
    @given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
    def run(mutations: list[tuple[str, float, bytes]]) -> None:
        path.write_bytes(mutate(seed, mutations))
        check_clean(path, fmt)

    run()
