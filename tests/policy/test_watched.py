"""Watched words: whole words, any case, obfuscations folded; applied at scoring time."""

from __future__ import annotations

import random
import string

import pytest

from moderation.models import Action, Decision, WatchedWordHit
from moderation.policy.services import word_list_save
from moderation.scoring.pipeline import comments_score_in_process
from moderation.scoring.watched import Matcher, fold
from tests.helpers import CommentFactory, MarkerScorer, ThreadFactory, score_exactly
from threads.models import Comment


def matcher(*words: str, kind: str = "suspect") -> Matcher:
    return Matcher([(1, "list", kind, list(words))])


@pytest.mark.parametrize("text", [
    "You are an IDIOT.", "what an id1ot", "iiidiooot!", "ID10T", "an @$$hole idiot",
    "ｉｄｉｏｔ", "Idiot", "(idiot)",
])
def test_obfuscated_and_differently_cased_words_match(text):
    hits = matcher("idiot", "asshole").find(text)
    assert hits and hits[0].word in ("idiot", "asshole"), text


@pytest.mark.parametrize("text", ["idiotic behaviour", "idiots", "Scunthorpe", "2020 was long",
                                  "semi-diot"])
def test_only_whole_words_match(text):
    assert not matcher("idiot", "cunt", "2", "diot x").find(text), text


def test_phrases_match_as_words_in_a_row_and_spans_point_at_the_text():
    body = "Just go    AWAY, troll.  Or go home."
    hits = matcher("go away", "troll").find(body)
    assert [hit.word for hit in hits] == ["go away", "troll"]
    assert [hit.text_in(body) for hit in hits] == ["go    AWAY", "troll"]


def test_banned_wins_over_suspect_for_the_same_word():
    combined = Matcher([(1, "soft", "suspect", ["clown"]), (2, "hard", "banned", ["CLOWN"])])
    assert combined.find("clown")[0].kind == "banned"
    assert fold("Stuuupid") == fold("5tup1d") == "stupid"


def test_ten_thousand_words_are_one_matcher_and_still_find_the_right_ones():
    rng = random.Random(7)
    words = {"".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))
             for _ in range(10_000)}
    big = Matcher([(1, "big", "banned", sorted(words))])
    assert len(big) >= 9_000  # folding merges a few
    target = sorted(words)[1234]
    text = ("An ordinary comment about the article, " * 12) + target
    assert [hit.word for hit in big.find(text)] == [target]


@pytest.mark.django_db
def test_a_suspect_word_queues_the_comment_and_the_decision_names_list_and_word():
    thread = ThreadFactory(source="disqus")
    word_list_save(actor=None, name="insults", source="disqus", kind="suspect",
                   words=["moron", "get lost"])
    other = ThreadFactory(source="wxr")
    scorer = MarkerScorer()
    comment = CommentFactory(thread=thread, body="Get   LOST, m0r0n. [toxicity=0.1]")
    comments_score_in_process(comment_ids=[comment.pk], scorer=scorer)
    comment.refresh_from_db()
    assert comment.needs_review and comment.state == Comment.State.PENDING
    decision = Decision.objects.get(comment=comment, action=Action.QUEUE)
    assert '"get lost" (insults)' in decision.note and '"moron" (insults)' in decision.note
    hits = list(WatchedWordHit.objects.filter(decision=decision).order_by("id"))
    assert [(h.word, h.matched_text, h.list_name, h.kind) for h in hits] == [
        ("get lost", "Get   LOST", "insults", "suspect"), ("moron", "m0r0n", "insults", "suspect")]
    # The list is for disqus only.
    elsewhere = CommentFactory(thread=other, body="moron [toxicity=0.1]")
    comments_score_in_process(comment_ids=[elsewhere.pk], scorer=scorer)
    assert not Comment.objects.get(pk=elsewhere.pk).needs_review


@pytest.mark.django_db
@pytest.mark.parametrize("setting, state", [("review", "pending"), ("hide", "hidden")])
def test_a_banned_word_hides_or_queues_as_the_setting_says(settings, setting, state):
    settings.MODERATION_BANNED_WORDS_ACTION = setting
    word_list_save(actor=None, name="slurs", source="", kind="banned", words=["vermin"])
    comment = CommentFactory(body="They are VERMIN [toxicity=0.05]")
    comments_score_in_process(comment_ids=[comment.pk], scorer=MarkerScorer())
    comment.refresh_from_db()
    assert comment.state == state
    assert comment.needs_review or state == "hidden"
    decision = Decision.objects.exclude(action=Action.UNQUEUE).get(comment=comment)
    assert decision.actor is None and "banned word" in decision.note
    assert decision.word_hits.get().word == "vermin"


@pytest.mark.django_db
def test_the_card_highlights_the_words_escaped(moderator_client):
    word_list_save(actor=None, name="watch <b>", source="", kind="suspect", words=["clown"])
    comment = CommentFactory(body="<script>x</script> what a CLOWN <img src=x>")
    score_exactly(comment, {"toxicity": 0.7})
    Comment.objects.filter(pk=comment.pk).update(needs_review=True)
    page = moderator_client.get("/queue/review/").content.decode()
    assert "<mark>CLOWN</mark>" in page
    assert "watch &lt;b&gt;" in page and "&lt;img src=x&gt;" in page
    assert "<script>x" not in page
