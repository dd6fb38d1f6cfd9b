"""Language-aware scoring: detection, each scorer's languages, routing to review, the sweep."""

from __future__ import annotations

import pytest

from moderation.models import Action, Decision
from moderation.scoring.detoxify import MODEL_LANGUAGES
from moderation.scoring.fallback import FallbackScorer
from moderation.scoring.language import MIN_CONFIDENCE, text_language
from moderation.scoring.pipeline import comments_needing_scoring, comments_score_in_process
from moderation.scoring.registry import active_scorer, languages_for_model_key
from tests.helpers import (
    ENGLISH_COMMENT,
    GERMAN_COMMENT,
    SHORT_COMMENT,
    TURKISH_REVIEW,
    EnglishMarkerScorer,
    MultilingualMarkerScorer,
    score_comment,
)
from threads.models import Comment


def ids(comments):
    return [c.pk for c in comments]


def test_detection_is_confident_on_real_text_and_undetermined_on_short_text():
    assert text_language(TURKISH_REVIEW).language == "tr"
    assert text_language(ENGLISH_COMMENT).language == "en"
    assert text_language(GERMAN_COMMENT).language == "de"
    assert text_language(TURKISH_REVIEW).confidence >= MIN_CONFIDENCE
    assert text_language(SHORT_COMMENT).language == ""
    assert text_language("").language == ""
    assert text_language("🙂🙂🙂 !!! 12345 ???").language == ""


def test_each_scorer_declares_its_languages(use_tiny_detoxify):
    scorer = active_scorer()
    assert scorer.languages == ("en",)
    assert languages_for_model_key(scorer.key) == ("en",)
    assert FallbackScorer().languages == ("en",)
    assert languages_for_model_key(FallbackScorer().key) == ("en",)
    assert MODEL_LANGUAGES["multilingual"] == ("en", "fr", "es", "it", "pt", "tr", "ru")
    assert languages_for_model_key("detoxify:multilingual:0b549669") == MODEL_LANGUAGES[
        "multilingual"]
    assert languages_for_model_key("somebody:else:1") == ()  # unknown: any language


@pytest.mark.django_db
def test_an_unsupported_language_enters_review_with_its_reason(make_thread):
    scorer = EnglishMarkerScorer(key="marker:en:1")
    turkish, english, short = make_thread([TURKISH_REVIEW, ENGLISH_COMMENT, SHORT_COMMENT])
    report = comments_score_in_process(comment_ids=ids([turkish, english, short]), scorer=scorer)
    assert (report.scored, report.unsupported_language, report.entered_queue) == (3, 1, 1)

    turkish = Comment.objects.get(pk=turkish.pk)
    assert turkish.language == "tr"
    assert turkish.needs_review  # all its scores are 0.01: it would have passed as clean
    assert turkish.toxicity is None and turkish.toxicity_label == ""  # not ranked by them
    decision = Decision.objects.get(comment=turkish)
    assert decision.action == Action.QUEUE and decision.actor is None
    assert decision.note.startswith("language not supported by marker:en:1: Turkish (tr)")
    assert (decision.top_label, decision.model_key, decision.threshold) == (
        "language", "marker:en:1", MIN_CONFIDENCE)
    assert decision.top_score >= MIN_CONFIDENCE

    # English and the too-short text are scored as before: clean, not queued.
    for pk, language in ((english.pk, "en"), (short.pk, "")):
        comment = Comment.objects.get(pk=pk)
        assert (comment.language, comment.needs_review, comment.toxicity) == (
            language, False, 0.01)


@pytest.mark.django_db
def test_a_model_that_reads_the_language_scores_it_as_usual(make_thread):
    (turkish,) = make_thread([TURKISH_REVIEW])
    comments_score_in_process(comment_ids=[turkish.pk],
                              scorer=MultilingualMarkerScorer(key="marker:multi:1"))
    turkish = Comment.objects.get(pk=turkish.pk)
    assert (turkish.language, turkish.needs_review, turkish.toxicity) == ("tr", False, 0.01)
    assert not Decision.objects.filter(comment=turkish).exists()


@pytest.mark.django_db
def test_the_real_fallback_sends_the_turkish_review_to_review(make_thread):
    (turkish,) = make_thread([TURKISH_REVIEW])
    scorer = FallbackScorer()
    comments_score_in_process(comment_ids=[turkish.pk], scorer=scorer)
    turkish = Comment.objects.get(pk=turkish.pk)
    assert turkish.needs_review and turkish.toxicity is None
    assert "language not supported by fallback scorer" in turkish.decisions.get().note


@pytest.mark.django_db
def test_an_unsupported_language_is_never_auto_hidden(make_thread, settings):
    settings.MODERATION_AUTOHIDE_THRESHOLDS = {"toxicity": 0.5}
    (turkish,) = make_thread([TURKISH_REVIEW + " [toxicity=0.99]"])
    comments_score_in_process(comment_ids=[turkish.pk], scorer=EnglishMarkerScorer())
    turkish = Comment.objects.get(pk=turkish.pk)
    assert (turkish.state, turkish.needs_review) == (Comment.State.PENDING, True)


@pytest.mark.django_db
def test_comments_scored_before_detection_are_swept_and_reuse_their_score(make_thread):
    scorer = EnglishMarkerScorer(key="marker:en:1")
    (turkish,) = make_thread([TURKISH_REVIEW])
    score_comment(turkish, 0.02, model_key=scorer.key)  # as scored by an older version
    assert Comment.objects.get(pk=turkish.pk).language is None
    assert list(comments_needing_scoring(model_key=scorer.key).values_list("pk", flat=True)) == [
        turkish.pk]
    report = comments_score_in_process(comment_ids=[turkish.pk], scorer=scorer)
    assert scorer.calls == []  # the stored score was reused, the model did not run
    assert (report.reused, report.entered_queue) == (1, 1)
    assert Comment.objects.get(pk=turkish.pk).language == "tr"
    assert not comments_needing_scoring(model_key=scorer.key).exists()


@pytest.mark.django_db
def test_an_edited_text_forgets_its_language_until_scored_again(make_thread):
    scorer = EnglishMarkerScorer()
    (comment,) = make_thread([ENGLISH_COMMENT], external_id="edit")
    comments_score_in_process(comment_ids=[comment.pk], scorer=scorer)
    assert Comment.objects.get(pk=comment.pk).language == "en"
    make_thread([TURKISH_REVIEW], external_id="edit")
    assert Comment.objects.get(pk=comment.pk).language is None
    comments_score_in_process(comment_ids=[comment.pk], scorer=scorer)
    edited = Comment.objects.get(pk=comment.pk)
    assert (edited.language, edited.needs_review) == ("tr", True)
