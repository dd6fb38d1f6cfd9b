"""The scorer backends, loaded for real: detoxify on a tiny checkpoint, the fallback."""

from __future__ import annotations

import dataclasses

import pytest

from moderation.scoring.base import Scorer, describe_model_key, model_key_is_fallback
from moderation.scoring.detoxify import DetoxifyOptions, DetoxifyScorer, file_sha256
from moderation.scoring.fallback import FallbackScorer
from moderation.scoring.registry import active_scorer, reset_active_scorer, scorer_choice
from tests.helpers import DETOXIFY_LABELS

TEXTS = [
    "you are an idiot",
    "",
    "hello friend, thanks for the great article",
    "😀🔥 привет мир 你好世界 مرحبا",
    "the point is good " * 400,  # far past 512 tokens
    "   ",
    "kill",
]


@pytest.fixture(scope="module")
def tiny_scorer(tiny_model):
    checkpoint, hf_dir = tiny_model
    return DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir)))


def test_tiny_checkpoint_loads_through_detoxify_and_matches_its_predict(tiny_model, tiny_scorer):
    from detoxify import Detoxify

    checkpoint, hf_dir = tiny_model
    reference = Detoxify(checkpoint=str(checkpoint), huggingface_config_path=str(hf_dir))
    texts = [t for t in TEXTS if len(t) < 200]
    expected = reference.predict(texts)
    ours = tiny_scorer.score(texts)
    assert isinstance(tiny_scorer, Scorer)
    assert tiny_scorer.labels == DETOXIFY_LABELS
    for i, row in enumerate(ours):
        for label in DETOXIFY_LABELS:
            assert row[label] == pytest.approx(expected[label][i], abs=1e-5)


def test_sorted_batches_return_scores_in_input_order(tiny_model, tiny_scorer):
    checkpoint, hf_dir = tiny_model
    one_by_one = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint),
                                                hf_config=str(hf_dir), batch_size=1))
    batched = tiny_scorer.score(TEXTS)
    single = one_by_one.score(TEXTS)
    assert len(batched) == len(TEXTS)
    for a, b in zip(batched, single, strict=True):
        assert a == pytest.approx(b, abs=1e-4)
    # Different texts really do get different scores, so order matters.
    assert batched[0] != batched[2]


def test_token_budget_batches_many_short_texts_and_few_long_ones(tiny_model):
    checkpoint, hf_dir = tiny_model
    scorer = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir),
                                            batch_size=4, max_batch_tokens=100))
    lengths = [10, 10, 10, 10, 10, 30, 30, 30, 30, 120, 120]
    batches = scorer._batches(list(range(len(lengths))), lengths)
    # Count cap for the short ones, token cap (3 x 30 <= 100) for the middle,
    # and a text longer than the budget still goes through, alone.
    assert batches == [[0, 1, 2, 3], [4, 5, 6], [7, 8], [9], [10]]
    budgeted = scorer.score(TEXTS)
    reference = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint),
                                               hf_config=str(hf_dir), batch_size=1))
    for a, b in zip(budgeted, reference.score(TEXTS), strict=True):
        assert a == pytest.approx(b, abs=1e-4)


def test_single_text_empty_list_and_hostile_text(tiny_scorer):
    assert tiny_scorer.score([]) == []
    (only,) = tiny_scorer.score(["just one"])  # no squeeze() to a bare float
    assert set(only) == set(DETOXIFY_LABELS)
    for row in tiny_scorer.score(TEXTS):
        assert all(0.0 <= value <= 1.0 for value in row.values())


def test_long_text_is_truncated_at_the_model_limit(tiny_scorer):
    assert tiny_scorer.max_length == 512
    long = "the point is good " * 400
    longer = long + "you are an idiot " * 100  # differs only after token 512
    a, b = tiny_scorer.score([long, longer])
    assert a == pytest.approx(b, abs=1e-5)


@pytest.mark.parametrize("precision", ["bf16", "bf16-mixed", "int8"])
def test_reduced_precision_stays_close_to_fp32(tiny_model, tiny_scorer, precision):
    checkpoint, hf_dir = tiny_model
    reduced = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir),
                                             precision=precision))
    for a, b in zip(tiny_scorer.score(TEXTS), reduced.score(TEXTS), strict=True):
        assert max(abs(a[k] - b[k]) for k in a) < 0.01


def test_bf16_mixed_runs_the_first_5_of_12_layers_in_bf16_and_the_rest_in_fp32(tmp_path):
    import torch

    from moderation.scoring.detoxify import bf16_supported
    from tests.helpers import TINY, build_detoxify_checkpoint

    if not bf16_supported():
        pytest.skip("no native bf16 on this CPU: bf16-mixed scores in fp32")
    checkpoint, hf_dir = build_detoxify_checkpoint(
        tmp_path, shape=dataclasses.replace(TINY, layers=12))
    scorer = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir),
                                            precision="bf16-mixed"))
    layers = scorer.model.bert.encoder.layer
    dtypes = [{p.dtype for n, p in layer.named_parameters() if "LayerNorm" not in n}
              for layer in layers]
    assert dtypes == [{torch.bfloat16}] * 5 + [{torch.float32}] * 7
    assert {p.dtype for n, p in layers[0].named_parameters() if "LayerNorm" in n} == {
        torch.float32}
    assert scorer.model.classifier.weight.dtype == torch.float32
    scores = scorer.score(TEXTS)
    assert all(0.0 <= v <= 1.0 for row in scores for v in row.values())


def test_model_key_names_backend_type_and_weights(tiny_model, tiny_scorer):
    checkpoint, _ = tiny_model
    assert tiny_scorer.key == f"detoxify:original:{file_sha256(checkpoint)[:12]}"
    assert describe_model_key(tiny_scorer.key).startswith("detoxify original")


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="model type"):
        DetoxifyOptions(model_type="huge")
    with pytest.raises(ValueError, match="precision"):
        DetoxifyOptions(precision="fp8")
    with pytest.raises(ValueError, match="max batch tokens"):
        DetoxifyOptions(max_batch_tokens=0)


def test_fallback_scorer_maps_onto_toxicity():
    scorer = FallbackScorer()
    rude, polite, empty, emoji = scorer.score(
        ["you are a fucking idiot", "thank you for the article", "", "😀 привет"]
    )
    assert model_key_is_fallback(scorer.key) and scorer.labels == ("toxicity",)
    assert rude["toxicity"] > 0.5 > polite["toxicity"]
    assert 0.0 <= empty["toxicity"] <= 1.0 and 0.0 <= emoji["toxicity"] <= 1.0
    assert scorer.score([]) == []
    assert scorer.key.startswith("fallback:alt-profanity-check:")
    assert "fallback" in describe_model_key(scorer.key)
    assert "not detoxify" in describe_model_key(scorer.key)


@pytest.mark.django_db
def test_auto_uses_fallback_without_weights_and_the_check_warns(settings, tmp_path, capsys,
                                                                embedded_model_copy):
    # No weights at all: no detoxify checkpoint, and the embedded model's files
    # are gone (with them, auto uses the embedded model: tests/scoring/test_embedded.py).
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    (embedded_model_copy / "tox_block_0.1.2_weights.npz").unlink()
    # An empty torch hub: no official weights cached.
    import os

    old = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(tmp_path)
    try:
        choice = scorer_choice()
        assert choice.is_fallback
        reset_active_scorer()
        assert model_key_is_fallback(active_scorer().key)
        from moderation.scoring.checks import scorer_check

        (warning,) = scorer_check()
        assert warning.id == "moderation.W001"
        assert "fallback" in warning.msg
        # Chosen on purpose, it is no news: no warning on every command.
        settings.SCORER = "fallback"
        assert scorer_check() == []
    finally:
        if old is None:
            os.environ.pop("TORCH_HOME")
        else:
            os.environ["TORCH_HOME"] = old
        reset_active_scorer()


@pytest.mark.django_db
def test_auto_uses_detoxify_when_a_checkpoint_is_configured(settings, tiny_model):
    checkpoint, hf_dir = tiny_model
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = str(checkpoint)
    settings.DETOXIFY_HF_CONFIG = str(hf_dir)
    reset_active_scorer()
    try:
        choice = scorer_choice()
        assert choice.backend == "detoxify"
        scorer = active_scorer()
        assert scorer is active_scorer()  # built once per process
        assert scorer.key == choice.key
        from moderation.scoring.checks import scorer_check

        assert scorer_check() == []
    finally:
        reset_active_scorer()


def test_bad_scoring_settings_are_a_system_check_error(settings):
    settings.SCORER = "magic"
    from moderation.scoring.checks import scorer_check

    (error,) = scorer_check()
    assert error.id == "moderation.E001" and "SCORER" in error.msg
    settings.SCORER = "fallback"
    settings.MODERATION_REVIEW_THRESHOLDS = {"threat": 3}
    (error,) = scorer_check()
    assert "threat" in error.msg and "0 to 1" in error.msg
