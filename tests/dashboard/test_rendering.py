"""What the dashboard renders of hostile user text: links, previews, context, bidi, CSP."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import (
    CommentFactory,
    ThreadFactory,
    import_threads,
    score_comment,
    thread_document,
)
from threads.models import Comment

pytestmark = pytest.mark.django_db

RLO = "\u202e"
HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:alert(1)",
]


def render(source: str, **context) -> str:
    return Template("{% load dashboard %}" + source).render(Context(context))


# --- 1. only http(s) URLs become links --------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_thread_page_links_no_url_but_http_and_https(moderator_client, url):
    thread = ThreadFactory(url=url)
    CommentFactory(thread=thread)
    html = moderator_client.get(reverse("moderation:thread", args=[thread.pk])).content.decode()
    assert "data-original" not in html
    assert not re.search(r'href="\s*(java|vbscript|data|//|https:a)', html, re.I)
    assert "not a web address" in html  # shown as text instead


@pytest.mark.parametrize("url", ["https://news.example/a?b=1", "http://news.example/"])
def test_thread_page_links_http_urls(moderator_client, url):
    thread = ThreadFactory(url=url)
    html = moderator_client.get(reverse("moderation:thread", args=[thread.pk])).content.decode()
    assert f'<a href="{url.replace("&", "&amp;")}" rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_safe_http_url_filter_refuses_other_schemes(url):
    assert render("{{ url|safe_http_url }}", url=url) == ""


def test_admin_thread_page_links_no_javascript_url(client):
    from tests.helpers import UserFactory

    thread = ThreadFactory(url="javascript:alert(document.cookie)")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:threads_thread_change", args=[thread.pk])).content.decode()
    assert 'href="javascript:' not in html


# --- 2. Content-Security-Policy --------------------------------------------------


def test_every_page_sends_a_policy_without_inline_script_or_style(moderator_client, client,
                                                                  scored_thread):
    comment = Comment.objects.filter(thread=scored_thread, depth=1).first()
    urls = [
        reverse("moderation:queue", args=["review"]),
        reverse("moderation:thread", args=[scored_thread.pk]),
        reverse("moderation:comment_history", args=[comment.pk]),
        reverse("moderation:comment_context", args=[comment.pk]),
        reverse("moderation:my_decisions"),
        reverse("admin:threads_comment_changelist"),
    ]
    for url in urls:
        response = moderator_client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", url
        assert directives["style-src"] == "'self'", url
        assert directives["default-src"] == "'none'", url
        assert "unsafe" not in policy
        html = response.content.decode()
        if not url.startswith("/admin/"):
            assert " style=" not in html, url
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
    assert "Content-Security-Policy" in client.get("/accounts/login/")


def test_htmx_is_told_not_to_inject_its_indicator_style(moderator_client, scored_thread):
    html = moderator_client.get(reverse("moderation:queue", args=["review"])).content.decode()
    assert """content='{"includeIndicatorStyles": false, "allowEval": false}'""" in html


def test_score_bars_width_is_a_class_in_five_percent_steps(moderator_client, scored_thread):
    html = moderator_client.get(reverse("moderation:queue", args=["review"])).content.decode()
    steps = {int(w) for w in re.findall(r'class="bar-fill w-(\d+)"', html)}
    assert steps and all(step % 5 == 0 and 0 <= step <= 100 for step in steps)
    assert 95 in steps  # the 0.95 top score


# --- 3. bounded bodies -----------------------------------------------------------

BIG = 2_000_000


@pytest.fixture
def big_comment(db, settings):
    settings.COMMENT_PREVIEW_CHARS = 1500
    thread = ThreadFactory()
    root = CommentFactory(thread=thread, body="the parent")
    comment = CommentFactory(thread=thread, parent=root, body="<b>x</b>" + "y" * BIG + "TAILMARK")
    score_comment(comment, 0.9)
    return comment


def test_long_body_is_previewed_on_every_page(moderator_client, big_comment):
    pages = [
        reverse("moderation:queue", args=["review"]),
        reverse("moderation:queue", args=["all"]),
        reverse("moderation:thread", args=[big_comment.thread_id]),
        reverse("moderation:author", args=[big_comment.author_id]),
        reverse("moderation:comment_history", args=[big_comment.pk]),
        reverse("moderation:comment_context", args=[big_comment.pk]),
        reverse("admin:threads_comment_changelist"),
        reverse("admin:threads_comment_change", args=[big_comment.pk]),
        reverse("admin:moderation_toxicityscore_changelist"),
    ]
    for url in pages:
        response = moderator_client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) < 60_000, url
        assert b"TAILMARK" not in response.content, url
    queue = moderator_client.get(pages[0]).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" + "y" * (1500 - 8) + "…" in queue
    assert f'hx-get="{reverse("moderation:comment_body", args=[big_comment.pk])}"' in queue


def test_show_all_returns_the_whole_body_escaped(moderator_client, big_comment):
    response = moderator_client.get(reverse("moderation:comment_body", args=[big_comment.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("y") >= BIG and html.rstrip().endswith("TAILMARK</div></div>")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert "Show all" not in html


def test_show_all_is_for_moderators_only(client, big_comment):
    from tests.helpers import UserFactory

    url = reverse("moderation:comment_body", args=[big_comment.pk])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


def test_short_body_has_no_show_all(moderator_client, scored_thread):
    html = moderator_client.get(reverse("moderation:queue", args=["review"])).content.decode()
    assert "data-show-all" not in html


def _reads_a_whole_body(sql: str) -> bool:
    """Whether a query selects a body column other than through SUBSTR(ING)."""
    without_cuts = re.sub(r"SUBSTR(ING)?\([^()]*\)", "", sql, flags=re.I)
    return bool(re.search(r'\."body(_html)?"', without_cuts.split(" FROM ")[0]))


@pytest.mark.parametrize("name", ["queue", "thread", "history", "context", "admin"])
def test_pages_cut_bodies_in_the_database(moderator_client, big_comment, name):
    url = {
        "queue": reverse("moderation:queue", args=["review"]),
        "thread": reverse("moderation:thread", args=[big_comment.thread_id]),
        "history": reverse("moderation:comment_history", args=[big_comment.pk]),
        "context": reverse("moderation:comment_context", args=[big_comment.pk]),
        "admin": reverse("admin:threads_comment_changelist"),
    }[name]
    with CaptureQueriesContext(connection) as captured:
        assert moderator_client.get(url).status_code == 200
    whole = [q["sql"] for q in captured.captured_queries if _reads_a_whole_body(q["sql"])]
    assert whole == []


# --- 3b. bounded "show context" --------------------------------------------------


@pytest.mark.parametrize("depth", [3, 40, 90])
def test_context_shows_the_root_and_the_five_nearest_ancestors(moderator_client, tmp_path,
                                                               depth):
    import_threads(tmp_path, [thread_document("deep", [f"body {i}" for i in range(depth + 1)],
                                              nested=True)])
    comment = Comment.objects.get(external_id=f"deep-{depth}")
    assert comment.depth == depth
    with CaptureQueriesContext(connection) as captured:
        html = moderator_client.get(
            reverse("moderation:comment_context", args=[comment.pk])).content.decode()
    shown = re.findall(r"body (\d+)</div>", html)
    nearest = list(range(max(1, depth - 5), depth))
    assert [int(n) for n in shown] == [0, *nearest]
    skipped = depth - 1 - len(nearest)
    if skipped:
        assert f"{skipped} more in between — open the thread" in html
        assert f"?at={comment.pk}#c-{comment.pk}" in html
    else:
        assert "more in between" not in html
    # Session, user, permissions, the comment, prefixes, <= 5 parent reads, replies.
    assert len(captured.captured_queries) <= 14


def test_context_of_a_chain_100_deep_reads_six_ancestors(moderator_client, tmp_path):
    from threads.selectors import comment_ancestors_bounded

    import_threads(tmp_path, [thread_document("d", [f"b{i}" for i in range(101)],
                                              nested=True)])
    comment = Comment.objects.get(external_id="d-100")
    with CaptureQueriesContext(connection) as captured:
        window = comment_ancestors_bounded(comment=comment, nearest=5)
    assert window.root.external_id == "d-0"
    assert [c.external_id for c in window.nearest] == [f"d-{i}" for i in range(95, 100)]
    assert window.skipped == 94
    assert len(captured.captured_queries) <= 6


# --- 4. bidi isolation -----------------------------------------------------------


def test_user_text_is_bidi_isolated(moderator_client, tmp_path):
    from moderation.decisions.services import comment_action_apply
    from tests.helpers import ModeratorFactory

    document = thread_document("rlo", ["first", f"{RLO}body text"], title=f"{RLO}title")
    document["comments"][1]["author"] = f"{RLO}evil"
    import_threads(tmp_path, [document])
    comment = Comment.objects.get(external_id="rlo-1")
    score_comment(comment, 0.9)
    comment_action_apply(action="flag", comment=comment, actor=ModeratorFactory(),
                         note=f"{RLO}note")
    queue = moderator_client.get(reverse("moderation:queue", args=["flagged"])).content.decode()
    assert f"<bdi>{RLO}evil</bdi>" in queue
    assert f"<bdi>{RLO}title</bdi>" in queue
    assert f'<div class="body" dir="auto" hx-disable>{RLO}body text</div>' in queue
    thread = moderator_client.get(
        reverse("moderation:thread", args=[comment.thread_id])).content.decode()
    assert f"<h1><bdi>{RLO}title</bdi></h1>" in thread
    assert f"<title>\u2068{RLO}title\u2069" in thread
    history = moderator_client.get(
        reverse("moderation:comment_history", args=[comment.pk])).content.decode()
    assert f'<td class="note" dir="auto" hx-disable>{RLO}note</td>' in history
    assert f"<bdi>{RLO}evil</bdi>" in history
