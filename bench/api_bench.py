"""API throughput against a real gunicorn: ingest comments/s (20 clients, batches of 100 and 1),
the Perspective-compatible analyze p50/p95 (20 clients), the decisions feed's read rate.

    SECRET_KEY=bench .venv/bin/python bench/api_bench.py [--clients 20]
        [--batch-comments 20000] [--single-comments 3000] [--workers 2] [--threads 4]
        [--pg-url postgres://postgres@127.0.0.1:5432/tk_api_bench] [--no-sqlite]
        [--broker redis://127.0.0.1:6379/8]
        [--only ingest,analyze,events] [--analyze-requests 2000]
        [--analyze-model fallback|detoxify-bert-base] [--torch-threads N]

Sets up as docs/deploy.md does (migrate, create_api_key) on a fresh SQLite
file (and, with --pg-url, a PostgreSQL database dropped and re-created),
starts gunicorn (gthread, DATABASE_CONN_MAX_AGE=60) and sends comments from
`--clients` threads, each on its own keep-alive connection:
  - batches of 100 comments, each batch spread over 10 articles;
  - batches of 1 (one request per comment).
Scoring is enqueued as in production, to a queue of its own on --broker
(deleted afterwards; no worker reads it: the figure is the API's, not the
model's). Prints comments/s, request p50/p95 and the machine's load
(`uptime`) beside every figure; docs/benchmarks.md keeps the results.

analyze: `--clients` threads each send Coral's exact request body (TOXICITY,
doNotStore) to /perspective/v1alpha1/comments:analyze?key=, with comment
texts of realistic lengths, `--analyze-requests` in all; p50/p95 of each
request's round trip. The model is the active scorer of the server:
`fallback` (alt-profanity-check), `active` (what this machine's settings and
installed model make active: after `install_model`, that model), or
`detoxify-bert-base`, a checkpoint of
the real `original` model's shape (bert-base, random weights: the same
compute) built on the fly, loaded once per gunicorn worker and fed by its
batching thread. Re-run after the default model changes to measure that one.

events: one consumer reads the whole feed that the ingest left (one
`comment.imported` event per comment, plus the queue decisions), 1,000 per
page, from `after=0` to the end, as a site catching up would: events/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = (  # noqa: SIM905
    "the article is right wrong good point agree disagree thanks source opinion "
    "moderator reply comment people think really should would could never always"
).split()


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def body(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))


def comment(rng: random.Random, n: int, article: int, run: str) -> dict:
    return {
        "source": "bench", "thread": {"external_id": f"{run}-a{article}",
                                      "title": f"Article {article}"},
        "external_id": f"c{n}", "author": {"external_id": f"u{rng.randint(1, 5000)}",
                                           "name": f"Reader {rng.randint(1, 5000)}"},
        "body": body(rng),
        # Sites send the time: new comments sort after the stored ones, as on the site.
        "created_at": _time(n),
    }


def _time(n: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_780_000_000 + n))


class Client:
    """One keep-alive connection sending JSON with the key."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, payload: object) -> tuple[int, dict]:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}",
                   "X-Forwarded-Proto": "https"}
        for attempt in range(2):
            try:
                self.connection.request("POST", path, data, headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (ConnectionError, http.client.HTTPException):
                if attempt:
                    raise
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        raise AssertionError("unreachable")


def run_clients(clients: int, jobs: list[object], send: Callable[[Client, object], int],
                port: int, key: str) -> dict[str, float]:
    """Send every job from `clients` threads; returns comments/s and latency figures."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    latencies: list[float] = []
    sent = [0]
    errors: list[str] = []

    def work() -> None:
        client = Client(port, key)
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            started = time.perf_counter()
            try:
                count = send(client, job)
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(exc))
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                sent[0] += count

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        print(f"  {len(errors)} request(s) failed, e.g. {errors[0]}")
    latencies.sort()
    if not latencies:
        raise SystemExit("every request failed")
    return {
        "comments": sent[0], "seconds": wall, "per_second": sent[0] / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "requests": len(latencies),
    }


def ingest_sender(expected: str = "created") -> Callable[[Client, object], int]:
    def send(client: Client, job: object) -> int:
        for _ in range(5):
            status, answer = client.post("/api/v1/comments", job)
            if status != 503:  # busy: nothing was written; retry as a client should
                break
            time.sleep(2)
        if isinstance(job, dict) and "comments" in job:
            assert status == 200, answer
            assert answer["counts"][expected] == len(job["comments"]), answer["counts"]
            return len(job["comments"])
        assert status in (200, 201), answer
        return 1
    return send


def ingest_jobs(total: int, batch: int, run: str, seed: int = 11) -> list[object]:
    rng = random.Random(seed)
    articles = max(10, total // 200)  # threads grow to ~200 comments
    items = [comment(rng, n, rng.randrange(articles), run) for n in range(total)]
    # In the order they were written, as a site sends them: a batch is the next
    # `batch` new comments across its articles.
    return [items[i] if batch == 1 else {"comments": items[i : i + batch]}
            for i in range(0, len(items), batch)]


def environment(directory: Path, database_url: str, broker: str, queue: str) -> dict[str, str]:
    return {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret"), "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": broker, "CELERY_TASK_DEFAULT_QUEUE": queue,
        "API_RATE_LIMIT": "0", "STATIC_ROOT": str(directory / "static"),
        "SESSION_COOKIE_SECURE": "1", "CSRF_COOKIE_SECURE": "1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, threads: int):
    """gunicorn as docs/deploy.md runs it (gthread), once it answers on the port."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class",
         "gthread", "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


CORAL_TEXTS = (
    "Thanks for the article.",
    "You are a stupid idiot and everyone here knows it.",
    "I disagree with the premise, but the reporting on the court ruling is solid and the "
    "sources are cited. It would help to hear from the other side too.",
)


def analyze_jobs(total: int, seed: int = 5) -> list[object]:
    rng = random.Random(seed)
    jobs = []
    for _ in range(total):
        text = rng.choice(CORAL_TEXTS) + " " + body(rng)
        jobs.append({"comment": {"text": text}, "doNotStore": True,
                     "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]})
    return jobs


def analyze_sender(client: Client, job: object) -> int:
    status, answer = client.post(f"/perspective/v1alpha1/comments:analyze?key={client.key}",
                                 job)
    assert status == 200, answer
    assert 0 <= answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] <= 1
    return 1


def read_feed(port: int, key: str) -> dict[str, float]:
    """One consumer reading the feed from the start, 1,000 events a page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-Proto": "https"}
    after, events, pages, latencies = "0", 0, 0, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        connection.request("GET", f"/api/v1/events?after={after}&limit=1000", headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
        latencies.append(time.perf_counter() - t0)
        events += len(answer["events"])
        pages += 1
        after = answer["next"]
        if not answer["has_more"]:
            break
    wall = time.perf_counter() - started
    latencies.sort()
    return {"comments": events, "per_second": events / wall, "requests": pages,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000}


def detoxify_model(args: argparse.Namespace) -> dict[str, str]:
    """Server settings for the analyze model (a bert-base checkpoint built once per run)."""
    if args.analyze_model == "fallback":
        return {"SCORER": "fallback"}
    if args.analyze_model == "active":
        return {}  # whatever this machine's settings and installed model make active
    global _MODEL
    if _MODEL is None:
        from tests.helpers import BERT_BASE, build_detoxify_checkpoint

        directory = Path(tempfile.mkdtemp(prefix="tk-api-bench-model-"))
        words = sorted({w for text in CORAL_TEXTS for w in text.lower().split()} | set(WORDS))
        _MODEL = build_detoxify_checkpoint(directory, shape=BERT_BASE, words=words)
    checkpoint, hf_dir = _MODEL
    return {"SCORER": "detoxify", "DETOXIFY_CHECKPOINT": str(checkpoint),
            "DETOXIFY_HF_CONFIG": str(hf_dir), "SCORING_PRECISION": args.precision,
            "SCORING_TORCH_THREADS": str(args.torch_threads), "HF_HUB_OFFLINE": "1"}


_MODEL: tuple[Path, Path] | None = None


def bench_database(label: str, database_url: str, args: argparse.Namespace) -> list[str]:
    directory = Path(tempfile.mkdtemp(prefix="tk-api-bench-"))
    queue = f"tk-api-bench-{uuid.uuid4().hex[:8]}"
    env = environment(directory, database_url, args.broker, queue)
    if "analyze" in args.only:
        env.update(detoxify_model(args))
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run([*manage, "create_api_key", "bench", "--scope",
                           "ingest,read,analyze"],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(env, port, args.workers, args.threads)
    rows = []
    try:
        run = uuid.uuid4().hex[:6]
        scenarios = []
        if "ingest" in args.only or "events" in args.only:
            scenarios += [
                ("ingest, batches of 100", ingest_jobs(args.batch_comments, 100, run + "b")),
                ("ingest, batches of 1", ingest_jobs(args.single_comments, 1, run + "s")),
                ("ingest again (unchanged), batches of 100",
                 ingest_jobs(args.batch_comments, 100, run + "b")),
            ]
        if "events" in args.only:
            scenarios.append(("events feed read (1 consumer, pages of 1,000)", None))
        if "analyze" in args.only:
            # A first request per worker loads its model; then the measured ones.
            run_clients(args.workers * 2, analyze_jobs(args.workers * 4), analyze_sender,
                        port, key)
            scenarios.append((f"analyze ({args.analyze_model}, {args.workers} worker(s) x "
                              f"{args.threads} threads, Coral's body)",
                              analyze_jobs(args.analyze_requests)))
        for name, jobs in scenarios:
            if jobs is None:
                result = read_feed(port, key)
            elif name.startswith("analyze"):
                result = run_clients(args.clients, jobs, analyze_sender, port, key)
            else:
                expected = "unchanged" if "again" in name else "created"
                result = run_clients(args.clients, jobs, ingest_sender(expected), port, key)
            uptime = load()
            row = (f"| {label} | {name} | {args.clients} | {result['comments']:,} | "
                   f"{result['per_second']:,.0f} | {result['p50_ms']:.0f} | "
                   f"{result['p95_ms']:.0f} | {uptime.split('load average:')[-1].strip()} |")
            print(row, flush=True)
            rows.append(row)
    finally:
        stop_server(server)
        try:
            import redis

            redis.Redis.from_url(args.broker).delete(queue, f"{queue}.unacked")
        except Exception as exc:  # noqa: BLE001
            print(f"could not delete the queue {queue}: {exc}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--batch-comments", type=int, default=20_000)
    parser.add_argument("--single-comments", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg-url", default="")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--only", default="ingest,analyze,events",
                        help="comma-separated scenarios: ingest, analyze, events")
    parser.add_argument("--analyze-requests", type=int, default=2000)
    parser.add_argument("--analyze-model", default="fallback",
                        choices=["fallback", "detoxify-bert-base", "active"])
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "int8"])
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads per gunicorn worker (detoxify)")
    args = parser.parse_args()
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    print(f"machine: {load()}")
    print("| database | scenario | clients | comments | comments/s | p50 ms | p95 ms | "
          "load (1/5/15 min) |")
    print("|---|---|---|---|---|---|---|---|")
    if not args.no_sqlite:
        path = Path(tempfile.mkdtemp(prefix="tk-api-bench-db-")) / "bench.sqlite3"
        bench_database("SQLite", f"sqlite:///{path}", args)
    if args.pg_url:
        name = args.pg_url.rsplit("/", 1)[1]
        admin = args.pg_url.rsplit("/", 1)[0] + "/postgres"
        import psycopg

        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        bench_database("PostgreSQL", args.pg_url, args)


if __name__ == "__main__":
    main()
