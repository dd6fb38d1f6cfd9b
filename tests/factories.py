"""factory_boy factories shared by the test suite.

CommentFactory places each comment in its thread's reply tree: a top-level
comment gets the next top-level path segment, a reply (parent=...) the next
segment under its parent, so selectors that read `path` work on factory data.
(Trees deeper than threads.tree.FLAT_DEPTH need the importer.)
"""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory, Password

from threads.importers.base import content_hash
from threads.models import Author, Comment, Thread
from threads.tree import SEGMENT_WIDTH

TEST_PASSWORD = "correct-horse-battery-staple"


class ThreadFactory(DjangoModelFactory):
    class Meta:
        model = Thread

    source = "native"
    external_id = factory.Sequence(lambda n: f"thread-{n}")
    title = factory.Sequence(lambda n: f"Article {n}")
    url = factory.LazyAttribute(lambda o: f"https://news.example/{o.external_id}")


class AuthorFactory(DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ["identity"]

    identity = factory.Sequence(lambda n: f"{n:064x}")
    name = factory.Sequence(lambda n: f"reader{n}")


def _next_path(comment) -> str:
    if comment.parent is not None:
        prefix = comment.parent.path
        siblings = Comment.objects.filter(parent=comment.parent).count()
    else:
        prefix = ""
        siblings = Comment.objects.filter(thread=comment.thread, parent__isnull=True).count()
    return prefix + str(siblings).zfill(SEGMENT_WIDTH)


class CommentFactory(DjangoModelFactory):
    class Meta:
        model = Comment

    parent = None
    thread = factory.LazyAttribute(
        lambda o: o.parent.thread if o.parent is not None else ThreadFactory()
    )
    external_id = factory.Sequence(lambda n: f"c{n}")
    author = factory.SubFactory(AuthorFactory)
    author_name = factory.LazyAttribute(lambda o: o.author.name if o.author else "")
    body = factory.Sequence(lambda n: f"Comment number {n} about the article.")
    content_hash = factory.LazyAttribute(lambda o: content_hash(o.body))
    path = factory.LazyAttribute(_next_path)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent is not None else 0)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = Password(TEST_PASSWORD)


class StaffFactory(UserFactory):
    """Staff without moderation rights (can sign in to admin, nothing more)."""

    is_staff = True


class ModeratorFactory(UserFactory):
    """A moderator exactly as create_moderator makes one: staff, in Moderators."""

    username = factory.Sequence(lambda n: f"moderator{n}")
    is_staff = True

    @factory.post_generation
    def moderators_group(self, create, extracted, **kwargs):
        if create:
            from moderation.accounts import moderators_group_ensure

            self.groups.add(moderators_group_ensure())
