"""The Reported tab and the webhook admin in Chromium, at 1280 and 390 px (screenshots)."""

from __future__ import annotations

import pytest

from moderation.decisions.services import comment_action_apply
from moderation.events.webhooks import webhook_delivery_attempt, webhooks_fanout
from moderation.models import WebhookSubscription
from moderation.reader_reports.services import comment_report_add
from tests.helpers import (
    BROWSER_TEST,
    PASSWORD,
    SCREENSHOTS,
    XSS_BODY,
    CommentFactory,
    ModeratorFactory,
    StaffFactory,
    ThreadFactory,
    WebhookReceiver,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


pytestmark = BROWSER_TEST


def log_in(page, live_server, username: str, next_url: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def reported(transactional_db, monkeypatch, settings):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.REPORTS_REVIEW_AFTER = 0
    thread = ThreadFactory(title="Council votes to close the night bus")
    bodies = ["Typical, they never ask the people who actually ride it.",
              "You absolute clown, go back to where you came from.", XSS_BODY,
              "Buy cheap watches at example.shop!!!"]
    comments = [CommentFactory(thread=thread, body=b, author_name=f"reader{i}")
                for i, b in enumerate(bodies)]
    plan = {1: [("hate", 4), ("harassment", 2)], 3: [("spam", 3)], 2: [("other", 1)],
            0: [("off-topic", 1)]}
    for index, reasons in plan.items():
        n = 0
        for reason, times in reasons:
            for _ in range(times):
                n += 1
                comment_report_add(comment=comments[index], reporter_id=f"r{n}", reason=reason)
    return comments, ModeratorFactory(username="mod")


def test_reported_tab_in_chromium(browser, live_server, reported):
    comments, _ = reported
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # (The browser's own favicon request 404s: not the page's doing.)
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and errors.append(m.text))
    log_in(page, live_server, "mod")
    page.goto(f"{live_server.url}/queue/reported/")
    order = [int(pk) for pk in page.eval_on_selector_all(
        "#card-list article[data-card]", "els => els.map(e => e.dataset.id)")]
    assert order == [comments[i].pk for i in (1, 3, 2, 0)]  # 6, 3, 1, 1 reports
    top = comments[1]
    assert page.inner_text(f"#c-{top.pk} .reports").split() == \
        ["6", "reader", "reports", "Hate", "×4", "Harassment", "×2"]
    assert page.inner_text(f"#c-{comments[2].pk} .body") == XSS_BODY
    assert page.text_content('[data-count="reported"]').strip() == "4"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reported.png"), full_page=False)

    # A moderator acting on it takes it out of the tab.
    page.click(f"#c-{top.pk} .body")
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{top.pk}.state-hidden")
    expect(page.locator('[data-count="reported"]')).to_have_text("3")
    assert not errors, errors  # no CSP violation, no script error

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(phone, live_server, "mod")
    phone.goto(f"{live_server.url}/queue/reported/")
    phone.wait_for_selector(f"#c-{comments[3].pk} .reports")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    phone.screenshot(path=str(SCREENSHOTS / "reported-phone.png"), full_page=False)


def test_webhook_admin_in_chromium(browser, live_server, reported, webhook_settings,
                                   webhook_queue):
    comments, moderator = reported
    StaffFactory(username="admin", is_superuser=True)
    with WebhookReceiver([500, 200]) as receiver:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server, "admin", "/admin/moderation/webhooksubscription/add/")
        page.fill("#id_name", "mysite")
        page.fill("#id_url", "https://10.0.0.5/hooks")
        page.check("input[name=event_types][value='comment.state_changed']")
        page.click("input[name=_save]")
        assert "private, loopback or reserved" in page.inner_text(".errorlist")
        page.fill("#id_url", receiver.url)
        page.click("input[name=_save]")
        page.wait_for_url("**/webhooksubscription/")
        sub = WebhookSubscription.objects.get()
        assert sub.secret.startswith("whsec_")
        comment_action_apply(comment=comments[0], action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        webhook_delivery_attempt(delivery_id=delivery_id)
        page.goto(f"{live_server.url}/admin/moderation/webhookdelivery/")
        page.screenshot(path=str(SCREENSHOTS / "admin-webhook-deliveries.png"), full_page=False)
        page.goto(f"{live_server.url}/admin/moderation/webhookdelivery/{delivery_id}/change/")
        assert "<b>nope</b>" in page.inner_text("body")  # the receiver's answer, as text
        page.screenshot(path=str(SCREENSHOTS / "admin-webhook-delivery.png"), full_page=True)
        # Redeliver from the list.
        page.goto(f"{live_server.url}/admin/moderation/webhookdelivery/")
        page.check(f"input[name=_selected_action][value='{delivery_id}']")
        page.select_option("select[name=action]", "redeliver")
        page.click("button[name=index]")
        assert "deliveries sent again" in page.inner_text(".messagelist")
