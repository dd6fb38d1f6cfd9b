"""POST/PATCH/DELETE /api/v1/comments: the site sends, edits and deletes comments."""

import re

import pytest
from django.core.cache import caches

from moderation.decisions.states import AUTHOR_DELETED
from moderation.models import Action, Decision, IngestSource
from tests.helpers import api_error
from threads.models import Author, Comment, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    caches["api"].clear()


def item(ext="c1", body="A fair point about the article.", thread="a1", **extra):
    return {"source": "mysite", "thread": {"external_id": thread, "title": "Article",
                                           "url": "https://example.org/a1"},
            "external_id": ext, "body": body, **extra}


def test_one_comment_is_created_then_unchanged_then_edited(api):
    created = api.post("comments", item(author={"external_id": "u7", "name": "Ann",
                                                "email": "Ann@Example.org"}))
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["state"], body["version"], body["visible"]) == \
        ("created", "pending", 1, True)
    comment = Comment.objects.get(pk=body["id"])
    assert comment.thread.title == "Article" and comment.author.name == "Ann"
    assert "example.org" not in str(Author.objects.values().get()).lower()

    again = api.post("comments", item(author={"external_id": "u7", "name": "Ann",
                                              "email": "ann@example.org"}))
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    edited = api.post("comments", item(body="A fairer point."))
    assert edited.json()["status"] == "updated" and edited.json()["version"] == 2
    assert Comment.objects.get().body == "A fairer point."
    assert Thread.objects.count() == 1


def test_batch_gives_a_result_per_item_and_the_good_ones_land(api):
    response = api.post("comments", {"comments": [
        item("p"),
        item("r", parent_id="p", created_at="2026-11-30T10:00:00Z"),
        item("nul", body="bad\x00byte"),
        item("nobody", body=None),
        {"source": "mysite", "external_id": "x", "body": "no thread"},
        item("p"),  # twice in one request
        item("late", created_at="year 3000"),
        item("other", thread="a2"),
    ]})
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "error": 5}
    results = body["results"]
    assert [r["status"] for r in results] == ["created", "created", "error", "error", "error",
                                              "error", "error", "created"]
    assert results[2]["error"]["field"] == "body" and "NUL" in results[2]["error"]["message"]
    assert "body" in results[3]["error"]["message"]
    assert results[4]["error"]["field"] == "thread"
    assert "twice" in results[5]["error"]["message"]
    assert results[6]["error"]["field"] == "created_at"
    reply = Comment.objects.get(external_id="r")
    assert reply.parent.external_id == "p" and reply.depth == 1
    assert set(Comment.objects.values_list("external_id", flat=True)) == {"p", "r", "other"}


def test_a_thread_that_cannot_be_placed_fails_alone_in_its_batch(api):
    response = api.post("comments", {"comments": [
        item("a", thread="loop", parent_id="b"),
        item("fine", thread="ok"),
        item("b", thread="loop", parent_id="a"),
    ]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "created", "error"]
    assert "cycle" in results[0]["error"]["message"] and "'a'" in results[0]["error"]["message"]
    assert list(Comment.objects.values_list("external_id", flat=True)) == ["fine"]
    assert list(Thread.objects.values_list("external_id", flat=True)) == ["ok"]


def test_a_batch_costs_the_same_queries_for_4_threads_as_for_32(api):
    """The request's threads are read and written together, not a round of queries each
    (32 threads of 2 comments: one INSERT of ROWS_PER_STATEMENT rows on SQLite too)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batch(threads: int, run: str) -> dict:
        return {"comments": [
            item(f"{run}-{k}-{i}", thread=f"q{k}", parent_id=f"{run}-{k}-0" if i else None,
                 author={"external_id": f"u{k}-{i}", "name": f"U{i}"},
                 created_at=f"2026-11-30T10:0{i}:00Z")
            for k in range(threads) for i in range(2)]}

    api.post("comments", batch(32, "first"))  # every thread stored, with replies
    counts = []
    for threads, run in ((4, "second"), (32, "third")):
        with CaptureQueriesContext(connection) as queries:
            response = api.post("comments", batch(threads, run))
        assert response.json()["counts"]["created"] == threads * 2
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    reply = Comment.objects.get(external_id="third-31-1")
    assert reply.parent.external_id == "third-31-0" and reply.depth == 1


def test_a_batch_sent_again_keeps_every_place_and_reads_no_thread_whole(api):
    """A retried batch (and one that only edits texts) changes no place: the cost does not
    grow with the threads' stored comments or their number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batch(threads: int, body: str = "A fair point about the article.") -> dict:
        return {"comments": [
            item(f"k{k}-{i}", thread=f"k{k}", parent_id=f"k{k}-0" if i else None, body=body,
                 created_at=f"2026-11-30T10:0{i}:00Z")
            for k in range(threads) for i in range(3)]}

    api.post("comments", batch(40))
    api.post("comments", {"comments": [  # more stored comments in every thread
        item(f"k{k}-x{i}", thread=f"k{k}") for k in range(40) for i in range(5)]})
    paths = dict(Comment.objects.values_list("external_id", "path"))
    whole_thread = re.compile(r'FROM "threads_comment" WHERE "threads_comment"\."thread_id" IN '
                              r'\([^)]*\)\s*$')
    counts = []
    for threads in (4, 40):
        with CaptureQueriesContext(connection) as queries:
            response = api.post("comments", batch(threads))
        assert response.json()["counts"]["unchanged"] == threads * 3
        counts.append(len(queries))
        assert not [q for q in queries.captured_queries if whole_thread.search(q["sql"])]
    assert counts[0] == counts[1], counts
    edited = api.post("comments", batch(40, body="Edited on the site.")).json()
    assert edited["counts"]["updated"] == 120
    assert {r["version"] for r in edited["results"]} == {2}
    assert dict(Comment.objects.values_list("external_id", "path")) == paths


def test_a_batch_that_moves_comments_in_two_threads_places_each_thread_whole(api):
    """A comment sent again under another parent: its thread is placed again, read
    with the other threads of the request."""
    def tree(thread: str) -> list[tuple[str, str | None, int]]:
        return [(c.external_id, c.parent.external_id if c.parent else None, c.depth)
                for c in Comment.objects.filter(thread__external_id=thread).order_by("path")]

    first = [item(f"{t}-{n}", thread=t, created_at=f"2026-11-30T10:0{n}:00Z")
             for t in ("m1", "m2") for n in range(3)]
    assert api.post("comments", {"comments": first}).json()["counts"]["created"] == 6
    moved = [item(f"{t}-2", thread=t, parent_id=f"{t}-0", created_at="2026-11-30T10:02:00Z")
             for t in ("m1", "m2")] + [item("m2-3", thread="m2", parent_id="m2-1",
                                            created_at="2026-11-30T10:03:00Z")]
    counts = api.post("comments", {"comments": moved}).json()["counts"]
    assert (counts["updated"], counts["created"]) == (2, 1)
    assert tree("m1") == [("m1-0", None, 0), ("m1-2", "m1-0", 1), ("m1-1", None, 0)]
    assert tree("m2") == [("m2-0", None, 0), ("m2-2", "m2-0", 1), ("m2-1", None, 0),
                          ("m2-3", "m2-1", 1)]


def test_a_reply_finds_its_parent_stored_by_an_earlier_request(api):
    parent_id = api.post("comments", item("p")).json()["id"]
    reply = api.post("comments", item("r", parent_id="p")).json()
    assert Comment.objects.get(pk=reply["id"]).parent_id == parent_id


def test_thread_fields_left_out_keep_their_stored_values(api):
    api.post("comments", item("p"))
    api.post("comments", {"source": "mysite", "thread": {"external_id": "a1"},
                          "external_id": "q", "body": "x"})
    thread = Thread.objects.get()
    assert (thread.title, thread.url) == ("Article", "https://example.org/a1")


def test_unsafe_thread_url_is_dropped_and_the_comment_kept(api):
    response = api.post("comments", item(thread="a9") | {
        "thread": {"external_id": "a9", "url": "javascript:alert(1)"}})
    assert response.status_code == 201 and Thread.objects.get().url == ""


def test_bad_bodies_are_json_errors(api, settings):
    settings.API_MAX_BATCH = 3
    too_many = api.post("comments", {"comments": [item(str(i)) for i in range(4)]})
    assert too_many.status_code == 413 and api_error(too_many)["field"] == "comments"
    assert api_error(api.post("comments", {"comments": []}))["field"] == "comments"
    assert api.post("comments", [1, 2]).status_code == 400
    single_bad = api.post("comments", item(body=None))
    assert single_bad.status_code == 400 and "body" in api_error(single_bad)["message"]
    broken = api.client.post("/api/v1/comments", "{not json", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {api.secret}")
    assert broken.status_code == 400 and api_error(broken)["code"] == "invalid_json"
    assert not Comment.objects.exists()


def test_scopes_are_enforced(api):
    reader = api.as_("read")
    refused = reader.post("comments", item())
    assert refused.status_code == 403 and api_error(refused)["code"] == "forbidden"
    comment_id = api.post("comments", item()).json()["id"]
    ingester = api.as_("ingest")
    assert ingester.get(f"comments/{comment_id}").status_code == 403
    assert ingester.post(f"comments/{comment_id}/actions", {"action": "hide"}).status_code == 403
    assert reader.get(f"comments/{comment_id}").status_code == 200
    assert not Decision.objects.exists()


def test_pre_and_post_moderation_say_visible(api):
    IngestSource.objects.create(source="strict", moderation=IngestSource.Moderation.PRE)
    pre = api.post("comments", item() | {"source": "strict"}).json()
    post = api.post("comments", item()).json()
    assert (pre["visible"], post["visible"]) == (False, True)
    approved = api.post(f"comments/{pre['id']}/actions", {"action": "approve"}).json()
    assert approved["comment"]["visible"] is True
    hidden = api.post(f"comments/{post['id']}/actions", {"action": "hide", "reason": "spam"})
    assert hidden.json()["comment"]["visible"] is False
    assert api.get(f"comments/{pre['id']}").json()["visible"] is True


def test_patch_edits_the_body_with_a_new_version(api):
    comment_id = api.post("comments", item()).json()["id"]
    edited = api.patch(f"comments/{comment_id}", {"body": "Edited.", "expected_version": 1})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    comment = Comment.objects.get()
    assert comment.body == "Edited." and comment.version == 2
    stale = api.patch(f"comments/{comment_id}", {"body": "Again.", "expected_version": 1})
    assert stale.status_code == 409 and api_error(stale)["version"] == 2
    typo = api.patch(f"comments/{comment_id}", {"bdy": "x"})
    assert typo.status_code == 400
    long = api.patch(f"comments/{comment_id}", {"body": "x" * 50_001})
    assert long.status_code == 400 and api_error(long)["field"] == "body"
    assert api.patch("comments/999999", {"body": "x"}).status_code == 404
    assert Comment.objects.get().body == "Edited."


def test_author_deletion_hides_for_good(api):
    comment_id = api.post("comments", item()).json()["id"]
    deleted = api.delete(f"comments/{comment_id}")
    assert deleted.status_code == 200
    assert (deleted.json()["state"], deleted.json()["visible"],
            deleted.json()["deleted_by_author"]) == ("hidden", False, True)
    decision = Decision.objects.get()
    assert (decision.action, decision.actor) == (Action.AUTHOR_DELETE, None)
    restore = api.post(f"comments/{comment_id}/actions", {"action": "restore"})
    assert restore.status_code == 400 and "author deleted" in api_error(restore)["message"]
    assert api.patch(f"comments/{comment_id}", {"body": "back"}).status_code == 409
    assert api.post("comments", item(body="back")).status_code == 409
    again = api.post("comments", item())  # the same text again: no change
    assert again.status_code == 200 and again.json()["state"] == "hidden"
    assert api.delete(f"comments/{comment_id}").status_code == 200
    comment = Comment.objects.get()
    assert (comment.source_state, comment.state) == (AUTHOR_DELETED, "hidden")
    assert Decision.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_new_threads_all_land(api_key):
    import threading

    from django.db import connection
    from django.test import Client

    from tests.helpers import ApiClient

    secret = api_key("ingest")
    barrier = threading.Barrier(4)
    statuses = []

    def send(n: int) -> None:
        try:
            barrier.wait(10)
            # Each request meets the threads in another order (a deadlock with
            # one transaction per request on PostgreSQL).
            order = [(k + n) % 4 for k in range(4)] if n % 2 else [3 - k for k in range(4)]
            response = ApiClient(Client(), secret).post("comments", {"comments": [
                item(f"t{n}-{i}", thread=f"race{k}",
                     author={"external_id": f"u{(i + k) % 7}", "name": "R"})
                for k in order for i in range(5)]})
            statuses.append((response.status_code, response.json()["counts"]["created"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [(200, 20)] * 4
    assert Thread.objects.count() == 4 and Comment.objects.count() == 80
    assert Author.objects.count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_busy_sqlite_database_is_a_503_to_retry_and_nothing_is_written(api_key):
    from django.db import connection
    from django.test import Client

    from tests.helpers import ApiClient, row_lock_held

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL waits on the row instead")
    from moderation.models import ApiKey

    secret = api_key("ingest")
    api_key("read", name="locked-row")

    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    options["timeout"] = 0.3
    connection.close()
    try:
        with row_lock_held(ApiKey, ApiKey.objects.get(name="locked-row").pk,
                           touch={"rate_limit": 5}):
            response = ApiClient(Client(), secret).post("comments", item())
    finally:
        options["timeout"] = saved
        connection.close()
    assert response.status_code == 503
    assert api_error(response)["code"] == "unavailable" and response["Retry-After"] == "2"
    assert not Comment.objects.exists()
