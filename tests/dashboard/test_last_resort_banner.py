"""The queue shows a banner only while the last-resort profanity filter scores."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _queue(client) -> str:
    response = client.get(reverse("moderation:queue", kwargs={"tab": "review"}))
    assert response.status_code == 200
    return response.content.decode()


def test_no_banner_with_the_embedded_model_a_banner_with_the_fallback(
        moderator_client, settings, tmp_path, monkeypatch, embedded_model_copy):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert "banner-last-resort" not in _queue(moderator_client)  # the embedded model

    (embedded_model_copy / "SHA256SUMS").unlink()
    from moderation.scoring.registry import reset_active_scorer

    reset_active_scorer()  # what a new process would see (or this one within 30 s)
    html = _queue(moderator_client)
    assert "banner-last-resort" in html and "FALLBACK MODEL" in html
    assert "SHA256SUMS" in html and "embedded_model/" in html

    settings.SCORER = "fallback"  # chosen on purpose: still a profanity filter, said so
    html = _queue(moderator_client)
    assert "banner-last-resort" in html and "Chosen with <code>SCORER=fallback</code>" in html

    settings.SCORER = "embedded"  # misconfigured: the system check says so, the page works
    assert "banner-last-resort" not in _queue(moderator_client)
