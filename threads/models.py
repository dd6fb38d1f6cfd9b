"""The discussion domain: articles (threads), their commenters and reply trees.

`Comment.parent` is the truth about the tree. `path` and `depth` are derived
from it by `threads.tree.assign_paths` so that one indexed query renders a
whole thread in display order (`ORDER BY path`), a subtree is a path range and
the ancestors are path prefixes.
"""

from __future__ import annotations

from django.db import models


class Thread(models.Model):
    source = models.CharField(
        max_length=32, help_text="Where the thread came from: native, seed, disqus, wxr, ..."
    )
    external_id = models.CharField(max_length=255)
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    author_name = models.CharField(max_length=255, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    lead = models.TextField(blank=True)
    # What the last import of this thread warned about (a Reddit export missing
    # its "more" comments, ...), shown on the thread page; one warning a line.
    import_notes = models.TextField(blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="thread_unique_source_external_id"
            )
        ]
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"{self.source}:{self.external_id}"


class Author(models.Model):
    """A commenter, recognised across threads without storing who they are.

    `identity` is a salted hash of the e-mail address when the source gives
    one, else of the source and its id for the commenter (the API), else of
    the source and display name. No e-mail or IP is ever stored.
    """

    identity = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or f"author #{self.pk}"


class Comment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        FLAGGED = "flagged", "Flagged"
        HIDDEN = "hidden", "Hidden"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    external_id = models.CharField(max_length=255)
    author = models.ForeignKey(
        Author, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    author_name = models.CharField(max_length=255, blank=True)
    # Plain text: what the classifier reads and the dashboard shows (escaped).
    body = models.TextField(blank=True)
    # The source's own markup when it sent HTML (Disqus, WXR); never rendered.
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    path = models.CharField(max_length=420)
    depth = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    # What the source system said about the comment (spam, trash, deleted, ...).
    source_state = models.CharField(max_length=32, blank=True)
    # Bumped on every change a moderator should know about (optimistic locking).
    version = models.PositiveIntegerField(default=1)
    # Top label score over all labels of the active model, for queue sorting.
    toxicity = models.FloatField(null=True, blank=True)
    toxicity_label = models.CharField(max_length=32, blank=True)
    # Set by the scoring policy when a score crosses a review threshold.
    needs_review = models.BooleanField(default=False)
    # The body's language (ISO 639 code), detected where the comment is scored:
    # NULL until then (and again after the text changes), "" when the text is too
    # short or mixed to tell (moderation/scoring/language.py).
    language = models.CharField(max_length=8, null=True, blank=True)  # noqa: DJ001
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "external_id"], name="comment_unique_thread_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["thread", "path"], name="comment_thread_path"),
            # The dashboard's queues (moderation/queue.py) walk these in keyset
            # order: (sort value, id), forwards or backwards, LIMIT page size.
            # "Needs review" is a small slice of pending: partial indexes.
            models.Index(
                fields=["toxicity", "id"], name="comment_review_toxicity",
                condition=models.Q(state="pending", needs_review=True),
            ),
            models.Index(
                fields=["created_at", "id"], name="comment_review_created",
                condition=models.Q(state="pending", needs_review=True),
            ),
            # The flagged / hidden / approved tabs.
            models.Index(fields=["state", "toxicity", "id"], name="comment_state_toxicity"),
            models.Index(fields=["state", "created_at", "id"], name="comment_state_created"),
            # The "all" tab.
            models.Index(fields=["toxicity", "id"], name="comment_toxicity"),
            models.Index(fields=["created_at", "id"], name="comment_created"),
            models.Index(fields=["author", "created_at"], name="comment_author_created"),
            # The threads table (/threads/): each thread's needs-review count and
            # newest comment, one index probe per thread.
            models.Index(
                fields=["thread"], name="comment_review_thread",
                condition=models.Q(state="pending", needs_review=True),
            ),
            models.Index(fields=["thread", "created_at"], name="comment_thread_created"),
            # The score-band histogram of the review queue for one label.
            models.Index(
                fields=["toxicity_label", "toxicity"], name="comment_review_label_score",
                condition=models.Q(state="pending", needs_review=True),
            ),
            # The queue's "language not supported by the model" count and filter:
            # without it every queue page read the heap row of each waiting comment.
            models.Index(
                fields=["language"], name="comment_review_language",
                condition=models.Q(state="pending", needs_review=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.body[:60]}"
