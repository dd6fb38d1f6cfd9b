"""End to end in a real browser: Debian's Chromium driven by Playwright.

The live server runs the real app on 127.0.0.1; the browser logs in through
the login form and works the queue with the keyboard. Screenshots of the
queue and the other pages are saved to SCREENSHOTS_DIR (docs/screenshots/
to refresh the committed ones).
"""

from __future__ import annotations

import re

import pytest

from moderation.decisions.services import branch_job_run, comment_action_apply
from moderation.models import BranchHideJob
from tests.helpers import (
    BROWSER_TEST,
    PASSWORD,
    SCREENSHOTS,
    XSS_BODY,
    ModeratorFactory,
    UserFactory,
    import_threads,
    score_comment,
    thread_document,
)
from threads.models import Comment, Thread

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


pytestmark = BROWSER_TEST

State = Comment.State

BODIES = [
    "You are an idiot and everyone here knows it.",
    "This article is garbage, written by clowns for clowns.",
    XSS_BODY,
    "Shut up, nobody asked for your stupid opinion.",
    "I disagree with the premise, but the reporting on the court ruling is solid.",
    "Does anyone have a link to the original ruling? I'd like to read it.",
    "Thanks for the thoughtful piece.",
    "Some of these commenters need to calm down.",
]
SCORES = [0.97, 0.91, 0.84, 0.78, 0.62, 0.55, 0.12, 0.31]
LABELS = ["insult", "toxicity", "toxicity", "insult", "toxicity", "toxicity", "toxicity",
          "toxicity"]


@pytest.fixture
def seeded(transactional_db, tmp_path, monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread; the
    # ORM calls this test makes meanwhile are ordinary blocking calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    document = thread_document("court", BODIES, title="Court bans social network nationwide")
    # A second-level reply so the thread view shows indentation.
    document["comments"][5]["parent_id"] = "court-4"
    document["comments"][7]["parent_id"] = "court-5"
    import_threads(tmp_path, [document, thread_document("quiet", ["Lovely photos."],
                                                          title="Spring in the park")])
    for comment in Comment.objects.filter(thread__external_id="court"):
        index = int(comment.external_id.split("-")[1])
        score_comment(comment, SCORES[index], label=LABELS[index])
    score_comment(Comment.objects.get(external_id="quiet-0"), 0.02,
                  model_key="fallback:lexicon:v1")
    return ModeratorFactory(username="mod")


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def moderator_page(browser, live_server, dialogs: list[str], **page_options):
    """A page signed in as the moderator, on the review queue; any dialog is recorded."""
    page = browser.new_page(**(page_options or {"viewport": {"width": 1280, "height": 900}}))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server, "mod")
    page.wait_for_url("**/queue/review/")
    return page


def queue_order(page) -> list[int]:
    return [int(pk) for pk in page.eval_on_selector_all(
        "#card-list article[data-card]", "els => els.map(e => e.dataset.id)")]


def count(page, tab: str) -> str:
    return page.text_content(f'[data-count="{tab}"]').strip()


def test_moderator_works_the_queue_with_the_keyboard(browser, live_server, seeded):
    dialogs: list[str] = []
    page = moderator_page(browser, live_server, dialogs)

    expected = list(Comment.objects.filter(needs_review=True).order_by("-toxicity")
                    .values_list("pk", flat=True))
    assert queue_order(page) == expected
    assert count(page, "review") == "6"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=False)

    # The hostile comment renders as text and runs nothing.
    xss = Comment.objects.get(body=XSS_BODY)
    assert page.inner_text(f"#c-{xss.pk} .body") == XSS_BODY
    assert page.locator(f"#c-{xss.pk} .body img").count() == 0

    # Keys typed in a text field are text, not shortcuts.
    first = expected[0]
    page.fill(f"#c-{first} input[name=note]", "")
    page.type(f"#c-{first} input[name=note]", "hah")
    assert Comment.objects.get(pk=first).state == State.PENDING
    page.keyboard.press("Escape")

    # The first card has the focus; h hides it with the suggested reason.
    page.click(f"#c-{first} .body")
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{first}.state-hidden")
    assert count(page, "review") == "5"
    assert count(page, "hidden") == "1"
    hidden = Comment.objects.get(pk=first)
    assert hidden.state == State.HIDDEN
    assert hidden.decisions.get().reason == "harassment"  # from its top label, insult
    assert hidden.decisions.get().note == "hah"
    # The focus moved on to the next card (restored after htmx settles).
    expect(page.locator(":focus")).to_have_attribute("data-id", str(expected[1]))

    page.reload()
    assert first not in queue_order(page)
    assert count(page, "hidden") == "1"

    # Undo with u: a new decision puts it back.
    page.goto(f"{live_server.url}/queue/hidden/")
    page.keyboard.press("r")
    page.wait_for_selector(f"#c-{first}.state-approved")
    page.keyboard.press("u")
    page.wait_for_selector(f"#c-{first}.state-hidden")
    assert Comment.objects.get(pk=first).state == State.HIDDEN

    # Bulk: select two with x, approve both with a.
    page.goto(f"{live_server.url}/queue/review/")
    second, third = queue_order(page)[:2]
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.text_content("#selected-count") == "2 selected"
    page.keyboard.press("a")
    page.wait_for_selector(f"#c-{third}.state-approved")
    page.wait_for_selector(f"#c-{second}.state-approved")
    assert count(page, "review") == "3"
    assert set(Comment.objects.filter(pk__in=[second, third]).values_list("state", flat=True)) \
        == {State.APPROVED}

    # Shift-click selects a range.
    page.reload()
    ids = queue_order(page)
    page.click(f"#c-{ids[0]} [data-select]")
    page.click(f"#c-{ids[2]} [data-select]", modifiers=["Shift"])
    assert page.text_content("#selected-count") == "3 selected"

    # "Show context" expands ancestors and replies in place.
    reply = Comment.objects.get(external_id="court-5")
    page.goto(f"{live_server.url}/queue/review/")
    page.click(f"#c-{reply.pk} [data-context]")
    page.wait_for_selector(f"#ctx-{reply.pk} .ctx")
    assert "I disagree with the premise" in page.inner_text(f"#ctx-{reply.pk}")
    assert "calm down" in page.inner_text(f"#ctx-{reply.pk}")

    # The help overlay.
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert dialogs == []


def test_stale_action_shows_the_conflict(browser, live_server, seeded):
    page = moderator_page(browser, live_server, dialogs=[])
    target = queue_order(page)[0]
    # Another moderator hides it after this page was loaded.
    comment_action_apply(action="hide", comment=Comment.objects.get(pk=target),
                         actor=ModeratorFactory(username="alice"),
                 reason="spam")
    page.keyboard.press("a")
    notice = page.wait_for_selector(f"#c-{target} .notice-conflict")
    assert "alice hid it at " in notice.inner_text()  # in words (issue 13)
    # The card refreshed. htmx applies the new element's classes only after its
    # settle delay, so this assertion waits for them instead of racing the swap.
    expect(page.locator(f"#c-{target}")).to_have_class(re.compile(r"\bstate-hidden\b"))
    assert Comment.objects.get(pk=target).state == State.HIDDEN
    # The focus stays on the card that needs a look (restored after the settle).
    expect(page.locator(":focus")).to_have_attribute("data-id", str(target))


def test_thread_view_and_phone_width(browser, live_server, seeded):
    dialogs: list[str] = []
    page = moderator_page(browser, live_server, dialogs)
    thread = Thread.objects.get(external_id="court")
    xss = Comment.objects.get(body=XSS_BODY)
    comment_action_apply(action="hide", comment=xss, actor=None)
    page.goto(f"{live_server.url}/threads/{thread.pk}/")
    nodes = page.locator("#tree article[data-card]")
    assert nodes.count() == len(BODIES)
    # Hidden comments stay readable (dimmed), as text.
    assert page.inner_text(f"#c-{xss.pk} .body") == XSS_BODY
    # Act on a node: hide a branch.
    branch_root = Comment.objects.get(external_id="court-4")
    # Hide branch asks first (issue 13): open its confirmation, then confirm.
    page.click(f"#c-{branch_root.pk} .branch-confirm summary.act-hide")
    page.click(f"#c-{branch_root.pk} button[value=hide_branch]")
    page.wait_for_selector(f"#c-{branch_root.pk}.state-hidden")
    leaf = Comment.objects.get(external_id="court-7")
    page.wait_for_selector(f"#c-{leaf.pk}.state-hidden")
    assert Comment.objects.filter(state=State.HIDDEN).count() == 4
    page.screenshot(path=str(SCREENSHOTS / "thread.png"), full_page=False)

    phone = moderator_page(browser, live_server, dialogs,
                           viewport={"width": 390, "height": 844}, is_mobile=True)
    # Nothing overflows sideways at phone width.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SCREENSHOTS / "queue-phone.png"), full_page=False)
    fallback = Comment.objects.get(external_id="quiet-0")
    phone.goto(f"{live_server.url}/queue/all/?sort=oldest&thread={fallback.thread_id}")
    assert "fallback model" in phone.inner_text(f"#c-{fallback.pk} .model").lower()
    assert dialogs == []


def test_background_branch_hide_shows_progress_then_restores(
        browser, live_server, seeded, big_branch, branch_job_queue, settings):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    dialogs: list[str] = []
    page = moderator_page(browser, live_server, dialogs)
    page.goto(f"{live_server.url}/threads/{root.thread_id}/")
    page.click(f"#c-{root.pk} .branch-confirm summary.act-hide")
    page.click(f"#c-{root.pk} button[value=hide_branch]")
    page.wait_for_selector(f"#c-{root.pk}.state-hidden")
    box = page.locator(".statusline .branch-job")
    expect(box).to_contain_text("Hiding 1,200 comments in the background… 1 of 1,200")
    expect(page.locator("#flash")).to_have_text("Hiding 1,200 comments in the background…")

    # The job runs here instead of in a worker; the box polls its way to the end.
    branch_job_run(job_id=BranchHideJob.objects.get().pk)
    expect(box).to_contain_text("Hid 1,200 comments in the branch of", timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "branch-job.png"), full_page=False)

    settings.BRANCH_HIDE_SYNC_MAX = 5000  # the undo is small enough for the request
    box.get_by_role("button", name="Restore branch").click()
    expect(page.locator(".statusline")).to_contain_text("Restored 1,200 of 1,200 comments",
                                                        timeout=30_000)  # 1,200 undos inline
    page.wait_for_selector(f"#c-{root.pk}.state-pending")
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        State.PENDING}
    assert dialogs == []


def test_non_moderator_gets_403(browser, live_server, seeded):
    UserFactory(username="reader")
    page = browser.new_page()
    log_in(page, live_server, "reader")
    response = page.goto(f"{live_server.url}/queue/review/")
    assert response.status == 403
    assert "Moderators only" in page.inner_text("main")


# --- Content-Security-Policy, previews, bidi: what the browser does with them ----------

RLO = "\u202e"
LONG_BODY = "A very long comment. " * 400  # ~8,400 characters: cut to a preview


def watch_csp(page) -> list[str]:
    """Every Content-Security-Policy violation the page reports, across navigations."""
    violations: list[str] = []
    page.expose_function("reportCspViolation", lambda text: violations.append(text))
    page.add_init_script("""document.addEventListener("securitypolicyviolation", (e) =>
        window.reportCspViolation(e.violatedDirective + " " + e.blockedURI + " " +
                                  e.sourceFile + ":" + e.lineNumber));""")
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return violations


@pytest.fixture
def hostile(seeded, tmp_path):
    """The seeded queue plus an RLO author name, a long body and a javascript: thread URL."""
    document = thread_document("hostile", ["The parent comment.", LONG_BODY, "A short reply."],
                               title="Council votes on the new tram line")
    document["url"] = "https://news.example/tram"
    document["comments"][2]["author"] = f"{RLO}Mallory"
    document["comments"][2]["parent_id"] = "hostile-1"
    import_threads(tmp_path, [document], name="hostile.json")
    for comment in Comment.objects.filter(thread__external_id="hostile"):
        score_comment(comment, 0.99 if comment.external_id != "hostile-0" else 0.1)
    # A row stored before the importers checked URL schemes.
    Thread.objects.filter(external_id="hostile").update(url="javascript:alert(document.cookie)")
    return seeded


def test_no_csp_violation_on_queue_thread_and_admin_while_htmx_works(browser, live_server,
                                                                     hostile):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = watch_csp(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server, "mod")
    page.wait_for_url("**/queue/review/")
    long = Comment.objects.get(external_id="hostile-1")
    # The long body is a preview; "show all" fetches the rest (htmx GET).
    assert len(page.inner_text(f"#c-{long.pk} .body")) < 1600
    page.click(f"#c-{long.pk} [data-show-all]")
    expect(page.locator(f"#c-{long.pk} [data-show-all]")).to_have_count(0)
    assert page.inner_text(f"#c-{long.pk} .body").strip() == LONG_BODY.strip()
    # Show context (htmx GET) and hide with the keyboard (htmx POST, OOB swaps).
    reply = Comment.objects.get(external_id="hostile-2")
    page.click(f"#c-{reply.pk} [data-context]")
    page.wait_for_selector(f"#ctx-{reply.pk} .ctx")
    first = queue_order(page)[0]
    page.click(f"#c-{first} .card-foot")
    page.keyboard.press("h")
    page.wait_for_selector(f"#c-{first}.state-hidden")
    assert Comment.objects.get(pk=first).state == State.HIDDEN

    # The thread page: its javascript: URL is not a link; acting still works.
    thread = Thread.objects.get(external_id="hostile")
    page.goto(f"{live_server.url}/threads/{thread.pk}/")
    assert page.locator('a[href^="javascript"]').count() == 0
    assert "javascript:alert" in page.inner_text(".thread-head")  # as text
    target = Comment.objects.get(external_id="hostile-0")
    page.click(f"#c-{target.pk} button[value=approve]")
    page.wait_for_selector(f"#c-{target.pk}.state-approved")
    page.goto(f"{live_server.url}/comments/{long.pk}/history/")
    page.click("[data-show-all]")
    expect(page.locator("[data-show-all]")).to_have_count(0)

    # Django admin under the same policy: lists, a change page, an action.
    page.goto(f"{live_server.url}/admin/threads/comment/")
    page.check(f'input.action-select[value="{target.pk}"]')
    page.select_option("select[name=action]", "flag")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert Comment.objects.get(pk=target.pk).state == State.FLAGGED
    page.goto(f"{live_server.url}/admin/threads/comment/{long.pk}/change/")
    page.goto(f"{live_server.url}/admin/moderation/decision/")
    page.goto(f"{live_server.url}/admin/threads/thread/{thread.pk}/change/")
    assert page.locator('a[href^="javascript"]').count() == 0
    assert violations == []
    assert dialogs == []


def test_right_to_left_override_in_a_name_does_not_reorder_the_card_header(
        browser, live_server, hostile):
    page = moderator_page(browser, live_server, dialogs=[])
    reply = Comment.objects.get(external_id="hostile-2")
    head = f"#c-{reply.pk} .card-title"
    author = page.locator(f"{head} .author").bounding_box()
    on = page.locator(f"{head} > .muted").bounding_box()
    title = page.locator(f"{head} a[data-open]").bounding_box()
    # Left to right, as in the markup: the name, "on", the thread's title.
    assert author["x"] + author["width"] <= on["x"] + 1
    assert on["x"] + on["width"] <= title["x"] + 1
    assert page.inner_text(f"{head} a[data-open]") == "Council votes on the new tram line"


SCREENSHOT_VIEWPORTS = {"": {"width": 1280, "height": 900},
                        "-phone": {"width": 390, "height": 844}}


def test_screenshots_of_every_dashboard_page(browser, live_server, hostile):
    """docs/screenshots/: each page at 1280 and 390 px (looked at, not just taken)."""
    thread = Thread.objects.get(external_id="court")
    long = Comment.objects.get(external_id="hostile-1")
    reply = Comment.objects.get(external_id="hostile-2")
    comment_action_apply(action="flag", comment=long, actor=ModeratorFactory(username="mod"),
                         reason="spam", note="Long, repetitive; check the rest.")
    pages = {
        "queue-context": (f"/queue/review/#c-{reply.pk}", reply),
        "thread-hostile": (f"/threads/{reply.thread_id}/", None),
        "history": (f"/comments/{long.pk}/history/", None),
        "author": (f"/authors/{reply.author_id}/", None),
        "my-decisions": ("/me/decisions/", None),
        "admin-comments": ("/admin/threads/comment/", None),
        "thread": (f"/threads/{thread.pk}/", None),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for suffix, viewport in SCREENSHOT_VIEWPORTS.items():
        page = browser.new_page(viewport=viewport, is_mobile=bool(suffix))
        violations = watch_csp(page)
        log_in(page, live_server, "mod")
        page.wait_for_url("**/queue/review/")
        for name, (path, context_of) in pages.items():
            if name == "thread" and not suffix:
                continue  # thread.png comes from test_thread_view_and_phone_width
            page.goto(f"{live_server.url}{path}")
            if context_of is not None:
                page.click(f"#c-{context_of.pk} [data-context]")
                page.wait_for_selector(f"#ctx-{context_of.pk} .ctx")
                page.locator(f"#c-{context_of.pk}").scroll_into_view_if_needed()
            if not name.startswith("admin"):
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=False)
        assert violations == []
        page.close()
