"""The embedded model (tox-block in PyTorch): ranking quality, thresholds and speed.

    .venv/bin/python bench/embedded_bench.py [--comments 4096] [--skip-speed] [--skip-quality]

Quality, on the labelled Jigsaw samples in the Keras recording
(tests/data/toxblock/keras_recording.json.gz, made by
scripts/convert_toxblock.py from ../shared/data/labeled/): ROC AUC per label
for tox-block's own Keras model (the recorded scores), the PyTorch port
(scored now) and the profanity filter (alt-profanity-check: one score, ranked
against every label); a bootstrap 95% interval for the port's AUC minus the
profanity filter's; what the review thresholds let into the queue; and where
issue 12's examples land.

Speed: comments/s of EmbeddedScorer.score on the recording's real comments
(repeated to --comments), in task-sized calls (64 and 256 texts, the
SCORING_TASK_BATCH shapes), 1 process x 1 thread, 2 processes x 1 thread
(two worker children on two cores), and 1 process x 2 threads. Prints
`uptime` before and after each figure: a figure taken at load > 2.5 is
"loaded machine". Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ISSUE_EXAMPLES = [
    "Fuck yeah I'm glad they did that shit",
    "I also am an idiot",
    "I know where you live, cyclist42. Watch yourself on Elm Street tonight.",
    "He was an authoritarian theocratic scumbag",
    "Kitabı çok beğendim, yazarın anlatımı akıcı ve karakterler gerçekçi.",
]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def load() -> float:
    return os.getloadavg()[0]


def recording() -> dict:
    import gzip
    import json

    path = ROOT / "tests" / "data" / "toxblock" / "keras_recording.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def quality() -> None:
    import django
    import numpy as np
    from profanity_check import predict_prob
    from sklearn.metrics import roc_auc_score

    django.setup()
    from moderation.scoring.embedded import LABELS, EmbeddedScorer
    from moderation.scoring.labels import label_table

    doc = recording()
    items = [item for item in doc["items"] if item["labels"]]
    texts = [item["text"] for item in items]
    truth = np.array([[item["labels"][name] for name in doc["labels"]] for item in items])
    keras = np.array([item["probabilities"] for item in items])
    scorer = EmbeddedScorer()
    port = scorer.probabilities(texts)
    profanity = np.asarray(predict_prob(texts))
    print(f"\n{len(items)} labelled comments; positives per label: "
          + ", ".join(f"{name} {int(n)}" for name, n in zip(LABELS, truth.sum(0), strict=True)))
    print(f"max |port - Keras| over these: {np.abs(port - keras).max():.2e}\n")
    print("| label | positives | Keras original | PyTorch port | profanity filter |")
    print("|---|---:|---:|---:|---:|")
    aucs = {"keras": [], "port": [], "profanity": []}
    for j, name in enumerate(LABELS):
        row = [roc_auc_score(truth[:, j], keras[:, j]), roc_auc_score(truth[:, j], port[:, j]),
               roc_auc_score(truth[:, j], profanity)]
        for key, value in zip(aucs, row, strict=True):
            aucs[key].append(value)
        print(f"| {name} | {int(truth[:, j].sum())} | " + " | ".join(f"{v:.3f}" for v in row)
              + " |")
    print("| mean of the six | | " + " | ".join(f"{np.mean(v):.3f}" for v in aucs.values())
          + " |")
    anything = truth.max(1)
    row = [roc_auc_score(anything, keras.max(1)), roc_auc_score(anything, port.max(1)),
           roc_auc_score(anything, profanity)]
    print(f"| any label (max score) | {int(anything.sum())} | "
          + " | ".join(f"{v:.3f}" for v in row) + " |")

    rng = np.random.default_rng(12)
    print("\nBootstrap (2,000 resamples) of AUC(port) - AUC(profanity), 95% interval:")
    for j, name in [*enumerate(LABELS), (None, "any label")]:
        y = anything if j is None else truth[:, j]
        ours = port.max(1) if j is None else port[:, j]
        diffs = []
        for _ in range(2000):
            pick = rng.integers(0, len(y), len(y))
            if y[pick].min() == y[pick].max():
                continue
            diffs.append(roc_auc_score(y[pick], ours[pick]) - roc_auc_score(y[pick],
                                                                            profanity[pick]))
        low, high = np.percentile(diffs, [2.5, 97.5])
        print(f"- {name}: {np.mean(diffs):+.3f} [{low:+.3f}, {high:+.3f}]")

    print("\nQueue entry on these comments (any label at or over its review threshold; "
          "'toxic' = any label true):")
    print("| model, thresholds | queued | of them toxic | toxic missed | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")

    def entry(flagged: np.ndarray, label: str) -> None:
        tp = int((flagged & (anything == 1)).sum())
        fn = int((~flagged & (anything == 1)).sum())
        n = int(flagged.sum())
        print(f"| {label} | {n} | {tp} | {fn} | {tp / max(n, 1):.2f} | "
              f"{tp / max(tp + fn, 1):.2f} |")

    for key, title in [(scorer.key, "embedded, its own thresholds"),
                       ("detoxify:original:x", "embedded, detoxify's thresholds")]:
        table = label_table(key)
        bars = np.array([table[name].review_threshold for name in LABELS])
        entry((port >= bars).any(1), title)
    entry(profanity >= label_table("fallback:x")["toxicity"].review_threshold,
          "profanity filter, toxicity 0.5")

    print("\nPer label, embedded model (true positives / false positives / missed):")
    print("| label | " + " | ".join(f"at {t}" for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)) + " |")
    print("|---|" + "---:|" * 6)
    for j, name in enumerate(LABELS):
        cells = []
        for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            pred = port[:, j] >= t
            cells.append(f"{int((pred & (truth[:, j] == 1)).sum())}/"
                         f"{int((pred & (truth[:, j] == 0)).sum())}/"
                         f"{int((~pred & (truth[:, j] == 1)).sum())}")
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\nIssue 12's examples (embedded: top label and score, queued at its thresholds; "
          "profanity filter's score):")
    table = label_table(scorer.key)
    for text, scores, prof in zip(ISSUE_EXAMPLES, scorer.score(ISSUE_EXAMPLES),
                                  predict_prob(ISSUE_EXAMPLES), strict=True):
        top = max(scores, key=scores.__getitem__)
        over = [name for name, v in scores.items() if v >= table[name].review_threshold]
        rank = int((port.max(1) > scores[top]).sum()) + 1
        print(f"- {text!r}: {top} {scores[top]:.3f} "
              f"({'queued: ' + ', '.join(over) if over else 'not queued'}; rank {rank} of "
              f"{len(items) + 1} among the samples) | profanity {prof:.3f}")


def _worker(args: tuple[list[str], int, int, float]) -> tuple[float, float]:
    texts, batch, threads, start_at = args
    import torch

    torch.set_num_threads(threads)
    from moderation.scoring.embedded import EmbeddedScorer

    scorer = EmbeddedScorer(threads=threads)
    scorer.score(texts[:batch])  # warm-up
    # Every process starts scoring at the same moment, after loading its model.
    time.sleep(max(0.0, start_at - time.time()))
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        scorer.score(texts[start:start + batch])
    return time.perf_counter() - started, time.process_time() - cpu


def speed(comments: int) -> None:
    texts = [item["text"] for item in recording()["items"]]
    texts = (texts * (comments // len(texts) + 1))[:comments]
    print(f"\nSpeed: {comments} real comments (the recording's, repeated), "
          f"{os.cpu_count()} CPUs visible")
    # comments per CPU-second: what a core gives when it is not shared (a
    # loaded machine takes the wall-clock figure down, much less this one).
    print("| shape | texts a call | comments/s | comments per CPU-second | "
          "load average before -> after |")
    print("|---|---:|---:|---:|---|")
    context = multiprocessing.get_context("spawn")
    for processes, threads in [(1, 1), (2, 1), (1, 2)]:
        for batch in (64, 256):
            before = load()
            share = comments // processes
            with context.Pool(processes) as pool:
                start_at = time.time() + 8
                times = pool.map(_worker, [(texts[i * share:(i + 1) * share], batch, threads,
                                            start_at) for i in range(processes)])
            after = load()
            # The slowest process sets the pace.
            rate = processes * share / max(wall for wall, _ in times)
            per_cpu = processes * share / sum(cpu for _, cpu in times)
            flag = " (loaded machine)" if max(before, after) > 2.5 else ""
            print(f"| {processes} process x {threads} thread | {batch} | {rate:,.0f}{flag} | "
                  f"{per_cpu:,.0f} | {before:.2f} -> {after:.2f} |")
    print(uptime())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=4096)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    print(uptime())
    if not args.skip_quality:
        quality()
    if not args.skip_speed:
        speed(args.comments)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
