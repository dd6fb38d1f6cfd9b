"""Django admin as a working surface for moderators and site admins.

Every state change here goes through moderation.decisions.services (the same
code path as the dashboard, the API and the scoring policy). Decisions and scores are
read-only; list pages run a fixed number of queries whatever the page size.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.text import Truncator

from threads.models import Comment, Thread

from .api.keys import ApiKeyError, api_key_create, api_key_revoke
from .dashboard.queue import with_body_preview
from .decisions.accounts import MODERATE_PERMISSION
from .decisions.services import comments_bulk_action_apply
from .models import (
    Action,
    ApiKey,
    ApiScope,
    Decision,
    IngestSource,
    PolicyChange,
    PolicyRule,
    ReasonCode,
    ToxicityScore,
    WatchedWordList,
)
from .policy import services as policy_services
from .policy.permissions import MANAGE_POLICY_PERMISSION
from .scoring.base import describe_model_key
from .scoring.labels import label_table
from .scoring.pipeline import scoring_publish_batches
from .scoring.rules import RuleSpec

# How many per-comment refusals to list before summarising the rest.
MAX_REFUSALS_SHOWN = 20
SEEN_VERSION_FIELD = "_seen_version_{}"

State = Comment.State


def _preview(text: str) -> str:
    """Plain text cut to COMMENT_PREVIEW_CHARS (escaped by admin; never marked safe)."""
    limit = settings.COMMENT_PREVIEW_CHARS
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut at {limit} characters; the dashboard shows all)"


class _CommentLabel:
    """What admin's action checkbox reads of a comment (pk, str) without its body."""

    def __init__(self, comment: Comment) -> None:
        self.pk = comment.pk
        self._text = f"{comment.external_id}: {comment.body_preview[:60]}"

    def __str__(self) -> str:
        return self._text


class ModeratePermissionMixin:
    """Actions marked permissions=["moderate"] need moderation.moderate_comment."""

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MODERATE_PERMISSION)


class ReadOnlyAdminMixin:
    """Audit data: viewable, never added, changed or deleted through admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Threads -----------------------------------------------------------------


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    # A typed URL without a scheme means https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "title_or_id", "source", "published_at", "total_count", "pending_count",
        "flagged_count", "hidden_count", "approved_count", "moderation_link",
    ]
    list_filter = ["source"]
    search_fields = ["title", "external_id", "author_name", "url"]
    date_hierarchy = "published_at"
    readonly_fields = ["imported_at", "updated_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a thread deletes its comments, which the append-only
        # decision log protects: the delete would fail, so it is not offered.
        return False

    def get_queryset(self, request):
        # One query for the page: the counts are annotations, not a query per row.
        by_state = {
            f"{state}_count": Count("comments", filter=Q(comments__state=state))
            for state in State.values
        }
        return super().get_queryset(request).annotate(total_count=Count("comments"), **by_state)

    @admin.display(description="Thread", ordering="title")
    def title_or_id(self, obj: Thread) -> str:
        return str(obj)

    @admin.display(description="Comments", ordering="total_count")
    def total_count(self, obj: Thread) -> int:
        return obj.total_count

    @admin.display(description="Pending", ordering="pending_count")
    def pending_count(self, obj: Thread) -> int:
        return obj.pending_count

    @admin.display(description="Flagged", ordering="flagged_count")
    def flagged_count(self, obj: Thread) -> int:
        return obj.flagged_count

    @admin.display(description="Hidden", ordering="hidden_count")
    def hidden_count(self, obj: Thread) -> int:
        return obj.hidden_count

    @admin.display(description="Approved", ordering="approved_count")
    def approved_count(self, obj: Thread) -> int:
        return obj.approved_count

    @admin.display(description="Moderate")
    def moderation_link(self, obj: Thread) -> str:
        comments = reverse("admin:threads_comment_changelist") + f"?thread__id__exact={obj.pk}"
        url = reverse("moderation:thread", kwargs={"thread_id": obj.pk})
        return format_html('<a href="{}">queue view</a> · <a href="{}">comments</a>',
                           url, comments)


# --- Comments ----------------------------------------------------------------


class ScoreBandFilter(admin.SimpleListFilter):
    """Score bands relative to each comment's top label's thresholds (the label table)."""

    title = "toxicity score"
    parameter_name = "score"
    BANDS = {
        "autohide": "at or over the auto-hide threshold",
        "review": "at or over the review threshold",
        "under": "under the review threshold",
        "unscored": "not scored",
    }

    def lookups(self, request, model_admin):
        return list(self.BANDS.items())

    def queryset(self, request, queryset):
        band = self.value()
        if band == "unscored":
            return queryset.filter(toxicity__isnull=True)
        if band not in self.BANDS:
            return queryset
        over = Q(pk__in=[])
        for label in label_table().values():
            threshold = (label.autohide_threshold if band == "autohide"
                         else label.review_threshold)
            if threshold is not None:
                over |= Q(toxicity_label=label.name, toxicity__gte=threshold)
        return queryset.filter(~over & Q(toxicity__isnull=False) if band == "under" else over)


class LabelFilter(admin.SimpleListFilter):
    title = "top label"
    parameter_name = "label"

    def lookups(self, request, model_admin):
        labels = (
            Comment.objects.exclude(toxicity_label="")
            .order_by("toxicity_label").values_list("toxicity_label", flat=True).distinct()
        )
        return [(label, label) for label in labels]

    def queryset(self, request, queryset):
        return queryset.filter(toxicity_label=self.value()) if self.value() else queryset


class ModerationActionForm(ActionForm):
    """The action bar: a reason and a note go into every Decision the action writes."""

    reason = forms.ChoiceField(
        choices=[("", "reason…"), *ReasonCode.choices], required=False
    )
    note = forms.CharField(required=False, max_length=1000,
                           widget=forms.TextInput(attrs={"placeholder": "note"}))


class DecisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "actor", "action", "from_state", "to_state", "reason", "note",
              "comment_version", "top_label", "top_score", "model_key", "threshold"]
    readonly_fields = fields
    verbose_name_plural = "Decision history (read-only)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


def _log_admin_actions(request: HttpRequest, decisions: list[Decision], done: str) -> None:
    """Admin's "Recent actions": one entry per comment an admin action changed."""
    if not decisions:
        return
    content_type = ContentType.objects.get_for_model(Comment)
    LogEntry.objects.bulk_create([
        LogEntry(
            user_id=request.user.pk, content_type=content_type, object_id=str(d.comment_id),
            object_repr=f"Comment #{d.comment_id}"[:200], action_flag=CHANGE,
            change_message=f"{done.capitalize()} ({d.from_state} → {d.to_state})"
                           + (f", reason: {d.reason}" if d.reason else "")
                           + f"; decision #{d.pk}",
        )
        for d in decisions
    ])


@admin.register(Comment)
class CommentAdmin(ModeratePermissionMixin, admin.ModelAdmin):
    # Narrow columns: at 1280 px every column, State and Score included, fits.
    list_display = ["excerpt", "thread_short", "author_short", "state", "top_score",
                    "created_short", "seen_version"]
    list_select_related = ["thread"]
    list_filter = ["state", "needs_review", "thread__source", LabelFilter, ScoreBandFilter]
    search_fields = ["body", "author_name", "author__name", "external_id"]
    raw_id_fields = ["thread", "parent", "author"]
    actions = ["approve", "flag", "hide", "restore", "rescore"]
    action_form = ModerationActionForm
    inlines = [DecisionInline]
    list_per_page = 50
    # State changes only through the actions (services); nothing is edited by hand.
    # The body and its source HTML as bounded previews (read cut in the
    # database): a 50 MB comment must not make a 50 MB admin page. The
    # dashboard's "show all" has the whole text.
    fields = ["thread", "parent", "external_id", "author", "author_name", "created_at",
              "state", "needs_review", "toxicity", "toxicity_label", "language", "version",
              "body_preview_shown", "body_html_preview_shown", "source_state", "content_hash",
              "path", "depth", "imported_at", "updated_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        # The model behind the shown score, in the same query (no query per row).
        latest = ToxicityScore.objects.filter(
            comment=OuterRef("pk"), content_hash=OuterRef("content_hash")
        ).order_by("-scored_at")
        return with_body_preview(super().get_queryset(request)).annotate(
            score_model=Subquery(latest.values("model_key")[:1]),
            body_html_preview=Substr("body_html", 1, settings.COMMENT_PREVIEW_CHARS + 1),
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # comments come from imports

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only form; the actions below change state

    def has_delete_permission(self, request, obj=None) -> bool:
        # A comment with decisions cannot be deleted (the audit log keeps it:
        # Decision.comment is PROTECT, and the log is append-only), so admin
        # offers no delete that would always fail; hide comments instead.
        return False

    @admin.display(description="Thread", ordering="thread__title")
    def thread_short(self, obj: Comment) -> str:
        return Truncator(str(obj.thread)).chars(40)

    @admin.display(description="Author", ordering="author_name")
    def author_short(self, obj: Comment) -> str:
        return Truncator(obj.author_name or "anonymous").chars(24)

    @admin.display(description="Posted", ordering="created_at")
    def created_short(self, obj: Comment) -> str:
        if obj.created_at is None:
            return "—"
        return date_format(timezone.localtime(obj.created_at), "j M Y, H:i T")

    def action_checkbox(self, obj: Comment):
        # Django labels the checkbox with str(obj); Comment.__str__ reads the
        # body, which this list leaves in the database: label it from the preview.
        return super().action_checkbox(_CommentLabel(obj))

    @admin.display(description="Comment")
    def excerpt(self, obj: Comment) -> str:
        # Plain text: the admin escapes it. Never mark comment bodies safe.
        return Truncator(" ".join(obj.body_preview.split())).chars(80) or "(empty)"

    @admin.display(description="Body")
    def body_preview_shown(self, obj: Comment) -> str:
        return _preview(obj.body_preview)

    @admin.display(description="Body html (source)")
    def body_html_preview_shown(self, obj: Comment) -> str:
        return _preview(obj.body_html_preview)

    @admin.display(description="Top score", ordering="toxicity")
    def top_score(self, obj: Comment) -> str:
        if obj.toxicity is None:
            return "—"
        # Every score shown names the model that made it.
        model = describe_model_key(getattr(obj, "score_model", None) or "")
        # The model on a line of its own, so the column stays narrow (issue 13).
        return format_html('{} {}<br><span class="quiet">({})</span>', obj.toxicity_label,
                           f"{obj.toxicity:.2f}", model)

    @admin.display(description="Version")
    def seen_version(self, obj: Comment) -> str:
        # The version this page showed travels with the action, so an action on
        # a comment someone else changed meanwhile is refused as stale.
        return format_html('{}<input type="hidden" name="{}" value="{}">',
                           obj.version, SEEN_VERSION_FIELD.format(obj.pk), obj.version)

    def _moderate(self, request: HttpRequest, queryset: QuerySet, action: str, done: str):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        expected: dict[int, int] = {}
        for pk in ids:
            raw = request.POST.get(SEEN_VERSION_FIELD.format(pk), "")
            if raw.isdigit():
                expected[pk] = int(raw)
        result = comments_bulk_action_apply(
            comment_ids=ids, action=action, actor=request.user,
            reason=request.POST.get("reason", ""), note=request.POST.get("note", ""),
            expected_versions=expected,
        )
        _log_admin_actions(request, result.decisions, done)
        if result.decisions:
            count = len(result.decisions)
            self.message_user(request, f"{count} comment{'s' * (count != 1)} {done}.",
                              messages.SUCCESS)
        for refusal in result.refused[:MAX_REFUSALS_SHOWN]:
            self.message_user(request, str(refusal), messages.WARNING)
        if len(result.refused) > MAX_REFUSALS_SHOWN:
            more = len(result.refused) - MAX_REFUSALS_SHOWN
            self.message_user(request, f"… and {more} more not {done}.", messages.WARNING)

    @admin.action(description="Approve selected comments", permissions=["moderate"])
    def approve(self, request, queryset):
        self._moderate(request, queryset, Action.APPROVE, "approved")

    @admin.action(description="Flag selected comments", permissions=["moderate"])
    def flag(self, request, queryset):
        self._moderate(request, queryset, Action.FLAG, "flagged")

    @admin.action(description="Hide selected comments", permissions=["moderate"])
    def hide(self, request, queryset):
        self._moderate(request, queryset, Action.HIDE, "hidden")

    @admin.action(description="Restore selected hidden comments", permissions=["moderate"])
    def restore(self, request, queryset):
        self._moderate(request, queryset, Action.RESTORE, "restored")

    @admin.action(description="Re-score selected comments", permissions=["moderate"])
    def rescore(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        # Sent now, not on commit: the action writes nothing, and the moderator
        # learns on this page whether the broker took the messages. An
        # unreachable or hung broker costs at most CELERY_BROKER_TIMEOUT.
        sent = scoring_publish_batches(ids, force=True)
        if sent == len(ids):
            self.message_user(request, f"{len(ids)} comments queued for re-scoring.",
                              messages.SUCCESS)
            return
        self.message_user(
            request,
            f"The task broker did not answer: {len(ids) - sent} of {len(ids)} comments were "
            "not queued for re-scoring. Try again once it is back (comments never scored "
            "are picked up by the periodic sweep anyway).",
            messages.WARNING,
        )


# --- Decisions and scores (read-only) -----------------------------------------


class AutomaticFilter(admin.SimpleListFilter):
    title = "made by"
    parameter_name = "by"

    def lookups(self, request, model_admin):
        return [("human", "a moderator"), ("system", "the system")]

    def queryset(self, request, queryset):
        if self.value() == "human":
            return queryset.filter(actor__isnull=False)
        if self.value() == "system":
            return queryset.filter(actor__isnull=True)
        return queryset


CSV_COLUMNS = ["id", "created_at", "actor", "action", "from_state", "to_state", "reason",
               "note", "comment_id", "comment_external_id", "thread", "comment_version",
               "content_hash", "top_label", "top_score", "model_key", "threshold"]


# What starts a formula in a spreadsheet cell (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A formula start right after something a spreadsheet may split cells or rows
# on (, ; tab | CR LF), past any spaces or quotes: a program that splits on
# ";" without honouring the quotes would see a cell starting there.
_SPLIT_THEN_FORMULA = re.compile(r"""([,;\t|\r\n])([ "']*[=+\-@])""")


def _csv_cell(value: object) -> object:
    """A cell that no spreadsheet runs as a formula, however it splits the line.

    Notes, ids and titles are user-controlled. Every cell is also quoted
    (csv.QUOTE_ALL, in export_csv); a cell starting with a formula character
    gets a leading ', and so does a formula character after a separator
    inside the cell.
    """
    if not isinstance(value, str):
        return value
    value = _SPLIT_THEN_FORMULA.sub(r"\1'\2", value)
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "who", "action", "comment_link", "from_state", "to_state",
                    "reason", "top_label", "top_score", "model_key"]
    list_filter = [AutomaticFilter, ("actor", admin.RelatedOnlyFieldListFilter), "action",
                   "reason", "created_at"]
    list_select_related = ["actor", "comment"]
    search_fields = ["note", "comment__external_id", "actor__username"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest):
        # The comment's excerpt cut in the database: the list never reads whole bodies.
        return super().get_queryset(request).annotate(
            comment_excerpt=Substr("comment__body", 1, 41)
        ).defer("comment__body", "comment__body_html")

    @admin.display(description="By", ordering="actor__username")
    def who(self, obj: Decision) -> str:
        return obj.actor.get_username() if obj.actor else "system"

    @admin.display(description="Comment")
    def comment_link(self, obj: Decision) -> str:
        url = reverse("admin:threads_comment_change", args=[obj.comment_id])
        return format_html('<a href="{}">#{} {}</a>', url, obj.comment_id,
                           Truncator(obj.comment_excerpt).chars(40))

    @admin.action(description="Export selected decisions as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        rows = queryset.select_related("actor", "comment", "comment__thread").order_by(
            "created_at", "id"
        ).defer("comment__body", "comment__body_html", "comment__thread__lead")

        def lines() -> Iterator[str]:
            writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
            yield writer.writerow(CSV_COLUMNS)
            # iterator(): a year of decisions streams without loading them all.
            for d in rows.iterator(chunk_size=2000):
                yield writer.writerow([_csv_cell(v) for v in (
                    d.pk, d.created_at.isoformat(),
                    d.actor.get_username() if d.actor else "system", d.action,
                    d.from_state, d.to_state, d.reason, d.note, d.comment_id,
                    d.comment.external_id, str(d.comment.thread), d.comment_version,
                    d.content_hash, d.top_label, d.top_score, d.model_key, d.threshold,
                )])

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="decisions-{stamp}.csv"'
        return response


@admin.register(ToxicityScore)
class ToxicityScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["comment_excerpt", "model_key", "top_label", "top_score", "scored_at"]
    list_filter = ["model_key", "top_label"]
    list_select_related = ["comment"]
    search_fields = ["comment__body", "model_key"]
    raw_id_fields = ["comment"]

    def get_queryset(self, request: HttpRequest):
        # As Comment.__str__ shows, but cut in the database: no whole bodies read.
        return super().get_queryset(request).annotate(
            comment_start=Substr("comment__body", 1, 60)
        ).defer("comment__body", "comment__body_html")

    @admin.display(description="Comment", ordering="comment")
    def comment_excerpt(self, obj: ToxicityScore) -> str:
        return f"{obj.comment.external_id}: {obj.comment_start}"


# --- Policy (issue 14) ---------------------------------------------------------------
# Rules and word lists are saved through moderation.policy.services, so an edit
# here is audited exactly as one in the dashboard; the audit log is read-only.


class PolicyPermissionMixin:
    """Changing the policy in admin needs moderation.manage_policy, as in the dashboard."""

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_POLICY_PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_POLICY_PERMISSION)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_POLICY_PERMISSION)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_POLICY_PERMISSION) or super().has_view_permission(
            request, obj)


class PolicyRuleAdminForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["source", "thread", "label", "review_threshold", "autohide_threshold",
                  "autoapprove_below"]

    def clean(self):
        from .policy.forms import RuleForm

        data = super().clean()
        # The dashboard's form is the one set of rules for a rule's values.
        check = RuleForm({key: ("" if value is None else getattr(value, "pk", value))
                          for key, value in data.items()})
        if not check.is_valid():
            for name, errors in check.errors.items():
                for error in errors:
                    self.add_error(name if name in self.fields else None, error)
        return data


@admin.register(PolicyRule)
class PolicyRuleAdmin(PolicyPermissionMixin, admin.ModelAdmin):
    form = PolicyRuleAdminForm
    list_display = ["label", "source", "thread", "review_threshold", "autohide_threshold",
                    "autoapprove_below", "updated_at"]
    list_filter = ["source", "label"]
    raw_id_fields = ["thread"]

    def save_model(self, request, obj, form, change):
        spec = RuleSpec(obj.source, obj.thread_id, obj.label, obj.review_threshold,
                        obj.autohide_threshold, obj.autoapprove_below)
        saved = policy_services.rule_save(actor=request.user, spec=spec,
                                          rule=obj if change else None)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        policy_services.rule_delete(actor=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            policy_services.rule_delete(actor=request.user, rule=rule)


class WatchedWordListAdminForm(forms.ModelForm):
    class Meta:
        model = WatchedWordList
        fields = ["name", "source", "kind", "words"]

    def clean_words(self):
        from .policy.forms import WordListForm

        check = WordListForm({"name": "x", "kind": "suspect", "words": self.cleaned_data["words"]})
        if not check.is_valid() and "words" in check.errors:
            raise forms.ValidationError(check.errors["words"])
        return "\n".join(check.cleaned_data["words"])


@admin.register(WatchedWordList)
class WatchedWordListAdmin(PolicyPermissionMixin, admin.ModelAdmin):
    form = WatchedWordListAdminForm
    list_display = ["name", "kind", "source", "updated_at"]
    list_filter = ["kind", "source"]

    def save_model(self, request, obj, form, change):
        saved = policy_services.word_list_save(
            actor=request.user, name=obj.name, source=obj.source, kind=obj.kind,
            words=obj.word_list, word_list=obj if change else None)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        policy_services.word_list_delete(actor=request.user, word_list=obj)

    def delete_queryset(self, request, queryset):
        for word_list in queryset:
            policy_services.word_list_delete(actor=request.user, word_list=word_list)


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "kind", "summary"]
    list_filter = ["kind"]
    list_select_related = ["actor"]


# --- API (issue 15): keys and each source's moderation mode ----------------------------


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "actor", "rate_limit"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here or by `create_api_key`; the key is shown once, on the page after Save."""

    list_display = ["name", "prefix", "scope_list", "actor", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "scopes", "actor", "rate_limit", "created_at", "last_used_at",
              "revoked_at"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ApiKeyAddForm.Meta.fields
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.readonly_fields, "name"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            created = api_key_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                actor=form.cleaned_data.get("actor"),
                rate_limit=form.cleaned_data.get("rate_limit"),
            )
        except ApiKeyError as exc:
            raise ValidationError(str(exc)) from exc
        obj.pk = created.key.pk
        request._new_api_key_secret = created.secret  # noqa: SLF001 - read by response_add

    def response_add(self, request, obj, post_url_continue=None):
        from django.template.response import TemplateResponse

        return TemplateResponse(request, "admin/moderation/apikey/created.html", {
            **self.admin_site.each_context(request),
            "title": f"API key {obj.name} created",
            "key": ApiKey.objects.get(pk=obj.pk),
            "secret": request._new_api_key_secret,  # noqa: SLF001
            "opts": self.model._meta,
        })

    @admin.action(description="Revoke the selected keys (they answer 401 from now on)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)


@admin.register(IngestSource)
class IngestSourceAdmin(admin.ModelAdmin):
    list_display = ["source", "moderation", "updated_at"]
    list_editable = ["moderation"]


# The integrations' admin (webhooks, the feed, reports): a module of its own.
from . import admin_integrations  # noqa: E402, F401
