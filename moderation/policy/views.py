"""The policy pages: rules and word lists (each change backtested before it is saved),
re-apply to pending, the audit log. Plain forms, full pages: no script needed."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from moderation.models import PolicyRule, WatchedWordList
from moderation.scoring.labels import label_table

from . import selectors
from .backtest import policy_backtest, proposal_with_rule, proposal_with_words
from .forms import RuleForm, WordListForm
from .permissions import policy_manager_required
from .services import (
    pending_policy_preview,
    pending_policy_reapply,
    rule_delete,
    rule_save,
    word_list_delete,
    word_list_save,
)


@policy_manager_required
@require_GET
def policy_index(request: HttpRequest) -> HttpResponse:
    return render(request, "policy/index.html", {
        "rules": selectors.policy_rules(),
        "lists": selectors.word_lists(),
        "labels": label_table().values(),
        "changes": selectors.policy_changes(limit=10),
        "banned_hides": settings.MODERATION_BANNED_WORDS_ACTION == "hide",
        "section": "policy",
    })


@policy_manager_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(PolicyRule, pk=rule_id) if rule_id else None
    intent = request.POST.get("intent", "")
    if request.method == "POST" and intent == "delete" and rule is not None:
        rule_delete(actor=request.user, rule=rule)
        messages.success(request, f"Removed the {rule.label} rule for {rule.source}.")
        return redirect("policy:index")
    initial = RuleForm.initial_for(rule) if rule else {
        "source": request.GET.get("source", "")[:32], "label": request.GET.get("label", ""),
        "review_threshold": request.GET.get("review_threshold") or None,
    }
    # "Propose" on the model report: the form filled in and backtested at once (a read).
    proposing = request.method == "GET" and "propose" in request.GET and rule is None
    data = request.POST if request.method == "POST" else (request.GET if proposing else None)
    form = RuleForm(data, initial=initial)
    backtest = None
    if data is not None and form.is_valid():
        spec = form.spec()
        if intent == "save":
            saved = rule_save(actor=request.user, spec=spec, rule=rule)
            messages.success(request, f"Saved: {saved}. It applies to the next comment scored.")
            return redirect("policy:index")
        backtest = policy_backtest(
            proposed=proposal_with_rule(spec), model_key=selectors.policy_model_key(),
            days=form.cleaned_data["days"], sources=[spec.source])
    return render(request, "policy/rule_form.html", {
        "form": form, "rule": rule, "backtest": backtest, "section": "policy",
    })


@policy_manager_required
@require_http_methods(["GET", "POST"])
def words_edit(request: HttpRequest, list_id: int | None = None) -> HttpResponse:
    word_list = get_object_or_404(WatchedWordList, pk=list_id) if list_id else None
    intent = request.POST.get("intent", "")
    if request.method == "POST" and intent == "delete" and word_list is not None:
        word_list_delete(actor=request.user, word_list=word_list)
        messages.success(request, f"Removed the word list {word_list.name!r}.")
        return redirect("policy:index")
    initial = {"name": word_list.name, "source": word_list.source, "kind": word_list.kind,
               "words": word_list.words} if word_list else {"kind": "suspect"}
    form = WordListForm(request.POST if request.method == "POST" else None, initial=initial)
    backtest = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if intent == "save":
            saved = word_list_save(actor=request.user, name=data["name"], source=data["source"],
                                   kind=data["kind"], words=data["words"], word_list=word_list)
            messages.success(request, f"Saved the word list {saved.name!r} "
                                      f"({len(data['words']):,} entries).")
            return redirect("policy:index")
        spec = form.spec(word_list.pk if word_list else None)
        backtest = policy_backtest(
            proposed=proposal_with_words(spec), model_key=selectors.policy_model_key(),
            days=data["days"], sources=[spec.source] if spec.source else None)
    return render(request, "policy/words_form.html", {
        "form": form, "word_list": word_list, "backtest": backtest, "section": "policy",
    })


@policy_manager_required
@require_http_methods(["GET", "POST"])
def reapply(request: HttpRequest) -> HttpResponse:
    """GET: what re-applying the saved policy to pending comments would change. POST: do it."""
    # Another model's scores than the active one's (after switching models, say).
    model_key = (request.POST.get("model") or request.GET.get("model") or "")[:200] \
        or selectors.policy_model_key()
    if request.method == "POST":
        done = pending_policy_reapply(actor=request.user, model_key=model_key)
        changed = ", ".join(f"{n:,} {what}" for what, n in sorted(done.changes.items()))
        messages.success(request, f"Re-applied the policy to {done.examined:,} pending "
                                  f"comments: {changed or 'nothing changed'}.")
        return redirect("policy:index")
    preview = pending_policy_preview(model_key=model_key)
    return render(request, "policy/reapply.html", {"preview": preview, "model_key": model_key,
                                                   "changes": sorted(preview.changes.items()),
                                                   "section": "policy"})


@policy_manager_required
@require_GET
def changes(request: HttpRequest) -> HttpResponse:
    return render(request, "policy/changes.html", {"changes": selectors.policy_changes(),
                                                   "section": "changes"})
