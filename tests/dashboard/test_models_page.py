"""/models/: which model scores, why, its labels and languages; in a real browser too."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from moderation.scoring.registry import reset_active_scorer
from tests.helpers import CHROMIUM, PASSWORD, SCREENSHOTS, ModeratorFactory, UserFactory

pytestmark = pytest.mark.usefixtures("models_dir_isolated")



@pytest.mark.django_db
def test_models_page_with_the_fallback_warns_and_says_how_to_install(moderator_client,
                                                                      settings,
                                                                      embedded_model_copy):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    queue = moderator_client.get("/queue/review/").content.decode()
    assert 'href="/models/">Model</a>' in queue  # the top bar links to it
    page = moderator_client.get("/models/").content.decode()
    assert "stand-in" not in page  # no detoxify weights: the embedded model scores
    assert "tox-block" in page
    # The profanity filter only when the embedded model cannot be used either.
    (embedded_model_copy / "SHA256SUMS").unlink()
    reset_active_scorer()
    page = moderator_client.get("/models/").content.decode()
    assert "Scores come from a stand-in, not a toxicity model." in page
    assert "no detoxify weights are present" in page
    assert "<code>python manage.py install_model --official multilingual</code>" in page
    assert "<td><code>toxicity</code></td><td>0.50</td>" in page
    assert "scores of comments in other languages mean little" in page


@pytest.mark.django_db
def test_models_page_after_an_official_install(moderator_client, official_server):
    call_command("install_model", "--official", "original", stdout=io.StringIO(),
                 stderr=io.StringIO())
    page = moderator_client.get("/models/").content.decode()
    assert "stand-in" not in page
    assert "installed with install_model --official original" in page
    assert official_server.sha256 in page
    assert "<td><code>threat</code></td><td>0.30</td>" in page  # the label table's threshold
    assert 'class="is-installed"' in page


@pytest.mark.django_db
def test_models_page_is_for_moderators_only(client):
    assert client.get("/models/").status_code == 302  # to the login page
    client.force_login(UserFactory(username="reader"))
    assert client.get("/models/").status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_models_page_in_the_browser(browser, live_server, official_server,
                                    embedded_model_copy):
    ModeratorFactory(username="mod")
    # No detoxify weights and no usable embedded model: the last-resort warning.
    (embedded_model_copy / "SHA256SUMS").unlink()
    reset_active_scorer()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for suffix, viewport in {"": (1280, 900), "-phone": (390, 844)}.items():
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]},
                                is_mobile=bool(suffix))
        violations: list[str] = []
        page.on("console", lambda message, found=violations: found.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(f"{live_server.url}/accounts/login/?next=/")
        page.fill("#id_username", "mod")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue/review/")
        page.click(".usernav a[href='/models/']")
        page.wait_for_url("**/models/")
        assert page.inner_text("h1") == "Scoring model"
        assert "stand-in" in page.inner_text(".model-alert")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        page.screenshot(path=str(SCREENSHOTS / f"models{suffix}.png"), full_page=True)
        assert violations == []
        page.close()
    # With the official model installed: no warning, the release and its sha256.
    call_command("install_model", "--official", "original", stdout=io.StringIO(),
                 stderr=io.StringIO())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next=/models/")
    page.fill("#id_username", "mod")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/models/")
    assert page.locator(".model-alert").count() == 0
    assert official_server.sha256 in page.inner_text(".model-facts")
    page.screenshot(path=str(SCREENSHOTS / "models-official.png"), full_page=True)
    page.close()
