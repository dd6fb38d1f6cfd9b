"""Backtests on a hand-checked set: ten decided comments in source "news"
(tests/helpers.py BACKTEST_SET), moderators acted on the 0.9, 0.8, 0.6 and 0.3 ones.

Saved policy (the default 0.5): queues 0.9 0.8 0.7 0.6 0.5 -> precision 3/5, recall 3/4.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from moderation.models import PolicyChange, PolicyRule
from moderation.policy.backtest import policy_backtest, proposal_with_rule, proposal_with_words
from moderation.scoring.policy import WordListSpec
from moderation.scoring.rules import RuleSpec
from tests.helpers import MODEL_KEY, decided_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(moderator):
    return decided_set(moderator)


def run(spec: RuleSpec):
    return policy_backtest(proposed=proposal_with_rule(spec), model_key=MODEL_KEY, days=30,
                           sources=["news"])


def test_a_lower_threshold_catches_every_action_at_the_cost_of_false_alarms(decided):
    result = run(RuleSpec("news", None, "toxicity", 0.3))
    assert result.decided == 10 and result.positives == 4
    assert (result.current.queued, result.current.true_positives) == (5, 3)
    assert result.current.precision() == pytest.approx(3 / 5)
    assert result.current.recall(4) == pytest.approx(3 / 4)
    assert (result.proposed.queued, result.proposed.hidden) == (7, 0)
    assert result.proposed.precision() == pytest.approx(4 / 7)
    assert result.proposed.recall(4) == 1.0
    assert result.changed == 2  # 0.4 and 0.3 now queue
    assert sorted(e.score for e in result.false_alarms) == [0.4, 0.5, 0.7]
    assert result.misses == []
    assert {e.body for e in result.false_alarms} == {"comment scored 0.4", "comment scored 0.5",
                                                    "comment scored 0.7"}


def test_a_higher_threshold_with_auto_hide_and_auto_approve(decided):
    result = run(RuleSpec("news", None, "toxicity", 0.75, 0.85, 0.15))
    o = result.proposed
    assert (o.hidden, o.queued, o.approved, o.untouched) == (1, 1, 2, 6)
    assert o.precision() == 1.0 and o.recall(4) == 0.5
    assert o.hidden_but_approved == 0 and o.approved_but_acted == 0
    assert sorted(e.score for e in result.misses) == [0.3, 0.6]
    assert result.false_alarms == []


def test_a_word_list_backtest_reads_the_text(decided):
    spec = WordListSpec(None, "numbers", "news", "suspect", ("scored 0.05", "0.2"))
    result = policy_backtest(proposed=proposal_with_words(spec), model_key=MODEL_KEY, days=30)
    # "0.2" and "scored 0.05" appear in two approved comments: two more queued, both wrong.
    assert result.proposed.queued == result.current.queued + 2
    assert result.proposed.true_positives == result.current.true_positives


def test_the_window_and_the_source_bound_the_set(decided, moderator):
    decided_set(moderator, [(0.9, "approve")], source="other")
    assert run(RuleSpec("news", None, "toxicity", 0.3)).decided == 10
    everywhere = policy_backtest(proposed=proposal_with_rule(RuleSpec("news", None, "toxicity",
                                                                      0.3)),
                                 model_key=MODEL_KEY, days=30)
    assert everywhere.decided == 11


def test_the_dashboard_backtests_before_saving(decided, policy_client):
    response = policy_client.post("/policy/rules/new/", {
        "source": "news", "label": "toxicity", "review_threshold": "0.3", "intent": "backtest",
        "days": "30"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Backtest: the last 30 days" in page
    assert "57.1%" in page and "100.0%" in page  # proposed precision 4/7, recall 4/4
    assert "comment scored 0.7" in page
    assert not PolicyRule.objects.exists() and not PolicyChange.objects.exists()
    # The model report's "propose" link backtests at once (a GET writes nothing).
    proposed = policy_client.get("/policy/rules/new/", {
        "source": "news", "label": "toxicity", "review_threshold": "0.3", "propose": "1"})
    assert "57.1%" in proposed.content.decode()
    assert not PolicyRule.objects.exists()


def test_the_command_prints_json_and_names_bad_arguments(decided, capsys):
    call_command("policy_backtest", "--source", "news", "--label", "toxicity", "--review", "0.3",
                 "--model", MODEL_KEY, "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["decided"] == 10 and data["moderators_acted_on"] == 4
    assert data["proposed"]["precision"] == pytest.approx(4 / 7)
    assert data["current"]["recall"] == pytest.approx(3 / 4)
    assert len(data["false_alarms"]) == 3
    with pytest.raises(CommandError, match="--review: This field is required"):
        call_command("policy_backtest", "--source", "news", "--label", "toxicity")
