"""Moderation records: model scores and the append-only decision log."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from threads.models import Comment


class ReasonCode(models.TextChoices):
    """Why a comment was acted on; documented in docs/moderation.md."""

    SPAM = "spam", "Spam"
    HARASSMENT = "harassment", "Harassment"
    HATE = "hate", "Hate"
    THREAT = "threat", "Threat"
    SEXUAL = "sexual", "Sexual content"
    SELF_HARM = "self-harm", "Self-harm"
    PERSONAL_INFO = "personal-info", "Personal information"
    OFF_TOPIC = "off-topic", "Off-topic"
    MISINFORMATION = "misinformation", "Misinformation"
    OTHER = "other", "Other"


class Action(models.TextChoices):
    APPROVE = "approve", "Approve"
    FLAG = "flag", "Flag"
    HIDE = "hide", "Hide"
    RESTORE = "restore", "Restore"
    # System-only: a score crossed (or fell back under) a review threshold.
    QUEUE = "queue", "Entered review queue"
    UNQUEUE = "unqueue", "Left review queue"
    UNDO = "undo", "Undo"


class ToxicityScore(models.Model):
    """One model's scores for one comment, for the content it actually read."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="scores")
    # backend + model + weights checksum: a re-trained model is a new key.
    model_key = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    scores = models.JSONField(help_text="label -> probability")
    top_label = models.CharField(max_length=32)
    top_score = models.FloatField()
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "model_key"], name="score_unique_comment_model"
            )
        ]
        indexes = [models.Index(fields=["model_key", "content_hash"], name="score_model_hash")]

    def __str__(self) -> str:
        return f"{self.model_key}: {self.top_label}={self.top_score:.3f}"


class AppendOnlyError(Exception):
    """Decisions are an audit log: they are never changed or removed."""


class DecisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Decision rows cannot be updated")

    def delete(self):
        raise AppendOnlyError("Decision rows cannot be deleted")


class Decision(models.Model):
    """Append-only audit row: who did what to which comment version, and why.

    Rows are never updated or deleted (refused here, in admin, and by a
    database trigger on PostgreSQL).
    """

    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="decisions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="moderation_decisions",
        help_text="Empty for the system (scoring policy, importer).",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    from_state = models.CharField(max_length=16, choices=Comment.State.choices)
    to_state = models.CharField(max_length=16, choices=Comment.State.choices)
    reason = models.CharField(max_length=32, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    comment_version = models.PositiveIntegerField(help_text="The version acted on.")
    # The text decided on: a machine never overrides a human on the same text.
    content_hash = models.CharField(max_length=64, blank=True)
    # The machine's view at that moment.
    top_label = models.CharField(max_length=32, blank=True)
    top_score = models.FloatField(null=True, blank=True)
    model_key = models.CharField(max_length=200, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    # Set when a background branch job wrote it: "restore branch" undoes exactly these.
    branch_job = models.ForeignKey(
        "BranchHideJob", on_delete=models.PROTECT, null=True, blank=True,
        related_name="decisions",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["comment", "created_at"], name="decision_comment_created"),
            models.Index(fields=["actor", "created_at"], name="decision_actor_created"),
        ]
        permissions = [("moderate_comment", "Can moderate comments")]

    def __str__(self) -> str:
        who = self.actor or "system"
        return f"{who} {self.action} #{self.comment_id} {self.from_state}->{self.to_state}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Decision rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Decision rows cannot be deleted")

    @property
    def is_automatic(self) -> bool:
        return self.actor_id is None


class ActiveModel(models.Model):
    """The detoxify checkpoint `install_model` made active (one row, pk=1).

    In the database so every worker on every machine agrees on the model key;
    the files themselves must exist at these paths on each scoring machine.
    The DETOXIFY_CHECKPOINT setting, where set, overrides this row.
    """

    model_type = models.CharField(max_length=32)
    checkpoint = models.CharField(max_length=1000)
    hf_config = models.CharField(max_length=1000)
    checksum = models.CharField(max_length=64, help_text="sha256 of the installed checkpoint")
    installed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"detoxify {self.model_type} {self.checksum[:12]} ({self.checkpoint})"


class BranchHideJob(models.Model):
    """A branch hide too large for one request, or the undo of one, done in chunks by a worker.

    The progress (`last_path`, `done`, `changed`) is written in the same
    transaction as each chunk's decisions, so a worker that dies loses at most
    the chunk it was writing, and whoever runs the job next (a redelivered
    message, or the sweep) continues after `last_path`.
    """

    class Kind(models.TextChoices):
        HIDE = "hide", "Hide branch"
        UNDO = "undo", "Undo branch hide"
        # A fixed set of comments (a score band, an author's pending comments):
        # `items` holds each one's id and the version the moderator's count saw.
        BATCH = "batch", "Batch action"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HIDE)
    # Empty for a batch (and the undo of one): it has no one comment at its root.
    root = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="branch_jobs",
                             null=True, blank=True)
    # For an undo job: the hide job whose decisions it reverses.
    undoes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="undone_by",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="branch_hide_jobs",
    )
    reason = models.CharField(max_length=32, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    # Comments to walk: the branch's size when the job started (hide), or the
    # number of decisions to reverse (undo).
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Comments walked so far.")
    changed = models.PositiveIntegerField(
        default=0, help_text="Comments hidden (hide) or put back (undo) so far."
    )
    last_path = models.CharField(max_length=420, blank=True,
                                 help_text="The last comment path processed; resumes after it.")
    error = models.TextField(blank=True)
    # Batch jobs: the action (approve / hide), [[comment id, version seen], ...]
    # in id order, what was selected (shown with the progress), and for the
    # undo of a batch the last decision id reversed.
    action = models.CharField(max_length=16, blank=True)
    items = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=300, blank=True)
    last_id = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "updated_at"], name="branchjob_state_updated")]

    def __str__(self) -> str:
        return f"branch {self.kind} job #{self.pk} of comment #{self.root_id}: {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def is_batch(self) -> bool:
        """A batch, or the undo of one (neither has a root comment)."""
        return self.kind == self.Kind.BATCH or (
            self.kind == self.Kind.UNDO and self.root_id is None)


# --- Authors: standing (ban, suspension, trust, pre-moderation) and private notes ---
# (feature "queuefeat": moderation/decisions/authors.py, moderation/scoring/authors.py)


class AuthorAction(models.TextChoices):
    BAN = "ban", "Ban"
    UNBAN = "unban", "Lift ban"
    SUSPEND = "suspend", "Suspend"
    UNSUSPEND = "unsuspend", "Lift suspension"
    TRUST = "trust", "Trust"
    UNTRUST = "untrust", "Stop trusting"
    PREMODERATE = "premoderate", "Pre-moderate"
    UNPREMODERATE = "unpremoderate", "Stop pre-moderating"
    NOTE = "note", "Note"
    WITHDRAW_NOTE = "withdraw_note", "Withdraw note"


class AuthorStanding(models.Model):
    """What applies to an author's comments as they arrive (read by the scoring policy).

    Only `moderation.decisions.authors` writes it, each change with an
    AuthorDecision in the same transaction.
    """

    author = models.OneToOneField("threads.Author", on_delete=models.CASCADE, primary_key=True,
                                  related_name="standing")
    banned = models.BooleanField(default=False)
    suspended_until = models.DateTimeField(null=True, blank=True)
    trusted = models.BooleanField(default=False)
    premoderated = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"standing of author #{self.author_id}"

    def suspended_at(self, moment) -> bool:
        return self.suspended_until is not None and self.suspended_until > moment


class AuthorDecisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("AuthorDecision rows cannot be updated")

    def delete(self):
        raise AppendOnlyError("AuthorDecision rows cannot be deleted")


class AuthorDecision(models.Model):
    """Append-only audit row of a decision about an author (or a private note on them)."""

    author = models.ForeignKey("threads.Author", on_delete=models.PROTECT,
                               related_name="moderation_decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="author_decisions")
    action = models.CharField(max_length=16, choices=AuthorAction.choices)
    reason = models.CharField(max_length=32, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    # A suspension's end.
    until = models.DateTimeField(null=True, blank=True)
    # A ban's hide of the author's pending comments (its progress and its undo).
    job = models.ForeignKey(BranchHideJob, on_delete=models.PROTECT, null=True, blank=True,
                            related_name="author_decisions")
    # The note a withdrawal takes back.
    target = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="withdrawals")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuthorDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["author", "created_at"], name="authordecision_author")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} author #{self.author_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("AuthorDecision rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("AuthorDecision rows cannot be deleted")
