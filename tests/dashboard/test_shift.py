"""Issue 13, the moderator's shift: the defects a full shift found, through the test client.

Each test names the defect it covers; each failed on the code before the fix.
The browser halves are in test_shift_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from moderation.decisions.services import comment_action_apply, comment_undo
from moderation.models import Action, Decision
from tests.helpers import ModeratorFactory, UserFactory, import_threads, thread_document
from threads.models import Comment, Thread
from threads.services import threads_import_from_file

pytestmark = pytest.mark.django_db

State = Comment.State
EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"
ACT = "/act/"


def htmx(client, url, data=None):
    headers = {"HX-Request": "true"}
    if data is None:
        return client.get(url, headers=headers)
    return client.post(url, data, headers=headers)


# --- 3. Undo stays offered while it is possible ------------------------------------------


def test_undo_stays_offered_after_nothing_changed_and_after_a_reload(moderator_client, tmp_path):
    document = thread_document("b", ["root", "reply one", "reply two"])
    import_threads(tmp_path, [document])
    root = Comment.objects.get(external_id="b-0")
    hide = {"comment": root.pk, "action": "hide_branch", "ctx": "thread", "reason": "spam"}
    first = htmx(moderator_client, ACT, hide).content.decode()
    assert 'id="undo-button"' in first
    again = htmx(moderator_client, ACT, hide).content.decode()
    assert "Nothing changed" in again
    assert 'id="undo-button"' in again  # still offered: the branch hide is still undoable
    page = moderator_client.get(reverse("moderation:thread", args=[root.thread_id]))
    assert 'id="undo-button"' in page.content.decode()
    undone = htmx(moderator_client, "/undo/", {"ctx": "thread"}).content.decode()
    assert "Undid 3 comments" in undone
    assert set(Comment.objects.values_list("state", flat=True)) == {State.PENDING}
    # Nothing left to undo: no button, on the answer and on the next page.
    assert 'id="undo-button"' not in undone
    page = moderator_client.get(reverse("moderation:queue", args=["all"])).content.decode()
    assert 'id="undo-button"' not in page


# --- 4. Restore branch beside Hide branch, both confirmed ----------------------------------


def test_restore_branch_restores_the_hidden_replies_but_not_those_hidden_at_the_source(
        moderator_client, moderator, tmp_path):
    from moderation.decisions.services import comments_arrived_hidden_record

    document = thread_document("r", ["root", "reply one", "reply two", "reply three"])
    import_threads(tmp_path, [document])
    # As the Disqus reader stores a post deleted there (the native format has no state).
    gone = Comment.objects.get(external_id="r-3")
    Comment.objects.filter(pk=gone.pk).update(state=State.HIDDEN, source_state="disqus:deleted")
    assert comments_arrived_hidden_record(comment_ids=[gone.pk]) == 1
    root = Comment.objects.get(external_id="r-0")
    htmx(moderator_client, ACT, {"comment": root.pk, "action": "hide_branch", "ctx": "thread",
                                 "reason": "spam"})
    assert Comment.objects.filter(state=State.HIDDEN).count() == 4
    html = moderator_client.get(reverse("moderation:thread", args=[root.thread_id])).content
    html = html.decode()
    # Each branch action asks first: its button sits inside a closed <details>.
    assert re.search(r'<details class="branch-confirm">\s*<summary class="act-hide">Hide branch',
                     html)
    assert 'value="restore_branch"' in html
    answer = htmx(moderator_client, ACT, {"comment": root.pk, "action": "restore_branch",
                                          "ctx": "thread"}).content.decode()
    assert "Restored 3 comments" in answer
    states = dict(Comment.objects.values_list("external_id", "state"))
    assert states == {"r-0": State.APPROVED, "r-1": State.APPROVED, "r-2": State.APPROVED,
                      "r-3": State.HIDDEN}


# --- 6. Bulk: each comment with the reason its card showed ---------------------------------


def test_bulk_records_each_cards_reason(moderator_client, long_queue):
    a, b = long_queue[:2]
    version = Comment.objects.get(pk=a).version
    htmx(moderator_client, ACT, {"comment": [a, b], f"v{a}": version, f"v{b}": version,
                                 "action": "hide",
                                 "reason": "", f"r{a}": "harassment", f"r{b}": "spam"})
    reasons = dict(Decision.objects.filter(action="hide").values_list("comment_id", "reason"))
    assert reasons == {a: "harassment", b: "spam"}
    bad = htmx(moderator_client, ACT, {"comment": [a], "action": "flag", f"r{a}": "rude"})
    assert bad.status_code == 400 and "unknown reason 'rude'" in bad.content.decode()


def test_bulk_bar_offers_the_cards_own_reason_by_default(moderator_client, long_queue):
    html = moderator_client.get(reverse("moderation:queue", args=["review"])).content.decode()
    bar = html.split('id="bulk-form"')[1].split("</form>")[0]
    assert '<option value="" selected>as each card shows</option>' in bar


# --- 7. Conflicts in words ------------------------------------------------------------------


def test_conflict_says_who_did_what_when_in_words(moderator_client, long_queue):
    target = long_queue[0]
    comment_action_apply(comment=target, action="hide", actor=ModeratorFactory(username="alice"),
                         reason="spam")
    html = htmx(moderator_client, ACT, {"comment": target, "version": 1,
                                        "action": "approve"}).content.decode()
    notice = html.split('notice-conflict" role="alert">')[1].split("</p>")[0]
    assert notice.startswith("Not done: someone acted first. alice hid it at ")
    assert "UTC (it was pending, now hidden)" in notice
    assert "->" not in notice and "version" not in notice


# --- 8. An ended session is an answer the page can show -------------------------------------


def test_background_request_after_the_session_ended_is_a_401_that_says_so(client, long_queue):
    response = htmx(client, ACT, {"comment": long_queue[0], "action": "approve"})
    assert response.status_code == 401
    assert "session has ended" in response.content.decode()
    assert Comment.objects.get(pk=long_queue[0]).state == State.PENDING
    # A page (not htmx) still goes to the login page.
    assert client.get("/queue/review/").status_code == 302


# --- 9. New items: a colleague's undo counts; the link keeps sort and filters ----------------


def test_new_items_count_a_colleagues_undo_and_keep_sort_and_filters(moderator_client,
                                                                     long_queue):
    alice = ModeratorFactory(username="alice")
    target = long_queue[3]
    hidden = comment_action_apply(comment=target, action="hide", actor=alice, reason="spam")
    since = timezone.now()
    comment_undo(decision=hidden, actor=alice)  # back into review
    url = reverse("moderation:queue_new", args=["review"])
    html = moderator_client.get(url, {"since": since.isoformat(), "sort": "newest",
                                      "label": "insult", "min": "0.5"}).content.decode()
    assert "1 new item" in html
    href = re.search(r'href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert href.startswith("/queue/review/?")
    assert {"sort=newest", "label=insult", "min=0.5"} <= set(href.split("?")[1].split("&"))
    # Filters narrow the count too.
    html = moderator_client.get(url, {"since": since.isoformat(), "min": "0.999"}).content
    assert html.strip() == b""
    # And the queue page polls with its sort and filters.
    page = moderator_client.get("/queue/review/", {"sort": "newest", "label": "insult"})
    poll = re.search(r'hx-get="(/queue/review/new/\?[^"]+)"', page.content.decode()).group(1)
    assert "sort=newest" in poll and "label=insult" in poll


# --- 10. Labels: only those the active model produces; a clear answer otherwise -------------


def test_label_filter_offers_the_active_models_labels_and_explains_the_others(
        moderator_client, long_queue):
    # The tests' active scorer is the embedded tox-block model (SCORER=auto without
    # detoxify weights): its six labels, not "sexual_explicit" (detoxify's unbiased only).
    html = moderator_client.get("/queue/review/").content.decode()
    label_select = html.split('<select name="label">')[1].split("</select>")[0]
    assert re.findall(r'value="(\w*)"', label_select) == [
        "", "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
    html = moderator_client.get("/queue/review/", {"label": "sexual_explicit"}).content.decode()
    assert "The queue is clear" not in html
    assert "does not produce “Sexually explicit”" in html
    bogus = moderator_client.get("/queue/review/", {"label": "bogus"})
    assert bogus.status_code == 400
    text = bogus.content.decode()
    assert 'class="notice notice-error" role="alert">label: Select a valid choice' in text
    assert "The queue is clear" not in text and '<form class="filters"' in text


# --- 13. Admin: no delete that always fails; Recent actions record the actions ---------------


def test_admin_offers_no_comment_delete_and_logs_its_actions(client, long_queue):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    changelist = reverse("admin:threads_comment_changelist")
    html = client.get(changelist).content.decode()
    assert "delete_selected" not in html
    assert client.get(reverse("admin:threads_comment_delete", args=[long_queue[0]])) \
        .status_code == 403
    response = client.post(changelist, {"action": "hide", "_selected_action": long_queue[:2],
                                        "reason": "spam", "index": 0})
    assert response.status_code == 302
    entries = LogEntry.objects.filter(user=admin_user).order_by("object_id")
    assert [e.object_id for e in entries] == [str(pk) for pk in sorted(long_queue[:2])]
    assert "Hidden (pending → hidden), reason: spam" in entries[0].change_message
    index = client.get(reverse("admin:index")).content.decode()
    assert f"Comment #{long_queue[0]}" in index  # "Recent actions"


# --- 14. Comments that arrive hidden have a decision saying why ------------------------------


def test_comments_hidden_at_the_source_get_a_system_decision(moderator_client):
    threads_import_from_file(path=EXPORTS / "reddit_3hahrw_funny_thread.json")
    gone = Comment.objects.filter(state=State.HIDDEN)
    assert gone.exists()
    decided = Decision.objects.filter(comment__in=gone, action=Action.ARRIVED_HIDDEN,
                                      actor=None)
    assert decided.count() == gone.count()
    example = decided.first()
    assert example.note.startswith("hidden at the source (reddit:")
    html = moderator_client.get(reverse("moderation:comment_history",
                                        args=[example.comment_id])).content.decode()
    assert "No decisions yet" not in html and "Arrived hidden from the source" in html
    # Importing again writes no second one.
    threads_import_from_file(path=EXPORTS / "reddit_3hahrw_funny_thread.json")
    assert Decision.objects.filter(action=Action.ARRIVED_HIDDEN).count() == gone.count()


# --- 15. The preselected reason follows the score ---------------------------------------------


def test_low_scored_comment_does_not_preselect_harassment(moderator_client, long_queue):
    low = Comment.objects.get(thread__external_id="long", toxicity=0.03)
    html = moderator_client.get("/queue/all/", {"thread": low.thread_id, "max": "0.1"})
    card = html.content.decode().split(f'id="c-{low.pk}"')[1].split("</article>")[0]
    assert re.search(r'<option value="other" selected>', card)
    assert '<option value="harassment" selected>' not in card
    high = moderator_client.get("/queue/review/").content.decode()
    first = high.split(f'id="c-{long_queue[0]}"')[1].split("</article>")[0]
    assert '<option value="harassment" selected>' in first  # 99 % insult


# --- 16. One date format, with the moderator's zone; the thread page says what is missing ----


DATE_WITH_ZONE = r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} [A-Z+\-0-9]{2,6}"


def test_every_date_has_one_format_with_the_moderators_zone(moderator_client, moderator,
                                                             long_queue):
    comment_action_apply(comment=long_queue[0], action="flag", actor=moderator, reason="spam")
    pages = ["/queue/review/", f"/threads/{Comment.objects.get(pk=long_queue[0]).thread_id}/",
             f"/comments/{long_queue[0]}/history/", "/me/decisions/"]
    for url in pages:
        html = moderator_client.get(url).content.decode()
        shown = re.findall(r'<time[^>]*>([^<]*)</time>', html)
        assert shown, url
        assert all(re.fullmatch(DATE_WITH_ZONE, text) for text in shown), (url, shown[:3])
    # The moderator picks a zone; every page follows.
    response = moderator_client.post("/me/settings/", {"time_zone": "Europe/Berlin",
                                                       "density": "cards"})
    assert response.status_code == 200 and "Saved" in response.content.decode()
    html = moderator_client.get("/queue/review/").content.decode()
    assert "1 May 2024, 14:01 CEST" in html  # 12:01 UTC
    from moderation.models import ModeratorPreferences

    assert ModeratorPreferences.objects.get(user=moderator).time_zone == "Europe/Berlin"
    bad = moderator_client.post("/me/settings/", {"time_zone": "Mars/Olympus",
                                                  "density": "cards"})
    assert bad.status_code == 400 and "Mars/Olympus" in bad.content.decode()


def test_thread_page_subtitle_and_missing_more_comments(moderator_client):
    threads_import_from_file(path=EXPORTS / "reddit_3hahrw_funny_thread.json")
    thread = Thread.objects.get(source="reddit")
    html = moderator_client.get(f"/threads/{thread.pk}/").content.decode()
    subtitle = html.split('class="muted thread-sub">')[1].split("</p>")[0]
    assert subtitle.startswith("<bdi>reddit</bdi>")
    assert re.search(r"· [\d,]+ comments", subtitle)
    assert "This thread is incomplete" in html
    assert "&#x27;more&#x27; stub(s) stand for comments that are not in the file" in html


def test_demo_setup_keeps_the_password_and_prints_the_sign_in(client, settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    settings.BASE_DIR = tmp_path
    (tmp_path / "fixtures").mkdir()
    import_threads(tmp_path / "fixtures", [thread_document("demo", ["hello"])], name="d.json")
    call_command("demo_setup", stdout=StringIO())
    assert client.login(username="moderator", password="threadkeeper-demo")
    session_before = client.cookies["sessionid"].value
    call_command("demo_setup", stdout=StringIO())  # again: nothing reset
    assert client.get("/queue/review/").status_code == 200  # still signed in
    assert client.cookies["sessionid"].value == session_before
    out = StringIO()
    call_command("demo_setup", "--credentials", "--url", "http://127.0.0.1:9/", stdout=out)
    assert "Sign in as 'moderator', password 'threadkeeper-demo'" in out.getvalue()


def test_demo_script_prints_the_sign_in_last_and_waits_for_the_worker():
    script = (Path(__file__).resolve().parents[2] / "scripts" / "demo.sh").read_text()
    assert "rescore --sync --unscored\n" not in script.split("else")[0]
    assert "--wait-for-scoring" in script
    lines = [line for line in script.splitlines() if line.strip()]
    assert "demo_setup --credentials" in lines[-2] and lines[-1].startswith("wait ")


# --- Density: remembered per moderator ---------------------------------------------------------


def test_density_is_remembered_per_moderator(client, long_queue):
    first, second = ModeratorFactory(username="one"), ModeratorFactory(username="two")
    client.force_login(first)
    assert 'class="density-cards"' in client.get("/queue/review/").content.decode()
    response = client.post("/me/density/", {"density": "compact",
                                            "next": "/queue/review/?sort=newest"})
    assert response.status_code == 302 and response["Location"] == "/queue/review/?sort=newest"
    assert 'class="density-compact"' in client.get("/queue/review/").content.decode()
    client.logout()
    client.force_login(second)
    assert 'class="density-cards"' in client.get("/queue/review/").content.decode()
    client.logout()
    client.force_login(first)  # a new session: read from the database
    assert 'class="density-compact"' in client.get("/queue/review/").content.decode()
    off_site = client.post("/me/density/", {"density": "cards", "next": "https://evil.example/"})
    assert off_site["Location"] == "/"
