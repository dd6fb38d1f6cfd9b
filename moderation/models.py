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
    # System-only: the comment came hidden from its source (deleted, removed, spam there).
    ARRIVED_HIDDEN = "arrived_hidden", "Arrived hidden from the source"

    # System-only: the site told us (API) that the comment's author deleted it.
    AUTHOR_DELETE = "author_delete", "Deleted by its author"


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


# --- Policy (issue 14): rules per source and thread, watched words, their audit ----------


class PolicyRule(models.Model):
    """One label's threshold and automatic actions for a source, or for one thread.

    The most specific rule wins, as a whole: a thread's rule, else its
    source's, else the label table's defaults (moderation/scoring/labels.py).
    Written only through moderation.policy.services (which audits every
    change); read at scoring time by moderation.scoring.rules.
    """

    source = models.CharField(max_length=32, help_text="Thread.source this rule applies to.")
    thread = models.ForeignKey(
        "threads.Thread", on_delete=models.CASCADE, null=True,
        blank=True, related_name="policy_rules",
        help_text="Only this thread (of that source); empty: every thread of the source.",
    )
    label = models.CharField(max_length=32)
    review_threshold = models.FloatField(help_text="A score at or over this enters the queue.")
    autohide_threshold = models.FloatField(
        null=True, blank=True, help_text="A score at or over this hides with no human; empty: off.",
    )
    autoapprove_below = models.FloatField(
        null=True, blank=True,
        help_text="Under this (and nothing else asking for review) approves; empty: off.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "label"], condition=models.Q(thread=None),
                                    name="policyrule_unique_source_label"),
            models.UniqueConstraint(fields=["thread", "label"],
                                    condition=models.Q(thread__isnull=False),
                                    name="policyrule_unique_thread_label"),
        ]
        ordering = ["source", "thread_id", "label"]
        permissions = [("manage_policy", "Can change the moderation policy")]

    def __str__(self) -> str:
        scope = f"thread #{self.thread_id}" if self.thread_id else f"source {self.source}"
        return f"{self.label} on {scope}: review at {self.review_threshold:g}"


class WatchedWordList(models.Model):
    """Banned or suspect words (one per line) for one source, or for every source ("")."""

    class Kind(models.TextChoices):
        BANNED = "banned", "Banned"
        SUSPECT = "suspect", "Suspect"

    name = models.CharField(max_length=100)
    source = models.CharField(max_length=32, blank=True,
                              help_text="Thread.source; empty: every source.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    words = models.TextField(blank=True, help_text="One word or phrase per line.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().lower()}, {self.source or 'every source'})"

    @property
    def word_list(self) -> list[str]:
        return [line.strip() for line in self.words.splitlines() if line.strip()]


class WatchedWordHit(models.Model):
    """Which watched word of which list a system decision was taken for."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="word_hits")
    word_list = models.ForeignKey(WatchedWordList, on_delete=models.SET_NULL, null=True,
                                  related_name="hits")
    # Copied, so the record stands when the list is edited or deleted.
    list_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=WatchedWordList.Kind.choices)
    word = models.CharField(max_length=100)
    matched_text = models.CharField(max_length=200, help_text="What the comment said.")

    def __str__(self) -> str:
        return f"{self.kind} word {self.word!r} ({self.list_name}) in decision #{self.decision_id}"


class PolicyChange(models.Model):
    """Audit row of a policy change: who, when, what it was before and after."""

    class Kind(models.TextChoices):
        RULE = "rule", "Rule"
        WORDS = "words", "Watched words"
        REAPPLY = "reapply", "Re-applied to pending"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="policy_changes")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor or 'system'}: {self.summary}"

# --- Decisions feed, webhooks, reader reports, Perspective labels (issue 15: events) -------


class EventType(models.TextChoices):
    """What an event in the decisions feed (and a webhook) says happened; docs/api.md."""

    STATE_CHANGED = "comment.state_changed", "Comment state changed"
    QUEUED = "comment.queued", "Comment entered the review queue"
    UNQUEUED = "comment.unqueued", "Comment left the review queue"
    IMPORTED = "comment.imported", "Comment imported or ingested"
    EDITED = "comment.edited", "Comment text changed"
    REPORT_RECEIVED = "report.received", "Reader report received"


class Event(models.Model):
    """One row of the outbox: written in the transaction that made the change.

    `position` is the feed's order. It is not the id: ids are handed out when
    a row is inserted, but transactions commit in another order, so a reader
    that followed ids could pass an id whose transaction had not committed
    yet and never see it. A position is given only to committed rows, by
    `events_sequence` (one sequencer at a time, under the EventSequencer row
    lock), always above every position given before: a consumer that stores
    the last position it read never misses an event.
    """

    position = models.BigIntegerField(null=True, blank=True, unique=True)
    type = models.CharField(max_length=32, choices=EventType.choices)
    comment = models.ForeignKey(Comment, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    # What the event says, as it was at that moment (docs/api.md "Decisions feed").
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sequenced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="event_unsequenced",
                         condition=models.Q(position__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"event #{self.pk} @{self.position}: {self.type}"


class EventSequencer(models.Model):
    """One row (pk=1): the last feed position given; its row lock serialises sequencers."""

    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"events sequenced up to {self.last_position}"


class WebhookSubscription(models.Model):
    """A receiver of signed event deliveries (Standard Webhooks), managed in admin."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(
        default=list, help_text="Event types to deliver (comment.state_changed, ...).")
    # whsec_ + base64 of 32 random bytes; kept readable: it signs every delivery.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # The feed position up to which deliveries were created for this subscription.
    cursor = models.BigIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event for one subscription: tried until it succeeds or its attempts run out."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (attempts exhausted)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"],
                                    name="webhook_delivery_unique_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=models.Q(state="pending")),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event.type} #{self.event_id} -> {self.subscription.name}: {self.state}"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP request made."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The start of the receiver's answer, for the log (never rendered as HTML).
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.started_at:%Y-%m-%d %H:%M:%S}: {self.status or self.error}"


class CommentReport(models.Model):
    """A reader reported a comment. One per reporter per comment.

    `reporter` is a salted hash of the site's opaque reporter id: enough to
    refuse a second report, nothing that names the reader.
    """

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.CharField(max_length=64)
    reason = models.CharField(max_length=32, choices=ReasonCode.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"],
                                    name="report_unique_reporter"),
        ]

    def __str__(self) -> str:
        return f"report on #{self.comment_id}: {self.reason}"


class CommentReportSummary(models.Model):
    """Reports per comment, kept by the report service: what the Reported tab sorts by."""

    comment = models.OneToOneField(Comment, on_delete=models.CASCADE, primary_key=True,
                                   related_name="report_summary")
    count = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=dict, help_text="reason -> count")
    last_reported_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["count", "comment"], name="report_summary_count")]

    def __str__(self) -> str:
        return f"#{self.comment_id}: {self.count} report(s)"


class ModeratorLabel(models.Model):
    """A moderator's verdict that an integration sent back (Perspective `suggestscore`).

    Kept with the model's own score for the same text, for calibrating
    thresholds; the text itself is not stored, only its hash.
    """

    attribute = models.CharField(max_length=32)
    label = models.CharField(max_length=32, help_text="The model label serving the attribute.")
    value = models.FloatField(help_text="The moderator's verdict, 0..1.")
    model_key = models.CharField(max_length=200)
    model_score = models.FloatField()
    content_hash = models.CharField(max_length=64)
    community_id = models.CharField(max_length=200, blank=True)
    client_token = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["label", "created_at"], name="modlabel_label_created")]

    def __str__(self) -> str:
        return f"{self.attribute}={self.value} (model {self.model_score:.3f})"

# --- API (issue 15): keys for the integrations, and each source's moderation mode ---------


class ApiScope(models.TextChoices):
    """What an API key may do; docs/api.md lists the endpoints of each."""

    INGEST = "ingest", "Ingest: send, edit and delete comments"
    READ = "read", "Read: comments, threads, decisions"
    MODERATE = "moderate", "Moderate: act on comments"
    ANALYZE = "analyze", "Analyze: score text (Perspective-compatible)"


class ApiKey(models.Model):
    """One integration's key. Only a SHA-256 of the key is stored; the key is shown once.

    Keys are 256 random bits, so a fast hash is as safe as a slow one here
    and costs nothing per request. `actor` is whom the key's moderation
    decisions are recorded as (a service account unless given).
    """

    name = models.CharField(max_length=100, unique=True)
    # The key's first characters, to recognise it in admin and logs.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text="Any of: ingest, read, moderate, analyze.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="api_keys",
        help_text="Decisions made with this key are recorded as this user.",
    )
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Requests per minute; empty: the API_RATE_LIMIT setting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IngestSource(models.Model):
    """How comments of one source (the `source` of their thread) are published on the site.

    Post-moderation (the default for a source without a row): a comment is
    visible unless hidden. Pre-moderation: a new comment is not visible until
    a moderator approves it.
    """

    class Moderation(models.TextChoices):
        POST = "post", "Post-moderation: visible unless hidden"
        PRE = "pre", "Pre-moderation: visible once approved"

    source = models.CharField(max_length=32, unique=True)
    moderation = models.CharField(max_length=4, choices=Moderation.choices,
                                  default=Moderation.POST)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source}: {self.get_moderation_display()}"

# --- Why this score (issue 12 part 5): cached occlusion explanations --------------------


class ScoreExplanation(models.Model):
    """Which words drove a model's score on a text: `moderation.scoring.explain`'s cache.

    Keyed by the text's content hash, not by comment: identical texts share one
    row, and an edited text or a new model is a new key. `label` is the label
    asked for, "" for "the text's top label". `data` holds the label explained,
    its score and the spans (start, end, word, effect).
    """

    model_key = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=32, blank=True)
    algorithm = models.CharField(max_length=32)
    max_spans = models.PositiveIntegerField()
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_key", "content_hash", "label", "algorithm", "max_spans"],
                name="explanation_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_key}: why {self.label or 'top label'} ({self.content_hash[:12]})"

# --- The moderator's shift (issue 13): each moderator's dashboard preferences ---------


class ModeratorPreferences(models.Model):
    """How one moderator's dashboard looks: queue density and time zone (one row each)."""

    class Density(models.TextChoices):
        CARDS = "cards", "Cards"
        COMPACT = "compact", "Compact list"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="moderation_preferences")
    density = models.CharField(max_length=16, choices=Density.choices, default=Density.CARDS)
    # An IANA zone name ("Europe/Berlin"); empty: DASHBOARD_TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.density}, {self.time_zone or 'default zone'})"
