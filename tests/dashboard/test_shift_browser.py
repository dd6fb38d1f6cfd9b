"""Issue 13, the moderator's shift, in a real browser (Debian's Chromium, Playwright).

Keyboard-only work past the first page, Back, Enter in a note, per-card
reasons in a bulk action, failures that say so, the thread view's keyboard,
collapsing and branch actions, phone width, the compact view; screenshots of
each page touched (SCREENSHOTS_DIR=docs/screenshots refreshes the committed ones).
"""

from __future__ import annotations

import re

import pytest

from moderation.decisions.services import comment_action_apply
from moderation.models import Decision
from tests.helpers import (
    BROWSER_TEST,
    PASSWORD,
    SCREENSHOTS,
    ModeratorFactory,
    UserFactory,
    import_threads,
    score_comment,
    thread_document,
)
from threads.models import Comment

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


pytestmark = BROWSER_TEST

State = Comment.State
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shift(long_queue, monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ModeratorFactory(username="mod")
    return long_queue


def signed_in(browser, live_server, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(d.message)))
    page.goto(f"{live_server.url}/accounts/login/?next=/queue/review/")
    page.fill("#id_username", "mod")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue/review/")
    return page


def current_id(page) -> int:
    return int(page.get_attribute(".is-current", "data-id"))


def in_view(page, selector: str) -> bool:
    """Whether the element is on screen and not under the sticky top bar or the dock."""
    return page.evaluate("""(sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        const bar = document.querySelector('.topbar').getBoundingClientRect();
        const top = getComputedStyle(document.querySelector('.topbar')).position === 'sticky'
            ? bar.bottom : 0;
        const dock = document.querySelector('.dock').getBoundingClientRect().top;
        return r.height > 0 && r.top >= top - 1 && r.top < Math.min(dock, innerHeight);
    }""", selector)


def on_screen(page, selector: str) -> bool:
    """Whether the element is inside the window (for the dock's own contents)."""
    return page.evaluate("""(sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight;
    }""", selector)


def state(pk: int) -> str:
    return Comment.objects.get(pk=pk).state


def test_keyboard_only_past_the_first_page_with_back_and_enter(browser, live_server, shift):
    ids = shift
    page = signed_in(browser, live_server)
    assert current_id(page) == ids[0]

    # 1. Enter in the note field takes no action.
    page.fill(f"#c-{ids[0]} input[name=note]", "looks fine?")
    page.press(f"#c-{ids[0]} input[name=note]", "Enter")
    expect(page.locator("#flash")).to_contain_text("Enter does not act")
    page.wait_for_timeout(300)
    assert state(ids[0]) == State.PENDING
    assert not Decision.objects.exists()
    page.keyboard.press("Escape")

    # Number keys pick the current card's reason.
    page.keyboard.press("1")
    assert page.input_value(f"#c-{ids[0]} select[data-reason]") == "spam"
    page.keyboard.press("0")
    assert page.input_value(f"#c-{ids[0]} select[data-reason]") == "other"

    # 2. j to card 9, o, Back: a key acts only on a card in view and marked.
    for _ in range(9):
        page.keyboard.press("j")
    assert current_id(page) == ids[9]
    page.keyboard.press("o")
    page.wait_for_url("**/threads/**")
    page.go_back()
    page.wait_for_url("**/queue/review/")
    page.wait_for_timeout(300)
    marked = current_id(page)
    assert marked != ids[0] and in_view(page, f"#c-{marked}")
    page.keyboard.press("a")
    page.wait_for_selector(f"#c-{marked}.state-approved")
    assert state(ids[0]) == State.PENDING

    # A mark scrolled out of view is moved into view, not acted on.
    page.mouse.wheel(0, 2500)
    page.wait_for_timeout(300)
    before = current_id(page)
    page.keyboard.press("h")
    expect(page.locator("#flash")).to_contain_text("out of view")
    assert state(before) == State.PENDING
    assert in_view(page, ".is-current")

    # 11. j on the 25th card loads the next page and moves on to card 26.
    page.goto(f"{live_server.url}/queue/review/")
    for _ in range(24):
        page.keyboard.press("j")
    last_of_page = current_id(page)
    page.keyboard.press("j")
    expect(page.locator("#card-list article[data-card]")).to_have_count(29)  # 30 - 1 approved
    page.wait_for_function(f"document.querySelector('.is-current').dataset.id != '{last_of_page}'")
    beyond = current_id(page)
    assert beyond not in [int(x) for x in page.eval_on_selector_all(
        "#card-list article[data-card]", "els => els.slice(0, 25).map(e => e.dataset.id)")]
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{beyond}.state-hidden")
    assert state(beyond) == State.HIDDEN

    # 5. Acting low on the page: the status line and Undo are in view.
    assert on_screen(page, "#flash") and on_screen(page, "#undo-button")
    # 5. The dock covers no card: the current one is clear of it.
    assert in_view(page, ".is-current")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue-keyboard-page2.png"))
    page.context.close()


def test_bulk_records_each_cards_reason_and_failures_say_so(browser, live_server, shift):
    ids = shift
    page = signed_in(browser, live_server)
    # 6. Select two; the second card's reason changed to spam; h hides each with its own.
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("1")  # spam
    page.keyboard.press("x")
    assert page.text_content("#selected-count") == "2 selected"
    assert page.input_value("#bulk-form select[name=reason]") == ""  # "as each card shows"
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{ids[1]}.state-hidden")
    page.wait_for_selector(f"#c-{ids[0]}.state-hidden")
    reasons = dict(Decision.objects.values_list("comment_id", "reason"))
    assert reasons == {ids[0]: "harassment", ids[1]: "spam"}

    # 7. A conflict in words; the card keeps the focus ring.
    page.reload()
    target = current_id(page)
    comment_action_apply(comment=target, action="hide", actor=ModeratorFactory(username="alice"),
                         reason="spam")
    page.keyboard.press("a")
    notice = page.wait_for_selector(f"#c-{target} .notice-conflict")
    assert notice.inner_text().startswith("Not done: someone acted first. alice hid it at ")
    expect(page.locator(f"#c-{target}")).to_have_class(re.compile(r"\bstate-hidden\b"))
    expect(page.locator(f"#c-{target}")).to_have_class(re.compile(r"\bis-current\b"))

    # 8. A network error, a server error, an ended session: said, and no card changes.
    page.keyboard.press("j")
    victim = current_id(page)
    cards_before = page.locator("#card-list article[data-card]").count()
    page.route("**/act/", lambda route: route.abort())
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text("Network error")
    page.unroute("**/act/")
    page.route("**/act/", lambda route: route.fulfill(status=500, body="<html>Traceback</html>",
                                                      content_type="text/html"))
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text("The server failed (HTTP 500)")
    page.unroute("**/act/")
    assert page.locator("#card-list article[data-card]").count() == cards_before
    page.context.clear_cookies(name="sessionid")  # the session ended; the CSRF cookie stays
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text("session has ended")
    assert state(victim) == State.PENDING
    expect(page.locator(f"#c-{victim}")).to_have_class(re.compile(r"\bstate-pending\b"))
    expect(page.locator(f"#c-{victim}")).to_have_class(re.compile(r"\bis-current\b"))
    page.screenshot(path=str(SCREENSHOTS / "queue-failure.png"))
    page.context.close()


def test_thread_view_keyboard_collapse_and_branch_actions(browser, live_server, shift, tmp_path):
    document = thread_document("tree", ["The article is fair.", "You are all idiots.",
                                        "I agree with the first.", "Me too.", "Separate point."],
                               title="Tram line vote")
    document["comments"][1]["parent_id"] = "tree-0"
    document["comments"][2]["parent_id"] = "tree-0"
    document["comments"][3]["parent_id"] = "tree-2"
    document["comments"][4]["parent_id"] = None
    import_threads(tmp_path, [document], name="tree.json")
    nodes = {c.external_id: c for c in Comment.objects.filter(thread__external_id="tree")}
    score_comment(nodes["tree-1"], 0.93, label="insult")
    for key in ("tree-0", "tree-2", "tree-3", "tree-4"):
        score_comment(nodes[key], 0.05)
    pk = {key: comment.pk for key, comment in nodes.items()}
    page = signed_in(browser, live_server)
    page.goto(f"{live_server.url}/threads/{nodes['tree-0'].thread_id}/")
    # Needs-review nodes are marked.
    assert page.locator(f"#c-{pk['tree-1']}.needs-review .badge-review").count() == 1
    assert page.locator(".needs-review").count() == 1

    # 11. x and c work in the thread view; z collapses a branch.
    assert current_id(page) == pk["tree-0"]
    page.keyboard.press("j")
    assert current_id(page) == pk["tree-1"]
    page.keyboard.press("x")
    assert page.text_content("#selected-count") == "1 selected"
    page.keyboard.press("c")
    assert current_id(page) == pk["tree-0"]  # the comment it replies to
    page.keyboard.press("z")
    expect(page.locator(f"#c-{pk['tree-3']}")).to_be_hidden()
    expect(page.locator(f"#c-{pk['tree-0']} .collapsed-note")).to_have_text("3 replies hidden")
    page.keyboard.press("j")
    assert current_id(page) == pk["tree-4"]  # past the collapsed branch
    page.screenshot(path=str(SCREENSHOTS / "thread-collapsed.png"))
    page.keyboard.press("k")
    page.keyboard.press("z")
    expect(page.locator(f"#c-{pk['tree-3']}")).to_be_visible()
    # The selected reply, flagged with the bulk bar's key, with its node's reason.
    page.keyboard.press("f")
    page.wait_for_selector(f"#c-{pk['tree-1']}.state-flagged")
    assert Decision.objects.get(comment_id=pk["tree-1"]).reason == "harassment"

    # 4. Hide branch asks first; Restore branch sits beside it and puts it back.
    page.click(f"#c-{pk['tree-2']} summary.act-hide")
    expect(page.locator(f"#c-{pk['tree-2']} .confirm-text").first).to_be_visible()
    assert state(pk["tree-2"]) == State.PENDING  # nothing done by opening it
    page.click(f"#c-{pk['tree-2']} button[value=hide_branch]")
    page.wait_for_selector(f"#c-{pk['tree-3']}.state-hidden")
    page.click(f"#c-{pk['tree-2']} summary.act-restore")
    page.click(f"#c-{pk['tree-2']} button[value=restore_branch]")
    page.wait_for_selector(f"#c-{pk['tree-3']}.state-approved")
    assert state(pk["tree-2"]) == State.APPROVED
    page.screenshot(path=str(SCREENSHOTS / "thread-shift.png"))

    # 4 and 12 at phone width: tappable sizes, and the bulk bar in reach after selecting.
    phone = signed_in(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"{live_server.url}/threads/{nodes['tree-0'].thread_id}/")
    summary = phone.locator(f"#c-{pk['tree-0']} summary.act-hide").bounding_box()
    assert summary["height"] >= 44
    box = phone.locator(f"#c-{pk['tree-0']} label.select").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SCREENSHOTS / "thread-shift-phone.png"))
    phone.goto(f"{live_server.url}/queue/review/")
    for index in range(5):
        phone.locator("#card-list article[data-card] label.select").nth(index).click()
    assert phone.text_content("#selected-count") == "5 selected"
    assert on_screen(phone, "#bulk-form button[value=hide]")
    # The bar does not cover the fifth card's checkbox.
    fifth = phone.locator("#card-list article[data-card] label.select").nth(4).bounding_box()
    dock = phone.locator(".dock").bounding_box()
    assert fifth["y"] + fifth["height"] <= dock["y"]
    phone.screenshot(path=str(SCREENSHOTS / "queue-bulk-phone.png"))
    phone.context.close()
    page.context.close()


def test_compact_view_settings_and_admin_screenshots(browser, live_server, shift):
    ids = shift
    page = signed_in(browser, live_server)
    page.click(".density button[value=compact]")
    page.wait_for_selector("body.density-compact")
    first, second = (page.locator(f"#c-{pk}") for pk in ids[:2])
    # One line per comment; the current one opens.
    assert second.bounding_box()["height"] < 70
    assert first.locator(".actions").is_visible() and not second.locator(".actions").is_visible()
    page.keyboard.press("j")
    expect(second.locator(".actions")).to_be_visible()
    expect(first.locator(".actions")).to_be_hidden()
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{ids[1]}.state-hidden")
    assert current_id(page) == ids[2]
    page.screenshot(path=str(SCREENSHOTS / "queue-compact.png"))
    phone = signed_in(browser, live_server, viewport=PHONE, is_mobile=True)
    assert phone.locator("body.density-compact").count() == 1  # remembered for this moderator
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SCREENSHOTS / "queue-compact-phone.png"))

    # The settings page: the moderator's zone on every date.
    for view, name in ((page, "settings"), (phone, "settings-phone")):
        view.goto(f"{live_server.url}/me/settings/")
        view.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.fill("input[name=time_zone]", "America/New_York")
    page.click("button.primary")
    expect(page.locator(".notice-done")).to_contain_text("America/New_York")
    page.goto(f"{live_server.url}/queue/review/")
    assert re.search(r"\d{2}:\d{2} EDT", page.inner_text(f"#c-{ids[0]} time"))

    # 13. Admin's comment list fits at 1280 px, State and Score included.
    UserFactory(username="root", is_staff=True, is_superuser=True)
    admin = browser.new_page(viewport=DESKTOP)
    admin.goto(f"{live_server.url}/admin/login/?next=/admin/threads/comment/")
    admin.fill("#id_username", "root")
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url("**/admin/threads/comment/")
    for column in ("column-state", "column-top_score"):
        right = admin.evaluate(
            f"document.querySelector('th.{column}').getBoundingClientRect().right")
        assert right <= 1280, column
    assert admin.locator("select[name=action] option[value=delete_selected]").count() == 0
    admin.screenshot(path=str(SCREENSHOTS / "admin-comments-shift.png"))
    for view in (page, phone, admin):
        view.context.close() if view is not admin else view.close()
