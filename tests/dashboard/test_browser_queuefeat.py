"""Chromium end to end: batch by score band (drag, sample, hide, undo), ban and trust from
the author page, search from the top bar, the threads table. Screenshots at 1280 and 390 px
go to SCREENSHOTS_DIR (docs/screenshots/ to refresh the committed ones)."""

from __future__ import annotations

import pytest

from moderation.scoring.policy import comment_policy_apply
from tests.helpers import BROWSER_TEST, MODEL_KEY, PASSWORD, SCREENSHOTS, csp_violations
from threads.models import Author, Comment, Thread

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}

pytestmark = BROWSER_TEST


def signed_in(browser, live_server, path: str, **options):
    page = browser.new_page(**(options or {"viewport": {"width": 1280, "height": 900}}))
    violations = csp_violations(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("#id_username", "mod")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.violations, page.dialogs = violations, dialogs
    return page


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def states(**filters) -> set[str]:
    return set(Comment.objects.filter(**filters).values_list("state", flat=True))


def test_score_band_dragged_hidden_as_one_batch_then_undone(browser, live_server, desk):
    page = signed_in(browser, live_server, "/queue/all/")
    page.click("#band-panel > summary")
    expect(page.locator("[data-histogram]")).to_be_visible()
    # Drag from the 0.80-0.85 bin to the top one.
    start = page.locator('[data-bin="16"]').bounding_box()
    end = page.locator('[data-bin="19"]').bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] - 4)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] - 4, steps=6)
    page.mouse.up()
    expect(page.locator("[data-band-lo]")).to_have_value("0.8")
    expect(page.locator("[data-band-hi]")).to_have_value("1")
    expect(page.locator(".band-count")).to_contain_text("4 of 14 selected")
    expect(page.locator("[data-sample]")).to_have_count(4)
    band = set(Comment.objects.filter(toxicity__gte=0.8).values_list("pk", flat=True))
    assert len(band) == 4
    page.select_option(".band-act select[name=reason]", "harassment")
    page.fill(".band-act input[name=note]", "pile-on in the harbour thread")
    page.keyboard.press("Enter")  # Enter in the note takes no action
    page.wait_for_timeout(300)
    assert states(pk__in=band) == {"pending"}
    shoot(page, "band")
    page.click("[data-band-action=hide]")
    expect(page.locator("#flash")).to_contain_text("Hid 4 of 4 comments")
    assert states(pk__in=band) == {"hidden"}
    for pk in band:  # the cards on the page say so
        expect(page.locator(f"#c-{pk} .badge-hidden").first).to_be_visible()
    expect(page.locator("[data-undo-batch]")).to_be_visible()

    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("u")
    expect(page.locator("#flash")).to_contain_text("Undid 4 comments")
    assert states(pk__in=band) == {"pending"}
    assert page.violations == [] and page.dialogs == []

    phone = signed_in(browser, live_server, "/queue/all/", **PHONE)
    phone.click("#band-panel > summary")
    # The panel arrives by htmx; its form listens once htmx has settled the swap
    # (typing before that, faster than anyone can, was lost: a flaky run).
    expect(phone.locator("[data-histogram]")).to_be_visible()
    phone.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-request')")
    phone.fill("[data-band-lo]", "0.5")
    expect(phone.locator(".band-count")).to_contain_text("6 of 14 selected")
    shoot(phone, "band-phone")


def test_ban_and_trust_from_the_author_page(browser, live_server, desk):
    author = Author.objects.get(name="author0")
    pending = set(Comment.objects.filter(author=author).values_list("pk", flat=True))
    page = signed_in(browser, live_server, "/queue/all/?sort=newest")
    card = page.locator(f"#c-{min(pending)}")
    expect(card.locator("[data-author-facts]")).to_contain_text("0 hidden")
    card.locator("a.author").click()
    page.wait_for_url(f"**/authors/{author.pk}/")
    page.select_option(".standing-form select[name=reason]", "spam")
    page.fill(".standing-form input[name=note]", "posts the same link everywhere")
    page.keyboard.press("Enter")  # Enter in "Why" bans nobody
    page.wait_for_timeout(300)
    assert not Author.objects.filter(standing__banned=True).exists()
    page.click("[data-author-action=ban]")
    expect(page.locator(".author-standing .notice")).to_contain_text(
        f"Hid {len(pending)} of their pending comments")
    assert states(author=author) == {"hidden"}
    expect(page.locator("[data-standing-now]")).to_contain_text("banned")

    # A new comment by them arrives and is scored: hidden on arrival.
    first = Comment.objects.filter(author=author).first()
    new = Comment.objects.create(thread=first.thread, external_id="late", author=author,
                                 author_name=author.name, body="new link", content_hash="x",
                                 path="900000")
    comment_policy_apply(comment=new.pk, scores={"toxicity": 0.01}, model_key=MODEL_KEY)
    assert Comment.objects.get(pk=new.pk).state == "hidden"
    shoot(page, "author-standing")

    # The ban's hide is one batch: restored with one click.
    page.click("[data-undo-ban]")
    expect(page.locator("#flash")).to_contain_text(f"Undid {len(pending)} comments")
    assert states(pk__in=pending) == {"pending"}
    page.fill(".standing-form input[name=note]", "appeal accepted")
    page.click("button[value=unban]")
    expect(page.locator(".author-standing .notice")).to_contain_text("Lifted the ban")

    # Trust: comments under every threshold are approved on arrival.
    page.fill(".standing-form input[name=note]", "long-standing reader")
    page.click("[data-author-action=trust]")
    expect(page.locator("[data-standing-now]")).to_contain_text("trusted")
    calm = Comment.objects.create(thread=first.thread, external_id="calm", author=author,
                                  author_name=author.name, body="calm", content_hash="y",
                                  path="900001")
    comment_policy_apply(comment=calm.pk, scores={"toxicity": 0.01}, model_key=MODEL_KEY)
    assert Comment.objects.get(pk=calm.pk).state == "approved"
    page.reload()
    expect(page.locator("[data-author-decision=trust]")).to_have_count(1)
    assert page.violations == [] and page.dialogs == []

    phone = signed_in(browser, live_server, f"/authors/{author.pk}/", **PHONE)
    expect(phone.locator("[data-standing-now]")).to_contain_text("trusted")
    shoot(phone, "author-standing-phone")


def test_search_from_the_top_bar_then_act_on_a_result(browser, live_server, desk):
    page = signed_in(browser, live_server, "/queue/review/")
    page.fill("#top-q", "harbour")
    page.keyboard.press("Enter")
    page.wait_for_url("**/queue/all/?q=harbour*")
    harbour = set(Comment.objects.filter(body__icontains="harbour").values_list("pk",
                                                                                flat=True))
    cards = page.locator("#card-list article[data-card]")
    expect(cards).to_have_count(len(harbour))
    shown = {int(pk) for pk in page.eval_on_selector_all(
        "#card-list article[data-card]", "els => els.map(e => e.dataset.id)")}
    assert shown == harbour
    expect(page.locator(".search-side")).to_contain_text("Harbour redevelopment")
    shoot(page, "search")
    # The same keys as the queue: j to the first result, h hides it.
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("j")
    first = int(page.locator("article.is-current").get_attribute("data-id"))
    assert first in harbour
    page.keyboard.press("h")
    expect(page.locator(f"#c-{first} .badge-hidden")).to_be_visible()
    assert Comment.objects.get(pk=first).state == "hidden"
    page.fill("#top-q", '"council minutes"')
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#card-list article[data-card]")).to_have_count(1)
    assert page.violations == [] and page.dialogs == []

    phone = signed_in(browser, live_server, "/queue/all/?q=harbour&sort=newest", **PHONE)
    expect(phone.locator("#card-list article[data-card]").first).to_be_visible()
    shoot(phone, "search-phone")


def test_threads_table_sorts_filters_and_opens_a_threads_queue(browser, live_server, desk):
    page = signed_in(browser, live_server, "/queue/review/")
    page.click(".threads-link")
    page.wait_for_url("**/threads/")
    desk_thread = Thread.objects.get(external_id="desk")
    rows = page.locator("[data-thread-row]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-thread-row", str(desk_thread.pk))
    expect(rows.first.locator("[data-review]")).to_have_attribute("data-review", "6")
    shoot(page, "threads")
    page.select_option("select[name=source]", "disqus")
    page.click(".filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Letters to the editor")
    page.goto(f"{live_server.url}/threads/?sort=title")
    page.locator(f'[data-thread-row="{desk_thread.pk}"] [data-thread-queue]').click()
    page.wait_for_url(f"**/queue/all/?thread={desk_thread.pk}")
    expect(page.locator("#card-list article[data-card]")).to_have_count(12)
    assert page.violations == [] and page.dialogs == []

    phone = signed_in(browser, live_server, "/threads/", **PHONE)
    expect(phone.locator("[data-thread-row]")).to_have_count(2)
    shoot(phone, "threads-phone")
