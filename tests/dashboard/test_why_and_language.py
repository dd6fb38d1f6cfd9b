"""The dashboard's "why this score", language badge, filter and banner (issue 12 parts 4-5)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from moderation.scoring.fallback import FallbackScorer
from moderation.scoring.pipeline import comments_score_in_process
from moderation.scoring.registry import reset_active_scorer
from tests.helpers import ENGLISH_COMMENT, TURKISH_REVIEW, XSS_BODY
from threads.models import Comment

pytestmark = pytest.mark.django_db

HOSTILE_INSULT = f"{XSS_BODY} you are an idiot <b>really</b>"


@pytest.fixture
def fallback_scored(make_thread, settings):
    """Comments scored by the real fallback (the active scorer here)."""
    settings.SCORER = "fallback"
    reset_active_scorer()
    comments = make_thread([HOSTILE_INSULT, TURKISH_REVIEW, ENGLISH_COMMENT])
    comments_score_in_process(comment_ids=[c.pk for c in comments], scorer=FallbackScorer())
    yield {c.body: Comment.objects.get(pk=c.pk) for c in comments}
    reset_active_scorer()


def why(client, comment):
    response = client.get(reverse("moderation:comment_why", args=[comment.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_why_marks_the_insult_in_the_escaped_body(moderator_client, fallback_scored):
    html = why(moderator_client, fallback_scored[HOSTILE_INSULT])
    assert '<mark class="why why-4"' in html and ">idiot</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<b>really" not in html and "<img" not in html
    assert "idiot</bdi></mark>" in html  # the word list, isolated
    assert "points without it" in html


def test_why_is_not_applicable_in_a_language_the_model_does_not_read(moderator_client,
                                                                     fallback_scored):
    html = why(moderator_client, fallback_scored[TURKISH_REVIEW])
    assert "Scores not applicable: language not supported by fallback scorer" in html
    assert "<mark" not in html


def test_why_is_for_moderators_only(client, fallback_scored):
    response = client.get(reverse("moderation:comment_why",
                                  args=[fallback_scored[HOSTILE_INSULT].pk]))
    assert response.status_code in (302, 403)


def test_cards_show_the_language_and_not_applicable_scores(moderator_client, fallback_scored):
    html = moderator_client.get(reverse("moderation:queue", args=["all"])).content.decode()
    assert '<span class="lang-badge" title="detected language">Turkish</span>' in html
    assert '<span class="lang-badge" title="detected language">English</span>' in html
    assert html.count("Scores not applicable: language not supported by fallback") == 1
    assert html.count("data-why") == 3


def test_banner_only_when_an_unsupported_language_is_in_review(moderator_client,
                                                               fallback_scored):
    url = reverse("moderation:queue", args=["review"])
    html = moderator_client.get(url).content.decode()
    assert "1 comment in review is in a language the active model does not read" in html
    assert "?lang=unsupported" in html
    Comment.objects.filter(language="tr").update(needs_review=False)
    assert "banner-lang" not in moderator_client.get(url).content.decode()


def test_queue_filters_by_language(moderator_client, fallback_scored):
    url = reverse("moderation:queue", args=["all"])
    turkish = fallback_scored[TURKISH_REVIEW].pk
    english = fallback_scored[ENGLISH_COMMENT].pk

    def cards(query):
        html = moderator_client.get(url + query).content.decode()
        return {pk for pk in (turkish, english) if f'id="c-{pk}"' in html}

    assert cards("?lang=tr") == {turkish}
    assert cards("?lang=en") == {english}
    assert cards("?lang=unsupported") == {turkish}
    assert cards("?lang=de") == set()
    bad = moderator_client.get(url + "?lang=<script>")
    assert bad.status_code == 400 and b"lang" in bad.content


def test_thread_view_has_the_why_control(moderator_client, fallback_scored):
    comment = fallback_scored[HOSTILE_INSULT]
    html = moderator_client.get(reverse("moderation:thread", args=[comment.thread_id])).content
    assert f'hx-target="#why-{comment.pk}"'.encode() in html
