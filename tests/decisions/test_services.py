"""The decision services: every transition, stale versions, humans over machines."""

from __future__ import annotations

import itertools

import pytest

from moderation.decisions import services
from moderation.decisions.services import (
    IllegalTransition,
    MlContext,
    ModerationError,
    StaleDecision,
)
from moderation.models import Action, Decision, ToxicityScore
from tests.helpers import CommentFactory, ModeratorFactory
from threads.models import Comment

pytestmark = pytest.mark.django_db

State = Comment.State
ACT = (Action.APPROVE, Action.FLAG, Action.HIDE, Action.RESTORE)
# Written out independently of services.TRANSITIONS so a change there is caught.
LEGAL = {
    (Action.APPROVE, State.PENDING): State.APPROVED,
    (Action.APPROVE, State.FLAGGED): State.APPROVED,
    (Action.FLAG, State.PENDING): State.FLAGGED,
    (Action.FLAG, State.APPROVED): State.FLAGGED,
    (Action.HIDE, State.PENDING): State.HIDDEN,
    (Action.HIDE, State.FLAGGED): State.HIDDEN,
    (Action.HIDE, State.APPROVED): State.HIDDEN,
    (Action.RESTORE, State.HIDDEN): State.APPROVED,
}
ALL_PAIRS = list(itertools.product(ACT, State.values))


def in_state(state: str, **kwargs) -> Comment:
    comment = CommentFactory(**kwargs)
    Comment.objects.filter(pk=comment.pk).update(state=state)
    comment.refresh_from_db()
    return comment


@pytest.mark.parametrize(("action", "from_state"), [p for p in ALL_PAIRS if p in LEGAL])
def test_legal_transition_changes_state_bumps_version_and_logs(action, from_state, moderator):
    comment = in_state(from_state)
    decision = services.comment_action_apply(comment=comment, action=action, actor=moderator,
                                             reason="spam", note="see report", expected_version=1)
    stored = Comment.objects.get(pk=comment.pk)
    assert stored.state == LEGAL[action, from_state]
    assert stored.version == 2
    assert list(Decision.objects.all()) == [decision]
    assert (decision.action, decision.from_state, decision.to_state) == (
        action, from_state, LEGAL[action, from_state]
    )
    assert decision.actor == moderator
    assert (decision.reason, decision.note) == ("spam", "see report")
    assert decision.comment_version == 1
    assert decision.content_hash == comment.content_hash
    # The caller's own instance shows the new state too.
    assert (comment.state, comment.version) == (stored.state, 2)


@pytest.mark.parametrize(("action", "from_state"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_raises_and_writes_nothing(action, from_state, moderator):
    comment = in_state(from_state)
    with pytest.raises(IllegalTransition, match=f"cannot {action} comment #{comment.pk}"):
        services.comment_action_apply(comment=comment, action=action, actor=moderator,
                                      expected_version=1)
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.state, stored.version) == (from_state, 1)
    assert not Decision.objects.exists()


def test_transition_table_matches_the_documented_one():
    table = {(a, s): t for a, by_state in services.TRANSITIONS.items() for s, t in by_state.items()}
    assert table == LEGAL


def test_stale_version_is_refused_with_who_what_when(comment):
    alice = ModeratorFactory(username="alice")
    bob = ModeratorFactory(username="bob")
    services.comment_action_apply(action="hide", comment=comment, actor=alice, reason="spam",
                                  expected_version=1)
    with pytest.raises(StaleDecision) as caught:
        services.comment_action_apply(action="approve", comment=comment, actor=bob,
                                      expected_version=1)
    message = str(caught.value)
    assert "version 1, now 2" in message
    assert "alice hide it (pending -> hidden)" in message
    assert caught.value.last.actor == alice
    assert Decision.objects.count() == 1
    assert Comment.objects.get(pk=comment.pk).state == State.HIDDEN


def test_stale_after_reimport_says_the_text_changed(comment, moderator):
    Comment.objects.filter(pk=comment.pk).update(version=2, body="edited", content_hash="x")
    with pytest.raises(StaleDecision, match="its text changed"):
        services.comment_action_apply(action="hide", comment=comment, actor=moderator,
                                      expected_version=1)
    assert not Decision.objects.exists()


def test_no_expected_version_means_no_check(comment, moderator):
    services.comment_action_apply(action="flag", comment=comment, actor=moderator)
    services.comment_action_apply(action="hide", comment=comment.pk, actor=moderator)
    assert Comment.objects.get(pk=comment.pk).version == 3


def test_unknown_reason_and_action_are_refused(comment, moderator):
    with pytest.raises(ModerationError, match="unknown reason 'rude'; use one of: spam"):
        services.comment_action_apply(action="hide", comment=comment, actor=moderator,
                                      reason="rude")
    with pytest.raises(ModerationError, match="unknown action 'delete'"):
        services.comment_action_apply(comment=comment, action="delete", actor=moderator)
    assert not Decision.objects.exists()


def test_ml_context_is_recorded_from_the_current_score(comment, moderator):
    ToxicityScore.objects.create(comment=comment, model_key="detoxify:original:abc",
                                 content_hash=comment.content_hash, scores={"insult": 0.91},
                                 top_label="insult", top_score=0.91)
    decision = services.comment_action_apply(action="hide", comment=comment, actor=moderator)
    assert (decision.top_label, decision.top_score, decision.model_key) == (
        "insult", 0.91, "detoxify:original:abc"
    )
    explicit = MlContext(top_label="threat", top_score=0.7, model_key="m", threshold=0.5)
    decision = services.comment_action_apply(action="restore", comment=comment, actor=moderator,
                                             ml=explicit)
    assert (decision.top_label, decision.threshold) == ("threat", 0.5)


def test_score_of_older_text_is_not_recorded(comment, moderator):
    ToxicityScore.objects.create(comment=comment, model_key="m", content_hash="old-text",
                                 scores={"insult": 0.9}, top_label="insult", top_score=0.9)
    decision = services.comment_action_apply(action="hide", comment=comment, actor=moderator)
    assert decision.top_label == "" and decision.top_score is None


def test_machine_never_overrides_a_human_on_the_same_text(comment, moderator):
    services.comment_action_apply(action="approve", comment=comment, actor=moderator)
    assert services.comment_action_apply(action="hide", comment=comment, actor=None,
                                         reason="spam") is None
    assert services.comment_review_mark(comment=comment, needs_review=True, ml=MlContext()) is None
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.state, stored.version) == (State.APPROVED, 2)
    assert Decision.objects.count() == 1


def test_machine_may_act_again_once_the_text_changed(comment, moderator):
    services.comment_action_apply(action="approve", comment=comment, actor=moderator)
    Comment.objects.filter(pk=comment.pk).update(content_hash="new text", version=3)
    decision = services.comment_action_apply(action="flag", comment=comment, actor=None,
                                             reason="spam")
    assert decision is not None and decision.is_automatic
    assert Comment.objects.get(pk=comment.pk).state == State.FLAGGED


def test_review_mark_queues_and_unqueues_pending_comments(comment):
    ml = MlContext(top_label="toxicity", top_score=0.8, model_key="m", threshold=0.6)
    queued = services.comment_review_mark(comment=comment, needs_review=True, ml=ml)
    assert queued.action == Action.QUEUE and queued.threshold == 0.6
    assert comment.needs_review is True and comment.version == 2
    assert services.comment_review_mark(comment=comment, needs_review=True, ml=ml) is None
    unqueued = services.comment_review_mark(comment=comment.pk, needs_review=False, ml=ml)
    assert unqueued.action == Action.UNQUEUE
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.needs_review, stored.state, stored.version) == (False, State.PENDING, 3)


def test_review_mark_leaves_decided_comments_alone(moderator):
    comment = in_state(State.FLAGGED)
    assert services.comment_review_mark(comment=comment, needs_review=True,
                                        ml=MlContext()) is None
    assert not Decision.objects.exists()


def test_branch_hide_hides_the_subtree_one_decision_each(moderator):
    root = CommentFactory()
    reply = CommentFactory(parent=root)
    already_hidden = CommentFactory(parent=reply)
    Comment.objects.filter(pk=already_hidden.pk).update(state=State.HIDDEN)
    deep = CommentFactory(parent=already_hidden)
    sibling = CommentFactory(thread=root.thread)  # another top-level comment
    decisions = services.comment_branch_hide(comment=root, actor=moderator, reason="threat",
                                             expected_version=1)
    assert [d.comment_id for d in decisions] == [root.pk, reply.pk, deep.pk]
    assert {d.reason for d in decisions} == {"threat"}
    states = dict(Comment.objects.values_list("pk", "state"))
    assert states[sibling.pk] == State.PENDING
    assert {states[c.pk] for c in (root, reply, already_hidden, deep)} == {State.HIDDEN}


def test_branch_hide_stale_root_writes_nothing(moderator):
    root = CommentFactory()
    CommentFactory(parent=root)
    Comment.objects.filter(pk=root.pk).update(version=5)
    with pytest.raises(StaleDecision):
        services.comment_branch_hide(comment=root, actor=moderator, expected_version=1)
    assert set(Comment.objects.values_list("state", flat=True)) == {State.PENDING}
    assert not Decision.objects.exists()


def test_system_branch_hide_skips_replies_a_human_decided(moderator):
    root = CommentFactory()
    approved = CommentFactory(parent=root)
    services.comment_action_apply(action="approve", comment=approved, actor=moderator)
    decisions = services.comment_branch_hide(comment=root, actor=None)
    assert [d.comment_id for d in decisions] == [root.pk]
    assert Comment.objects.get(pk=approved.pk).state == State.APPROVED


def test_bulk_acts_on_each_and_reports_each_refusal(moderator):
    ok, illegal, stale = CommentFactory(), in_state(State.HIDDEN), CommentFactory()
    Comment.objects.filter(pk=stale.pk).update(version=4)
    result = services.comments_bulk_action_apply(
        comment_ids=[ok.pk, illegal.pk, stale.pk, 999_999], action=Action.FLAG,
        actor=moderator, reason="off-topic", expected_versions={stale.pk: 1},
    )
    assert [d.comment_id for d in result.decisions] == [ok.pk]
    refusals = [str(r) for r in result.refused]
    assert len(refusals) == 3
    assert f"cannot flag comment #{illegal.pk}" in refusals[0]
    assert f"comment #{stale.pk} changed since you saw it" in refusals[1]
    assert refusals[2] == "comment #999999 does not exist"
    assert Decision.objects.count() == 1


def test_undo_reverses_with_a_new_decision(comment, moderator):
    hide = services.comment_action_apply(action="hide", comment=comment, actor=moderator)
    undo = services.comment_undo(decision=hide, actor=moderator)
    assert (undo.action, undo.from_state, undo.to_state) == (Action.UNDO, "hidden", "pending")
    assert undo.note == f"undo of decision #{hide.pk}"
    assert Comment.objects.get(pk=comment.pk).state == State.PENDING
    assert Decision.objects.count() == 2  # the hide is still there


def test_undo_after_someone_else_acted_is_stale(comment):
    alice, bob = ModeratorFactory(username="alice"), ModeratorFactory(username="bob")
    flag = services.comment_action_apply(action="flag", comment=comment, actor=alice)
    services.comment_action_apply(action="hide", comment=comment, actor=bob)
    with pytest.raises(StaleDecision, match="bob hide it"):
        services.comment_undo(decision=flag, actor=alice)
    assert Comment.objects.get(pk=comment.pk).state == State.HIDDEN


def test_queue_bookkeeping_cannot_be_undone(comment, moderator):
    queued = services.comment_review_mark(comment=comment, needs_review=True, ml=MlContext())
    with pytest.raises(ModerationError, match="cannot be undone"):
        services.comment_undo(decision=queued, actor=moderator)
    assert Decision.objects.count() == 1
