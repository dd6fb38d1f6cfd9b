"""Perspective API's request and response shapes over the active Threadkeeper model.

Coral Talk and Jigsaw's Open Source Moderator send
`POST <base>/comments:analyze` with `{"comment": {"text": ...},
"requestedAttributes": {"TOXICITY": {}}, "languages": ["en"], "doNotStore":
true}` and read `attributeScores.TOXICITY.summaryScore.value`. Each
Perspective attribute is served by the first label of the active scorer in
ATTRIBUTE_LABELS that it has, so which attributes exist depends on the
model, not on this file (docs/api.md lists them for each model). An
attribute the model cannot serve, a language the model does not read (asked
for, or detected by moderation/scoring/language.py) or a malformed request
answers Perspective's error shape (`PerspectiveError.as_json`) with 400.
Nothing of an analyze request is stored, except, when spanAnnotations is
asked without doNotStore, the why-words cache row (content hash and spans,
no text). `comments:suggestscore`
(Coral sends the moderator's verdict there) is kept as a ModeratorLabel,
with the model's own score for the same text, for threshold calibration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from moderation.models import ModeratorLabel
from moderation.scoring.base import Scorer, scorer_languages
from moderation.scoring.explain import text_explain
from moderation.scoring.language import language_supported, text_language
from moderation.scoring.registry import active_scorer
from threads.importers.base import content_hash

from .batching import batch_score

# Perspective attribute -> the model labels that can serve it, best first
# (detoxify's original, unbiased and multilingual names, and Jigsaw 2018's).
ATTRIBUTE_LABELS: dict[str, tuple[str, ...]] = {
    "TOXICITY": ("toxicity", "toxic"),
    "SEVERE_TOXICITY": ("severe_toxicity", "severe_toxic"),
    "INSULT": ("insult",),
    "THREAT": ("threat",),
    "IDENTITY_ATTACK": ("identity_attack", "identity_hate"),
    # detoxify's "obscene" is swearing and obscenity: Perspective's PROFANITY.
    "PROFANITY": ("profanity", "obscene"),
    "SEXUALLY_EXPLICIT": ("sexually_explicit", "sexual_explicit"),
}
SCORE_TYPE = "PROBABILITY"
# spanScores: at most this many why-words, each lowering the score by at least this much.
SPAN_LIMIT = 10
SPAN_MIN_EFFECT = 0.01
MAX_ATTRIBUTES = len(ATTRIBUTE_LABELS)


class PerspectiveError(ValueError):
    """A request Perspective would refuse; answered in Google's error shape."""

    STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "NOT_FOUND", 405: "INVALID_ARGUMENT", 413: "INVALID_ARGUMENT",
                    415: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}

    def __init__(self, message: str, *, code: int = 400, error_type: str = "") -> None:
        self.code = code
        self.error_type = error_type
        super().__init__(message)

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code, "message": str(self),
            "status": self.STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        if self.error_type:
            error["details"] = [{
                "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                "errorType": self.error_type,
            }]
        return {"error": error}


def attribute_labels(labels: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Attribute -> the label that serves it, for a scorer with these labels."""
    served = {}
    for attribute, candidates in ATTRIBUTE_LABELS.items():
        for label in candidates:
            if label in labels:
                served[attribute] = label
                break
    return served


@dataclass
class AnalyzeRequest:
    text: str
    attributes: dict[str, float | None]  # attribute -> scoreThreshold
    languages: list[str]
    span_annotations: bool = False
    do_not_store: bool = False
    client_token: str = ""
    community_id: str = ""
    scores: dict[str, dict] = field(default_factory=dict)  # suggestscore's attributeScores


def _object(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PerspectiveError(f"Invalid JSON payload: {name} must be an object.")
    return value


def _string(value: Any, name: str, *, limit: int = 200) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PerspectiveError(f"Invalid JSON payload: {name} must be a string.")
    if len(value) > limit:
        raise PerspectiveError(f"{name} is longer than {limit} characters.")
    return value


def _language(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


def analyze_request_parse(body: Any, *, suggest: bool = False) -> AnalyzeRequest:
    """Validate an analyze (or suggestscore) body; PerspectiveError names what is wrong."""
    body = _object(body, "the request body")
    comment = _object(body.get("comment"), "comment")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PerspectiveError("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if len(text) > settings.PERSPECTIVE_MAX_TEXT_CHARS:
        raise PerspectiveError(
            f"Comment text too long: {len(text)} characters, at most "
            f"{settings.PERSPECTIVE_MAX_TEXT_CHARS}.", error_type="COMMENT_TOO_LONG")
    if "\x00" in text:
        raise PerspectiveError("Comment text may not contain NUL characters.")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind != "PLAIN_TEXT":
        raise PerspectiveError(f"Comment type {str(kind)[:20]!r} is not supported; use "
                               "PLAIN_TEXT.")
    languages_raw = body.get("languages") or []
    if not isinstance(languages_raw, list) or not all(isinstance(x, str) for x in languages_raw):
        raise PerspectiveError("Invalid JSON payload: languages must be a list of strings.")
    languages = list(dict.fromkeys(_language(x) for x in languages_raw[:10] if x.strip()))

    attributes: dict[str, float | None] = {}
    scores: dict[str, dict] = {}
    if suggest:
        raw_scores = _object(body.get("attributeScores"), "attributeScores")
        if not raw_scores:
            raise PerspectiveError("attributeScores must name at least one attribute.")
        for name, value in raw_scores.items():
            summary = _object(_object(value, name).get("summaryScore"), f"{name}.summaryScore")
            verdict = summary.get("value")
            if isinstance(verdict, bool) or not isinstance(verdict, int | float) \
                    or not 0 <= verdict <= 1:
                raise PerspectiveError(f"{name}.summaryScore.value must be a number in [0, 1].")
            scores[name] = {"value": float(verdict)}
            attributes[name] = None
    else:
        requested = _object(body.get("requestedAttributes"), "requestedAttributes")
        if not requested:
            raise PerspectiveError("requestedAttributes must name at least one attribute.")
        for name, options in requested.items():
            options = _object(options, f"requestedAttributes.{name}")
            score_type = options.get("scoreType", SCORE_TYPE)
            if score_type != SCORE_TYPE:
                raise PerspectiveError(f"Attribute {name}: scoreType {str(score_type)[:20]!r} "
                                       f"is not supported; use {SCORE_TYPE}.")
            threshold = options.get("scoreThreshold")
            if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                    threshold, int | float) or not 0 <= threshold <= 1):
                raise PerspectiveError(f"Attribute {name}: scoreThreshold must be in [0, 1].")
            attributes[name] = float(threshold) if threshold is not None else None
    if len(attributes) > MAX_ATTRIBUTES + 5:
        raise PerspectiveError("Too many attributes requested.")
    return AnalyzeRequest(
        text=text,
        attributes=attributes,
        languages=languages,
        span_annotations=body.get("spanAnnotations") is True,
        do_not_store=body.get("doNotStore") is True,
        client_token=_string(body.get("clientToken"), "clientToken"),
        community_id=_string(body.get("communityId"), "communityId"),
        scores=scores,
    )


def _served(request: AnalyzeRequest, scorer: Scorer) -> dict[str, str]:
    served = attribute_labels(tuple(scorer.labels))
    for name in request.attributes:
        if name not in served:
            known = ", ".join(served) or "none"
            raise PerspectiveError(
                f"Attribute {name[:40]} does not exist or is not served by the active model "
                f"({scorer.key}); it serves: {known}.",
                error_type="ATTRIBUTE_NOT_SUPPORTED" if name in ATTRIBUTE_LABELS
                else "UNKNOWN_ATTRIBUTE")
    return {name: served[name] for name in request.attributes}


def _languages(request: AnalyzeRequest, scorer: Scorer) -> tuple[list[str], list[str]]:
    """(languages scored as, detected languages); PerspectiveError if the model cannot read it.

    The languages the active scorer declares decide (none declared: any).
    Asked-for languages must all be among them; without any, the detected
    language must be (an undetermined one, a short text, passes).
    """
    readable = scorer_languages(scorer)
    detection = text_language(request.text)
    detected = [detection.language] if detection.determined else []
    wanted = request.languages or detected
    for language in wanted:
        if not language_supported(language, readable):
            raise PerspectiveError(
                f"Attribute {next(iter(request.attributes))} does not support request "
                f"languages: {language}", error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE")
    return wanted or list(readable[:1]) or ["en"], detected or wanted or ["en"]


class _Batched:
    """The scorer, its calls going through the batching thread (for text_explain)."""

    def __init__(self, scorer: Scorer) -> None:
        self._scorer = scorer
        self.key = scorer.key
        self.labels = scorer.labels
        self.languages = scorer_languages(scorer)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return batch_score(self._scorer, texts)


def _span_scores(request: AnalyzeRequest, scorer: Scorer, label: str) -> list[dict[str, Any]]:
    """The why-words of `label`: the spans whose removal lowers its score, in text order.

    Each span's score is that drop (how much of the probability the span
    carries), from moderation/scoring/explain.py's occlusion; cached (by
    content hash) unless the request says doNotStore.
    """
    explanation = text_explain(request.text, scorer=_Batched(scorer), label=label,
                               cache=not request.do_not_store)
    spans = sorted(explanation.top(SPAN_LIMIT, min_effect=SPAN_MIN_EFFECT),
                   key=lambda span: span.start)
    return [{"begin": span.start, "end": span.end,
             "score": _summary(min(1.0, max(0.0, span.effect)))} for span in spans]


def _summary(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 6), "type": SCORE_TYPE}


def comment_analyze(request: AnalyzeRequest, *, scorer: Scorer | None = None) -> dict[str, Any]:
    """Score the text (batched with concurrent requests) and answer as Perspective does."""
    scorer = scorer or active_scorer()
    labels = _served(request, scorer)
    languages, detected = _languages(request, scorer)
    (scores,) = batch_score(scorer, [request.text])
    attribute_scores: dict[str, Any] = {}
    for name, label in labels.items():
        value = float(scores[label])
        threshold = request.attributes[name]
        if threshold is not None and value < threshold:
            continue
        entry: dict[str, Any] = {"summaryScore": _summary(value)}
        if request.span_annotations:
            entry["spanScores"] = _span_scores(request, scorer, label)
        attribute_scores[name] = entry
    body: dict[str, Any] = {
        "attributeScores": attribute_scores,
        "languages": languages,
        "detectedLanguages": detected,
    }
    if request.client_token:
        body["clientToken"] = request.client_token
    return body


def suggested_score_store(request: AnalyzeRequest, *, scorer: Scorer | None = None
                          ) -> dict[str, Any]:
    """Keep a moderator's verdict (suggestscore) beside the model's score for the same text."""
    scorer = scorer or active_scorer()
    labels = _served(request, scorer)
    _languages(request, scorer)
    (scores,) = batch_score(scorer, [request.text])
    digest = content_hash(request.text)
    ModeratorLabel.objects.bulk_create([
        ModeratorLabel(attribute=name, label=label, value=request.scores[name]["value"],
                       model_key=scorer.key, model_score=float(scores[label]),
                       content_hash=digest, community_id=request.community_id,
                       client_token=request.client_token)
        for name, label in labels.items()
    ])
    body: dict[str, Any] = {}
    if request.client_token:
        body["clientToken"] = request.client_token
    return body


def served_attributes(*, scorer: Scorer | None = None) -> Mapping[str, str]:
    """Which attribute each label of the active model serves (docs, admin, checks)."""
    return attribute_labels(tuple((scorer or active_scorer()).labels))


def _method(name: str, request: str, response: str) -> dict[str, Any]:
    return {
        "id": f"commentanalyzer.comments.{name}", "path": f"v1alpha1/comments:{name}",
        "flatPath": f"v1alpha1/comments:{name}", "httpMethod": "POST", "parameters": {},
        "parameterOrder": [], "request": {"$ref": request}, "response": {"$ref": response},
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The discovery document of Perspective's `commentanalyzer` v1alpha1, rooted at this site."""
    schemas = {name: {"id": name, "type": "object", "properties": {}} for name in (
        "AnalyzeCommentRequest", "AnalyzeCommentResponse",
        "SuggestCommentScoreRequest", "SuggestCommentScoreResponse")}
    return {
        "kind": "discovery#restDescription", "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1", "name": "commentanalyzer", "version": "v1alpha1",
        "title": "Perspective Comment Analyzer API (Threadkeeper)", "protocol": "rest",
        "rootUrl": root_url, "servicePath": "perspective/", "batchPath": "batch",
        "baseUrl": root_url + "perspective/",
        "parameters": {"key": {"type": "string", "location": "query",
                               "description": "An API key with the analyze scope."}},
        "schemas": schemas,
        "resources": {"comments": {"methods": {
            "analyze": _method("analyze", "AnalyzeCommentRequest", "AnalyzeCommentResponse"),
            "suggestscore": _method("suggestscore", "SuggestCommentScoreRequest",
                                    "SuggestCommentScoreResponse"),
        }}},
    }
