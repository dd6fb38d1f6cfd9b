"""GET /api/v1/comments/{id}, /threads, /threads/{id}/comments; POST actions, bulk, undo."""

import pytest
from django.core.cache import caches

from moderation.models import Decision
from tests.helpers import ModeratorFactory, api_error, score_comment
from threads.models import Comment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    caches["api"].clear()


def send(api, ext, parent=None, thread="a1", body=None):
    data = {"source": "mysite", "thread": {"external_id": thread, "title": "T"},
            "external_id": ext, "body": body or f"comment {ext}"}
    if parent:
        data["parent_id"] = parent
    return api.post("comments", data).json()["id"]


def test_read_a_comment_with_scores_and_decisions(api):
    comment_id = send(api, "c1")
    comment = Comment.objects.get(pk=comment_id)
    score_comment(comment, 0.91, "insult")
    api.post(f"comments/{comment_id}/actions",
             {"action": "hide", "reason": "harassment", "note": "n", "expected_version": 1})
    body = api.get(f"comments/{comment_id}").json()
    assert (body["state"], body["version"], body["visible"]) == ("hidden", 2, False)
    assert body["thread"] == {"id": comment.thread_id, "source": "mysite", "external_id": "a1"}
    (score,) = body["scores"]
    assert score["model_key"] and score["top_label"] == "insult" and score["current"] is True
    (decision,) = body["decisions"]
    assert (decision["action"], decision["reason"], decision["note"], decision["actor"]) == \
        ("hide", "harassment", "n", "api:full")
    missing = api.get("comments/999999")
    assert missing.status_code == 404 and api_error(missing)["code"] == "not_found"


def test_thread_lookup_and_tree_pages_in_order(api):
    for ext, parent in (("a", None), ("b", None), ("a1", "a"), ("a2", "a"), ("a1x", "a1")):
        send(api, ext, parent)
    thread = api.get("threads", {"source": "mysite", "external_id": "a1"}).json()
    assert thread["moderation"] == "post"
    assert api.get("threads", {"source": "mysite", "external_id": "zz"}).status_code == 404
    assert api.get("threads", {"source": "mysite"}).status_code == 400
    seen, cursor = [], ""
    while True:
        page = api.get(f"threads/{thread['id']}/comments",
                       {"limit": 2, **({"after": cursor} if cursor else {})}).json()
        seen += [c["external_id"] for c in page["comments"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ["a", "a1", "a1x", "a2", "b"]
    bad = api.get(f"threads/{thread['id']}/comments", {"after": "!!"})
    assert bad.status_code == 400 and api_error(bad)["field"] == "after"
    assert api.get(f"threads/{thread['id']}/comments", {"limit": 0}).status_code == 400


def test_action_body_is_used_and_a_stale_version_names_who_acted(api):
    comment_id = send(api, "c1")
    hidden = api.post(f"comments/{comment_id}/actions",
                      {"action": "hide", "reason": "spam", "expected_version": 1})
    assert hidden.status_code == 200
    assert Decision.objects.get().reason == "spam"
    stale = api.post(f"comments/{comment_id}/actions",
                     {"action": "approve", "expected_version": 1})
    assert stale.status_code == 409
    error = api_error(stale)
    assert (error["code"], error["acted_by"], error["version"], error["state"]) == \
        ("stale_version", "api:full", 2, "hidden")
    assert "api:full hide it" in error["message"]


def test_action_refusals_are_json_naming_the_field(api):
    comment_id = send(api, "c1")
    cases = [
        ({"action": "hide", "reasn": "spam"}, 400, "reasn"),
        ({"action": "hide", "reason": "rude"}, 400, "reason"),
        ({"action": "delete"}, 400, "action"),
        ({"action": "hide", "expected_version": "two"}, 400, "expected_version"),
        ({"action": "restore"}, 400, "action"),  # pending cannot be restored
    ]
    for body, status, field in cases:
        response = api.post(f"comments/{comment_id}/actions", body)
        assert response.status_code == status, body
        assert api_error(response).get("field") == field, response.json()
    assert api.post("comments/999999/actions", {"action": "hide"}).status_code == 404
    assert api.get(f"comments/{comment_id}/actions").status_code == 405
    assert not Decision.objects.exists()


def test_bulk_action_reports_each_comment(api):
    ids = [send(api, f"c{i}") for i in range(3)]
    api.post(f"comments/{ids[1]}/actions", {"action": "hide"})
    response = api.post("actions", {"action": "flag", "reason": "off-topic", "comments": [
        ids[0], {"id": ids[1], "expected_version": 1}, {"id": 999999}]})
    assert response.status_code == 200
    first, second, third = response.json()["results"]
    assert (first["status"], first["state"], first["visible"]) == ("done", "flagged", True)
    assert second["status"] == "refused" and second["http_status"] == 409
    assert second["error"]["acted_by"] == "api:full"
    assert third["status"] == "refused" and third["http_status"] == 404
    assert Comment.objects.get(pk=ids[2]).state == "pending"


def test_undo_reverses_the_keys_own_decision_only(api, moderator):
    comment_id = send(api, "c1")
    decision_id = api.post(f"comments/{comment_id}/actions",
                           {"action": "hide"}).json()["decisions"][0]["id"]
    undone = api.post(f"decisions/{decision_id}/undo")
    assert undone.status_code == 200
    assert undone.json()["comment"]["state"] == "pending"
    assert undone.json()["decisions"][0]["action"] == "undo"
    again = api.post(f"decisions/{decision_id}/undo")
    assert again.status_code == 409
    other = api.as_("moderate", actor=ModeratorFactory())
    assert other.post(f"decisions/{decision_id}/undo").status_code == 403
    assert api.post("decisions/999999/undo").status_code == 404
