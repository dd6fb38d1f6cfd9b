"""Authors: ban, suspend until, trust, pre-moderate, notes; each audited and reversible,
and ban / suspension / trust / pre-moderation applied by the scoring policy on arrival."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from moderation.decisions.authors import author_decide
from moderation.decisions.services import ModerationError, comment_action_apply
from moderation.models import AppendOnlyError, AuthorDecision, AuthorStanding, Decision
from moderation.scoring.policy import comment_policy_apply
from tests.helpers import MODEL_KEY, import_threads, thread_document
from threads.models import Author, Comment

pytestmark = pytest.mark.django_db

LOW = {"toxicity": 0.05, "insult": 0.02}
HIGH = {"toxicity": 0.91, "insult": 0.4}


@pytest.fixture
def author_comments(tmp_path):
    """Three comments by one author (author0 in thread_document: every 7th), pending."""
    import_threads(tmp_path, [thread_document("a", [f"comment {i}" for i in range(15)])])
    author = Author.objects.get(name="author0")
    return author, list(Comment.objects.filter(author=author).order_by("pk"))


def arrive(author: Author, body: str, scores: dict[str, float]) -> Comment:
    """A new comment by the author, scored: the policy step as the pipeline runs it."""
    first = Comment.objects.filter(author=author).first()
    n = Comment.objects.count()
    comment = Comment.objects.create(
        thread=first.thread, external_id=f"new-{n}", author=author, author_name=author.name,
        body=body, content_hash=f"h-{body}", path=f"{900000 + n:06d}",
    )
    comment_policy_apply(comment=comment.pk, scores=scores, model_key=MODEL_KEY)
    return Comment.objects.get(pk=comment.pk)


def test_ban_hides_pending_comments_and_new_ones_on_arrival(author_comments, moderator):
    author, comments = author_comments
    comment_action_apply(comment=comments[0], action="approve", actor=moderator)
    ban = author_decide(author=author, action="ban", actor=moderator, reason="spam",
                        note="link farm")
    assert ban.job is not None and (ban.job.state, ban.job.changed) == ("done", 2)
    states = dict(Comment.objects.filter(author=author).values_list("pk", "state"))
    assert states == {comments[0].pk: "approved", comments[1].pk: "hidden",
                      comments[2].pk: "hidden"}  # approved ones are left alone

    new = arrive(author, "buy cheap watches", LOW)
    assert new.state == "hidden"
    decision = Decision.objects.get(comment=new)
    assert decision.actor is None and "the author is banned" in decision.note

    author_decide(author=author, action="unban", actor=moderator, note="appeal accepted")
    assert arrive(author, "sorry about that", LOW).state == "pending"
    actions = list(AuthorDecision.objects.filter(author=author).order_by("pk")
                   .values_list("action", "reason", "note"))
    assert actions == [("ban", "spam", "link farm"), ("unban", "", "appeal accepted")]


def test_ban_does_not_override_a_moderator_on_the_same_text(author_comments, moderator):
    author, _ = author_comments
    author_decide(author=author, action="ban", actor=moderator, reason="spam", note="x")
    new = arrive(author, "first", LOW)
    comment_action_apply(comment=new, action="restore", actor=moderator)
    comment_policy_apply(comment=new.pk, scores=LOW, model_key=MODEL_KEY)  # re-scored
    assert Comment.objects.get(pk=new.pk).state == "approved"


def test_suspension_lasts_until_its_date(author_comments, moderator):
    author, _ = author_comments
    until = timezone.now() + timedelta(days=2)
    author_decide(author=author, action="suspend", actor=moderator, reason="harassment",
                  note="cooling off", until=until)
    assert arrive(author, "during", LOW).state == "hidden"
    AuthorStanding.objects.filter(author=author).update(
        suspended_until=timezone.now() - timedelta(seconds=1))
    assert arrive(author, "after", LOW).state == "pending"
    with pytest.raises(ModerationError, match="in the future"):
        author_decide(author=author, action="suspend", actor=moderator, reason="spam",
                      note="x", until=timezone.now() - timedelta(hours=1))


def test_trust_approves_only_what_is_under_every_threshold(author_comments, moderator):
    author, _ = author_comments
    author_decide(author=author, action="trust", actor=moderator, note="long-time reader")
    calm = arrive(author, "calm", LOW)
    assert calm.state == "approved"
    assert "trusted author" in Decision.objects.get(comment=calm).note
    angry = arrive(author, "angry", HIGH)
    assert (angry.state, angry.needs_review) == ("pending", True)  # reviewed as anyone's
    author_decide(author=author, action="untrust", actor=moderator, note="changed")
    assert arrive(author, "calm again", LOW).state == "pending"


def test_premoderation_sends_everything_to_review(author_comments, moderator):
    author, _ = author_comments
    author_decide(author=author, action="premoderate", actor=moderator, note="new account")
    new = arrive(author, "harmless", LOW)
    assert (new.state, new.needs_review) == ("pending", True)
    assert Decision.objects.get(comment=new).note == "the author is pre-moderated"
    with pytest.raises(ModerationError, match="stop pre-moderating first"):
        author_decide(author=author, action="trust", actor=moderator, note="x")
    author_decide(author=author, action="unpremoderate", actor=moderator, note="fine")
    assert arrive(author, "harmless too", LOW).needs_review is False


@pytest.mark.parametrize("action, fields, message", [
    ("ban", {"note": "x"}, "choose a reason"),
    ("ban", {"reason": "spam"}, "say why"),
    ("unban", {"note": "x"}, "is not banned"),
    ("untrust", {"note": "x"}, "is not trusted"),
    ("ban", {"reason": "nonsense", "note": "x"}, "unknown reason"),
    ("delete", {"note": "x"}, "unknown author action"),
])
def test_refusals_change_nothing(author_comments, moderator, action, fields, message):
    author, _ = author_comments
    with pytest.raises(ModerationError, match=message):
        author_decide(author=author, action=action, actor=moderator, **fields)
    assert not AuthorDecision.objects.exists()
    assert not Comment.objects.filter(state="hidden").exists()


def test_notes_are_added_and_withdrawn_and_the_log_is_append_only(author_comments, moderator):
    author, _ = author_comments
    note = author_decide(author=author, action="note", actor=moderator,
                         note="<b>posts</b> at 3am")
    author_decide(author=author, action="withdraw_note", actor=moderator, note="wrong author",
                  target_id=note.pk)
    with pytest.raises(ModerationError, match="withdrawn already"):
        author_decide(author=author, action="withdraw_note", actor=moderator, note="x",
                      target_id=note.pk)
    with pytest.raises(AppendOnlyError):
        note.save()
    with pytest.raises(AppendOnlyError):
        AuthorDecision.objects.all().delete()


def test_author_page_acts_and_cards_show_prior_counts(moderator_client, author_comments,
                                                      moderator):
    author, comments = author_comments
    comment_action_apply(comment=comments[0], action="hide", actor=moderator)
    url = reverse("moderation:author_act", args=[author.pk])
    response = moderator_client.post(url, {"action": "ban", "reason": "spam", "note": "bot"},
                                     follow=True)
    html = response.content.decode()
    assert "Banned author0" in html and "Hid 2 of their pending comments" in html
    assert "Lift ban" in html and "bot" in html
    refused = moderator_client.post(url, {"action": "ban", "reason": "spam", "note": "again"},
                                    follow=True).content.decode()
    assert "Nothing changed: author #" in refused and "is banned already" in refused
    queue = moderator_client.get(reverse("moderation:queue", args=["all"]),
                                 {"author": author.pk}).content.decode()
    assert "3 hidden" in queue and 'data-standing="banned"' in queue
    note = moderator_client.post(url, {"action": "note", "note": "<script>x</script>"},
                                 follow=True).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in note and "<script>x</script>" not in note
