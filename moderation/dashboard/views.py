"""The moderator dashboard: thin views over the queue reads (queue.py), the
decision selectors and the decision services.

Every query parameter and every POST goes through a Form (forms.py and
moderation/decisions/forms.py): a bad value is a 400 naming it. Every action
answers with out-of-band swaps only (`hx-swap="none"` on the forms): the
acted-on cards, the tab counters, the undo bar and a status line arrive in
the one response, so what the moderator sees is never a request behind.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from moderation.decisions.forms import ModerationActionForm, form_errors_text
from moderation.decisions.permissions import moderator_required
from moderation.decisions.selectors import (
    branch_job_get,
    branch_job_undo_of,
    decisions_by_actor,
    job_comment_ids,
    moderator_history,
)
from moderation.decisions.selectors import (
    comment_history as decisions_of_comment,
)
from moderation.decisions.services import (
    ModerationError,
    StaleDecision,
    branch_job_undo_start,
    comment_undo,
    comments_bulk_action_apply,
)
from moderation.decisions.states import HIDE_BRANCH, RESTORE_BRANCH
from moderation.models import BranchHideJob, ReasonCode
from moderation.scoring.explain import text_explain
from moderation.scoring.labels import label_get, label_table
from moderation.scoring.language import LANGUAGE_NAMES, score_language_note
from moderation.scoring.registry import active_labels, active_scorer, scorer_choice
from moderation.scoring.status import model_status
from threads.models import Author, Comment, Thread

from . import queue
from .author_views import author_standing_context
from .forms import (
    AuthorPageForm,
    BranchJobForm,
    DecisionsPageForm,
    DensityForm,
    NewItemsForm,
    QueueFilterForm,
    SettingsForm,
    ThreadPageForm,
)
from .preferences import (
    preferences_update,
    session_preferences,
    session_preferences_store,
    time_zone_names,
)
from .search_views import search_context, search_error_page
from .templatetags import when
from .undo import LAST_BATCH, LAST_JOBS, LAST_LABEL, undo_offer

PAST = {
    "approve": "Approved",
    "flag": "Flagged",
    "hide": "Hid",
    "restore": "Restored",
    HIDE_BRANCH: "Hid",
    RESTORE_BRANCH: "Restored",
    "undo": "Undid",
}


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _invalid(form: Form) -> HttpResponse:
    return _bad_request(form_errors_text(form))


# --- reads ---------------------------------------------------------------------


@moderator_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("moderation:queue", tab="review")


@moderator_required
@require_GET
def queue_view(request: HttpRequest, tab: str) -> HttpResponse:
    if (refused := _unknown_tab(tab)) is not None:
        return refused
    form = QueueFilterForm(request.GET, default_sort=queue.DEFAULT_SORTS.get(tab, "score"))
    produced = active_labels()
    if not form.is_valid():
        if set(form.errors) == {"q"}:
            # A search box's text that cannot be searched: say so on the page.
            return search_error_page(request, tab=tab, form=form)
        if request.htmx:
            return _invalid(form)
        # A whole page: the error where the filters are, the form to fix it.
        context = _queue_page_context(request, tab=tab, produced=produced,
                                      filters=queue.QueueFilters(), sort="score")
        context.update(form_errors=form_errors_text(form), page=queue.QueuePage([], None))
        return render(request, "moderation/queue.html", context, status=400)
    sort = form.cleaned_data["sort"]
    filters = form.filters()
    page = queue.queue_page(tab=tab, sort=sort, filters=filters,
                            after=form.cleaned_data["cursor"], size=form.page_size())
    context = {
        "tab": tab,
        "sort": sort,
        "filters": filters,
        "page": page,
        "ctx": "queue",
        "more_url": _more_url(request, page.next_cursor),
        "reasons": ReasonCode.choices,
    }
    if request.htmx and form.cleaned_data["cursor"]:
        # "Load more": only the next cards and the next "load more" button.
        return render(request, "moderation/partials/card_list.html", context)
    context.update(_queue_page_context(request, tab=tab, produced=produced, filters=filters,
                                       sort=sort))
    context["page"] = page
    context.update(search_context(filters))
    return render(request, "moderation/queue.html", context)


def _queue_page_context(request: HttpRequest, *, tab: str, produced: tuple[str, ...] | None,
                        filters: queue.QueueFilters, sort: str) -> dict:
    table = label_table()
    # Only the labels the active model produces (and the one asked for).
    labels = [row for name, row in table.items()
              if produced is None or name in produced or name == filters.label]
    keep = {**filters.as_query(), **({"sort": sort} if sort != "score" else {})}
    return {
        "tab": tab, "sort": sort, "filters": filters, "ctx": "queue",
        "tab_counts": queue.queue_counts(),
        "sorts": queue.SORTS,
        "labels": labels,
        "sources": queue.thread_sources(),
        "reasons": ReasonCode.choices,
        "poll_query": urlencode({"since": timezone.now().isoformat(), **keep}),
        "filter_query": filters.as_query(),
        "label_note": _label_note(filters.label, produced),
        "density": session_preferences(request).density,
        "languages": _language_choices(filters.language),
        "unsupported_languages": queue.unsupported_language_count(),
    }


def _label_note(label: str, produced: tuple[str, ...] | None) -> str:
    """Why a label filter may show nothing: the active model does not produce that label."""
    if not label or produced is None or label in produced:
        return ""
    shown = label_get(label).display_name
    return (f"The active model ({scorer_choice().key}) does not produce “{shown}”: no comment "
            f"it scores gets that top label. Cards shown here were scored by an earlier model. "
            f"Its labels: {', '.join(label_get(name).display_name for name in produced)}.")


def _language_choices(current: str) -> list[tuple[str, str]]:
    """The language filter's options: the special values, then languages by name."""
    names = dict(LANGUAGE_NAMES)
    if current and current not in names and current not in (
            queue.LANGUAGE_UNDETERMINED, queue.LANGUAGE_UNSUPPORTED):
        names[current] = current
    return [
        (queue.LANGUAGE_UNSUPPORTED, "not read by the model"),
        (queue.LANGUAGE_UNDETERMINED, "undetermined"),
        *sorted(names.items(), key=lambda item: item[1]),
    ]


def _unknown_tab(tab: str) -> HttpResponse | None:
    """A 400 naming the tabs when `tab` is none of them (every view taking a tab asks this)."""
    if tab in queue.TABS:
        return None
    return _bad_request(f"unknown tab {tab!r}; use one of: {', '.join(queue.TABS)}")


def _more_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = request.GET.copy()
    params["after"] = cursor
    return f"{request.path}?{params.urlencode()}"


@moderator_required
@require_GET
def queue_new(request: HttpRequest, tab: str) -> HttpResponse:
    """Polled by the "N new items" badge."""
    if (refused := _unknown_tab(tab)) is not None:
        return refused
    form = NewItemsForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    filters = form.filters()
    count = queue.new_in_tab_count(tab=tab, since=form.cleaned_data["since"],
                                   exclude_actor_id=request.user.pk, filters=filters)
    keep = {**filters.as_query()}
    if form.cleaned_data["sort"] != "score":
        keep["sort"] = form.cleaned_data["sort"]
    return render(request, "moderation/partials/new_items.html",
                  {"count": count, "cap": queue.COUNT_CAP, "tab": tab,
                   "keep_query": urlencode(keep)})


@moderator_required
@require_GET
def comment_context(request: HttpRequest, comment_id: int) -> HttpResponse:
    """The top-level ancestor, the nearest few and the direct replies, swapped
    into the card in place (bounded however deep the comment is)."""
    comment = get_object_or_404(Comment.objects.defer("body", "body_html"), pk=comment_id)
    window = queue.comment_context_ancestors(comment=comment)
    return render(request, "moderation/partials/context.html", {
        "comment": comment,
        "window": window,
        "ancestors": [window.root, *window.nearest] if window.root else window.nearest,
        "replies": queue.comment_replies(comment=comment),
    })


@moderator_required
@require_GET
def comment_body(request: HttpRequest, comment_id: int) -> HttpResponse:
    """A comment's whole body, for the "show all" under a preview (escaped, on demand)."""
    comment = get_object_or_404(Comment.objects.only("pk", "body"), pk=comment_id)
    return render(request, "moderation/partials/body.html", {"c": comment, "full": True})


@moderator_required
@require_GET
def thread_view(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = get_object_or_404(Thread.objects.defer("lead"), pk=thread_id)
    form = ThreadPageForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    after = form.cleaned_data["after"] or None
    at = form.cleaned_data["at"]
    start = None
    if at is not None and not after:
        # Open at the top-level comment the moderator came from.
        anchor = Comment.objects.filter(pk=at, thread=thread).values_list("path", flat=True)
        start = next(iter(anchor), None)
    chunk = queue.thread_chunk(thread=thread, after=after, start=start and start[:6])
    context = {
        "thread": thread,
        "chunk": chunk,
        "ctx": "thread",
        "reasons": ReasonCode.choices,
        "more_url": (f"{request.path}?after={chunk.next_after}" if chunk.next_after else None),
        "started_late": start is not None and start[:6] != "000000",
    }
    if request.htmx and after:
        return render(request, "moderation/partials/thread_chunk.html", context)
    counts = queue.thread_state_counts(thread_id=thread.pk)
    context.update(
        tab_counts=queue.queue_counts(),
        counts=counts,
        total=sum(counts.values()),
        needs_review=queue.thread_needs_review_count(thread_id=thread.pk),
        model_keys=queue.thread_model_keys(thread=thread),
    )
    return render(request, "moderation/thread.html", context)


@moderator_required
@require_GET
def author_view(request: HttpRequest, author_id: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=author_id)
    form = AuthorPageForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    filters = queue.QueueFilters(author_id=author.pk)
    page = queue.queue_page(tab="all", sort="newest", filters=filters,
                            after=form.cleaned_data["after"],
                            size=form.cleaned_data["size"] or queue.DEFAULT_PAGE_SIZE)
    context = {
        "author": author,
        "page": page,
        "ctx": "queue",
        "tab": "all",
        "reasons": ReasonCode.choices,
        "more_url": _more_url(request, page.next_cursor),
    }
    if request.htmx and form.cleaned_data["after"]:
        return render(request, "moderation/partials/card_list.html", context)
    context["counts"] = queue.author_state_counts(author_id=author.pk)
    context["tab_counts"] = queue.queue_counts()
    context.update(author_standing_context(request, author))
    return render(request, "moderation/author.html", context)


@moderator_required
@require_GET
def comment_history(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(
        queue.with_body_preview(Comment.objects.select_related("thread", "author"))
        .defer("thread__lead"),
        pk=comment_id,
    )
    return render(request, "moderation/history.html", {
        "comment": comment, "decisions": decisions_of_comment(comment=comment),
        "score": queue.latest_scores([comment]).get(comment.pk),
        "tab_counts": queue.queue_counts(),
    })


MY_DECISIONS_PAGE = 50


@moderator_required
@require_GET
def my_decisions(request: HttpRequest) -> HttpResponse:
    form = DecisionsPageForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    decisions = moderator_history(user=request.user, before_id=form.cleaned_data["before"])
    rows = list(decisions[: MY_DECISIONS_PAGE + 1])
    more = None
    if len(rows) > MY_DECISIONS_PAGE:
        rows = rows[:MY_DECISIONS_PAGE]
        more = f"{request.path}?before={rows[-1].pk}"
    return render(request, "moderation/my_decisions.html", {
        "decisions": rows, "more_url": more, "tab_counts": queue.queue_counts(),
    })


# --- the moderator's settings --------------------------------------------------


@moderator_required
def my_settings(request: HttpRequest) -> HttpResponse:
    """Time zone (every date on the dashboard) and queue density, per moderator."""
    prefs = session_preferences(request)
    saved = False
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            prefs = preferences_update(user=request.user, **form.cleaned_data)
            session_preferences_store(request, prefs)
            timezone.activate(prefs.time_zone)
            saved = True
    else:
        form = SettingsForm(initial={"time_zone": prefs.time_zone, "density": prefs.density})
    return render(request, "moderation/settings.html", {
        "form": form, "prefs": prefs, "saved": saved, "now": timezone.now(),
        "zones": time_zone_names(), "tab_counts": queue.queue_counts(),
    }, status=400 if request.method == "POST" and not saved else 200)


@moderator_required
@require_POST
def my_density(request: HttpRequest) -> HttpResponse:
    """The queue's Cards / Compact switch; remembered for this moderator."""
    form = DensityForm(request.POST)
    if not form.is_valid():
        return _invalid(form)
    prefs = preferences_update(user=request.user, density=form.cleaned_data["density"])
    session_preferences_store(request, prefs)
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    return redirect(target or "/")

@moderator_required
@require_GET
def models_view(request: HttpRequest) -> HttpResponse:
    """Which model scores, why, its labels (with their review thresholds) and languages."""
    status = model_status()
    table = label_table()
    labels = [table[name] for name in status.labels or () if name in table]
    unknown = [name for name in status.labels or () if name not in table]
    return render(request, "moderation/models.html", {
        "status": status, "labels": labels, "unknown_labels": unknown,
        "tab_counts": queue.queue_counts(),
    })


# --- actions -------------------------------------------------------------------


@moderator_required
@require_POST
def act(request: HttpRequest) -> HttpResponse:
    """Approve / flag / hide / restore one or many comments, or hide a branch."""
    ctx = "thread" if request.POST.get("ctx") == "thread" else "queue"
    tab = request.POST.get("tab") or "review"
    form = ModerationActionForm(request.POST)
    if not form.is_valid():
        return _invalid(form)
    data = form.cleaned_data
    action, ids = data["action"], data["comment"]
    if not ids:
        return _respond(request, ctx=ctx, tab=tab, cards=[],
                        flash="Select at least one comment first (x or the checkboxes).")
    result = comments_bulk_action_apply(
        comment_ids=ids, action=action, actor=request.user, reason=data["reason"],
        note=data["note"].strip(), expected_versions=data["versions"],
        reasons=data["reasons"],
    )
    messages = {exc.comment_id: _refusal(exc) for exc in result.refused
                if exc.comment_id is not None}
    decisions, jobs = result.decisions, result.jobs
    flash = _summary(action, len(decisions), len(messages), background=jobs)
    if decisions or jobs:
        request.session[LAST_BATCH] = [d.pk for d in decisions]
        request.session[LAST_JOBS] = [job.pk for job in jobs]
        request.session[LAST_LABEL] = f"Undo: {flash}"
    touched = [*ids, *(d.comment_id for d in decisions)]
    # An action that changed nothing leaves the last one undoable, as it is.
    return _respond(request, ctx=ctx, tab=tab, cards=touched, messages=messages, flash=flash,
                    undo_label=undo_offer(request.session), new_jobs=jobs)


def _refusal(exc: ModerationError) -> tuple[str, str]:
    if isinstance(exc, StaleDecision):
        return ("conflict", _conflict_text(exc))
    return ("error", str(exc))


def _conflict_text(exc: StaleDecision) -> str:
    """A conflict in a moderator's words: who did what, when (in their zone); nothing changed."""
    last = exc.last
    if last is None or last.comment_version < exc.expected_version:
        what = "Its text changed since you saw it (it was imported again)."
    else:
        who = last.actor.get_username() if last.actor else "The scoring system"
        verb = CONFLICT_VERBS.get(last.action, last.get_action_display().lower())
        what = f"{who} {verb} at {when(last.created_at)}"
        if last.from_state != last.to_state:
            what += f" (it was {last.from_state}, now {last.to_state})"
        what += "."
        if last.comment_version + 1 < exc.comment.version:
            what += " Its text changed after that."
    return f"Not done: someone acted first. {what} Nothing was overwritten; the card shows it now."


CONFLICT_VERBS = {
    "approve": "approved it", "flag": "flagged it", "hide": "hid it", "restore": "restored it",
    "undo": "undid a decision on it", "queue": "put it in the review queue",
    "unqueue": "took it out of the review queue", "arrived_hidden": "imported it hidden",
}


def _summary(action: str, done: int, refused: int,
             background: list[BranchHideJob] | None = None) -> str:
    noun = "comment" if done == 1 else "comments"
    text = f"{PAST[action]} {done:,} {noun}" if done else "Nothing changed"
    if action == HIDE_BRANCH and done:
        text += " (the branch)"
    running = [job for job in background or [] if not job.finished]
    if running:
        total = sum(job.total for job in running)
        verb = "Hiding" if running[0].kind == BranchHideJob.Kind.HIDE else "Restoring"
        later = f"{verb} {total:,} comments in the background…"
        text = later if not done else f"{text}; {later[0].lower()}{later[1:]}"
    if refused:
        text += f"; {refused} refused (see the card{'s' if refused > 1 else ''})"
    return text if text.endswith("…") else text + "."


@moderator_required
@require_POST
def undo(request: HttpRequest) -> HttpResponse:
    """Reverse the moderator's last action with new decisions (the log only grows)."""
    ctx = "thread" if request.POST.get("ctx") == "thread" else "queue"
    tab = request.POST.get("tab") or "review"
    batch = request.session.get(LAST_BATCH) or []
    job_ids: list[int] = request.session.get(LAST_JOBS) or []
    decisions = decisions_by_actor(actor=request.user, ids=batch)
    if not decisions and not job_ids:
        for key in (LAST_BATCH, LAST_JOBS, LAST_LABEL):
            request.session.pop(key, None)
        return _respond(request, ctx=ctx, tab=tab, cards=[], flash="Nothing to undo.")
    messages: dict[int, tuple[str, str]] = {}
    done = 0
    for decision in decisions:
        try:
            comment_undo(decision=decision, actor=request.user)
            done += 1
        except ModerationError as exc:
            messages[decision.comment_id] = _refusal(exc)
    # A background branch hide is undone whole, by an undo job, once it has
    # finished; until then it stays the thing "undo" will take back.
    undo_jobs, unfinished, roots = [], [], []
    for job_id in job_ids:
        try:
            undo_jobs.append(branch_job_undo_start(job=job_id, actor=request.user))
        except ModerationError as exc:
            if exc.comment_id is not None:
                messages[exc.comment_id] = _refusal(exc)
                roots.append(exc.comment_id)
                unfinished.append(job_id)
    done += sum(job.changed for job in undo_jobs if job.finished)
    request.session.pop(LAST_BATCH, None)
    request.session[LAST_JOBS] = unfinished
    if not unfinished:
        request.session.pop(LAST_LABEL, None)
    cards = [d.comment_id for d in decisions] + roots + [
        job.root_id for job in undo_jobs if job.root_id is not None]
    for job in undo_jobs:
        if job.is_batch and job.finished:
            # A batch undone within the request: its cards on the page, refreshed.
            cards += job_comment_ids(job=job, limit=100)
    return _respond(request, ctx=ctx, tab=tab, cards=cards, messages=messages,
                    flash=_summary("undo", done, len(messages), background=undo_jobs),
                    undo_label="Undo" if unfinished else None, new_jobs=undo_jobs,
                    old_jobs=[job.undoes_id for job in undo_jobs])


@moderator_required
@require_GET
def branch_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress of a background branch job (polled by its element until it finishes).

    Once finished it also swaps in the clicked comment's card or node as it is now.
    """
    form = BranchJobForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    ctx, tab = form.cleaned_data["ctx"], form.cleaned_data["tab"]
    try:
        job = branch_job_get(job_id=job_id)
    except BranchHideJob.DoesNotExist:
        raise Http404(f"no branch job #{job_id}") from None
    parts = [_job_html(request, job, ctx=ctx, tab=tab)]
    if job.finished:
        comments = _fresh([job.root_id], ctx)
        parts.extend(_card_parts(request, comments, ctx=ctx, tab=tab, messages={}))
        parts.extend(_counter_parts(request, comments, ctx=ctx, tab=tab))
        parts.append(render_to_string("moderation/partials/flash.html", {
            "oob": True, "flash": _job_summary(job),
        }, request=request))
    return HttpResponse("".join(parts))


def _job_summary(job: BranchHideJob) -> str:
    verb = "Hid" if job.kind == BranchHideJob.Kind.HIDE else "Restored"
    noun = "comment" if job.changed == 1 else "comments"
    if job.is_batch:
        verb = {"approve": "Approved", "hide": "Hid"}.get(job.action, "Put back")
        text = f"{verb} {job.changed:,} of {job.total:,} {noun} ({job.description})"
        if job.state == BranchHideJob.State.FAILED:
            return f"{text}, then the background job failed: {job.error}"
        return text + "."
    if job.state == BranchHideJob.State.FAILED:
        return f"{verb} {job.changed:,} {noun}, then the background job failed: {job.error}"
    return f"{verb} {job.changed:,} {noun} (the branch, in the background)."


@moderator_required
@require_POST
def branch_job_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    """"Restore branch": undo a finished background branch hide (all of it, or nothing)."""
    form = BranchJobForm(request.POST)
    if not form.is_valid():
        return _invalid(form)
    ctx, tab = form.cleaned_data["ctx"], form.cleaned_data["tab"]
    try:
        undo_job = branch_job_undo_start(job=job_id, actor=request.user)
    except ModerationError as exc:
        cards = [exc.comment_id] if exc.comment_id is not None else []
        return _respond(request, ctx=ctx, tab=tab, cards=cards, flash=str(exc),
                        messages={exc.comment_id: _refusal(exc)} if cards else None)
    # "u" must not start it a second time.
    request.session[LAST_JOBS] = [
        pk for pk in request.session.get(LAST_JOBS) or [] if pk != job_id
    ]
    done = undo_job.changed if undo_job.finished else 0
    return _respond(request, ctx=ctx, tab=tab, cards=[undo_job.root_id],
                    flash=_summary("undo", done, 0, background=[undo_job]),
                    new_jobs=[undo_job], old_jobs=[job_id])


def _job_html(request: HttpRequest, job: BranchHideJob, *, ctx: str, tab: str,
              append: bool = False, oob: bool = False) -> str:
    undo_job = (branch_job_undo_of(job=job)
                if job.kind in (BranchHideJob.Kind.HIDE, BranchHideJob.Kind.BATCH) else None)
    if job.is_batch:
        return render_to_string("dashboard/_batch_job.html", {
            "job": job, "ctx": ctx, "tab": tab, "append": append, "oob": oob,
            "undo_job": undo_job,
            "can_undo": job.kind == BranchHideJob.Kind.BATCH and job.actor_id == request.user.pk,
        }, request=request)
    return render_to_string("moderation/partials/branch_job.html", {
        "job": job, "ctx": ctx, "tab": tab, "append": append, "oob": oob,
        "undo_job": undo_job,
        "can_undo": job.kind == BranchHideJob.Kind.HIDE and job.actor_id == request.user.pk,
    }, request=request)


def _respond(
    request: HttpRequest,
    *,
    ctx: str,
    tab: str,
    cards: list[int],
    flash: str,
    messages: dict[int, tuple[str, str]] | None = None,
    undo_label: str | None = None,
    new_jobs: list[BranchHideJob] | None = None,
    old_jobs: list[int] | None = None,
) -> HttpResponse:
    """Out-of-band swaps: each touched card, the counters, the undo bar, the status,
    and the progress of any background branch job started (`new_jobs`, added to
    the status line) or superseded (`old_jobs`, their elements redrawn)."""
    if tab not in queue.TABS:
        tab = "review"
    comments = _fresh(cards, ctx)
    parts = _card_parts(request, comments, ctx=ctx, tab=tab, messages=messages or {})
    for job_id in old_jobs or []:
        parts.append(_job_html(request, branch_job_get(job_id=job_id), ctx=ctx, tab=tab,
                               oob=True))
    for job in new_jobs or []:
        parts.append(_job_html(request, job, ctx=ctx, tab=tab, append=True))
    parts.extend(_counter_parts(request, comments, ctx=ctx, tab=tab))
    parts.append(render_to_string("moderation/partials/undo_bar.html", {
        "oob": True, "undo_label": undo_label, "ctx": ctx, "tab": tab,
    }, request=request))
    parts.append(render_to_string("moderation/partials/flash.html", {
        "oob": True, "flash": flash,
    }, request=request))
    return HttpResponse("".join(parts))


def _counter_parts(request: HttpRequest, comments: list[Comment], *, ctx: str,
                   tab: str) -> list[str]:
    """The tab counters and, in a thread, its header's per-state badges."""
    parts = [render_to_string("moderation/partials/tab_counts.html", {
        "tab_counts": queue.queue_counts(), "tab": tab, "oob": True,
    }, request=request)]
    if ctx == "thread" and comments:
        # The thread header's per-state badges, for the thread acted on.
        parts.append(render_to_string("moderation/partials/state_counts.html", {
            "oob": True, "counts": queue.thread_state_counts(thread_id=comments[0].thread_id),
        }, request=request))
    return parts


def _card_parts(request: HttpRequest, comments: list[Comment], *, ctx: str, tab: str,
                messages: dict[int, tuple[str, str]]) -> list[str]:
    """Each comment's card (queue) or node (thread), as an out-of-band swap."""
    scores = queue.latest_scores(comments)
    parts = []
    for comment in comments:
        kind, text = messages.get(comment.pk, ("", ""))
        template = (
            "moderation/partials/node.html" if ctx == "thread" else "moderation/partials/card.html"
        )
        parts.append(render_to_string(template, {
            "c": comment,
            "score": scores.get(comment.pk),
            "oob": True,
            "message": text,
            "message_kind": kind,
            "done": ctx == "queue" and not queue.comment_in_tab(comment, tab),
            "tab": tab,
            "ctx": ctx,
            "reasons": ReasonCode.choices,
        }, request=request))
    return parts


def _fresh(ids: list[int], ctx: str) -> list[Comment]:
    """The touched comments as they are now, in one query, in the order given."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    queryset = Comment.objects.filter(pk__in=unique)
    if ctx == "queue":
        queryset = queue.card_queryset(queryset)
    else:
        queryset = queue.with_body_preview(queryset.select_related("author"))
    by_id = {comment.pk: comment for comment in queryset}
    fresh = [by_id[pk] for pk in unique if pk in by_id]
    return queue.attach_author_facts(fresh) if ctx == "queue" else fresh


__all__ = [
    "act", "author_view", "branch_job", "branch_job_undo", "comment_body", "comment_context",
    "comment_history", "home", "my_decisions", "my_density", "my_settings", "queue_new",
    "queue_view", "thread_view", "undo",
]


# --- why this score (issue 12 part 5) ---------------------------------------------


@moderator_required
@require_GET
def comment_why(request: HttpRequest, comment_id: int) -> HttpResponse:
    """The words that raised the active model's top score on this comment (on demand).

    One bounded scorer call (explain.DEFAULT_MAX_SPANS + 1 texts), then cached
    per (model key, content hash); not applicable when the model cannot read
    the comment's language.
    """
    comment = get_object_or_404(
        Comment.objects.only("pk", "body", "content_hash", "language"), pk=comment_id
    )
    context: dict[str, object] = {"c": comment}
    try:
        scorer = active_scorer()
    except ImproperlyConfigured as exc:
        context["error"] = f"the scoring model cannot be loaded: {exc}"
        return render(request, "moderation/partials/why.html", context, status=503)
    context["na"] = score_language_note(comment.language, scorer.key)
    if not context["na"]:
        context["why"] = text_explain(comment.body, scorer=scorer)
    return render(request, "moderation/partials/why.html", context)
