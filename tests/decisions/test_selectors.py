import pytest

from moderation.decisions import services
from moderation.decisions.selectors import comment_history, moderator_history
from tests.helpers import CommentFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


def test_comment_history_newest_first_with_actor_in_one_query(
    django_assert_num_queries, moderator
):
    comment, other = CommentFactory(), CommentFactory()
    first = services.comment_review_mark(comment=comment, needs_review=True,
                                         ml=services.MlContext())
    services.comment_action_apply(action="hide", comment=other, actor=moderator)
    second = services.comment_action_apply(action="flag", comment=comment, actor=moderator)
    with django_assert_num_queries(1):
        history = list(comment_history(comment=comment))
        names = [d.actor.username if d.actor else "system" for d in history]
    assert history == [second, first]
    assert names == [moderator.username, "system"]
    assert list(comment_history(comment=comment.pk)) == history


def test_moderator_history_is_one_moderators_decisions(django_assert_num_queries):
    alice, bob = ModeratorFactory(), ModeratorFactory()
    a1 = services.comment_action_apply(action="hide", comment=CommentFactory(), actor=alice)
    services.comment_action_apply(action="hide", comment=CommentFactory(), actor=bob)
    a2 = services.comment_action_apply(action="flag", comment=CommentFactory(), actor=alice)
    with django_assert_num_queries(1):
        history = list(moderator_history(user=alice))
        titles = [d.comment.thread.title for d in history]
    assert history == [a2, a1]
    assert len(titles) == 2
