"""The Perspective-compatible endpoint: Coral's and OSMod's requests, Perspective's answers."""

from __future__ import annotations

import json
import threading
import time

import pytest

from moderation.models import Comment, Event, ModeratorLabel, ScoreExplanation
from moderation.perspective.service import analyze_request_parse, comment_analyze
from tests.helpers import MarkerScorer

pytestmark = pytest.mark.django_db

ANALYZE = "/perspective/v1alpha1/comments:analyze"
SUGGEST = "/perspective/v1alpha1/comments:suggestscore"
# Exactly what Coral Talk sends (its perspective service, TOXICITY only).
CORAL_BODY = {"comment": {"text": "You are a stupid idiot."}, "doNotStore": True,
              "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]}
ALL_SERVED = ["TOXICITY", "SEVERE_TOXICITY", "INSULT", "THREAT", "IDENTITY_ATTACK", "PROFANITY"]


@pytest.fixture
def analyze_key(api_key):
    return api_key("analyze", name="coral")


def post(client, url, body, key=None, **extra):
    query = f"?key={key}" if key else ""
    return client.post(url + query, json.dumps(body) if not isinstance(body, bytes) else body,
                       content_type="application/json", **extra)


def perspective_error(response, code):
    assert response.status_code == code, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["status"] and error["message"]
    return error


def test_coral_request_gets_the_shape_coral_reads(client, analyze_key):
    response = post(client, ANALYZE, CORAL_BODY, analyze_key)
    assert response.status_code == 200, response.content
    body = response.json()
    value = body["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert 0 <= value <= 1 and body["attributeScores"]["TOXICITY"]["summaryScore"]["type"] \
        == "PROBABILITY"
    assert body["languages"] == ["en"]
    assert set(body) == {"attributeScores", "languages", "detectedLanguages"}
    # Nothing stored: no comment, no event, no cache row.
    assert not Comment.objects.exists() and not Event.objects.exists()
    assert not ScoreExplanation.objects.exists()


def test_all_attributes_with_span_annotations(client, analyze_key, use_tiny_detoxify):
    text = "you are an idiot, thanks for the great article"
    body = {"comment": {"text": text}, "spanAnnotations": True, "clientToken": "t-1",
            "requestedAttributes": {name: {} for name in ALL_SERVED}, "doNotStore": True}
    response = post(client, ANALYZE, body, analyze_key)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert sorted(answer["attributeScores"]) == sorted(ALL_SERVED)
    assert answer["clientToken"] == "t-1"
    for name in ALL_SERVED:
        attribute = answer["attributeScores"][name]
        assert attribute["summaryScore"]["type"] == "PROBABILITY"
        assert isinstance(attribute["spanScores"], list)
        for span in attribute["spanScores"]:
            assert 0 <= span["begin"] < span["end"] <= len(text)
            assert 0 <= span["score"]["value"] <= 1
    assert not ScoreExplanation.objects.exists()  # doNotStore: not even the why-words cache


def test_score_threshold_leaves_out_attributes_under_it(client, analyze_key, use_tiny_detoxify):
    body = {"comment": {"text": "hello friend"},
            "requestedAttributes": {"TOXICITY": {"scoreThreshold": 1.0}, "INSULT": {}}}
    answer = post(client, ANALYZE, body, analyze_key).json()
    assert list(answer["attributeScores"]) == ["INSULT"]


@pytest.mark.parametrize("body, error_type", [
    ({"comment": {"text": "hi"}, "requestedAttributes": {"NOPE": {}}}, "UNKNOWN_ATTRIBUTE"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"SEXUALLY_EXPLICIT": {}}},
     "ATTRIBUTE_NOT_SUPPORTED"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["de"]},
     "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"),
    ({"comment": {"text": "Ich finde den Artikel sehr gut geschrieben, aber der Schluss "
                          "überzeugt nicht."}, "requestedAttributes": {"TOXICITY": {}}},
     "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"),
    ({"comment": {"text": "  "}, "requestedAttributes": {"TOXICITY": {}}}, "COMMENT_EMPTY"),
    ({"comment": {"text": "x" * 20481}, "requestedAttributes": {"TOXICITY": {}}},
     "COMMENT_TOO_LONG"),
])
def test_unsupported_requests_answer_perspectives_error_shape(client, analyze_key,
                                                              use_tiny_detoxify, body,
                                                              error_type):
    error = perspective_error(post(client, ANALYZE, body, analyze_key), 400)
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errorType"] == error_type


@pytest.mark.parametrize("body", [
    b"{not json", [], {"comment": "text"}, {"comment": {"text": "hi"}},
    {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}},
    {"comment": {"text": "hi", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
    {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": []}},
    {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": "en"},
])
def test_malformed_requests_are_400_in_perspectives_shape(client, analyze_key, body):
    perspective_error(post(client, ANALYZE, body, analyze_key), 400)


def test_keys_and_methods(client, api_key, analyze_key):
    assert perspective_error(post(client, ANALYZE, CORAL_BODY), 401)["status"] == \
        "UNAUTHENTICATED"
    assert perspective_error(post(client, ANALYZE, CORAL_BODY, "tk_wrong"), 401)
    read_only = api_key("read", name="reader")
    assert perspective_error(post(client, ANALYZE, CORAL_BODY, read_only), 403)["status"] == \
        "PERMISSION_DENIED"
    assert perspective_error(client.get(ANALYZE + f"?key={analyze_key}"), 405)
    bearer = client.post(ANALYZE, json.dumps(CORAL_BODY), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {analyze_key}")
    assert bearer.status_code == 200


def test_suggestscore_keeps_the_moderators_verdict_with_the_models_score(client, analyze_key):
    body = {"comment": {"text": "You are a stupid idiot."}, "communityId": "site-1",
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
            "clientToken": "c-9"}
    response = post(client, SUGGEST, body, analyze_key)
    assert response.status_code == 200 and response.json() == {"clientToken": "c-9"}
    (label,) = ModeratorLabel.objects.all()
    assert (label.attribute, label.label, label.value, label.community_id) == \
        ("TOXICITY", "toxicity", 1.0, "site-1")
    assert 0 <= label.model_score <= 1 and label.model_key and len(label.content_hash) == 64
    bad = dict(body, attributeScores={"TOXICITY": {"summaryScore": {"value": 2}}})
    perspective_error(post(client, SUGGEST, bad, analyze_key), 400)


class SlowCountingScorer(MarkerScorer):
    """A MarkerScorer whose every call takes 50 ms (a model's fixed cost)."""

    def score(self, texts):
        time.sleep(0.05)
        return super().score(texts)


def test_concurrent_requests_share_model_calls():
    scorer = SlowCountingScorer()
    request = analyze_request_parse({"comment": {"text": "rude [toxicity=0.9]"},
                                     "requestedAttributes": {"TOXICITY": {}}})
    answers = []

    def call() -> None:
        answers.append(comment_analyze(request, scorer=scorer))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 20
    assert {a["attributeScores"]["TOXICITY"]["summaryScore"]["value"] for a in answers} == {0.9}
    assert sum(len(call) for call in scorer.calls) == 20
    assert len(scorer.calls) <= 5  # batched: one call served many requests


def test_discovery_document_points_google_clients_here(client, analyze_key):
    response = client.get("/perspective/$discovery/rest?version=v1alpha1")
    assert response.status_code == 200
    doc = response.json()
    method = doc["resources"]["comments"]["methods"]["analyze"]
    # How Google's client libraries build a method's URL: rootUrl + servicePath + path.
    url = doc["rootUrl"] + doc["servicePath"] + method["path"]
    assert url == "http://testserver" + ANALYZE
    assert method["httpMethod"] == "POST" and method["request"]["$ref"] in doc["schemas"]
    path = url.removeprefix("http://testserver")
    assert post(client, path, CORAL_BODY, analyze_key).status_code == 200
    assert client.get("/perspective/$discovery/rest?version=v1").status_code == 404
