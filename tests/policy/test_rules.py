"""Rules per source and thread: edited in the dashboard (audited), applied to the next score."""

from __future__ import annotations

import pytest

from moderation.models import Action, Decision, PolicyChange, PolicyRule
from moderation.policy.services import pending_policy_preview, rule_save
from moderation.scoring.pipeline import comments_score_in_process
from moderation.scoring.rules import RuleBook, RuleSpec, rule_get
from tests.helpers import MODEL_KEY, CommentFactory, MarkerScorer, ThreadFactory, score_exactly
from threads.models import Comment

pytestmark = pytest.mark.django_db


def _score(comment: Comment, scorer: MarkerScorer) -> Comment:
    comments_score_in_process(comment_ids=[comment.pk], scorer=scorer)
    return Comment.objects.get(pk=comment.pk)


def test_a_rule_saved_in_the_dashboard_is_audited_and_decides_the_next_score(policy_client,
                                                                                policy_manager):
    thread = ThreadFactory(source="disqus")
    scorer = MarkerScorer()
    before = _score(CommentFactory(thread=thread, body="mild [toxicity=0.4]"), scorer)
    assert not before.needs_review  # the default 0.5

    response = policy_client.post("/policy/rules/new/", {
        "source": "disqus", "label": "toxicity", "review_threshold": "0.3",
        "autohide_threshold": "0.9", "intent": "save"})
    assert response.status_code == 302, response.content.decode()[:500]
    rule = PolicyRule.objects.get()
    change = PolicyChange.objects.get()
    assert change.actor == policy_manager and change.kind == "rule"
    assert change.before is None
    assert change.after["review_threshold"] == 0.3 and change.after["autohide_threshold"] == 0.9

    # The next comment scored meets the new rule; the one scored before is left alone.
    after = _score(CommentFactory(thread=thread, body="mild too [toxicity=0.4]"), scorer)
    assert after.needs_review
    queued = Decision.objects.get(comment=after, action=Action.QUEUE)
    assert queued.threshold == 0.3 and queued.top_label == "toxicity"
    assert not Comment.objects.get(pk=before.pk).needs_review
    hidden = _score(CommentFactory(thread=thread, body="vile [toxicity=0.95]"), scorer)
    assert hidden.state == Comment.State.HIDDEN
    assert Decision.objects.get(comment=hidden, action=Action.HIDE).actor is None

    # A change records before and after.
    response = policy_client.post(f"/policy/rules/{rule.pk}/", {
        "source": "disqus", "label": "toxicity", "review_threshold": "0.45", "intent": "save"})
    assert response.status_code == 302
    change = PolicyChange.objects.order_by("-id").first()
    assert change.before["review_threshold"] == 0.3
    assert change.after["review_threshold"] == 0.45 and change.after["autohide_threshold"] is None
    assert not _score(CommentFactory(thread=thread, body="[toxicity=0.4]"), scorer).needs_review

    # Removing it goes back to the default, audited too.
    assert policy_client.post(f"/policy/rules/{rule.pk}/", {"intent": "delete"}).status_code == 302
    assert not PolicyRule.objects.exists()
    assert PolicyChange.objects.order_by("-id").first().after is None
    assert rule_get(source="disqus", thread_id=None, label="toxicity").origin == "default"


def test_a_source_rule_overrides_the_default_and_a_thread_rule_overrides_the_source():
    disqus, native = ThreadFactory(source="disqus"), ThreadFactory(source="native")
    special = ThreadFactory(source="disqus")
    rule_save(actor=None, spec=RuleSpec("disqus", None, "toxicity", 0.8))
    rule_save(actor=None, spec=RuleSpec("disqus", special.pk, "toxicity", 0.2))
    scorer = MarkerScorer()
    body = "[toxicity=0.6]"
    assert not _score(CommentFactory(thread=disqus, body=body), scorer).needs_review
    assert _score(CommentFactory(thread=native, body=body), scorer).needs_review  # default 0.5
    assert _score(CommentFactory(thread=special, body="[toxicity=0.3]"), scorer).needs_review
    # Other labels of the source keep the defaults.
    assert _score(CommentFactory(thread=disqus, body="[threat=0.35]"), scorer).needs_review

    book = RuleBook.load()
    assert book.rule_for(source="disqus", thread_id=special.pk, label="toxicity").origin \
        == f"thread #{special.pk}"
    assert book.rule_for(source="disqus", thread_id=disqus.pk, label="toxicity").origin \
        == "source disqus"
    assert book.rule_for(source="native", thread_id=native.pk, label="toxicity").origin \
        == "default"


def test_auto_approve_under_a_score_approves_only_when_nothing_asks_for_review():
    thread = ThreadFactory(source="forum")
    rule_save(actor=None, spec=RuleSpec("forum", None, "toxicity", 0.5, None, 0.1))
    scorer = MarkerScorer()
    clean = _score(CommentFactory(thread=thread, body="[toxicity=0.05]"), scorer)
    assert clean.state == Comment.State.APPROVED
    approve = Decision.objects.get(comment=clean)
    assert approve.action == Action.APPROVE and approve.actor is None
    assert "auto-approved" in approve.note
    # Under the auto-approve score, but another label is over its review threshold.
    threat = _score(CommentFactory(thread=thread, body="[toxicity=0.05] [threat=0.5]"), scorer)
    assert threat.state == Comment.State.PENDING and threat.needs_review


def test_the_rule_form_refuses_bad_values_with_a_message_per_field(policy_client):
    other = ThreadFactory(source="wxr")
    response = policy_client.post("/policy/rules/new/", {
        "source": "disqus", "thread": str(other.pk), "label": "toxicity",
        "review_threshold": "1.5", "autohide_threshold": "0.2", "intent": "save"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Ensure this value is less than or equal to 1.0" in text
    assert f"thread #{other.pk} is from source" in text
    assert not PolicyRule.objects.exists() and not PolicyChange.objects.exists()


def test_reapply_to_pending_is_previewed_then_applied_and_audited(policy_client):
    thread = ThreadFactory(source="disqus")
    comments = [CommentFactory(thread=thread) for _ in range(3)]
    for comment, score in zip(comments, (0.6, 0.4, 0.2), strict=True):
        score_exactly(comment, {"toxicity": score})
    rule_save(actor=None, spec=RuleSpec("disqus", None, "toxicity", 0.3))

    preview = policy_client.get("/policy/reapply/", {"model": MODEL_KEY})
    assert preview.status_code == 200
    assert b"<strong>2</strong> would enter the queue" in preview.content
    assert not Comment.objects.filter(needs_review=True).exists()  # a preview writes nothing

    assert policy_client.post("/policy/reapply/", {"model": MODEL_KEY}).status_code == 302
    assert set(Comment.objects.filter(needs_review=True).values_list("pk", flat=True)) == \
        {comments[0].pk, comments[1].pk}
    assert PolicyChange.objects.filter(kind="reapply").get().after["changes"] == \
        {"enter the queue": 2}
    assert pending_policy_preview(model_key=MODEL_KEY).total == 0


def test_only_policy_managers_edit_the_policy(client, moderator):
    assert client.get("/policy/").status_code == 302  # anonymous: the login page
    client.force_login(moderator)
    assert client.get("/policy/").status_code == 403
    assert client.post("/policy/rules/new/", {"intent": "save"}).status_code == 403
    assert client.get("/reports/model/").status_code == 200
    assert b'href="/policy/"' not in client.get("/reports/queue/").content


def test_admin_edits_go_through_the_audited_service(client, policy_manager):
    policy_manager.is_superuser = True
    policy_manager.save()
    client.force_login(policy_manager)
    response = client.post("/admin/moderation/policyrule/add/", {
        "source": "disqus", "label": "insult", "review_threshold": "0.7",
        "autohide_threshold": "", "autoapprove_below": "", "thread": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PolicyChange.objects.get().after["label"] == "insult"
    response = client.post("/admin/moderation/policyrule/add/", {
        "source": "disqus", "label": "insult", "review_threshold": "0.7",
        "autohide_threshold": "0.5", "autoapprove_below": "", "thread": ""})
    assert response.status_code == 200
    assert b"auto-hide must be at or over the review threshold" in response.content
