"""In Chromium: a moderator presses w on a card and sees the words behind its score;
a comment in a language the model cannot read shows n/a scores and the banner."""

from __future__ import annotations

import pytest

from moderation.scoring.fallback import FallbackScorer
from moderation.scoring.pipeline import comments_score_in_process
from moderation.scoring.registry import reset_active_scorer
from tests.helpers import (
    BROWSER_TEST,
    PASSWORD,
    SCREENSHOTS,
    TURKISH_REVIEW,
    ModeratorFactory,
)
from threads.models import Comment

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


pytestmark = BROWSER_TEST

INSULT = "Honestly, you are an idiot <script>alert(1)</script> and nobody should listen to you."


@pytest.fixture
def scored(make_thread, settings):
    settings.SCORER = "fallback"
    reset_active_scorer()
    comments = make_thread([INSULT, TURKISH_REVIEW,
                            "What a shitty, stupid decision by the council."])
    comments_score_in_process(comment_ids=[c.pk for c in comments], scorer=FallbackScorer())
    ModeratorFactory(username="mod")
    yield {c.body: c.pk for c in comments}
    reset_active_scorer()


@pytest.mark.parametrize("width", [1280, 390])
def test_why_this_score_in_the_browser(browser, live_server, scored, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.fill("#id_username", "mod")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue/review/")

    expect(page.locator(".banner-lang")).to_contain_text("1 comment in review")
    turkish = scored[TURKISH_REVIEW]
    expect(page.locator(f"#c-{turkish} .na")).to_contain_text("language not supported by")
    expect(page.locator(f"#c-{turkish} .lang-badge")).to_have_text("Turkish")

    insult = scored[INSULT]
    page.click(f"#c-{insult} .body")
    page.keyboard.press("w")
    mark = page.locator(f"#why-{insult} .why-body mark").first
    expect(mark).to_have_text("idiot")
    # The hostile markup is text: nothing ran, no element was made of it.
    assert page.locator(f"#why-{insult} script").count() == 0
    assert "<script>alert(1)</script>" in page.inner_text(f"#why-{insult} .why-body")
    assert dialogs == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "why.png" if width > 600 else "why-phone.png"
    page.screenshot(path=str(SCREENSHOTS / name), full_page=width < 600)

    # The thread view's why too, and the language filter.
    thread_id = Comment.objects.get(pk=insult).thread_id
    page.goto(f"{live_server.url}/threads/{thread_id}/")
    page.click(f"#c-{insult} [data-why]")
    expect(page.locator(f"#why-{insult} .why-body mark").first).to_have_text("idiot")
    page.goto(f"{live_server.url}/queue/review/?lang=unsupported")
    assert page.locator("#card-list article[data-card]").count() == 1
    page.close()
