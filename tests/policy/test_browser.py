"""The policy editor and both reports in a real browser (Chromium via Playwright):
the backtest before saving, the plots under the CSP, phone width. Screenshots go to
SCREENSHOTS_DIR (docs/screenshots/ to refresh the committed ones)."""

from __future__ import annotations

import pytest

from moderation.models import PolicyChange, PolicyRule
from moderation.policy.services import word_list_save
from tests.helpers import (
    BROWSER_TEST,
    PASSWORD,
    SCREENSHOTS,
    CommentFactory,
    ModeratorFactory,
    PolicyManagerFactory,
    bulk_decided,
    csp_violations,
    decided_set,
    score_exactly,
)
from threads.models import Comment

pytest.importorskip("playwright.sync_api")


pytestmark = BROWSER_TEST


@pytest.fixture
def history(transactional_db, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    moderators = [ModeratorFactory(username=name) for name in ("ana", "bo", "chen")]
    bulk_decided(moderators, 1500, days=28)
    decided_set(moderators[0])
    word_list_save(actor=None, name="Insults", source="", kind="suspect", words=["clown"])
    waiting = CommentFactory(body="Only a clown would write this <b>nonsense</b>.")
    score_exactly(waiting, {"toxicity": 0.42})
    Comment.objects.filter(pk=waiting.pk).update(needs_review=True)
    return PolicyManagerFactory(username="admin1")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_policy_editor_backtest_and_reports_in_the_browser(browser, live_server, history):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/accounts/login/?next=/policy/")
    page.fill("#id_username", "admin1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/policy/")

    # A new rule, backtested before it is saved.
    page.click("text=New rule")
    page.fill("#id_source", "news")
    page.select_option("#id_label", "toxicity")
    page.fill("#id_review_threshold", "0.35")
    page.fill("#id_days", "30")
    page.click("button[value=backtest]")
    page.wait_for_selector("#backtest")
    assert "Proposed" in page.inner_text("#backtest")
    assert not PolicyRule.objects.exists()
    shot(page, "policy-backtest")
    page.click("button[value=save]")
    page.wait_for_url("**/policy/")
    assert PolicyRule.objects.get().review_threshold == 0.35
    assert PolicyChange.objects.filter(kind="rule").count() == 1
    assert "Saved" in page.inner_text(".messages")
    shot(page, "policy")

    # The model report: plots drawn, the suggested threshold one click from a backtest.
    page.goto(f"{live_server.url}/reports/model/?source=news&days=30&precision=0.8")
    page.wait_for_selector("svg.chart")
    assert page.locator("#label-toxicity svg.chart").count() == 2
    assert page.locator("#label-toxicity rect.bar-hidden").count() > 5
    shot(page, "report-model")
    page.click("#label-toxicity >> text=Propose (backtest first)")
    page.wait_for_selector("#backtest")
    assert page.input_value("#id_source") == "news"

    page.goto(f"{live_server.url}/reports/queue/?days=30")
    assert page.locator("svg.chart").count() == 4
    assert page.locator("svg.chart rect.bar-approved").count() > 10
    assert "chen" in page.inner_text("table")
    shot(page, "report-queue")

    # The queue card highlights the watched word, escaped.
    page.goto(f"{live_server.url}/queue/review/")
    assert page.inner_text(".watched mark") == "clown"
    assert page.locator(".card .body b").count() == 0

    # Phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    for url, name in [("/reports/model/?source=news", "report-model-phone"),
                      ("/reports/queue/", "report-queue-phone"), ("/policy/", "policy-phone")]:
        page.goto(live_server.url + url)
        shot(page, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"{url} scrolls sideways at 390 px ({width})"
    page.goto(f"{live_server.url}/policy/rules/new/?source=news&label=toxicity"
              "&review_threshold=0.35&propose=1")
    page.wait_for_selector("#backtest")
    shot(page, "policy-backtest-phone")
    assert violations == []
    page.close()
