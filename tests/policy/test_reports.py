"""The model and queue reports render, with their SVG plots, for empty, small and large data."""

from __future__ import annotations

import re

import pytest

from moderation.policy.services import rule_save
from moderation.scoring.rules import RuleSpec
from tests.helpers import MODEL_KEY, ModeratorFactory, bulk_decided, decided_set

pytestmark = pytest.mark.django_db

SVG = re.compile(r"<svg class=\"chart\"[^>]*>.*?</svg>", re.S)


def charts(page: str) -> list[str]:
    found = SVG.findall(page)
    for svg in found:
        assert "style=" not in svg and "<script" not in svg  # CSP: no inline style or script
    return found


def test_empty_reports_say_so(policy_client):
    model = policy_client.get("/reports/model/").content.decode()
    assert "nothing to report yet" in model
    queue = policy_client.get("/reports/queue/").content.decode()
    assert len(charts(queue)) == 4
    # The queue size is known (zero every day); the other three have nothing to plot.
    assert queue.count('class="empty-text"') == 3


def test_small_data_reports_calibration_not_possible_and_propose_needs_a_source(
        policy_client, moderator):
    decided_set(moderator)
    page = policy_client.get("/reports/model/", {"model": MODEL_KEY}).content.decode()
    assert len(charts(page)) == 2  # one label: a histogram and a reliability diagram
    assert "not enough decisions: 10 decisions (4 acted on, 6 approved)" in page
    assert "precision 60.0%, recall 75.0% (5 selected)" in page
    assert "choose a source to propose a rule" in page
    page = policy_client.get("/reports/model/", {"model": MODEL_KEY, "source": "news",
                                                 "precision": "0.75"}).content.decode()
    # 0.6 and up: 3 of 4 hidden -> the suggested threshold for 75% precision.
    assert "threshold <strong>0.600</strong>" in page
    link = re.search(r'href="(/policy/rules/new/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "review_threshold=0.6" in link and "propose=1" in link
    assert "Backtest: the last" in policy_client.get(link).content.decode()


def test_large_data_reports_fit_isotonic_and_count_the_queue(policy_client):
    mods = [ModeratorFactory(username=f"m{i}") for i in range(3)]
    bulk_decided(mods, 2000, days=20)
    rule_save(actor=None, spec=RuleSpec("news", None, "toxicity", 0.6))
    page = policy_client.get("/reports/model/", {"model": MODEL_KEY,
                                                 "source": "news"}).content.decode()
    assert len(charts(page)) == 4  # toxicity and insult
    assert page.count("isotonic (Brier") == 1  # toxicity
    # Every hide names toxicity: insult has approvals only, so no calibration for it.
    assert "not enough decisions" in page.split('id="label-insult"')[1]
    assert "(source news)" in page  # the threshold in force comes from the rule
    assert page.count("<rect class=\"bar-hidden\"") > 10
    assert "<polyline class=\"line line-a\"" in page

    queue = policy_client.get("/reports/queue/", {"days": "30"}).content.decode()
    assert len(charts(queue)) == 4
    assert 'class="empty-text"' not in queue
    for name in ("m0", "m1", "m2"):
        assert f"<td><bdi>{name}</bdi></td>" in queue
    waiting = int(re.search(r"<dt>In the queue now</dt><dd>(\d+)</dd>", queue).group(1))
    assert 100 < waiting < 300  # about 10% of 2,000 never decided
    assert re.search(r"p50 [0-9.]+ h · p90 [0-9.]+ h", queue)


def test_a_bad_report_parameter_is_a_400_naming_it(policy_client):
    response = policy_client.get("/reports/model/", {"days": "9999"})
    assert response.status_code == 400 and b"days" in response.content
