"""The model and queue reports render, with their SVG plots, for empty, small and large data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from moderation.models import Decision
from moderation.policy.services import rule_save
from moderation.reports.stats import queue_report
from moderation.scoring.rules import RuleSpec
from tests.helpers import (
    MODEL_KEY,
    CommentFactory,
    ModeratorFactory,
    bulk_decided,
    decided_set,
    keeping_given_times,
)
from threads.models import Comment

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


def test_queue_report_waits_are_exact_and_fall_on_the_local_day_of_the_decision(moderator):
    """Arrival -> first human decision: p50 / p90 per day, on the day the decision was
    made in the site's time zone (a decision at 02:00 UTC is the day before in New York).
    A later decision on the same comment does not count again."""
    now = timezone.now()
    # Yesterday 02:00 UTC: in New York (UTC-5 in December) that is the day before yesterday.
    late = datetime.combine((now - timedelta(days=1)).date(), datetime.min.time(),
                            tzinfo=UTC) + timedelta(hours=2)
    waits_hours = [1, 2, 3, 4, 10]
    rows = []
    with keeping_given_times(Comment._meta.get_field("imported_at")):
        comments = [CommentFactory(imported_at=late - timedelta(hours=h)) for h in waits_hours]
    for comment in comments:
        rows.append(Decision(comment=comment, actor=moderator, action="hide",
                             from_state="pending", to_state="hidden", comment_version=1,
                             created_at=late))
        rows.append(Decision(comment=comment, actor=moderator, action="approve",
                             from_state="hidden", to_state="approved", comment_version=2,
                             created_at=late + timedelta(hours=30)))
    with keeping_given_times(Decision._meta.get_field("created_at")):
        Decision.objects.bulk_create(rows)

    with timezone.override("America/New_York"):
        report = queue_report(days=7)
        local_day = late.astimezone(timezone.get_current_timezone()).date().isoformat()
    assert local_day != late.date().isoformat()
    i = report.days.index(local_day)
    assert report.decided == 5
    assert report.p50_hours[i] == 3.0
    assert report.p90_hours[i] == pytest.approx(7.6)  # numpy's linear percentile
    assert [h for j, h in enumerate(report.p50_hours) if j != i] == [None] * 6
    assert (report.overall_p50, report.overall_p90) == (3.0, 7.6)
