"""The moderator action form, shared by the dashboard and the JSON API.

It validates what a moderator asks for (which comments, at which versions,
which action, why) and nothing else; the services decide whether it is
allowed. A bad value is an error naming the parameter, never a 500.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from moderation.models import ReasonCode

from .states import MODERATOR_ACTIONS, REASONED_ACTIONS

NOTE_MAX_CHARS = 2000
# More than a queue page of cards, far fewer than would make one request slow.
MAX_COMMENTS_PER_ACTION = 500


def _whole_number(name: str, raw: Any) -> int:
    text = str(raw).strip()
    # isdecimal(), not isdigit(): "²" is a digit to Python but not a number to int().
    if not text.isdecimal() or not text.isascii():
        raise ValidationError(f"{name} must be a whole number, not {text[:20]!r}")
    return int(text)


class CommentIdsField(forms.Field):
    """One or more comment ids (the `comment` parameter, repeatable)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > MAX_COMMENTS_PER_ACTION:
            raise ValidationError(f"at most {MAX_COMMENTS_PER_ACTION} comments per action")
        return list(dict.fromkeys(_whole_number("comment", raw) for raw in values))


class ModerationActionForm(forms.Form):
    """`action`, `comment` (repeatable), `reason`, `note`, and the versions seen:
    `version` for a single comment, or `v<id>` per comment. `r<id>`: a reason
    for one comment (a bulk action records what each card showed)."""

    action = forms.ChoiceField(choices=list(MODERATOR_ACTIONS.items()))
    comment = CommentIdsField(required=False)
    reason = forms.ChoiceField(choices=[("", "—"), *ReasonCode.choices], required=False)
    note = forms.CharField(max_length=NOTE_MAX_CHARS, required=False)
    version = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ids: list[int] = data.get("comment") or []
        versions: dict[int, int] = {}
        for comment_id in ids:
            name = f"v{comment_id}"
            raw = self.data.get(name)
            if not raw and len(ids) == 1:
                name, raw = "version", data.get("version")
            if raw in (None, ""):
                continue
            try:
                versions[comment_id] = _whole_number(name, raw)
            except ValidationError as exc:
                self.add_error("version" if name == "version" else None, exc)
        data["versions"] = versions
        reasons: dict[int, str] = {}
        for comment_id in ids:
            raw = self.data.get(f"r{comment_id}")
            if raw in (None, ""):
                continue
            if raw not in ReasonCode.values:
                self.add_error(None, ValidationError(
                    f"r{comment_id}: unknown reason {str(raw)[:40]!r}; use one of: "
                    f"{', '.join(ReasonCode.values)}"))
                continue
            reasons[comment_id] = raw
        data["reasons"] = reasons
        if data.get("action") not in REASONED_ACTIONS:
            data["reason"] = ""
            data["reasons"] = {}
        return data


def form_errors_text(form: forms.Form) -> str:
    """The form's errors as one line that names each parameter."""
    parts = []
    for name, errors in form.errors.items():
        label = "request" if name == "__all__" else name
        parts.append(f"{label}: {' '.join(str(e) for e in errors)}")
    return "; ".join(parts)
