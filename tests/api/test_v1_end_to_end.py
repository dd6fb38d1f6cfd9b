"""The API against real processes: gunicorn, a Celery worker on the real Redis, SQLite."""

import json
import time

import pytest

from tests.helpers import WebhookReceiver, http_json, manage

pytestmark = pytest.mark.slow


def wait_for(check, timeout: float = 60, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def test_ingest_scored_by_a_worker_queued_then_a_moderator_hides_it(api_server):
    base, key = api_server.base, api_server.key
    # The site follows the decisions feed and takes webhooks; its receiver fails once.
    status, start = http_json(base, "GET", "/api/v1/events?type=comment.state_changed", key=key)
    assert status == 200, start
    receiver = WebhookReceiver([500, 200]).__enter__()
    made = manage(api_server.env, "create_webhook", "site", receiver.url,
                  "--event", "comment.state_changed")
    assert made.returncode == 0, made.stderr
    receiver.secret = made.stdout.strip().splitlines()[-1]
    status, body = http_json(base, "POST", "/api/v1/comments", key=key, body={"comments": [
        {"source": "site", "thread": {"external_id": "article-1", "title": "An article",
                                      "url": "https://site.example/article-1"},
         "external_id": "c1", "author": {"external_id": "u1", "name": "Troll"},
         "body": "You are a stupid idiot and a fucking moron, shut up."},
        {"source": "site", "thread": {"external_id": "article-1"}, "external_id": "c2",
         "parent_id": "c1", "body": "Thanks for the thoughtful article."},
    ]})
    assert status == 200, body
    assert body["counts"]["created"] == 2
    toxic_id, kind_id = (r["id"] for r in body["results"])

    def scored_and_queued():
        status, comment = http_json(base, "GET", f"/api/v1/comments/{toxic_id}", key=key)
        assert status == 200
        return comment if comment["scores"] and comment["needs_review"] else None

    comment = wait_for(scored_and_queued)
    assert comment["scores"][0]["model_key"].startswith("fallback:")
    assert [d["action"] for d in comment["decisions"]] == ["queue"]
    kind = wait_for(lambda: (c := http_json(base, "GET", f"/api/v1/comments/{kind_id}",
                                            key=key)[1])["scores"] and c)
    assert kind["needs_review"] is False

    status, acted = http_json(base, "POST", f"/api/v1/comments/{toxic_id}/actions", key=key,
                              body={"action": "hide", "reason": "harassment",
                                    "expected_version": comment["version"]})
    assert status == 200, acted
    assert (acted["comment"]["state"], acted["comment"]["visible"]) == ("hidden", False)
    assert acted["decisions"][0]["reason"] == "harassment"
    status, again = http_json(base, "POST", f"/api/v1/comments/{toxic_id}/actions", key=key,
                              body={"action": "approve", "expected_version": comment["version"]})
    assert status == 409 and again["error"]["acted_by"] == "api:site"

    # The feed carries the hide once, after the cursor the site stored.
    status, feed = http_json(base, "GET", "/api/v1/events?type=comment.state_changed&after="
                             + start["next"], key=key)
    assert status == 200, feed
    hides = [e for e in feed["events"] if e["data"]["comment"]["id"] == toxic_id]
    assert [(e["data"]["decision"]["action"], e["data"]["comment"]["visible"])
            for e in hides] == [("hide", False)]
    status, after = http_json(base, "GET", f"/api/v1/events?after={feed['next']}", key=key)
    assert status == 200 and after["events"] == []
    # The webhook: refused once (500), retried, delivered once, signature verified.
    try:
        receiver.wait_for(2, timeout=60)
        time.sleep(1.0)  # room for a third delivery, were one coming
    finally:
        receiver.__exit__(None, None, None)
    assert [r.answered for r in receiver.received] == [500, 200]
    assert len(receiver.verified) == 2
    assert {r.headers["webhook-id"] for r in receiver.received} == {f"evt_{hides[0]['id']}"}
    delivered = json.loads(receiver.successes()[0].body)
    assert delivered == hides[0]


def test_every_error_path_of_the_real_server_is_json(api_server):
    base, key = api_server.base, api_server.key
    cases = [
        ("GET", "/api/v1/comments/1", None, None, 401),
        ("GET", "/api/v1/nothing-here", key, None, 404),
        ("PUT", "/api/v1/comments/1", key, {"body": "x"}, 405),
        ("POST", "/api/v1/comments", key, {"comments": "nope"}, 400),
        ("GET", "/api/v1/comments/999999", key, None, 404),
    ]
    for method, path, with_key, body, expected in cases:
        status, answer = http_json(base, method, path, key=with_key, body=body)
        assert status == expected, (method, path, answer)
        assert set(answer) == {"error"} and answer["error"]["code"], answer
