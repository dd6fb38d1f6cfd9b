from moderation.models import ToxicityScore
from moderation.queue import review_threshold
from moderation.templatetags.dashboard import score_bars


def test_bars_mark_labels_over_their_own_review_threshold(settings):
    settings.MODERATION_REVIEW_THRESHOLDS = {"threat": 0.3, "toxicity": 0.6}
    score = ToxicityScore(scores={"toxicity": 0.55, "threat": 0.35, "insult": 0.52})
    bars = {bar["label"]: bar["over"] for bar in score_bars(score)}
    # threat is over its own 0.3; toxicity is under its 0.6; insult keeps the default 0.5.
    assert bars == {"toxicity": False, "threat": True, "insult": True}
    assert review_threshold() == 0.6
