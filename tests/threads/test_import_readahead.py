"""Read-ahead: files parsed in a forked child process while the parent stores.

Each test runs a real child process (no mocks): what is stored must be what
an in-process read stores, and every failure must stay confined to its file.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from threads.models import Comment, Thread
from threads.services import threads_import_paths

DATA = Path(__file__).resolve().parent.parent / "data" / "exports"
READER = "threadkeeper-import-reader"

pytestmark = pytest.mark.django_db


def reader_processes() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == READER]


def write_thread_file(path: Path, threads: list[tuple[str, int]], body_size: int = 40) -> Path:
    """A native JSON file: (thread id, number of comments) each."""
    document = {
        "threads": [
            {
                "source": "site",
                "external_id": external_id,
                "title": external_id,
                "comments": [
                    {
                        "external_id": str(n),
                        "parent_id": str(n - 1) if n else None,
                        "author": f"user{n % 7}",
                        "body": f"{external_id} comment {n} " + "x" * body_size,
                    }
                    for n in range(count)
                ],
            }
            for external_id, count in threads
        ]
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def snapshot() -> list[tuple]:
    return list(
        Comment.objects.order_by("thread__source", "thread__external_id", "path").values_list(
            "thread__source", "thread__external_id", "external_id", "parent__external_id",
            "author__identity", "body", "body_html", "created_at", "path", "depth", "state",
            "source_state",
        )
    )


def test_read_ahead_stores_exactly_what_an_in_process_read_stores(settings, tmp_path):
    files = sorted(DATA.glob("*"))
    files = [f for f in files if f.suffix != ".md" and "remark42" not in f.name]
    seen_reader = []

    settings.IMPORT_READ_AHEAD = "on"
    report = threads_import_paths(
        paths=files, on_progress=lambda n: seen_reader.append(bool(reader_processes()))
    )
    assert not report.errors, report.errors
    assert any(seen_reader), f"not read in a child process; threads: {threading.enumerate()}"
    with_child = snapshot()
    assert len(with_child) == report.comments_new > 1000

    Thread.objects.all().delete()
    settings.IMPORT_READ_AHEAD = "off"
    seen_reader.clear()
    report_off = threads_import_paths(
        paths=files, on_progress=lambda n: seen_reader.append(bool(reader_processes()))
    )
    assert not any(seen_reader)
    assert snapshot() == with_child
    assert report_off.as_dict() == report.as_dict()
    assert not reader_processes()  # the child was reaped


def test_a_malformed_file_is_reported_and_the_next_files_are_read(settings, tmp_path):
    settings.IMPORT_READ_AHEAD = "on"
    before = write_thread_file(tmp_path / "a.json", [("a", 3)])
    bad = tmp_path / "b.xml"
    shutil.copy(DATA / "remark42_testdata_disqus.xml", bad)
    after = write_thread_file(tmp_path / "c.json", [("c", 2)])

    report = threads_import_paths(paths=[before, bad, after])

    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"{bad}: line ") and "malformed XML" in report.errors[0]
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["a", "c"]


def test_a_thread_refused_while_storing_skips_the_rest_of_its_file_only(settings, tmp_path):
    settings.IMPORT_READ_AHEAD = "on"
    broken = tmp_path / "a.json"
    document = json.loads(write_thread_file(broken, [("a1", 2), ("a2", 2), ("a3", 2)]).read_text())
    # The parser accepts duplicate ids; storing refuses the thread (and the file).
    document["threads"][1]["comments"].append({"external_id": "0", "body": "again"})
    broken.write_text(json.dumps(document), encoding="utf-8")
    after = write_thread_file(tmp_path / "b.json", [("b1", 4), ("b2", 1)])

    report = threads_import_paths(paths=[broken, after])

    assert len(report.errors) == 1 and "duplicate comment ids: 0" in report.errors[0]
    # a3 was already sent by the child: it must not be taken for a thread of b.json.
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["b1", "b2"]
    assert Comment.objects.count() == 5


def test_a_killed_reader_fails_its_file_and_the_rest_are_read_in_process(settings, tmp_path):
    settings.IMPORT_READ_AHEAD = "on"
    first = write_thread_file(tmp_path / "a.json", [("a", 2)])
    # Far more than a pipe holds: the child is still reading this file when killed.
    large = write_thread_file(
        tmp_path / "b.json", [(f"b{n}", 20) for n in range(60)], body_size=2000
    )
    last = write_thread_file(tmp_path / "c.json", [("c", 3)])
    killed = []

    def progress(count):
        children = reader_processes()
        if Thread.objects.filter(external_id="b0").exists() and not killed:
            os.kill(children[0].pid, signal.SIGKILL)
            killed.append(children[0].pid)

    report = threads_import_paths(paths=[first, large, last], on_progress=progress)

    assert killed
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"{large}: ")
    assert "reader process stopped unexpectedly" in report.errors[0]
    # The killed file is rolled back whole; the files around it are stored.
    assert sorted(Thread.objects.values_list("external_id", flat=True)) == ["a", "c"]
    assert Comment.objects.count() == 5


def test_a_process_running_other_threads_reads_in_process(settings, tmp_path):
    settings.IMPORT_READ_AHEAD = "on"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    seen_reader = []
    try:
        report = threads_import_paths(
            paths=[write_thread_file(tmp_path / "a.json", [("a", 3), ("b", 2)])],
            on_progress=lambda n: seen_reader.append(bool(reader_processes())),
        )
    finally:
        stop.set()
        other.join()
    assert report.comments_new == 5 and not report.errors
    assert seen_reader == [False, False]


def _forking_allowed_in_a_daemon(send):
    from threads.importers.forking import forking_allowed

    send.send(forking_allowed())
    send.close()


def test_a_daemonic_process_never_forks_a_reader(settings):
    from threads.importers.forking import forking_allowed

    settings.IMPORT_READ_AHEAD = "on"
    assert forking_allowed()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    daemon = context.Process(target=_forking_allowed_in_a_daemon, args=(send,), daemon=True)
    daemon.start()
    send.close()
    assert receive.recv() is False
    daemon.join()
