"""Reads of the moderation log: a comment's history and a moderator's history."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from threads.models import Comment

from .models import Decision


def comment_history(*, comment: Comment | int) -> QuerySet[Decision]:
    """Every decision on one comment, newest first, with who made it."""
    comment_id = comment.pk if isinstance(comment, Comment) else comment
    return (
        Decision.objects.filter(comment_id=comment_id)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def moderator_history(*, user: AbstractBaseUser | int) -> QuerySet[Decision]:
    """Every decision one moderator made, newest first, with the comment and thread."""
    user_id = user if isinstance(user, int) else user.pk
    return (
        Decision.objects.filter(actor_id=user_id)
        .select_related("actor", "comment", "comment__thread")
        .order_by("-created_at", "-id")
    )
