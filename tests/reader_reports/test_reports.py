"""Reader reports: one per reporter, counted, announced, sending a comment to review at N."""

from __future__ import annotations

import pytest
from django.urls import reverse

from moderation.decisions.events import events_sequence_all
from moderation.decisions.services import comment_action_apply
from moderation.models import CommentReport, Decision, Event, EventType
from moderation.reader_reports.selectors import reported_comments
from moderation.reader_reports.services import ReportError, comment_report_add
from tests.helpers import CommentFactory
from threads.models import Comment

pytestmark = pytest.mark.django_db


def test_one_report_per_reporter_counted_with_its_reasons(settings):
    settings.REPORTS_REVIEW_AFTER = 0
    comment = CommentFactory()
    first = comment_report_add(comment=comment, reporter_id="reader-17", reason="spam")
    again = comment_report_add(comment=comment.pk, reporter_id="reader-17", reason="hate")
    other = comment_report_add(comment=comment, reporter_id="reader-18", reason="hate",
                               note="slur in the 2nd line")
    assert first.created and not again.created and other.created
    assert again.report.pk == first.report.pk
    assert other.summary.count == 2 and other.summary.reasons == {"spam": 1, "hate": 1}
    stored = set(CommentReport.objects.values_list("reporter", flat=True))
    assert "reader-17" not in stored and len(stored) == 2  # salted hashes only
    events_sequence_all()
    events = list(Event.objects.filter(type=EventType.REPORT_RECEIVED).order_by("position"))
    assert len(events) == 2  # the repeated report announced nothing
    assert events[1].data["report"] == {"id": other.report.pk, "reason": "hate", "count": 2,
                                        "reasons": {"spam": 1, "hate": 1}}


@pytest.mark.parametrize("kwargs, field", [
    ({"reporter_id": "", "reason": "spam"}, "reporter"),
    ({"reporter_id": "x" * 256, "reason": "spam"}, "reporter"),
    ({"reporter_id": "r\x00", "reason": "spam"}, "reporter"),
    ({"reporter_id": "r", "reason": "rude"}, "reason"),
    ({"reporter_id": "r", "reason": "spam", "note": "n" * 501}, "note"),
])
def test_bad_reports_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(ReportError) as raised:
        comment_report_add(comment=CommentFactory(), **kwargs)
    assert raised.value.field == field
    assert not CommentReport.objects.exists()


def test_n_reports_send_a_pending_comment_to_review(settings):
    settings.REPORTS_REVIEW_AFTER = 2
    comment = CommentFactory()
    assert comment_report_add(comment=comment, reporter_id="a", reason="spam").decision is None
    result = comment_report_add(comment=comment, reporter_id="b", reason="spam")
    assert result.decision.action == "queue" and result.decision.note == "2 reader reports"
    comment.refresh_from_db()
    assert comment.needs_review and comment.state == "pending"


def test_n_reports_flag_a_comment_approved_by_the_source_but_never_overrule_a_moderator(
        settings, moderator):
    settings.REPORTS_REVIEW_AFTER = 1
    by_source = CommentFactory(state="approved")
    decision = comment_report_add(comment=by_source, reporter_id="a", reason="hate").decision
    assert (decision.action, decision.reason, decision.actor) == ("flag", "hate", None)
    by_moderator = CommentFactory()
    comment_action_apply(comment=by_moderator, action="approve", actor=moderator)
    assert comment_report_add(comment=by_moderator, reporter_id="a",
                              reason="hate").decision is None
    by_moderator.refresh_from_db()
    assert by_moderator.state == "approved"
    assert by_moderator in reported_comments()  # a moderator sees it in the Reported tab


def test_with_the_setting_off_reports_move_nothing(settings):
    settings.REPORTS_REVIEW_AFTER = 0
    comment = CommentFactory()
    for reporter in "abcde":
        comment_report_add(comment=comment, reporter_id=reporter, reason="spam")
    comment.refresh_from_db()
    assert not comment.needs_review
    assert not Decision.objects.exists()


def test_reported_tab_lists_by_report_count_until_a_moderator_acts(settings, moderator):
    settings.REPORTS_REVIEW_AFTER = 0
    few, many, hidden = CommentFactory(), CommentFactory(), CommentFactory(state="hidden")
    for comment, n in ((few, 1), (many, 3), (hidden, 5)):
        for i in range(n):
            comment_report_add(comment=comment, reporter_id=f"r{i}", reason="spam")
    assert list(reported_comments().order_by("-report_count")) == [many, few]
    comment_action_apply(comment=many, action="approve", actor=moderator)
    assert list(reported_comments()) == [few]
    comment_report_add(comment=many, reporter_id="late", reason="threat")
    assert set(reported_comments()) == {few, many}  # reported again after the approval


def test_reported_tab_in_the_dashboard(settings, moderator_client):
    settings.REPORTS_REVIEW_AFTER = 0
    few = CommentFactory(body="mildly annoying")
    many = CommentFactory(body="<script>alert(1)</script> very reported")
    comment_report_add(comment=few, reporter_id="a", reason="off-topic")
    for reporter, reason in (("a", "harassment"), ("b", "harassment"), ("c", "spam")):
        comment_report_add(comment=many, reporter_id=reporter, reason=reason)
    response = moderator_client.get(reverse("moderation:queue", args=["reported"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(f'id="c-{many.pk}"') < html.index(f'id="c-{few.pk}"')
    assert "3 reader reports" in html and "Harassment ×2" in html and "Spam</span>" in html
    assert "1 reader report<" in html and "Off-topic" in html
    assert "<script>alert(1)" not in html
    assert 'data-count="reported">2<' in html
    # The other tabs show the reports on their cards too (no query per card).
    review = moderator_client.get(reverse("moderation:queue", args=["all"]) + "?sort=reports")
    body = review.content.decode()
    assert body.index(f'id="c-{many.pk}"') < body.index(f'id="c-{few.pk}"')
    assert "3 reader reports" in body


def test_reported_tab_pages_by_count_with_a_cursor(settings, moderator_client):
    settings.REPORTS_REVIEW_AFTER = 0
    comments = [CommentFactory() for _ in range(5)]
    for n, comment in enumerate(comments, start=1):
        for i in range(n):
            comment_report_add(comment=comment, reporter_id=f"r{i}", reason="spam")
    url = reverse("moderation:queue", args=["reported"])
    first = moderator_client.get(url + "?size=2")
    assert first.context["page"].comments == comments[::-1][:2]
    cursor = first.context["page"].next_cursor
    second = moderator_client.get(url + f"?size=2&after={cursor}")
    assert second.context["page"].comments == comments[::-1][2:4]
    assert Comment.objects.count() == 5
