"""The embedded model: tox-block 0.1.2 in PyTorch, held to the Keras model's own scores.

The recording (tests/data/toxblock/) was made by scripts/convert_toxblock.py
with TensorFlow and tox-block itself; these tests run without TensorFlow.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from moderation.models import ToxicityScore
from moderation.scoring.base import Scorer, describe_model_key, model_key_is_fallback
from moderation.scoring.checks import scorer_check
from moderation.scoring.embedded import (
    LABELS,
    EmbeddedModelError,
    EmbeddedScorer,
    KerasTokenizer,
    embedded_key,
)
from moderation.scoring.labels import label_table, pivot_threshold
from moderation.scoring.policy import policy_evaluate
from moderation.scoring.registry import active_scorer, reset_active_scorer, scorer_choice
from tests.helpers import CeleryWorker, child_database_url, point_celery_app
from threads.models import Comment


def test_the_port_matches_the_keras_model_within_1e5(embedded_scorer, toxblock_recording):
    items = toxblock_recording["items"]
    texts = [item["text"] for item in items]
    # The tokenizer gives Keras' ids exactly: case, filters, " "-only split,
    # dropped unknown words, front padding and front truncation.
    assert [embedded_scorer.tokenizer.padded(text) for text in texts] == [
        item["ids"] for item in items]
    ours = embedded_scorer.probabilities(texts)
    keras = np.array([item["probabilities"] for item in items])
    assert ours.shape == keras.shape == (len(texts), 6)
    assert np.abs(ours - keras).max() < 1e-5
    # Some texts are past 100 words, some are empty: both edges are in the recording.
    assert any(len(text.split()) > 100 for text in texts) and "" in texts


def test_labels_are_detoxifys_names_and_the_scorer_is_a_scorer(embedded_scorer,
                                                               toxblock_recording):
    assert toxblock_recording["labels"] == [
        "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    assert LABELS == ("toxicity", "severe_toxicity", "obscene", "threat", "insult",
                      "identity_attack")
    assert isinstance(embedded_scorer, Scorer)
    assert embedded_scorer.languages == ("en",)
    key = embedded_scorer.key
    assert key == embedded_key() and key.startswith("embedded:tox-block-0.1.2:")
    assert len(key.rsplit(":", 1)[1]) == 12 and not model_key_is_fallback(key)
    assert describe_model_key(key) == f"embedded tox-block-0.1.2 (weights {key[-12:]})"


def test_empty_odd_and_mixed_length_texts_score_in_input_order(embedded_scorer):
    texts = ["", "   ", None, "you are a stupid idiot", "😀🔥 привет мир 你好世界",
             "the point is good " * 400, "thanks for the article, a good read"]
    batched = embedded_scorer.score(texts)
    assert len(batched) == len(texts)
    for text, row in zip(texts, batched, strict=True):
        assert set(row) == set(LABELS) and all(0.0 <= v <= 1.0 for v in row.values())
        # One at a time (no sorting, no shared batch) gives the same numbers.
        assert row == pytest.approx(embedded_scorer.score([text])[0], abs=1e-6)
    # No known word: padding only, the same scores (to float rounding: rows of one
    # batched matmul may take different kernel paths on some CPUs).
    assert batched[0] == pytest.approx(batched[1], abs=1e-6)
    assert batched[1] == pytest.approx(batched[2], abs=1e-6)
    assert batched[3]["insult"] > 0.5 > batched[6]["insult"]
    assert embedded_scorer.score([]) == []


def test_the_tokenizer_splits_only_on_spaces_like_keras():
    tokenizer = KerasTokenizer(["you", "idiot", "line", "two", "don't"])
    assert tokenizer.words("YOU.idiot\tline\ntwo") == ["you", "idiot", "line", "two"]
    # "\r" and a no-break space are not in Keras' filters: they stay in the word.
    assert tokenizer.sequence("line\r\ntwo idiot\u00a0you don't") == [4, 5]
    padded = tokenizer.padded("you " * 150 + "idiot")
    assert len(padded) == 100 and padded[-1] == 2 and padded[0] == 1  # last 100 words kept


@pytest.mark.django_db
def test_auto_uses_the_embedded_model_without_detoxify_weights(settings, tmp_path,
                                                               monkeypatch):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch hub
    reset_active_scorer()
    try:
        choice = scorer_choice()
        assert choice.backend == "embedded" and not choice.is_fallback
        scorer = active_scorer()
        assert isinstance(scorer, EmbeddedScorer) and scorer.key == choice.key
        assert scorer_check() == []  # the ordinary offline default: no warning
    finally:
        reset_active_scorer()


@pytest.mark.django_db
def test_changed_model_files_are_refused_and_auto_falls_back_loudly(
        settings, tmp_path, monkeypatch, embedded_model_copy):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert scorer_choice().backend == "embedded"
    vocab = embedded_model_copy / "tox_block_0.1.2_vocab.json"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace('"idiot"', '"idi0t"'),
                     encoding="utf-8")
    with pytest.raises(EmbeddedModelError, match="tox_block_0.1.2_vocab.json: sha256"):
        EmbeddedScorer()
    reset_active_scorer()
    choice = scorer_choice()
    assert choice.is_fallback and "vocab.json" in choice.reason
    assert model_key_is_fallback(active_scorer().key)
    (warning,) = scorer_check()
    assert warning.id == "moderation.W001" and "last-resort" in warning.msg
    assert "embedded_model" in warning.hint
    # Asked for by name, the embedded model is an error, not a silent fallback.
    settings.SCORER = "embedded"
    with pytest.raises(ImproperlyConfigured, match="vocab.json"):
        scorer_choice()
    (error,) = scorer_check()
    assert error.id == "moderation.E001"
    (embedded_model_copy / "tox_block_0.1.2_weights.npz").unlink()
    with pytest.raises(EmbeddedModelError, match="weights.npz: cannot read it"):
        scorer_choice()


def test_review_thresholds_follow_the_model_that_scored(settings, embedded_scorer):
    embedded = embedded_scorer.key
    scores = {"toxicity": 0.45, "threat": 0.25}
    # 0.45 is over the embedded model's toxicity bar (0.4), under detoxify's (0.5).
    verdict = policy_evaluate(scores=scores, model_key=embedded)
    assert verdict.needs_review and verdict.ml.threshold in (0.4, 0.2)
    assert not policy_evaluate(scores={"toxicity": 0.45},
                               model_key="detoxify:original:c1212f89").needs_review
    assert label_table(embedded)["threat"].review_threshold == 0.2
    assert label_table("detoxify:original:c1212f89")["threat"].review_threshold == 0.3
    # A setting overrides the bar for every model.
    settings.MODERATION_REVIEW_THRESHOLDS = {"toxicity": 0.5}
    assert not policy_evaluate(scores={"toxicity": 0.45}, model_key=embedded).needs_review


@pytest.mark.django_db
def test_the_queue_pivot_follows_the_active_model(settings, tmp_path, monkeypatch):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reset_active_scorer()
    try:
        assert pivot_threshold() == 0.4  # embedded
        settings.SCORER = "fallback"
        assert pivot_threshold() == 0.5  # a settings change is seen at once
    finally:
        reset_active_scorer()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_scores_with_the_embedded_model_by_default(settings, tmp_path,
                                                                 monkeypatch):
    import json

    from config.celery import app
    from threads.services import threads_import_from_file

    broker = "redis://127.0.0.1:6379/2"
    queue = f"tk-embedded-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "SECRET_KEY": "test-worker", "DEBUG": "0",
           "DATABASE_URL": child_database_url(), "CELERY_BROKER_URL": broker,
           "CELERY_TASK_DEFAULT_QUEUE": queue, "SCORER": "auto", "DETOXIFY_CHECKPOINT": "",
           "TORCH_HOME": str(tmp_path / "torch"), "SCORING_AUTO_ENQUEUE": "0",
           "LOG_LEVEL": "INFO"}
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app(broker, queue)
    settings.SCORER = "auto"
    settings.SCORING_AUTO_ENQUEUE = True
    worker = CeleryWorker(queue, env, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_for_log("ready.")
        document = tmp_path / "thread.json"
        bodies = ["He was an authoritarian theocratic scumbag",
                  "Thanks, a clear and useful article about the new bus lanes."]
        document.write_text(json.dumps({"threads": [{"external_id": "emb", "comments": [
            {"external_id": f"c{i}", "body": body} for i, body in enumerate(bodies)]}]}))
        monkeypatch.setenv("TORCH_HOME", env["TORCH_HOME"])
        key = scorer_choice().key
        threads_import_from_file(path=document)
        insult, polite = Comment.objects.filter(thread__external_id="emb").order_by("pk")
        deadline = time.monotonic() + 90
        while ToxicityScore.objects.filter(model_key=key).count() < 2:
            assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
            time.sleep(0.2)
        insult.refresh_from_db()
        polite.refresh_from_db()
        assert key.startswith("embedded:")
        assert insult.needs_review and not polite.needs_review
        assert insult.toxicity > 0.9 > 0.1 > polite.toxicity
    finally:
        worker.stop()
        import redis

        redis.Redis.from_url(broker).delete(queue, f"{queue}.unacked")
        point_celery_app(*saved)
