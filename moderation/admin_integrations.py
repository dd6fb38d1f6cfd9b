"""Admin for the integrations (issue 15): webhook subscriptions and their delivery log,
the decisions feed, reader reports and the moderator labels kept from `suggestscore`.

Subscriptions are the one thing edited here; deliveries, events, reports and
labels are read-only records. Every change goes through the services in
moderation/events/webhooks.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from .events.selectors import feed_horizon
from .events.tasks import webhook_deliveries_send
from .events.webhooks import (
    WebhookUrlError,
    webhook_redeliver,
    webhook_secret_check,
    webhook_secret_generate,
    webhook_subscription_disable,
    webhook_subscription_enable,
    webhook_target_check,
)
from .models import (
    CommentReport,
    Event,
    EventType,
    ModeratorLabel,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)


class _ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https",
                         help_text="https; the host must resolve to public addresses "
                                   "(or to WEBHOOK_ALLOWED_NETWORKS).")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple,
        initial=[EventType.STATE_CHANGED],
    )
    secret = forms.CharField(
        required=False, max_length=100,
        help_text="Leave empty to generate one (whsec_ + base64); the receiver verifies "
                  "every delivery's webhook-signature with it.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_types", "secret"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhook_target_check(url)
        except WebhookUrlError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret", "").strip()
        if not secret:
            return self.instance.secret or webhook_secret_generate()
        try:
            webhook_secret_check(secret)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "active", "event_types", "consecutive_failures",
                    "disabled_reason", "cursor"]
    list_filter = ["active"]
    readonly_fields = ["active", "disabled_reason", "cursor", "consecutive_failures",
                       "failing_since", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form, change) -> None:
        if not change:
            # A new receiver starts with what happens from now on; the feed has the past.
            obj.cursor = feed_horizon()
        super().save_model(request, obj, form, change)

    @admin.action(description="Enable (and send what waited)")
    def enable(self, request: HttpRequest, queryset) -> None:
        due = []
        for sub in queryset:
            due += webhook_subscription_enable(subscription=sub)
        webhook_deliveries_send(due)
        self.message_user(request, f"Enabled {queryset.count()} subscription(s); "
                                   f"{len(due)} waiting deliveries sent.", messages.SUCCESS)

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset) -> None:
        for sub in queryset:
            webhook_subscription_disable(subscription=sub,
                                         reason=f"disabled by {request.user.get_username()}")
        self.message_user(request, f"Disabled {queryset.count()} subscription(s).")


class WebhookAttemptInline(_ReadOnly, admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "duration_ms", "status", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["pk", "subscription", "event_type", "event_id", "state", "attempts",
                    "last_status", "last_error", "next_attempt_at", "delivered_at"]
    list_filter = ["state", "subscription"]
    list_select_related = ["subscription", "event"]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("moderation.change_webhooksubscription")

    def get_readonly_fields(self, request, obj=None):
        return ["subscription", "event", "state", "attempts", "next_attempt_at",
                "last_attempt_at", "last_status", "last_error", "delivered_at", "created_at"]

    @admin.display(description="Event")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.action(description="Redeliver (from the first attempt)")
    def redeliver(self, request: HttpRequest, queryset) -> None:
        ids = webhook_redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)))
        sent = webhook_deliveries_send(ids)
        self.message_user(request, f"{sent} of {len(ids)} deliveries sent again.")


@admin.register(Event)
class EventAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["position", "pk", "type", "comment_id", "created_at", "sequenced_at"]
    list_filter = ["type"]
    ordering = ["-id"]
    readonly_fields = ["position", "type", "comment", "data", "created_at", "sequenced_at"]
    raw_id_fields = ["comment"]


@admin.register(CommentReport)
class CommentReportAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["pk", "comment_id", "reason", "note", "created_at"]
    list_filter = ["reason"]
    raw_id_fields = ["comment"]


@admin.register(ModeratorLabel)
class ModeratorLabelAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["attribute", "label", "value", "model_score", "model_key", "community_id",
                    "created_at"]
    list_filter = ["attribute", "model_key"]
