"""The dashboard's pages and actions through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from moderation.decisions.services import comment_action_apply
from moderation.models import Action, Decision
from moderation.scoring.labels import pivot_threshold
from tests.helpers import XSS_BODY, ModeratorFactory, UserFactory, import_threads, thread_document
from threads.models import Comment

pytestmark = pytest.mark.django_db

State = Comment.State


def card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article id="c-(\d+)" class="card', html)]


def test_root_opens_the_review_queue(moderator_client):
    response = moderator_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("moderation:queue", kwargs={"tab": "review"})


def test_anonymous_is_sent_to_login(client, scored_thread):
    response = client.get(reverse("moderation:queue", kwargs={"tab": "review"}))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/queue/review/")
    assert client.get("/accounts/login/").status_code == 200


@pytest.mark.parametrize("name,kwargs", [
    ("moderation:queue", {"tab": "review"}),
    ("moderation:thread", None),
    ("moderation:my_decisions", {}),
])
def test_non_moderator_gets_403(client, scored_thread, name, kwargs):
    user = UserFactory(username="reader")
    client.force_login(user)
    if kwargs is None:
        kwargs = {"thread_id": scored_thread.pk}
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 403
    assert b"Moderators only" in response.content
    comment = Comment.objects.first()
    response = client.post(reverse("moderation:act"),
                           {"comment": comment.pk, "action": "hide"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.state == State.PENDING


def test_review_tab_sorted_by_score_with_counts(moderator_client, scored_thread):
    response = moderator_client.get(reverse("moderation:queue", kwargs={"tab": "review"}))
    assert response.status_code == 200
    html = response.content.decode()
    expected = list(
        Comment.objects.filter(needs_review=True).order_by("-toxicity").values_list("pk", flat=True)
    )
    assert len(expected) == 5  # 0.95 .. 0.55
    assert card_ids(html) == expected
    assert 'data-count="review">5<' in html
    assert 'data-count="all">8<' in html
    assert "scored by <code>detoxify:original:test0001</code>" in html
    assert "In reply to" in html  # replies show their parent's excerpt


@pytest.mark.parametrize("sort", ["score", "newest", "oldest", "uncertain"])
def test_keyset_pages_walk_every_row_once_in_order(moderator_client, tmp_path, sort):
    bodies = [f"body {i}" for i in range(23)]
    import_threads(tmp_path, [thread_document("k", bodies)])
    from tests.helpers import score_comment

    comments = list(Comment.objects.order_by("path"))
    for i, comment in enumerate(comments):
        if i % 5 == 4:
            continue  # unscored: must come after the scored ones
        # Repeated values exercise the (value, id) tie-break.
        score_comment(comment, [0.9, 0.7, 0.5, 0.3][i % 4])
    if sort == "newest":
        Comment.objects.filter(pk=comments[3].pk).update(created_at=None)
    seen: list[int] = []
    url = reverse("moderation:queue", kwargs={"tab": "all"}) + f"?sort={sort}&size=4"
    for _ in range(20):
        response = moderator_client.get(url, headers={"HX-Request": "true"} if seen else {})
        html = response.content.decode()
        seen += card_ids(html)
        more = re.search(r'href="([^"]+after=[^"]+)"', html)
        if not more:
            break
        url = more.group(1).replace("&amp;", "&")
    assert sorted(seen) == sorted(c.pk for c in comments)
    assert len(seen) == len(set(seen))
    rows = {c.pk: c for c in Comment.objects.all()}
    if sort == "score":
        keys = [(-(rows[pk].toxicity or 0), rows[pk].toxicity is None) for pk in seen]
        assert [k[1] for k in keys] == sorted(k[1] for k in keys)  # NULLs last
        scored = [rows[pk].toxicity for pk in seen if rows[pk].toxicity is not None]
        assert scored == sorted(scored, reverse=True)
    elif sort == "uncertain":
        pivot = pivot_threshold()  # the active model's toxicity threshold
        scored = [abs(rows[pk].toxicity - pivot) for pk in seen if rows[pk].toxicity is not None]
        assert scored == sorted(scored)
        assert rows[seen[-1]].toxicity is None
    elif sort in ("newest", "oldest"):
        dated = [rows[pk].created_at for pk in seen if rows[pk].created_at is not None]
        assert dated == sorted(dated, reverse=sort == "newest")
        if sort == "newest":
            assert seen[-1] == comments[3].pk


def test_filters(moderator_client, scored_thread, tmp_path):
    import_threads(tmp_path, [thread_document("other", ["x", "y"])], name="other.json")
    url = reverse("moderation:queue", kwargs={"tab": "all"})
    html = moderator_client.get(url, {"label": "insult"}).content.decode()
    assert {Comment.objects.get(pk=pk).toxicity_label for pk in card_ids(html)} == {"insult"}
    html = moderator_client.get(url, {"min": "0.6", "max": "0.9"}).content.decode()
    assert sorted(Comment.objects.get(pk=pk).toxicity for pk in card_ids(html)) == [
        0.65, 0.75, 0.85]
    html = moderator_client.get(url, {"thread": scored_thread.pk}).content.decode()
    assert len(card_ids(html)) == 8
    author = Comment.objects.filter(thread=scored_thread).first().author
    html = moderator_client.get(url, {"author": author.pk}).content.decode()
    assert {Comment.objects.get(pk=pk).author_id for pk in card_ids(html)} == {author.pk}
    html = moderator_client.get(url, {"source": "native"}).content.decode()
    assert len(card_ids(html)) == 10
    html = moderator_client.get(url, {"source": "disqus"}).content.decode()
    assert card_ids(html) == []


@pytest.mark.parametrize("params,message", [
    ({"sort": "random"}, "sort: Select a valid choice"),
    ({"min": "lots"}, "min: Enter a number"),
    ({"max": "7"}, "max: Ensure this value is less than or equal to 1"),
    ({"thread": "abc"}, "thread: must be a whole number"),
    ({"thread": "²"}, "thread: must be a whole number"),
    ({"label": "bogus"}, "label: Select a valid choice"),
    ({"size": "0"}, "size: Ensure this value is greater than or equal to 1"),
    ({"after": "!!!not-a-cursor"}, "after: the page cursor"),
])
def test_bad_parameters_are_a_clear_400(moderator_client, scored_thread, params, message):
    response = moderator_client.get(reverse("moderation:queue", kwargs={"tab": "all"}), params)
    assert response.status_code == 400
    assert message in response.content.decode()
    bad_tab = moderator_client.get("/queue/nonsense/")
    assert bad_tab.status_code == 400


def test_hide_updates_card_and_counters_out_of_band(moderator_client, moderator, scored_thread):
    comment = Comment.objects.order_by("-toxicity").first()
    response = moderator_client.post(reverse("moderation:act"), {
        "comment": comment.pk, "version": comment.version, "action": "hide",
        "reason": "harassment", "note": "over the line", "ctx": "queue", "tab": "review",
    })
    assert response.status_code == 200
    html = response.content.decode()
    comment.refresh_from_db()
    assert comment.state == State.HIDDEN
    decision = Decision.objects.get(comment=comment)
    assert (decision.actor, decision.action, decision.reason, decision.note) == (
        moderator, Action.HIDE, "harassment", "over the line")
    assert f'<article id="c-{comment.pk}" class="card state-hidden is-done"' in html
    assert 'id="tab-counts" class="tabs" aria-label="Queue" hx-swap-oob="true"' in html
    assert 'data-count="review">4<' in html
    assert 'data-count="hidden">1<' in html
    assert 'id="undo-button"' in html
    assert "Hid 1 comment." in html


def test_reason_is_not_recorded_on_approve(moderator_client, scored_thread):
    comment = Comment.objects.first()
    moderator_client.post(reverse("moderation:act"), {
        "comment": comment.pk, "version": comment.version, "action": "approve",
        "reason": "spam"})
    assert Decision.objects.get(comment=comment).reason == ""


def test_stale_action_says_who_did_what_and_refreshes(moderator_client, scored_thread):
    comment = Comment.objects.order_by("-toxicity").first()
    seen_version = comment.version
    other = ModeratorFactory(username="alice")
    comment_action_apply(action="hide", comment=comment, actor=other, reason="spam")
    response = moderator_client.post(reverse("moderation:act"), {
        "comment": comment.pk, "version": seen_version, "action": "approve", "tab": "review"})
    html = response.content.decode()
    assert 'class="notice notice-conflict" role="alert"' in html
    # In a moderator's words (issue 13): who, what, when; no version numbers.
    assert "alice hid it at " in html and "(it was pending, now hidden)" in html
    assert "version" not in html.split('role="alert">')[1].split("</p>")[0]
    comment.refresh_from_db()
    assert comment.state == State.HIDDEN
    assert f'name="v{comment.pk}" value="{comment.version}"' in html  # refreshed version
    assert Decision.objects.filter(comment=comment).count() == 1


def test_bulk_approve_and_undo(moderator_client, moderator, scored_thread):
    targets = list(Comment.objects.filter(needs_review=True).order_by("-toxicity")[:3])
    data = {"action": "approve", "comment": [c.pk for c in targets], "tab": "review"}
    for c in targets:
        data[f"v{c.pk}"] = c.version
    html = moderator_client.post(reverse("moderation:act"), data).content.decode()
    assert "Approved 3 comments." in html
    assert Comment.objects.filter(pk__in=[c.pk for c in targets],
                                  state=State.APPROVED).count() == 3
    for c in targets:
        assert f'<article id="c-{c.pk}" class="card state-approved is-done"' in html
    html = moderator_client.post(reverse("moderation:undo"), {"tab": "review"}).content.decode()
    assert "Undid 3 comments." in html
    assert Comment.objects.filter(pk__in=[c.pk for c in targets],
                                  state=State.PENDING).count() == 3
    undo_rows = Decision.objects.filter(action=Action.UNDO, actor=moderator)
    assert undo_rows.count() == 3  # new decisions; the approvals are still in the log
    assert Decision.objects.filter(action=Action.APPROVE).count() == 3
    again = moderator_client.post(reverse("moderation:undo")).content.decode()
    assert "Nothing to undo." in again


def test_bulk_reports_each_refusal(moderator_client, scored_thread):
    first, second = Comment.objects.order_by("-toxicity")[:2]
    comment_action_apply(action="hide", comment=second, actor=ModeratorFactory(username="bob"))
    html = moderator_client.post(reverse("moderation:act"), {
        "action": "restore", "comment": [first.pk, second.pk]}).content.decode()
    assert "Restored 1 comment; 1 refused" in html
    assert "cannot restore comment" in html


def test_hide_branch_from_thread_view(moderator_client, tmp_path):
    import_threads(tmp_path, [thread_document("b", ["root", "a", "b", "c"], nested=True)])
    root, child, *rest = Comment.objects.order_by("path")
    html = moderator_client.post(reverse("moderation:act"), {
        "action": "hide_branch", "comment": child.pk, "version": child.version, "ctx": "thread",
        "reason": "spam"}).content.decode()
    assert Comment.objects.get(pk=root.pk).state == State.PENDING
    assert set(Comment.objects.filter(state=State.HIDDEN).values_list("pk", flat=True)) == {
        child.pk, *(c.pk for c in rest)}
    assert html.count('class="node state-hidden"') == 3
    # The thread header's per-state badges are swapped in the same response.
    assert '<p id="state-counts" class="state-counts" hx-swap-oob="true">' in html
    assert "pending 1</span>" in html and "hidden 3</span>" in html


def test_hostile_body_is_escaped_everywhere(moderator_client, tmp_path):
    import_threads(tmp_path, [thread_document("x", ["parent " + XSS_BODY, XSS_BODY])])
    from tests.helpers import score_comment

    for comment in Comment.objects.all():
        score_comment(comment, 0.9)
    child = Comment.objects.get(external_id="x-1")
    pages = [
        reverse("moderation:queue", kwargs={"tab": "review"}),
        reverse("moderation:thread", kwargs={"thread_id": child.thread_id}),
        reverse("moderation:comment_context", kwargs={"comment_id": child.pk}),
        reverse("moderation:comment_history", kwargs={"comment_id": child.pk}),
        reverse("moderation:author", kwargs={"author_id": child.author_id}),
    ]
    for url in pages:
        html = moderator_client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_context_shows_ancestors_and_replies(moderator_client, tmp_path):
    import_threads(tmp_path, [thread_document("c", ["top", "middle", "leaf"], nested=True)])
    top, middle, leaf = Comment.objects.order_by("path")
    html = moderator_client.get(
        reverse("moderation:comment_context", kwargs={"comment_id": middle.pk})).content.decode()
    assert html.index(">top<") < html.index(">leaf<")
    assert "1 direct reply" in html


def test_author_view_counts_by_state(moderator_client, scored_thread):
    comment = Comment.objects.filter(author__isnull=False).first()
    comment_action_apply(action="hide", comment=comment, actor=None)
    html = moderator_client.get(
        reverse("moderation:author", kwargs={"author_id": comment.author_id})).content.decode()
    assert "hidden 1" in html
    mine = Comment.objects.filter(author_id=comment.author_id).count()
    assert len(card_ids(html)) == mine


def test_history_and_my_decisions(moderator_client, moderator, scored_thread):
    comment = Comment.objects.first()
    other = ModeratorFactory(username="carol")
    comment_action_apply(action="hide", comment=comment, actor=other, reason="spam",
                         note="first-note")
    moderator_client.post(reverse("moderation:act"), {
        "comment": comment.pk, "action": "restore", "note": "fine on reflection"})
    html = moderator_client.get(
        reverse("moderation:comment_history", kwargs={"comment_id": comment.pk})).content.decode()
    assert html.index("fine on reflection") < html.index("first-note")
    assert "carol" in html and "mod" in html
    mine = moderator_client.get(reverse("moderation:my_decisions")).content.decode()
    assert "fine on reflection" in mine and "first-note" not in mine


def test_new_items_badge_counts_what_others_queued(moderator_client, moderator, scored_thread):
    from django.utils import timezone

    from moderation.decisions.services import MlContext, comment_review_mark

    since = timezone.now()
    url = reverse("moderation:queue_new", kwargs={"tab": "review"})
    assert moderator_client.get(url, {"since": since.isoformat()}).content.strip() == b""
    newcomer = Comment.objects.filter(needs_review=False).first()
    comment_review_mark(comment=newcomer, needs_review=True, ml=MlContext(top_score=0.7))
    html = moderator_client.get(url, {"since": since.isoformat()}).content.decode()
    assert "1 new item" in html
    assert moderator_client.get(url, {"since": "yesterday"}).status_code == 400


@pytest.mark.parametrize("path,params,message", [
    ("thread", {"at": "²"}, "at: must be a whole number"),
    ("thread", {"after": "00;drop"}, "after: must be a comment path"),
    ("my_decisions", {"before": "²"}, "before: must be a whole number"),
    ("queue_new", {"since": "2024-02-30T00:00:00"}, "since:"),
    ("queue_new", {"since": "2024-02-03T25:00:00"}, "since:"),
    ("queue_new", {}, "since: This field is required"),
])
def test_bad_page_parameters_are_a_400_naming_them(moderator_client, scored_thread, path,
                                                    params, message):
    kwargs = {"thread": {"thread_id": scored_thread.pk}, "queue_new": {"tab": "review"}}
    response = moderator_client.get(reverse(f"moderation:{path}", kwargs=kwargs.get(path)),
                                    params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("data,message", [
    ({"action": "hide", "version": "²"}, "version: version must be a whole number"),
    ({"action": "hide", "comment": "x1"}, "comment: comment must be a whole number"),
    ({"action": "branch-hide"}, "action: Select a valid choice"),
    ({"action": "hide", "reason": "rude"}, "reason: Select a valid choice"),
    ({"action": "hide", "note": "n" * 2001}, "note: Ensure this value has at most 2000"),
])
def test_bad_action_posts_are_a_400_and_change_nothing(moderator_client, scored_thread, data,
                                                       message):
    comment = Comment.objects.filter(thread=scored_thread).first()
    response = moderator_client.post(reverse("moderation:act"), {"comment": comment.pk, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).state == Comment.State.PENDING
