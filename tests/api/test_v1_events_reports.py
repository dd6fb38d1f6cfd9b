"""The decisions feed and reader reports over /api/v1/ (Django's test client)."""

from __future__ import annotations

import pytest

from moderation.decisions.services import comment_action_apply
from moderation.models import CommentReport
from tests.helpers import CommentFactory, api_error

pytestmark = pytest.mark.django_db


def test_feed_pages_with_a_cursor_and_never_repeats(api, moderator):
    comments = [CommentFactory() for _ in range(3)]
    for comment in comments:
        comment_action_apply(comment=comment, action="hide", actor=moderator, reason="spam")
    first = api.get("events", {"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [e["data"]["comment"]["id"] for e in body["events"]] == [c.pk for c in comments[:2]]
    assert body["has_more"] and body["next"] == "2"
    second = api.get("events", {"after": body["next"], "limit": 2}).json()
    assert [e["data"]["comment"]["id"] for e in second["events"]] == [comments[2].pk]
    assert not second["has_more"]
    assert api.get("events", {"after": second["next"]}).json()["events"] == []
    event = second["events"][0]
    assert event["type"] == "comment.state_changed" and event["position"] == 3
    assert event["data"]["comment"]["thread"]["source"] == comments[2].thread.source


def test_feed_type_filter(api, moderator):
    comment = CommentFactory()
    comment_action_apply(comment=comment, action="flag", actor=moderator)
    api.post(f"comments/{comment.pk}/reports", {"reporter": "r1", "reason": "spam"})
    body = api.get("events", {"type": "report.received"}).json()
    assert [e["type"] for e in body["events"]] == ["report.received"]
    assert body["next"] == "2"


@pytest.mark.parametrize("query, field", [
    ({"after": "-1"}, "after"), ({"after": "abc"}, "after"), ({"after": "²"}, "after"),
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"type": "comment.eaten"}, "type"),
])
def test_feed_bad_parameters_are_json_errors(api, query, field):
    response = api.get("events", query)
    assert response.status_code == 400
    assert api_error(response)["field"] == field


def test_feed_needs_the_read_scope(api):
    assert api.as_("ingest").get("events").status_code == 403
    assert api.as_().get("events").status_code == 401


def test_report_once_per_reporter_then_review(api, settings):
    settings.REPORTS_REVIEW_AFTER = 2
    comment = CommentFactory()
    url = f"comments/{comment.pk}/reports"
    first = api.post(url, {"reporter": "reader-1", "reason": "harassment", "note": "<b>x</b>"})
    assert first.status_code == 201, first.content
    assert first.json()["reports"] == {"count": 1, "reasons": {"harassment": 1}}
    again = api.post(url, {"reporter": "reader-1", "reason": "spam"})
    assert again.status_code == 200 and again.json()["created"] is False
    second = api.post(url, {"reporter": "reader-2", "reason": "spam"})
    assert second.json()["sent_to_review"] is True
    assert second.json()["comment"]["needs_review"] is True
    assert CommentReport.objects.count() == 2


@pytest.mark.parametrize("body, field", [
    ({"reason": "spam"}, "reporter"),
    ({"reporter": "r", "reason": "rude"}, "reason"),
    ({"reporter": "r", "reason": "spam", "extra": 1}, "extra"),
    ({"reporter": "r" * 256, "reason": "spam"}, "reporter"),
    ({"reporter": "r", "reason": "spam", "note": "n" * 501}, "note"),
    ({"reporter": "  ", "reason": "spam"}, "reporter"),
])
def test_bad_reports_are_json_errors_naming_the_field(api, body, field):
    response = api.post(f"comments/{CommentFactory().pk}/reports", body)
    assert response.status_code == 400, response.content
    assert api_error(response)["field"] == field
    assert not CommentReport.objects.exists()


def test_report_on_an_unknown_comment_and_scopes(api):
    assert api.post("comments/999999/reports", {"reporter": "r", "reason": "spam"}) \
        .status_code == 404
    comment = CommentFactory()
    assert api.as_("read").post(f"comments/{comment.pk}/reports",
                                {"reporter": "r", "reason": "spam"}).status_code == 403


def test_a_backlog_larger_than_one_sequencing_chunk_says_has_more(api, moderator, monkeypatch):
    import moderation.decisions.events as events

    monkeypatch.setattr(events, "SEQUENCE_CHUNK", 2)
    comments = [CommentFactory() for _ in range(5)]
    for comment in comments:
        comment_action_apply(comment=comment, action="flag", actor=moderator)
    seen, after = [], "0"
    for _ in range(10):
        body = api.get("events", {"after": after, "limit": 100}).json()
        seen += [e["data"]["comment"]["id"] for e in body["events"]]
        after = body["next"]
        if not body["has_more"]:
            break
    assert seen == [c.pk for c in comments]
    sequenced = events.Event.objects.values_list("sequenced_at", flat=True)
    assert all(stamp is not None and stamp.tzinfo is not None for stamp in sequenced)
