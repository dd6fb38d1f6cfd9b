"""Input of the policy pages: a rule, a word list, a backtest window, a report window.

A bad value is an error naming the field, shown on the form (or a 400 for a
query parameter); nothing reaches a service unvalidated.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from moderation.models import PolicyRule, WatchedWordList
from moderation.scoring.labels import label_table
from moderation.scoring.policy import WordListSpec
from moderation.scoring.rules import RuleSpec
from moderation.scoring.watched import (
    MAX_PHRASE_WORDS,
    MAX_WORD_CHARS,
    MAX_WORDS_PER_LIST,
    entry_tokens,
)
from threads.models import Thread

MAX_DAYS = 365


def _threshold(label: str, required: bool = False) -> forms.FloatField:
    return forms.FloatField(label=label, required=required, min_value=0.0, max_value=1.0,
                            widget=forms.NumberInput(attrs={"step": "0.01"}))


class RuleForm(forms.Form):
    """One label's rule for a source or one of its threads."""

    source = forms.CharField(max_length=32)
    thread = forms.IntegerField(required=False, min_value=1,
                                help_text="A thread id of that source; empty: the whole source.")
    label = forms.ChoiceField(choices=())
    review_threshold = _threshold("Review at or over", required=True)
    autohide_threshold = _threshold("Auto-hide at or over")
    autoapprove_below = _threshold("Auto-approve under")
    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_DAYS,
                              label="Backtest days")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].choices = [(name, label.display_name)
                                        for name, label in label_table().items()]

    def clean_source(self) -> str:
        source = self.cleaned_data["source"].strip()
        if not source or any(unicodedata.category(ch)[0] == "C" for ch in source):
            raise ValidationError("a source name, as threads carry it (no control characters)")
        return source

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        thread_id, source = data.get("thread"), data.get("source")
        if thread_id and source:
            thread_source = Thread.objects.filter(pk=thread_id).values_list("source", flat=True)
            found = next(iter(thread_source), None)
            if found is None:
                self.add_error("thread", f"there is no thread #{thread_id}")
            elif found != source:
                self.add_error("thread", f"thread #{thread_id} is from source {found!r}, "
                                         f"not {source!r}")
        review = data.get("review_threshold")
        hide, approve = data.get("autohide_threshold"), data.get("autoapprove_below")
        if review is not None and hide is not None and hide < review:
            self.add_error("autohide_threshold",
                           "auto-hide must be at or over the review threshold")
        if review is not None and approve is not None and approve > review:
            self.add_error("autoapprove_below",
                           "auto-approve must be at or under the review threshold")
        data["days"] = data.get("days") or settings.POLICY_BACKTEST_DAYS
        return data

    def spec(self) -> RuleSpec:
        data = self.cleaned_data
        return RuleSpec(data["source"], data.get("thread"), data["label"],
                        data["review_threshold"], data.get("autohide_threshold"),
                        data.get("autoapprove_below"))

    @classmethod
    def initial_for(cls, rule: PolicyRule) -> dict[str, Any]:
        return {"source": rule.source, "thread": rule.thread_id, "label": rule.label,
                "review_threshold": rule.review_threshold,
                "autohide_threshold": rule.autohide_threshold,
                "autoapprove_below": rule.autoapprove_below}


class WordListForm(forms.Form):
    name = forms.CharField(max_length=100)
    source = forms.CharField(max_length=32, required=False,
                             help_text="Empty: every source.")
    kind = forms.ChoiceField(choices=WatchedWordList.Kind.choices)
    words = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), required=False,
                            max_length=MAX_WORDS_PER_LIST * (MAX_WORD_CHARS + 1),
                            help_text="One word or phrase per line.")
    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_DAYS,
                              label="Backtest days")

    def clean_words(self) -> list[str]:
        entries = list(dict.fromkeys(
            line.strip() for line in self.cleaned_data["words"].splitlines() if line.strip()))
        if len(entries) > MAX_WORDS_PER_LIST:
            raise ValidationError(f"{len(entries):,} entries; a list holds at most "
                                  f"{MAX_WORDS_PER_LIST:,}")
        problems = []
        for number, entry in enumerate(entries, start=1):
            if "\x00" in entry or any(unicodedata.category(ch) == "Cc" for ch in entry):
                problems.append(f"line {number}: control characters")
            elif len(entry) > MAX_WORD_CHARS:
                problems.append(f"line {number}: over {MAX_WORD_CHARS} characters")
            elif not entry_tokens(entry):
                problems.append(f"line {number}: no letters or digits in {entry[:30]!r}")
            elif len(entry_tokens(entry)) > MAX_PHRASE_WORDS:
                problems.append(f"line {number}: a phrase of at most {MAX_PHRASE_WORDS} words")
            if len(problems) >= 5:
                break
        if problems:
            raise ValidationError("; ".join(problems))
        return entries

    def clean_source(self) -> str:
        return self.cleaned_data["source"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["days"] = data.get("days") or settings.POLICY_BACKTEST_DAYS
        return data

    def spec(self, list_id: int | None) -> WordListSpec:
        data = self.cleaned_data
        return WordListSpec(list_id, data["name"], data["source"], data["kind"],
                            tuple(data["words"]))


class ReportForm(forms.Form):
    """Query parameters of the reports: the window, a model, a source, a target precision."""

    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_DAYS)
    model = forms.CharField(required=False, max_length=200)
    source = forms.CharField(required=False, max_length=32)
    precision = forms.FloatField(required=False, min_value=0.05, max_value=0.999)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["days"] = data.get("days") or 30
        data["precision"] = data.get("precision") or 0.8
        data["source"] = (data.get("source") or "").strip()
        return data
