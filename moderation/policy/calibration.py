"""Calibration from decisions: a model's score -> "a moderator here would act on it".

Per model, label and source (and all sources together), the decided comments
of the window (moderation.policy.selectors.decided_comments) are the data: a
comment hidden or flagged with the decision naming this label is a positive,
an approved one a negative (hides naming another label are left out).

Two fits, written here in numpy (each a few lines; no scikit-learn for two
estimators):

- **isotonic** (pool-adjacent-violators): a non-decreasing step function,
  no assumption on the curve's shape, but it needs data: at least
  ISOTONIC_MIN decisions with ISOTONIC_MIN_CLASS of each kind;
- **Platt** (a logistic curve in the score, fitted by Newton's method with
  Platt's smoothed targets): two parameters, so it is usable from
  PLATT_MIN decisions with PLATT_MIN_CLASS of each kind;
- under that, no calibration: the page says how many more are needed.

Scores are pooled into BINS equal bins (1e-4 wide) with their counts before
fitting, so a fit over 100,000 decisions loops over at most 10,001 points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .selectors import DecidedMatrix, decided_matrix

PLATT_MIN, PLATT_MIN_CLASS = 30, 5
ISOTONIC_MIN, ISOTONIC_MIN_CLASS = 300, 30
BINS = 10_001
RELIABILITY_BINS = 10
ALL_SOURCES = ""


@dataclass
class LabelData:
    """One label's decided scores, pooled: per bin, how many positives and negatives."""

    positives: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    negatives: np.ndarray = field(default_factory=lambda: np.zeros(BINS))

    @property
    def n_pos(self) -> int:
        return int(self.positives.sum())

    @property
    def n_neg(self) -> int:
        return int(self.negatives.sum())

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    def precision_recall(self, threshold: float) -> tuple[float | None, float | None, int]:
        """Precision and recall of "score >= threshold" and how many it selects."""
        start = int(np.ceil(round(threshold * (BINS - 1), 6)))
        tp = float(self.positives[start:].sum())
        selected = tp + float(self.negatives[start:].sum())
        precision = tp / selected if selected else None
        recall = tp / self.n_pos if self.n_pos else None
        return precision, recall, int(selected)

    def threshold_for_precision(self, precision: float) -> float | None:
        """The lowest threshold whose precision reaches `precision` (the most recall)."""
        tp = np.cumsum(self.positives[::-1])[::-1]
        selected = tp + np.cumsum(self.negatives[::-1])[::-1]
        # Only a score some comment had: any threshold between two scores selects the same.
        present = (self.positives + self.negatives) > 0
        ok = present & (tp >= precision * np.where(selected > 0, selected, np.inf))
        candidates = np.flatnonzero(ok)
        return round(float(candidates[0]) / (BINS - 1), 4) if candidates.size else None

    def histogram(self, bins: int = 20) -> tuple[list[int], list[int]]:
        """Counts of negatives (approved) and positives (hidden) in `bins` equal score bins."""
        edges = np.minimum((np.arange(BINS) * bins) // (BINS - 1), bins - 1)
        neg = np.bincount(edges, weights=self.negatives, minlength=bins)
        pos = np.bincount(edges, weights=self.positives, minlength=bins)
        return [int(v) for v in neg], [int(v) for v in pos]


def label_data(decided: DecidedMatrix) -> dict[tuple[str, str], LabelData]:
    """(label, source) -> pooled data; source ALL_SOURCES is every source together."""
    data: dict[tuple[str, str], LabelData] = {}
    if not len(decided):
        return data
    for j, label in enumerate(decided.labels):
        scores = decided.scores[:, j]
        # A positive counts for the label its decision names only.
        usable = ~np.isnan(scores) & (~decided.positive | (decided.label_index == j))
        if not usable.any():
            continue
        bins = np.clip(np.rint(scores[usable] * (BINS - 1)).astype(int), 0, BINS - 1)
        positive = decided.positive[usable]
        source_index = decided.source_index[usable]
        groups = [(ALL_SOURCES, np.ones(bins.size, bool))] + [
            (name, source_index == k) for k, name in enumerate(decided.sources)]
        for source, mask in groups:
            if not mask.any():
                continue
            data[(label, source)] = LabelData(
                positives=np.bincount(bins[mask & positive], minlength=BINS).astype(float),
                negatives=np.bincount(bins[mask & ~positive], minlength=BINS).astype(float))
    return data


def isotonic_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the non-decreasing fit of y on sorted x, weights w.

    Returns (x of each block's start, block value): a step function.
    """
    values: list[float] = []
    weights: list[float] = []
    starts: list[float] = []
    for xi, yi, wi in zip(x.tolist(), y.tolist(), w.tolist(), strict=True):
        values.append(yi)
        weights.append(wi)
        starts.append(xi)
        while len(values) > 1 and values[-2] > values[-1]:
            total = weights[-2] + weights[-1]
            values[-2] = (values[-2] * weights[-2] + values[-1] * weights[-1]) / total
            weights[-2] = total
            values.pop()
            weights.pop()
            starts.pop()
    return np.array(starts), np.array(values)


def isotonic_predict(model: tuple[np.ndarray, np.ndarray], scores: np.ndarray) -> np.ndarray:
    starts, values = model
    index = np.clip(np.searchsorted(starts, scores, side="right") - 1, 0, len(values) - 1)
    return values[index]


def platt_fit(x: np.ndarray, pos: np.ndarray, neg: np.ndarray,
              iterations: int = 50) -> tuple[float, float]:
    """Platt scaling, p = 1 / (1 + exp(-(a x + b))), by Newton's method on weighted points.

    Targets are Platt's smoothed (N+ + 1) / (N+ + 2) and 1 / (N- + 2), so a
    perfectly separated set still gives finite parameters.
    """
    n_pos, n_neg = pos.sum(), neg.sum()
    t_pos, t_neg = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    # Each point twice: its positives with target t_pos, its negatives with t_neg.
    xs = np.concatenate([x, x])
    ts = np.concatenate([np.full(x.size, t_pos), np.full(x.size, t_neg)])
    ws = np.concatenate([pos, neg])
    keep = ws > 0
    xs, ts, ws = xs[keep], ts[keep], ws[keep]
    a, b = 0.0, float(np.log((n_pos + 1) / (n_neg + 1)))
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(a * xs + b)))
        d = p * (1 - p) * ws
        g = np.array([np.sum(ws * (p - ts) * xs), np.sum(ws * (p - ts))])
        h = np.array([[np.sum(d * xs * xs), np.sum(d * xs)], [np.sum(d * xs), np.sum(d)]])
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-9:
            break
    return float(a), float(b)


def platt_predict(model: tuple[float, float], scores: np.ndarray) -> np.ndarray:
    a, b = model
    return 1 / (1 + np.exp(-(a * scores + b)))


@dataclass
class Calibration:
    label: str
    source: str
    data: LabelData
    method: str | None  # "isotonic", "platt" or None (not enough decisions)
    curve: list[tuple[float, float]]  # (score, calibrated) on a grid of 0..1
    reliability: list[tuple[float, float, int]]  # per score bin: mean score, observed rate, n
    brier: float | None
    needed: str  # what is missing, when method is None

    def predict(self, score: float) -> float | None:
        if not self.curve:
            return None
        index = min(max(int(round(score * (len(self.curve) - 1))), 0), len(self.curve) - 1)
        return self.curve[index][1]


def calibration_fit(label: str, source: str, data: LabelData, *,
                    grid: int = 101) -> Calibration:
    """The best calibration these decisions support (isotonic, else Platt, else none)."""
    n, n_pos, n_neg = data.n, data.n_pos, data.n_neg
    mask = (data.positives + data.negatives) > 0
    x = np.flatnonzero(mask) / (BINS - 1)
    pos, neg = data.positives[mask], data.negatives[mask]
    grid_x = np.linspace(0, 1, grid)
    if n >= ISOTONIC_MIN and min(n_pos, n_neg) >= ISOTONIC_MIN_CLASS:
        model = isotonic_fit(x, pos / (pos + neg), pos + neg)
        method, fitted, curve_y = "isotonic", isotonic_predict(model, x), \
            isotonic_predict(model, grid_x)
    elif n >= PLATT_MIN and min(n_pos, n_neg) >= PLATT_MIN_CLASS:
        model_p = platt_fit(x, pos, neg)
        method, fitted, curve_y = "platt", platt_predict(model_p, x), \
            platt_predict(model_p, grid_x)
    else:
        needed = (f"{n:,} decisions ({n_pos:,} acted on, {n_neg:,} approved); a Platt fit "
                  f"needs {PLATT_MIN} with {PLATT_MIN_CLASS} of each, isotonic {ISOTONIC_MIN} "
                  f"with {ISOTONIC_MIN_CLASS} of each")
        return Calibration(label, source, data, None, [], _reliability(data), None, needed)
    weights = pos + neg
    brier = float(np.sum(pos * (1 - fitted) ** 2 + neg * fitted ** 2) / weights.sum())
    curve = [(round(float(a), 4), round(float(b), 4)) for a, b in zip(grid_x, curve_y,
                                                                      strict=True)]
    return Calibration(label, source, data, method, curve, _reliability(data), brier, "")


def _reliability(data: LabelData) -> list[tuple[float, float, int]]:
    """Per tenth of the score: the mean score, the share moderators acted on, how many.

    Drawn with the calibration curve (score -> calibrated) on the same axes: where
    the points leave the diagonal, the raw score says something else than it means.
    """
    mask = (data.positives + data.negatives) > 0
    x = np.flatnonzero(mask) / (BINS - 1)
    pos, neg = data.positives[mask], data.negatives[mask]
    weights = pos + neg
    index = np.minimum((x * RELIABILITY_BINS).astype(int), RELIABILITY_BINS - 1)
    rows = []
    for b in range(RELIABILITY_BINS):
        in_bin = index == b
        n = float(weights[in_bin].sum())
        if n:
            rows.append((round(float((x[in_bin] * weights[in_bin]).sum() / n), 4),
                         round(float(pos[in_bin].sum() / n), 4), int(n)))
    return rows


def calibrations_fit(*, model_key: str, days: int,
                     sources: Iterable[str] | None = None) -> dict[tuple[str, str], Calibration]:
    """Every (label, source) calibration of this model over the last `days` of decisions."""
    data = label_data(decided_matrix(model_key=model_key, days=days, sources=sources))
    return {key: calibration_fit(key[0], key[1], value) for key, value in sorted(data.items())}
