"""Disqus exports read in two halves by two processes (disqus._read_in_halves).

Every test compares with the one-pass read of the same file: the halves must
store exactly the same, and whenever they cannot (a split inside a CDATA
section, a bad record, malformed XML) the one-pass read must take over and
report exactly what it reports alone.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from threads.importers import ImportFailure, disqus
from threads.models import Comment, Thread
from threads.services import threads_import_file

DATA = Path(__file__).resolve().parent.parent / "data" / "exports"

pytestmark = pytest.mark.django_db


@pytest.fixture
def halves_used(monkeypatch):
    """Read even small files in halves; record whether the halves were used."""
    monkeypatch.setattr(disqus, "HALVES_MIN_BYTES", 0)
    used: list[bool] = []
    original = disqus._read_in_halves

    def recording(path):
        spool = original(path)
        used.append(spool is not None)
        return spool

    monkeypatch.setattr(disqus, "_read_in_halves", recording)
    return used


def export(posts: int = 400, *, root_attrs: str = "", body=None, bad_post: int | None = None,
           broken_at: int | None = None) -> str:
    rng = random.Random(5)
    threads = [f"t{n}" for n in range(12)]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals"'
        f"{root_attrs}>\n"
    ]
    for key in threads:
        parts.append(
            f'<thread dsq:id="{key}"><link>https://example.com/{key}</link>'
            f"<title>Title {key}</title><createdAt>2020-01-01T00:00:00Z</createdAt></thread>\n"
        )
    seen: dict[str, list[str]] = {key: [] for key in threads}
    for n in range(posts):
        key = rng.choice(threads)
        parent = rng.choice(seen[key]) if seen[key] and rng.random() < 0.6 else None
        text = body(n) if body else f"comment {n} " + "words " * rng.randint(1, 30)
        post_id = "" if n == bad_post else f' dsq:id="p{n}"'
        parts.append(
            f"<post{post_id}><message><![CDATA[<p>{text}</p>]]></message>"
            f"<createdAt>2020-01-02T00:{n // 60 % 60:02d}:{n % 60:02d}Z</createdAt>"
            f"<isDeleted>{'true' if n % 17 == 0 else 'false'}</isDeleted><isSpam>false</isSpam>"
            f"<author><name>user{n % 9}</name><email>u{n % 9}@example.invalid</email></author>"
            f'<thread dsq:id="{key}"/>'
            + (f'<parent dsq:id="{parent}"/>' if parent else "")
            + ("<broken>" if n == broken_at else "")
            + "</post>\n"
        )
        seen[key].append(f"p{n}")
    parts.append("</disqus>\n")
    return "".join(parts)


def snapshot() -> list[tuple]:
    return list(
        Comment.objects.order_by("thread__external_id", "path").values_list(
            "thread__external_id", "thread__title", "external_id", "parent__external_id",
            "author__identity", "body", "body_html", "created_at", "path", "depth", "state",
            "source_state",
        )
    )


def import_both_ways(settings, path, **kwargs):
    """(report, rows) read in halves, then (report, rows) read in one pass."""
    results = []
    for mode in ("on", "off"):
        settings.IMPORT_READ_AHEAD = mode
        Thread.objects.all().delete()
        report = threads_import_file(path=path, **kwargs)
        results.append((report.as_dict(), snapshot()))
    return results


def failures_both_ways(settings, path) -> list[str]:
    """The import's error read in halves, then in one pass."""
    errors = []
    for mode in ("on", "off"):
        settings.IMPORT_READ_AHEAD = mode
        with pytest.raises(ImportFailure) as failure:
            threads_import_file(path=path)
        errors.append(str(failure.value))
    return errors


@pytest.mark.parametrize(
    "name", ["isso_tests_disqus.xml", "yesilmavihayat_disqus-export.xml", "generated"]
)
def test_halves_store_exactly_what_one_pass_stores(settings, tmp_path, halves_used, name):
    if name == "generated":
        path = tmp_path / "export.xml"
        # A ">" inside a quoted attribute of the root's start tag must not end it.
        path.write_text(export(root_attrs=' note="a > b"'), encoding="utf-8")
    else:
        path = DATA / name
    (halves, halves_rows), (one_pass, one_pass_rows) = import_both_ways(settings, path)
    assert halves_used == [True, False]  # read in halves, then in one pass
    assert halves_rows == one_pass_rows and halves == one_pass
    assert halves["comments_new"] == len(halves_rows) > (399 if name == "generated" else 0)


def test_a_split_inside_cdata_falls_back_to_one_pass(settings, tmp_path, halves_used):
    # The middle of the file is one long body quoting a post: the byte search
    # finds "<post " inside the CDATA section, and the first half then fails
    # to parse, which sends the import to the one-pass read.
    quoted = '<post dsq:id="fake"><message>x</message></post> ' * 3000

    def body(n):
        return quoted if n == 200 else f"comment {n}"

    path = tmp_path / "export.xml"
    path.write_text(export(body=body), encoding="utf-8")
    text = path.read_bytes()
    middle = len(text) // 2
    assert text.rfind(b"<![CDATA[", 0, middle) > text.rfind(b"]]>", 0, middle)
    (halves, halves_rows), (one_pass, one_pass_rows) = import_both_ways(settings, path)
    assert halves_used == [False, False]
    assert halves_rows == one_pass_rows and halves == one_pass
    assert Comment.objects.get(external_id="p200").body_html.count("<post") == 3000


@pytest.mark.parametrize("where", [50, 350])
def test_a_bad_record_in_either_half_is_reported_as_one_pass_does(
    settings, tmp_path, halves_used, where
):
    path = tmp_path / "export.xml"
    path.write_text(export(bad_post=where), encoding="utf-8")
    errors = failures_both_ways(settings, path)
    assert errors[0] == errors[1] and "a <post> without dsq:id" in errors[0]
    assert not Thread.objects.exists()
    (halves, halves_rows), (one_pass, one_pass_rows) = import_both_ways(
        settings, path, skip_invalid=True
    )
    assert halves["skipped"] == one_pass["skipped"] and len(halves["skipped"]) == 1
    assert halves_rows == one_pass_rows and len(halves_rows) == 399


@pytest.mark.parametrize("where", [40, 380])
def test_malformed_xml_in_either_half_names_the_same_line_and_column(
    settings, tmp_path, halves_used, where
):
    path = tmp_path / "export.xml"
    path.write_text(export(broken_at=where), encoding="utf-8")
    errors = failures_both_ways(settings, path)
    assert errors[0] == errors[1]
    assert f"{path}: line {where + 15} column " in errors[0] and "malformed XML" in errors[0]
    assert not Thread.objects.exists()
