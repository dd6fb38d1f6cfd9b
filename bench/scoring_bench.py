"""Scoring throughput: naive detoxify vs our scorer vs end to end through Celery.

    .venv/bin/python bench/scoring_bench.py [--comments 300] [--skip-e2e]

Builds a full-size bert-base checkpoint in detoxify's format (random weights:
the same compute as the real `original` model) and a realistic length mix
(median ~40 tokens, log-normal tail capped at 512; words from the Jigsaw
sample so they tokenize like real comments), then measures comments/second:

(a) naive: `Detoxify.predict` in arrival order, batches of 32, fp32;
(b) our scorer (`DetoxifyScorer`: sorted by length, per-batch padding,
    batches capped in texts and padded tokens, inference_mode) at fp32, bf16
    and int8, same thread count as (a);
(c) end to end: a real Celery worker on Redis (prefork; per `--e2e`
    configuration C children x T torch threads, N ids per task message; C x T
    = the cores (b) uses, for a fair comparison), scoring the same comments
    stored in a scratch SQLite database through `comments_score_in_process` (read,
    score, upsert, policy), every configuration with force=True.

Prints a Markdown table (paste it into docs/benchmarks.md) and the largest
score difference of bf16 / bf16-mixed / int8 from fp32. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="tk-scoring-bench-"))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH / 'bench.sqlite3'}"
os.environ["SCORING_AUTO_ENQUEUE"] = "0"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["HF_HUB_OFFLINE"] = "1"

LABELED = ROOT / "bench" / "data"  # provenance: bench/data/README.md
WORD = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


def corpus_words() -> list[str]:
    words: list[str] = []
    for path in sorted(LABELED.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for row in csv.DictReader(handle):
                words += WORD.findall((row.get("comment_text") or "").lower())
    return words


def make_texts(n: int, words: list[str], seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        length = min(510, max(3, int(rng.lognormvariate(3.69, 0.9))))  # median e^3.69 = 40
        texts.append(" ".join(rng.choice(words) for _ in range(length)))
    return texts


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def bench_naive(checkpoint: Path, hf_dir: Path, texts: list[str]) -> tuple[float, list]:
    from detoxify import Detoxify

    model = Detoxify(checkpoint=str(checkpoint), huggingface_config_path=str(hf_dir))
    model.predict(texts[:2])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        model.predict(texts[i : i + 32])
    return time.perf_counter() - start, []


def bench_ours(checkpoint: Path, hf_dir: Path, texts: list[str], precision: str,
               threads: int, batch_size: int, max_batch_tokens: int) -> tuple[float, list]:
    from moderation.scoring.detoxify import DetoxifyOptions, DetoxifyScorer

    scorer = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir),
                                            precision=precision, threads=threads,
                                            batch_size=batch_size,
                                            max_batch_tokens=max_batch_tokens))
    scorer.score(texts[:2])  # warm-up
    start = time.perf_counter()
    results = scorer.score(texts)
    return time.perf_counter() - start, results


def bench_e2e(checkpoint: Path, hf_dir: Path, texts: list[str], precision: str,
              workers: int, threads: int, task_batch: int, broker: str) -> float:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from config.celery import app
    from moderation.models import ToxicityScore
    from moderation.scoring.pipeline import scoring_publish_batches
    from threads.models import Comment
    from threads.services import threads_import_from_file

    document = {"threads": [{"external_id": f"bench{t}", "comments": [
        {"external_id": f"c{i}", "body": body} for i, body in enumerate(texts[t::10])
    ]} for t in range(10)]}
    warm = {"threads": [{"external_id": "warm", "comments": [
        {"external_id": f"w{i}", "body": body} for i, body in enumerate(texts[:8])]}]}
    if not (SCRATCH / "bench.json").exists():  # first configuration: build the database
        call_command("migrate", verbosity=0)
        for name, doc in (("bench.json", document), ("warm.json", warm)):
            (SCRATCH / name).write_text(json.dumps(doc), encoding="utf-8")
            threads_import_from_file(path=SCRATCH / name)

    queue = f"tk-bench-{uuid.uuid4().hex[:8]}"
    app.conf.broker_url = broker
    app.conf.task_default_queue = queue
    app.__dict__.pop("amqp", None)
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_TASK_DEFAULT_QUEUE": queue,
           "SCORER": "detoxify", "DETOXIFY_CHECKPOINT": str(checkpoint),
           "DETOXIFY_HF_CONFIG": str(hf_dir), "SCORING_PRECISION": precision,
           "SCORING_TORCH_THREADS": str(threads), "DEBUG": "0"}
    log = (SCRATCH / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         "-c", str(workers), "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-l", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # force=True and "scored since": every configuration scores every comment.
        def wait(ids: list[int], since) -> None:
            while ToxicityScore.objects.filter(comment_id__in=ids,
                                               scored_at__gte=since).count() < len(ids):
                if worker.poll() is not None:
                    raise RuntimeError((SCRATCH / "worker.log").read_text()[-2000:])
                time.sleep(0.05)

        warm_ids = list(Comment.objects.filter(thread__external_id="warm")
                        .values_list("pk", flat=True))
        since = timezone.now()
        for i in range(workers):  # one warm-up task per child loads its model
            scoring_publish_batches(warm_ids[i::workers], force=True, batch_size=len(warm_ids))
        wait(warm_ids, since)
        time.sleep(1.0)
        ids = list(Comment.objects.exclude(thread__external_id="warm").order_by("?")
                   .values_list("pk", flat=True))
        since, start = timezone.now(), time.perf_counter()
        for i in range(0, len(ids), task_batch):
            scoring_publish_batches(ids[i : i + task_batch], force=True, batch_size=task_batch)
        wait(ids, since)
        return time.perf_counter() - start
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        import redis

        redis.Redis.from_url(broker).delete(queue, f"{queue}.unacked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-batch-tokens", type=int, default=1024)
    parser.add_argument("--classifier-scale", type=float, default=20.0,
                        help="random classifier weights x this (20: trained-like logit spread)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--e2e-precision", default="fp32",
                        choices=["fp32", "bf16", "bf16-mixed", "int8"])
    parser.add_argument("--e2e", nargs="+", default=["2x1:256", "1x2:256"], metavar="CxT:N",
                        help="worker configurations: C children x T torch threads, "
                             "N ids per task message (default 2x1:256 1x2:256)")
    parser.add_argument("--skip-ours", action="store_true", help="skip (b) bf16 and int8")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    import django
    import torch

    django.setup()  # tests.helpers imports the models
    from moderation.scoring.detoxify import bf16_supported
    from tests.helpers import BERT_BASE, build_detoxify_checkpoint

    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    words = corpus_words()
    texts = make_texts(args.comments, words)
    t0 = time.perf_counter()
    checkpoint, hf_dir = build_detoxify_checkpoint(SCRATCH / "model", shape=BERT_BASE,
                                                   words=sorted(set(words)),
                                                   classifier_scale=args.classifier_scale)
    print(f"built bert-base checkpoint in {time.perf_counter() - t0:.0f}s "
          f"({checkpoint.stat().st_size / 1e6:.0f} MB); {cores} cores; "
          f"bf16 native: {bf16_supported()}", flush=True)

    from transformers import BertTokenizer

    tokens = sorted(len(BertTokenizer.from_pretrained(str(hf_dir))(t)["input_ids"])
                    for t in texts)
    print(f"{len(texts)} comments; tokens median {tokens[len(tokens) // 2]}, "
          f"p90 {tokens[int(len(tokens) * 0.9)]}, max {tokens[-1]}", flush=True)

    rows = []
    naive = float("nan")
    if not args.skip_naive:
        seconds, _ = bench_naive(checkpoint, hf_dir, texts)
        naive = rate(len(texts), seconds)
        rows.append(("(a) naive Detoxify.predict, arrival order, batch 32", "fp32", naive, ""))
        print(rows[-1], flush=True)
    reference = None
    precisions = ("fp32",) if args.skip_ours else ("fp32", "bf16", "bf16-mixed", "int8")
    for precision in precisions:
        seconds, results = bench_ours(checkpoint, hf_dir, texts, precision, cores,
                                      args.batch_size, args.max_batch_tokens)
        if reference is None:
            reference, diff = results, ""
        else:
            diff = max(abs(a[k] - b[k]) for a, b in zip(reference, results, strict=True)
                       for k in a)
            diff = f"{diff:.4f}"
        rows.append((f"(b) DetoxifyScorer, sorted, <= {args.batch_size} texts and "
                     f"<= {args.max_batch_tokens} tokens a batch", precision,
                     rate(len(texts), seconds), diff))
        print(rows[-1], flush=True)
    for config in [] if args.skip_e2e else args.e2e:
        shape, task_batch = config.split(":")
        workers, threads = (int(part) for part in shape.split("x"))
        seconds = bench_e2e(checkpoint, hf_dir, texts, args.e2e_precision, workers, threads,
                            int(task_batch), args.broker)
        rows.append((f"(c) Celery worker ({workers} children x {threads} threads, "
                     f"{task_batch} ids a task) + SQLite",
                     args.e2e_precision, rate(len(texts), seconds), ""))
        print(rows[-1], flush=True)

    print()
    print("| run | precision | comments/s | x naive | max abs diff vs fp32 |")
    print("|---|---|---:|---:|---:|")
    for name, precision, value, diff in rows:
        ratio = "" if naive != naive else f"{value / naive:.1f}x"  # nan: --skip-naive
        print(f"| {name} | {precision} | {value:.1f} | {ratio} | {diff} |")


if __name__ == "__main__":
    main()
