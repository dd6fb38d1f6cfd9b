#!/usr/bin/env python
"""Policy benchmark: calibration and the two reports over 1,000,000 comments and
100,000 moderator decisions in PostgreSQL (issue 14: each under 2 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hpolicy_bench \\
        .venv/bin/python bench/policy_bench.py --build      # migrate + generate (once)
    DATABASE_URL=... .venv/bin/python bench/policy_bench.py  # measure

The data is generated in SQL (generate_series): 10,000 threads in three
sources, 1,000,000 comments each with a ToxicityScore row of six labels,
100,000 comments decided by 8 moderators over the last 60 days (hide, flag
or approve, a hidden comment's score drawn higher than an approved one's,
2% of decisions undone), and a system `queue` decision before each human
decision. It prints each step's time (best of 3) with `uptime`'s load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

MODEL_KEY = "detoxify:original:bench"
COMMENTS = 1_000_000
THREADS = 10_000
DECISIONS = 100_000

BUILD_SQL = f"""
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', false, 'benchmod' || i, '', '', '', false, true, now()
FROM generate_series(1, 8) i;

INSERT INTO threads_thread (source, external_id, title, url, author_name, published_at, lead,
                            imported_at, updated_at, import_notes)
SELECT (ARRAY['disqus','wxr','native'])[1 + i % 3], 't' || i, 'Bench thread ' || i, '', '',
       now() - (i % 60) * interval '1 day', '', now(), now(), ''
FROM generate_series(1, {THREADS}) i;

CREATE TEMP TABLE bench_c AS
SELECT i, power(random(), 3) AS tox, random() AS r FROM generate_series(1, {COMMENTS}) i;

INSERT INTO threads_comment (thread_id, parent_id, external_id, author_id, author_name, body,
    body_html, created_at, content_hash, path, depth, state, source_state, version, toxicity,
    toxicity_label, needs_review, imported_at, updated_at)
SELECT (SELECT min(id) FROM threads_thread) + (i % {THREADS}), NULL, 'c' || i, NULL, 'someone',
       'bench comment number ' || i, '', now() - (i % 86400) * interval '1 minute',
       md5(i::text), lpad(to_hex(i / {THREADS}), 6, '0'), 0,
       CASE WHEN i % 10 = 0 THEN (CASE WHEN r < 0.3 THEN 'hidden' WHEN r < 0.35 THEN 'flagged'
            ELSE 'approved' END) ELSE 'pending' END,
       '', CASE WHEN i % 10 = 0 THEN 3 ELSE 1 END, tox, 'toxicity', tox >= 0.5,
       now() - (i % 86400) * interval '1 minute', now()
FROM bench_c;

INSERT INTO moderation_toxicityscore (comment_id, model_key, content_hash, scores, top_label,
                                      top_score, scored_at)
SELECT c.id, '{MODEL_KEY}', c.content_hash,
       jsonb_build_object('toxicity', c.toxicity, 'severe_toxicity', c.toxicity / 5,
                          'obscene', c.toxicity * 0.8, 'threat', c.toxicity / 4,
                          'insult', c.toxicity * 0.9, 'identity_attack', c.toxicity / 3),
       'toxicity', c.toxicity, now()
FROM threads_comment c;

-- Decided comments: a hidden one's score is redrawn higher.
UPDATE moderation_toxicityscore s SET
    scores = jsonb_set(s.scores, '{{toxicity}}', to_jsonb(0.3 + 0.7 * sqrt(random()))),
    top_score = 0
FROM threads_comment c WHERE c.id = s.comment_id AND c.state IN ('hidden', 'flagged');

INSERT INTO moderation_decision (comment_id, actor_id, action, from_state, to_state, reason,
    note, comment_version, content_hash, top_label, top_score, model_key, threshold, created_at)
SELECT c.id, NULL, 'queue', 'pending', 'pending', '', '', 1, c.content_hash, 'toxicity',
       c.toxicity, '{MODEL_KEY}', 0.5, c.imported_at + interval '1 minute'
FROM threads_comment c WHERE c.id % 10 = 0 OR c.needs_review;

INSERT INTO moderation_decision (comment_id, actor_id, action, from_state, to_state, reason,
    note, comment_version, content_hash, top_label, top_score, model_key, threshold, created_at)
SELECT c.id, (SELECT min(id) FROM auth_user WHERE username LIKE 'benchmod%') + c.id % 8,
       CASE c.state WHEN 'hidden' THEN 'hide' WHEN 'flagged' THEN 'flag' ELSE 'approve' END,
       'pending', c.state, CASE WHEN c.state = 'approved' THEN '' ELSE 'harassment' END, '', 2,
       c.content_hash, 'toxicity', c.toxicity, '{MODEL_KEY}', NULL,
       now() - (c.id % 60) * interval '1 day' + interval '2 hours'
FROM threads_comment c WHERE c.id % 10 = 0;
ANALYZE;
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def build() -> None:
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BUILD_SQL)
    print(f"built in {time.perf_counter() - started:.0f} s; {uptime()}")


def best_of(n: int, func) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def words_benchmark() -> None:
    """A 10,000-word list against 10,000 comments of ~60 words: time per comment."""
    import random
    import string

    from moderation.scoring.watched import Matcher

    rng = random.Random(1)
    words = sorted({"".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))
                    for _ in range(10_000)})
    started = time.perf_counter()
    matcher = Matcher([(1, "bench", "banned", words)])
    compiled = time.perf_counter() - started
    # 20,000 distinct words, so the fold cache is not doing all the work.
    vocabulary = ["".join(rng.choices(string.ascii_letters + "0134", k=rng.randint(2, 9)))
                  for _ in range(20_000)]
    texts = [" ".join(rng.choices(vocabulary, k=60)) + " " + rng.choice(words)
             for _ in range(10_000)]
    started = time.perf_counter()
    found = sum(len(matcher.find(text)) for text in texts)
    per_comment = (time.perf_counter() - started) / len(texts)
    print(f"watched words: {len(matcher):,} entries compiled in {compiled * 1000:.0f} ms; "
          f"{per_comment * 1e6:.0f} µs per comment of ~60 words ({found:,} hits); {uptime()}")


def measure() -> None:
    from django.test import Client, override_settings

    from moderation.policy.calibration import calibrations_fit
    from tests.helpers import ModeratorFactory

    words_benchmark()
    print(f"comments {COMMENTS:,}, decisions {DECISIONS:,}; {uptime()}")
    fit = best_of(3, lambda: calibrations_fit(model_key=MODEL_KEY, days=90))
    print(f"calibration, every label and source, 90 days: {fit:.2f} s; {uptime()}")
    user = ModeratorFactory(username=f"benchviewer{time.time_ns()}")
    client = Client()
    client.force_login(user)
    override_settings(ALLOWED_HOSTS=["localhost"], SECURE_SSL_REDIRECT=False).enable()
    for url in ("/reports/model/?days=90", "/reports/queue/?days=60"):
        def get(url=url):
            response = client.get(url, HTTP_HOST="localhost")
            assert response.status_code == 200, response.status_code
        seconds = best_of(3, get)
        print(f"GET {url}: {seconds:.2f} s; {uptime()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="migrate and generate the data")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("set DATABASE_URL to a PostgreSQL database of its own")
    build() if args.build else measure()
