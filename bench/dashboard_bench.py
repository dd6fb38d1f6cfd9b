#!/usr/bin/env python
"""Dashboard benchmark: 1,000,000 comments in PostgreSQL, 20 concurrent moderators.

    .venv/bin/python bench/dashboard_bench.py            # load, measure, drop
    .venv/bin/python bench/dashboard_bench.py --keep     # keep the database
    .venv/bin/python bench/dashboard_bench.py --skip-load --keep   # re-measure

What it does:
1. creates a dedicated PostgreSQL database (default `tk_bench`), migrates it,
   and COPYs in generated data: ~10,000 threads (one of 10,000 comments, the
   rest 20-180), 50,000 authors, reply trees (paths from threads.tree),
   realistic bodies and scores (most comments clean, a tail over the review
   threshold), a ToxicityScore row per comment, a mix of states;
2. serves the app with gunicorn (sync workers, one per core) on
   127.0.0.1 with bench/bench_settings.py, which adds a Server-Timing header
   measured around the whole Django request;
3. for each scenario, 20 logged-in clients (threads, http.client keep-alive,
   one request in flight each) run for 30 s; it prints p50/p95 of the
   server-side time (Server-Timing) and of the client-observed latency on
   loopback, and the error count; and writes the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from threads.tree import Node, assign_paths  # noqa: E402  (no Django needed)

PASSWORD = "bench-password-not-secret"
MODEL_KEY = "detoxify:original:bench"
LABELS = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
LABEL_WEIGHTS = [60, 3, 12, 5, 15, 5]
WORDS = [
    "the", "a", "court", "ruling", "article", "policy", "people", "think", "really",
    "government", "free", "speech", "why", "would", "anyone", "believe", "this", "nonsense",
    "agree", "disagree", "good", "point", "source", "link", "read", "again", "wrong", "right",
    "stupid", "idiot", "clown", "garbage", "thanks", "great", "piece", "data", "vote",
    "market", "tax", "price", "school", "city", "police", "judge", "law", "platform", "ban",
    "users", "report", "never", "always", "maybe", "actually", "literally", "honestly",
    "obviously", "shameful", "brilliant",
]
# Natural text also has a long tail: names, places, topics, most of them rare
# (Zipf's law). 8,000 made-up words drawn with weight 1/rank give search a
# realistic mix of very common, common and rare terms (the list above alone
# puts every word in a third of all comments).
SYLLABLES = ["ka", "ro", "mi", "tel", "sun", "dar", "vo", "lin", "pe", "zu", "nor", "ix",
             "ba", "que", "sh", "ta", "len", "mo", "ri", "gan"]
TAIL = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
TAIL_WEIGHTS = [1 / rank for rank in range(1, len(TAIL) + 1)]


# --- loading -------------------------------------------------------------------


def psql_url(base: str, db: str) -> str:
    return f"{base.rstrip('/')}/{db}"


def recreate_database(base: str, db: str) -> None:
    import psycopg

    with psycopg.connect(psql_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')


def drop_database(base: str, db: str) -> None:
    import psycopg

    with psycopg.connect(psql_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def top_score(rng: random.Random) -> float:
    # Most comments are clean; about one in twelve is in the toxic tail.
    if rng.random() < 0.92:
        return round(rng.betavariate(1.2, 14), 4)
    return round(rng.betavariate(4, 2), 4)


def load(base: str, db: str, total: int, big_thread: int, seed: int) -> dict[str, int]:
    import psycopg

    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.perf_counter()
    sizes = [big_thread]
    while sum(sizes) < total:
        sizes.append(min(rng.randint(20, 180), total - sum(sizes)))
    authors = 50_000
    stats = {"threads": len(sizes), "authors": authors, "comments": 0}
    with psycopg.connect(psql_url(base, db)) as conn, conn.cursor() as cur:
        with cur.copy("COPY threads_author (id, identity, name, email_hash) FROM STDIN") as copy:
            for i in range(1, authors + 1):
                copy.write_row((i, hashlib.sha256(f"bench-author-{i}".encode()).hexdigest(),
                                f"user{i}", ""))
        with cur.copy(
            "COPY threads_thread (id, source, external_id, title, url, author_name, "
            "published_at, lead, imported_at, updated_at, import_notes) FROM STDIN"
        ) as copy:
            for t, _size in enumerate(sizes, start=1):
                published = now - timedelta(days=400) + timedelta(hours=t)
                source = ("disqus", "wxr", "native")[t % 3]
                copy.write_row((t, source, f"bench-{t}", f"Bench article {t}: " +
                                " ".join(rng.choices(WORDS, k=6)),
                                f"https://news.example/{t}", "", published, "", now, now, ""))
        comment_cols = (
            "id, thread_id, parent_id, external_id, author_id, author_name, body, body_html, "
            "created_at, content_hash, path, depth, state, source_state, version, toxicity, "
            "toxicity_label, needs_review, imported_at, updated_at"
        )
        score_rows: list[tuple] = []
        next_id = 1
        with cur.copy(f"COPY threads_comment ({comment_cols}) FROM STDIN") as copy:
            for t, size in enumerate(sizes, start=1):
                published = now - timedelta(days=400) + timedelta(hours=t)
                parents: list[int | None] = []
                for j in range(size):
                    if j == 0 or rng.random() < 0.35:
                        parents.append(None)
                    else:
                        parents.append(max(0, j - 1 - int(rng.expovariate(0.15))))
                placements = assign_paths(
                    Node(key=j, parent=parents[j], sort_key=j) for j in range(size)
                )
                base_id = next_id
                for j in range(size):
                    words = rng.choices(WORDS, k=rng.randint(6, 60))
                    words += rng.choices(TAIL, TAIL_WEIGHTS, k=rng.randint(0, 3))
                    rng.shuffle(words)
                    body = " ".join(words).capitalize() + "."
                    content_hash = hashlib.sha256(body.encode()).hexdigest()
                    top = top_score(rng)
                    label = rng.choices(LABELS, LABEL_WEIGHTS)[0]
                    roll = rng.random()
                    state = ("approved" if roll < 0.10 else "hidden" if roll < 0.11
                             else "flagged" if roll < 0.115 else "pending")
                    author = rng.randint(1, authors)
                    place = placements[j]
                    parent = parents[j]
                    copy.write_row((
                        base_id + j, t, None if parent is None else base_id + parent,
                        f"c{j}", author, f"user{author}", body, "",
                        published + timedelta(minutes=j, seconds=rng.randint(0, 59)),
                        content_hash, place.path, place.depth, state, "", 1, top, label,
                        state == "pending" and top >= 0.5, now, now,
                    ))
                    scores = {name: round(top * rng.uniform(0.05, 0.9), 4) for name in LABELS}
                    scores[label] = top
                    score_rows.append((base_id + j, MODEL_KEY, content_hash,
                                       json.dumps(scores), label, top, now))
                next_id += size
        stats["comments"] = next_id - 1
        with cur.copy(
            "COPY moderation_toxicityscore (comment_id, model_key, content_hash, scores, "
            "top_label, top_score, scored_at) FROM STDIN"
        ) as copy:
            for row in score_rows:
                copy.write_row(row)
        for table in ("threads_author", "threads_thread", "threads_comment"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(psql_url(base, db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    stats["load_seconds"] = round(time.perf_counter() - started)
    return stats


# --- the server ----------------------------------------------------------------


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # One request per worker process by default (sync workers, one per core):
    # threads in one process share the GIL, which would add other requests'
    # CPU time to each request's server-side time.
    worker_class = ["--worker-class", "sync"] if threads == 1 else [
        "--worker-class", "gthread", "--threads", str(threads)]
    # Persistent connections, as a deployment under gunicorn's fixed workers runs.
    env = {"DATABASE_CONN_MAX_AGE": "60", **env}
    process = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", *worker_class,
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--keep-alive", "30"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# --- the clients ---------------------------------------------------------------


class Client:
    """One logged-in moderator: a keep-alive connection and a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, *, htmx: bool = False
                ) -> tuple[int, bytes, float | None, float]:
        headers = {"Host": "127.0.0.1"}
        if htmx:
            headers["HX-Request"] = "true"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["HX-Request"] = "true"
            headers["Referer"] = f"http://127.0.0.1:{self.port}/"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        latency = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        timing = re.search(r"dur=([\d.]+)", response.getheader("Server-Timing") or "")
        return response.status, content, float(timing.group(1)) if timing else None, latency

    def log_in(self, username: str) -> None:
        status, content, _, _ = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        assert status == 200 and token, "login page"
        self.request("POST", "/accounts/login/", {
            "username": username, "password": PASSWORD, "next": "/",
            "csrfmiddlewaretoken": token.group(1).decode(),
        })
        assert "sessionid" in self.cookies, "login failed"


def run_scenario(clients: list[Client], make_request, seconds: float) -> dict[str, float]:
    server_ms: list[float] = []
    client_ms: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int, client: Client) -> None:
        nonlocal errors
        iteration = 0
        while time.perf_counter() < deadline:
            method, path, body = make_request(index, iteration)
            iteration += 1
            try:
                status, _, server, latency = client.request(method, path, body)
            except (OSError, http.client.HTTPException):
                with lock:
                    errors += 1
                continue
            with lock:
                if status != 200 or server is None:
                    errors += 1
                else:
                    server_ms.append(server)
                    client_ms.append(latency)

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(
            values) > 1 else values[0]

    return {
        "requests": len(server_ms) + errors, "errors": errors, "rps": len(server_ms) / seconds,
        "server_p50": pct(server_ms, 50), "server_p95": pct(server_ms, 95),
        "client_p50": pct(client_ms, 50), "client_p95": pct(client_ms, 95),
    }


def run_full_thread(clients: list[Client], path: str, seconds: float) -> dict[str, float]:
    """Every client renders a whole thread, chunk after chunk, as scrolling does:
    the page, then each "load more" (HX-Request, ?after=...) until there is none.
    One sample = the sum of the server times of all the chunks of one render."""
    totals: list[float] = []
    chunks: list[int] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    more = re.compile(rb'href="([^"]*\?after=[^"]+)"')

    def worker(client: Client) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            url, total, count, headers_htmx = path, 0.0, 0, False
            while url:
                try:
                    status, content, server, _ = client.request(
                        "GET", url, None, htmx=headers_htmx)
                except (OSError, http.client.HTTPException):
                    with lock:
                        errors += 1
                    break
                if status != 200 or server is None:
                    with lock:
                        errors += 1
                    break
                total += server
                count += 1
                found = more.search(content)
                url = found.group(1).decode().replace("&amp;", "&") if found else ""
                headers_htmx = True
            else:
                with lock:
                    totals.append(total)
                    chunks.append(count)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(totals)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {"renders": len(totals), "errors": errors, "chunks": max(chunks, default=0),
            "server_p50": pct(0.50), "server_p95": pct(0.95)}


# --- main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="tk_bench")
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--big-thread", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--only", nargs="*", default=[],
                        help="run only the scenarios whose name contains one of these words")
    parser.add_argument("--load-only", action="store_true",
                        help="create and load the database, then stop (implies --keep)")
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"),
                        help="markdown file whose '## Dashboard' section is replaced ('' to skip)")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": psql_url(args.pg, args.db),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-insecure"),
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "DEBUG": "0",
        "PYTHONPATH": str(ROOT),
    }
    stats: dict[str, int] = {}
    if not args.skip_load:
        print(f"creating database {args.db} and loading {args.comments:,} comments ...",
              flush=True)
        recreate_database(args.pg, args.db)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                       cwd=ROOT, env=env, check=True)
        stats = load(args.pg, args.db, args.comments, args.big_thread, args.seed)
        print(f"loaded {stats}", flush=True)
        if args.load_only:
            return
    else:
        # A database kept from an earlier run gets this checkout's migrations.
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                       cwd=ROOT, env=env, check=True)

    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from moderation.dashboard.queue import queue_counts
    from threads.models import Comment, Thread

    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username="bench")
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="moderate_comment"))
    big = Thread.objects.get(external_id="bench-1")
    big_size = Comment.objects.filter(thread=big).count()
    counts = queue_counts()
    total = Comment.objects.count()
    # Each client acts on its own pending comments (version 1: never acted on).
    pool = list(Comment.objects.filter(state="pending", version=1, needs_review=False)
                .order_by("?").values_list("pk", flat=True)[: args.clients * 5000])
    from django.db import connections

    connections.close_all()

    server = start_server(env, args.port, args.workers, args.threads)
    try:
        clients = [Client(args.port) for _ in range(args.clients)]
        for client in clients:
            client.log_in("bench")
        get = lambda path: (lambda i, n: ("GET", path, None))  # noqa: E731
        scenarios = [
            ("queue: needs review, by score", get("/queue/review/")),
            ("queue: needs review, newest", get("/queue/review/?sort=newest")),
            ("queue: needs review, oldest", get("/queue/review/?sort=oldest")),
            ("queue: needs review, most uncertain", get("/queue/review/?sort=uncertain")),
            ("queue: filter label=insult, score 0.7-1", get(
                "/queue/review/?label=insult&min=0.7&max=1")),
            ("queue: all tab, filter source=wxr, by score", get("/queue/all/?source=wxr")),
            (f"thread view, {big_size:,} comments (first chunk)", get(f"/threads/{big.pk}/")),
        ]
        per_client = len(pool) // args.clients

        def act(i: int, n: int):
            comment_id = pool[i * per_client + n % per_client]
            return ("POST", "/act/", {"comment": comment_id, "version": 1, "action": "flag",
                                      "reason": "other", "ctx": "queue", "tab": "review"})

        scenarios.append(("action: flag one comment (POST /act/)", act))

        # Search: every client cycles through common words, the long tail
        # (rank 1 to rank 7,900 of the Zipf vocabulary), two words, a prefix, a phrase.
        searches = ["court", "court judge", TAIL[0], TAIL[30], TAIL[300], TAIL[3000],
                    TAIL[7900], TAIL[12][:4] + "*", '"court ruling"', "user123"]

        def search(i: int, n: int):
            query = urllib.parse.quote(searches[(i + n) % len(searches)])
            return ("GET", f"/queue/all/?q={query}&sort=newest", None)

        scenarios += [
            ("search: all tab, newest first (10 queries in turn)", search),
            ("search: review tab, by score (the same queries)", lambda i, n: (
                "GET", search(i, n)[1].replace("/queue/all/", "/queue/review/").replace(
                    "sort=newest", "sort=score"), None)),
            ("threads table: most needing review", get("/threads/")),
            ("threads table: newest comment", get("/threads/?sort=newest_comment")),
            ("threads table: source=wxr, page 20", get("/threads/?source=wxr&page=20")),
            ("histogram: needs review", get("/queue/review/band/")),
            ("histogram: needs review, label=insult", get("/queue/review/band/?label=insult")),
            ("band summary: needs review 0.8-1", get(
                "/queue/review/band/summary/?lo=0.8&hi=1")),
        ]
        if args.only:
            scenarios = [(name, make) for name, make in scenarios
                         if any(word in name for word in args.only)]
        results = []
        for name, make_request in scenarios:
            run_scenario(clients, make_request, 2)  # warm-up
            result = run_scenario(clients, make_request, args.seconds)
            results.append((name, result))
            result["load"] = os.getloadavg()[0]
            print(f"{name:<48} {result['requests']:>6} req {result['errors']:>3} err  "
                  f"server p50 {result['server_p50']:7.1f} ms  p95 {result['server_p95']:7.1f} ms"
                  f"  | client p50 {result['client_p50']:7.1f}  p95 {result['client_p95']:7.1f}"
                  f"  | load {result['load']:.1f}",
                  flush=True)
        full = None
        if not args.only:
            full = run_full_thread(clients, f"/threads/{big.pk}/", args.seconds)
            print(f"full thread render: {full}", flush=True)
    finally:
        stop_server(server)
        if not args.keep:
            drop_database(args.pg, args.db)

    if args.only:
        return  # a partial run: the figures above, docs/benchmarks.md left alone
    table = render_table(results, args, total, counts, big_size, stats, full)
    print()
    print(table)
    if args.write:
        write_section(Path(args.write), table)


def render_table(results, args, total, counts, big_size, stats, full) -> str:
    import django

    cpu = platform.processor() or platform.machine()

    def capped(tab: str) -> str:
        return "10,000+" if counts[tab] > 10_000 else f"{counts[tab]:,}"

    lines = [
        "## Dashboard",
        "",
        f"`bench/dashboard_bench.py` — {total:,} comments in PostgreSQL "
        f"(tab sizes: review {capped('review')}, flagged {capped('flagged')}, "
        f"hidden {capped('hidden')}; counts are capped at 10,000 by design), "
        f"{args.clients} concurrent logged-in clients for {args.seconds:.0f} s per scenario "
        f"on 127.0.0.1, gunicorn {args.workers} worker(s) x {args.threads} thread(s), "
        f"{os.cpu_count()} CPU cores ({cpu}), Django {django.get_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}.",
        "",
        "Server = Django's own time for the whole request (Server-Timing, measured by "
        "`bench/timing.py` around every middleware); client = the loopback round trip "
        "the client saw, which adds the wait in gunicorn's accept queue: 20 clients share "
        "the workers, so client time ~ server time x clients / workers.",
        "",
        "| scenario | requests | errors | req/s | server p50 ms | server p95 ms | "
        "client p50 ms | client p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results:
        lines.append(
            f"| {name} | {r['requests']:,} | {r['errors']} | {r['rps']:.0f} | "
            f"{r['server_p50']:.1f} | {r['server_p95']:.1f} | {r['client_p50']:.1f} | "
            f"{r['client_p95']:.1f} |"
        )
    lines += [
        "",
        f"Whole {big_size:,}-comment thread, every chunk in turn (the page, then "
        f"{full['chunks'] - 1} \"load more\" requests of 250 comments, as scrolling to the "
        f"end does), {args.clients} clients at once for {args.seconds:.0f} s: "
        f"{full['renders']} full renders, {full['errors']} errors, server time summed over "
        f"the {full['chunks']} requests p50 {full['server_p50']:.0f} ms, "
        f"p95 {full['server_p95']:.0f} ms.",
    ]
    if stats:
        lines += ["", f"Loading took {stats['load_seconds']} s ({stats['threads']:,} threads, "
                  f"{stats['authors']:,} authors, {stats['comments']:,} comments + one score "
                  "row each, COPY)."]
    lines += ["", "Reproduce: `.venv/bin/python bench/dashboard_bench.py` (PostgreSQL on "
              "127.0.0.1:5432; creates and drops `tk_bench`, or `--db NAME`).", ""]
    return "\n".join(lines)


def write_section(path: Path, table: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Dashboard\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(table + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
