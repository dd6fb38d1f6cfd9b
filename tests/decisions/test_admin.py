"""Django admin: moderation actions through the services, read-only audit, bounded queries."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from moderation.decisions import services
from moderation.models import Decision, ToxicityScore
from tests.helpers import CommentFactory, ModeratorFactory, ThreadFactory, UserFactory
from threads.models import Comment

pytestmark = pytest.mark.django_db

COMMENTS = reverse("admin:threads_comment_changelist")
DECISIONS = reverse("admin:moderation_decision_changelist")
THREADS = reverse("admin:threads_thread_changelist")
MODERATION_ACTIONS = {"approve", "flag", "hide", "restore", "rescore"}


def action_names(response) -> set[str]:
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices} if form else set()


def run_action(client, action, comments, url=COMMENTS, seen=None, **extra):
    data = {"action": action, "index": 0, "select_across": 0,
            "_selected_action": [c.pk for c in comments], **extra}
    for pk, version in (seen or {}).items():
        data[f"_seen_version_{pk}"] = version
    return client.post(url, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_moderator_sees_moderation_actions(client, moderator, comment):
    client.force_login(moderator)
    response = client.get(COMMENTS)
    assert response.status_code == 200
    assert action_names(response) >= MODERATION_ACTIONS
    assert "delete_selected" not in action_names(response)


def test_staff_without_permission_sees_no_moderation_action(client, staff, comment):
    client.force_login(staff)
    response = client.get(COMMENTS)
    assert response.status_code == 200  # may look ...
    assert not action_names(response) & MODERATION_ACTIONS  # ... not act
    run_action(client, "hide", [comment])  # a forged POST does nothing
    assert not Decision.objects.exists()
    assert Comment.objects.get(pk=comment.pk).state == Comment.State.PENDING


def test_admin_action_writes_audit_rows_through_the_services(client, moderator):
    first, second = CommentFactory(), CommentFactory()
    client.force_login(moderator)
    response = run_action(client, "hide", [first, second], reason="harassment",
                          note="reported twice", seen={first.pk: 1, second.pk: 1})
    assert "2 comments hidden." in messages_of(response)
    decisions = Decision.objects.order_by("comment_id")
    assert [(d.comment_id, d.actor, d.action, d.reason, d.note) for d in decisions] == [
        (c.pk, moderator, "hide", "harassment", "reported twice") for c in (first, second)
    ]
    assert set(Comment.objects.values_list("state", flat=True)) == {Comment.State.HIDDEN}


def test_stale_and_illegal_are_reported_per_comment(client, moderator):
    fresh, changed, hidden = CommentFactory(), CommentFactory(), CommentFactory()
    other = ModeratorFactory(username="other")
    # The page was loaded, then another moderator acted on `changed`.
    seen = {fresh.pk: 1, changed.pk: 1, hidden.pk: 1}
    services.comment_action_apply(action="flag", comment=changed, actor=other)
    Comment.objects.filter(pk=hidden.pk).update(state=Comment.State.HIDDEN)
    client.force_login(moderator)
    response = run_action(client, "approve", [fresh, changed, hidden], seen=seen)
    shown = messages_of(response)
    assert "1 comment approved." in shown
    assert any(f"comment #{changed.pk} changed since you saw it" in m and "other flag it" in m
               for m in shown)
    assert any(f"cannot approve comment #{hidden.pk}: it is hidden" in m for m in shown)
    assert Decision.objects.filter(actor=moderator).count() == 1
    assert Comment.objects.get(pk=changed.pk).state == Comment.State.FLAGGED


def test_unknown_reason_is_refused_by_the_form(client, moderator, comment):
    client.force_login(moderator)
    response = run_action(client, "hide", [comment], reason="rude")
    assert not Decision.objects.exists()
    assert response.status_code == 200


def test_rescore_action_scores_again_through_the_pipeline(
    client, moderator, comment, django_capture_on_commit_callbacks
):
    from config.celery import app
    from moderation.models import ToxicityScore

    client.force_login(moderator)
    app.conf.task_always_eager = True  # run the real task in-process, no broker
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = run_action(client, "rescore", [comment])
    finally:
        app.conf.task_always_eager = False
    assert any("1 comments queued for re-scoring" in m for m in messages_of(response))
    score = ToxicityScore.objects.get(comment=comment)
    assert score.content_hash == comment.content_hash
    comment.refresh_from_db()
    assert comment.toxicity == score.top_score


def test_rescore_action_with_a_hung_broker_answers_with_a_warning(
    client, moderator, comment, hung_broker, django_capture_on_commit_callbacks
):
    from tests.helpers import returns_within

    client.force_login(moderator)
    with returns_within(15), django_capture_on_commit_callbacks(execute=True):
        response = run_action(client, "rescore", [comment])
    assert response.status_code == 200
    (warning,) = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert "did not answer: 1 of 1 comments were not queued" in str(warning)
    assert not [m for m in response.context["messages"] if m.level_tag == "success"]


def test_comment_page_shows_read_only_history_and_escapes_bodies(client, moderator):
    comment = CommentFactory(body="<script>alert(1)</script> rude words")
    services.comment_action_apply(action="flag", comment=comment, actor=moderator,
                                  note="first look")
    client.force_login(moderator)
    listing = client.get(COMMENTS).content.decode()
    assert "<script>alert(1)" not in listing and "&lt;script&gt;alert(1)" in listing
    page = client.get(reverse("admin:threads_comment_change", args=[comment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Decision history (read-only)" in html and "first look" in html
    assert 'name="_save"' not in html and "<script>alert(1)" not in html


def test_comment_score_bands_follow_the_label_table(client, moderator, settings):
    scored = CommentFactory()
    Comment.objects.filter(pk=scored.pk).update(toxicity=0.93, toxicity_label="insult")
    clean = CommentFactory()
    Comment.objects.filter(pk=clean.pk).update(toxicity=0.05, toxicity_label="toxicity")
    unscored = CommentFactory()
    client.force_login(moderator)

    def pks(query):
        return {c.pk for c in client.get(COMMENTS + query).context["cl"].result_list}

    assert pks("?score=review") == {scored.pk}  # insult's review threshold is 0.5
    assert pks("?score=under") == {clean.pk}
    assert pks("?score=unscored") == {unscored.pk}
    assert pks("?score=autohide") == set()  # no label auto-hides by default
    settings.MODERATION_AUTOHIDE_THRESHOLDS = {"insult": 0.9}
    assert pks("?score=autohide") == {scored.pk}
    settings.MODERATION_REVIEW_THRESHOLDS = {"insult": 0.95}
    assert pks("?score=review") == set()
    assert pks("?label=insult") == {scored.pk}
    assert pks(f"?q={scored.body.split()[2]}") == {scored.pk}


def test_thread_counts_by_state_and_link(client, moderator):
    thread = ThreadFactory(source="disqus")
    for state in ["pending", "pending", "hidden", "flagged"]:
        c = CommentFactory(thread=thread)
        Comment.objects.filter(pk=c.pk).update(state=state)
    client.force_login(moderator)
    response = client.get(THREADS)
    row = response.context["cl"].result_list[0]
    assert (row.total_count, row.pending_count, row.hidden_count, row.flagged_count,
            row.approved_count) == (4, 2, 1, 1, 0)
    assert f"?thread__id__exact={thread.pk}" in response.content.decode()


def test_decision_list_filters_and_csv_export(client, moderator):
    comment = CommentFactory()
    services.comment_review_mark(comment=comment, needs_review=True,
                                 ml=services.MlContext(top_label="insult", top_score=0.9,
                                                       model_key="m", threshold=0.7))
    services.comment_action_apply(action="hide", comment=comment, actor=moderator, reason="spam",
                          note='=HYPERLINK("http://evil")')
    client.force_login(moderator)

    def actions(query):
        return [d.action for d in client.get(DECISIONS + query).context["cl"].result_list]

    assert actions("?by=system") == ["queue"]
    assert actions(f"?actor__id__exact={moderator.pk}") == ["hide"]
    assert actions("?action__exact=queue") == ["queue"]
    response = run_action(client, "export_csv", list(Decision.objects.all()), url=DECISIONS)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["actor"], r["action"]) for r in rows] == [("system", "queue"),
                                                         (moderator.username, "hide")]
    assert rows[0]["threshold"] == "0.7" and rows[0]["top_label"] == "insult"
    assert rows[1]["note"] == "'=HYPERLINK(\"http://evil\")"  # no formula injection


def test_non_moderator_staff_cannot_see_decisions_without_view_permission(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(DECISIONS).status_code == 403
    assert client.get(COMMENTS).status_code == 403


def test_scores_are_read_only(client, comment):
    ToxicityScore.objects.create(comment=comment, model_key="m", content_hash="h",
                                 scores={"insult": 0.5}, top_label="insult", top_score=0.5)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:moderation_toxicityscore_changelist")).status_code == 200
    assert client.get(reverse("admin:moderation_toxicityscore_add")).status_code == 403


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [COMMENTS, DECISIONS, THREADS,
                                 reverse("admin:moderation_toxicityscore_changelist")])
def test_list_pages_run_a_bounded_number_of_queries(client, django_assert_max_num_queries, url):
    moderator = ModeratorFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    def add_rows(n):
        for _ in range(n):
            comment = CommentFactory(thread=ThreadFactory())
            ToxicityScore.objects.create(comment=comment, model_key="m", content_hash="h",
                                         scores={"insult": 0.5}, top_label="insult",
                                         top_score=0.5)
            services.comment_action_apply(action="flag", comment=comment, actor=moderator,
                                          reason="spam")

    add_rows(3)
    few = _count_queries(client, url)
    add_rows(30)
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    assert _count_queries(client, url) == few  # no query per row


def test_comment_list_names_the_model_behind_each_score(client, moderator):
    from moderation.models import ToxicityScore

    detoxified = CommentFactory(body="rude words")
    fallback = CommentFactory(body="other words")
    for comment, key, value in [(detoxified, "detoxify:original:abc123def456", 0.91),
                                (fallback, "fallback:alt-profanity-check:1.9.1", 0.42)]:
        ToxicityScore.objects.create(comment=comment, model_key=key,
                                     content_hash=comment.content_hash,
                                     scores={"toxicity": value}, top_label="toxicity",
                                     top_score=value)
        Comment.objects.filter(pk=comment.pk).update(toxicity=value, toxicity_label="toxicity")
    client.force_login(moderator)
    html = client.get(COMMENTS).content.decode()
    # The score, then the model on its own line (a narrower column: issue 13).
    assert 'toxicity 0.91<br><span class="quiet">(detoxify' in html and "abc123def456" in html
    assert ('toxicity 0.42<br><span class="quiet">(fallback scorer (alt-profanity-check '
            '1.9.1), not detoxify)') in html


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("note", [
    "x;=cmd|' /C calc'!A0;y",
    "x,=1+2,y",
    "x\t@SUM(1)",
    "x\n=cmd|' /C calc'!A0",
    'x;"=cmd|\' /C calc\'!A0',
    "=1+2\";=1+2",
    "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
])
def test_csv_export_never_yields_a_formula_cell_however_it_is_split(client, moderator, note):
    comment = CommentFactory()
    services.comment_action_apply(action="flag", comment=comment, actor=moderator, note=note)
    client.force_login(moderator)
    response = run_action(client, "export_csv", list(Decision.objects.all()), url=DECISIONS)
    text = b"".join(response.streaming_content).decode()
    # Every cell is quoted.
    header = text.splitlines()[0]
    assert header.startswith('"id","created_at",')
    # Read back as written, the note keeps its text behind one leading quote at most.
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["action"] == "flag")
    assert row["note"].replace("'", "") == note.replace("'", "")
    # However a spreadsheet splits the line (comma, semicolon, tab, pipe; or
    # one cell per physical line), no cell starts with a formula character.
    for delimiter in (",", ";", "\t", "|"):
        for cells in csv.reader(re.split(r"\r\n|[\r\n]", text), delimiter=delimiter):
            for cell in cells:
                assert not cell.lstrip(' "').startswith(FORMULA_STARTS), (delimiter, cell)
    for line in re.split(r"\r\n|[\r\n]", text):
        assert not line.lstrip(' "').startswith(FORMULA_STARTS), line
