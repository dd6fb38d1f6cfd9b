"""Query parameters of the dashboard's pages, validated by Forms.

A bad value is a 400 that names the parameter (views answer with
`form_errors_text`); the queue functions receive typed values and never parse
a URL.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from moderation.models import AuthorAction, ModeratorPreferences, ReasonCode
from moderation.scoring.labels import label_table

from . import queue, search

# A thread page's keyset: a comment path (fixed-width decimal segments).
PATH_PATTERN = r"^[0-9]{1,500}$"


class WholeNumberField(forms.IntegerField):
    """An id or count: ASCII digits only (int() would take "²" and "٣")."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdecimal()):
            raise ValidationError(f"must be a whole number, not {text[:20]!r}")
        return int(text)


class QueueFilterForm(forms.Form):
    """`sort`, the filters, `after` (the page cursor) and `size` of a queue page."""

    sort = forms.ChoiceField(choices=list(queue.SORTS.items()), required=False)
    thread = WholeNumberField(required=False, min_value=1)
    label = forms.ChoiceField(choices=(), required=False)
    min = forms.FloatField(required=False, min_value=0.0, max_value=1.0)
    max = forms.FloatField(required=False, min_value=0.0, max_value=1.0)
    author = WholeNumberField(required=False, min_value=1)
    source = forms.CharField(required=False, max_length=32)
    lang = forms.RegexField(
        regex=rf"^({queue.LANGUAGE_UNSUPPORTED}|[a-z]{{2,3}})$", required=False,
        error_messages={"invalid": (
            "must be a language code (en, tr, ...), "
            f"{queue.LANGUAGE_UNDETERMINED} or {queue.LANGUAGE_UNSUPPORTED}"
        )},
    )
    q = forms.CharField(required=False, max_length=search.MAX_QUERY_CHARS, strip=True)
    after = forms.CharField(required=False, max_length=2000)
    size = WholeNumberField(required=False, min_value=1, max_value=queue.MAX_PAGE_SIZE)

    def clean_q(self) -> search.SearchQuery | None:
        text = self.cleaned_data.get("q") or ""
        if not text:
            return None
        try:
            return search.search_parse(text)
        except search.SearchError as exc:
            raise ValidationError(str(exc)) from None

    def __init__(self, *args: Any, default_sort: str = "score", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_sort = default_sort
        self.fields["label"].choices = [
            ("", "any label"),
            *((name, label.display_name) for name, label in label_table().items()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["sort"] = data.get("sort") or self.default_sort
        token = data.get("after")
        data["cursor"] = None
        if token and "sort" not in self.errors:
            try:
                data["cursor"] = queue.Cursor.decode(token, queue.sort_spec(data["sort"]))
            except queue.QueueError as exc:
                self.add_error("after", str(exc))
        return data

    def filters(self) -> queue.QueueFilters:
        data = self.cleaned_data
        return queue.QueueFilters(
            thread_id=data.get("thread"),
            label=data.get("label") or "",
            score_min=data.get("min"),
            score_max=data.get("max"),
            author_id=data.get("author"),
            source=(data.get("source") or "").strip(),
            language=data.get("lang") or "",
            query=data.get("q"),
        )

    def page_size(self) -> int:
        return self.cleaned_data.get("size") or queue.DEFAULT_PAGE_SIZE


class AuthorPageForm(forms.Form):
    after = forms.CharField(required=False, max_length=2000)
    size = WholeNumberField(required=False, min_value=1, max_value=queue.MAX_PAGE_SIZE)

    def clean_after(self) -> queue.Cursor | None:
        token = self.cleaned_data.get("after")
        if not token:
            return None
        try:
            return queue.Cursor.decode(token, queue.sort_spec("newest"))
        except queue.QueueError as exc:
            raise ValidationError(str(exc)) from None


class ThreadPageForm(forms.Form):
    """`at`: open at this comment's top-level branch; `after`: the next chunk's keyset."""

    at = WholeNumberField(required=False, min_value=1)
    after = forms.RegexField(regex=PATH_PATTERN, required=False,
                             error_messages={"invalid": "must be a comment path (digits)"})


class NewItemsForm(QueueFilterForm):
    """The poll for "N new items": since when, and the page's sort and filters."""

    since = forms.DateTimeField()


class DensityForm(forms.Form):
    """The queue's view switch: cards or the compact list."""

    density = forms.ChoiceField(choices=ModeratorPreferences.Density.choices)
    next = forms.CharField(required=False, max_length=2000)


class SettingsForm(forms.Form):
    """A moderator's settings page: time zone and density."""

    time_zone = forms.ChoiceField(choices=())
    density = forms.ChoiceField(choices=ModeratorPreferences.Density.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .preferences import time_zone_names

        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in time_zone_names()]


class DecisionsPageForm(forms.Form):
    before = WholeNumberField(required=False, min_value=1)


class BranchJobForm(forms.Form):
    """`ctx` and `tab` of the page polling a branch job: which card or node to refresh."""

    ctx = forms.ChoiceField(choices=[("queue", "queue"), ("thread", "thread")], required=False)
    tab = forms.ChoiceField(choices=[(tab, tab) for tab in queue.TABS], required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["ctx"] = data.get("ctx") or "queue"
        data["tab"] = data.get("tab") or "review"
        return data


# --- score bands -------------------------------------------------------------------


class BandForm(QueueFilterForm):
    """The queue's filters plus the band `lo`..`hi` (inclusive, 0..1) and the tab."""

    lo = forms.FloatField(required=False, min_value=0.0, max_value=1.0)
    hi = forms.FloatField(required=False, min_value=0.0, max_value=1.0)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("lo"), data.get("hi")
        data["lo"] = 0.0 if low is None else low
        data["hi"] = 1.0 if high is None else high
        if data["lo"] > data["hi"]:
            self.add_error("hi", f"the band's top ({data['hi']}) is under its bottom "
                                 f"({data['lo']})")
        return data


class BandActionForm(BandForm):
    """Approve or hide a band: what the moderator saw (`expected`) must still be true."""

    tab = forms.ChoiceField(choices=[(tab, tab) for tab in queue.TABS])
    band_action = forms.ChoiceField(choices=[("approve", "Approve"), ("hide", "Hide")])
    reason = forms.ChoiceField(choices=ReasonCode.choices, required=False)
    note = forms.CharField(required=False, max_length=2000)
    expected = WholeNumberField(min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("band_action") == "hide" and not data.get("reason"):
            self.add_error("reason", "choose a reason for hiding the band")
        return data


# --- threads table -----------------------------------------------------------------


class ThreadsTableForm(forms.Form):
    sort = forms.ChoiceField(choices=list(queue.THREAD_SORTS.items()), required=False)
    source = forms.CharField(required=False, max_length=32)
    page = WholeNumberField(required=False, min_value=1, max_value=100_000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["sort"] = data.get("sort") or "review"
        data["source"] = (data.get("source") or "").strip()
        data["page"] = data.get("page") or 1
        return data


# --- authors -----------------------------------------------------------------------


class AuthorActionForm(forms.Form):
    action = forms.ChoiceField(choices=AuthorAction.choices)
    reason = forms.ChoiceField(choices=[("", "no reason code"), *ReasonCode.choices],
                               required=False)
    note = forms.CharField(required=False, max_length=2000)
    until = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"])
    target = WholeNumberField(required=False, min_value=1)
