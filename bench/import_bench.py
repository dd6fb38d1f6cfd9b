"""Import speed: our importer per format beside Django's loaddata and a raw executemany.

    SECRET_KEY=bench .venv/bin/python bench/import_bench.py [--sizes 10000 100000]
        [--pg-url postgres://postgres@127.0.0.1:5432/tk_bench] [--no-postgres] [--no-sqlite]
        [--write-docs]

Generates realistic dumps (threads of 20-300 comments with bushy reply trees,
and 15% deep threads where most comments answer the previous one, up to 100
levels) in every format, then, on each database (fresh SQLite file; a
PostgreSQL database that is dropped and re-created), for each size:
  - `import_threads` code path (`threads_import_from_files`) for each format;
  - the same comment rows (same ids, paths, hashes) as a Django fixture
    through `loaddata`, what a Django user would reach for;
  - the same rows through a raw `cursor.executemany` INSERT: the floor;
  - on PostgreSQL, the same rows through a raw COPY (what the importer uses).
Each measurement starts from empty tables; at 10k and below each is the best
of three runs (every method alike), as one run moves by ±10%. Prints
comments/second and writes the table to docs/benchmarks.md (section
"Import") with --write-docs.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORMATS = ["disqus", "wxr", "reddit", "csv", "conversations"]
WORDS = (  # noqa: SIM905
    "the of and to in is that it for was on are as with his they at be this from have or by "
    "one had not but what all were when we there can an your which their said if do will "
    "each about how up out them then she many some so these would other into has more her "
    "two like him see time could no make than first been its who now people my made over did "
    "down only way find use may water long little very after words called just where most "
    "know article comment reply moderator thread source opinion wrong right agree disagree"
).split()
T0 = datetime(2020, 1, 1, tzinfo=UTC)


# --- dump generation -------------------------------------------------------------


def make_dataset(total: int, seed: int = 7) -> list[dict]:
    """Threads with comments: id, parent index, author, created_at, body."""
    rng = random.Random(seed)
    threads, made, t = [], 0, 0
    while made < total:
        deep = rng.random() < 0.15
        size = min(total - made, rng.randint(100, 300) if deep else rng.randint(20, 300))
        comments = []
        clock = T0 + timedelta(days=t)
        for i in range(size):
            if i == 0:
                parent = None
            elif deep:
                # Chains up to 100 deep with occasional branching.
                parent = i - 1 if rng.random() < 0.9 and comments[i - 1]["depth"] < 99 else (
                    rng.randrange(i) if rng.random() < 0.7 else None
                )
            else:
                parent = rng.randrange(i) if rng.random() < 0.65 else None
                if parent is not None and comments[parent]["depth"] >= 12:
                    parent = None
            clock += timedelta(seconds=rng.randint(1, 600))
            author = rng.randrange(2000)
            words = rng.choices(WORDS, k=rng.randint(5, 60))
            comments.append(
                {
                    "id": f"c{made + i}",
                    "parent": parent,
                    "depth": 0 if parent is None else comments[parent]["depth"] + 1,
                    "author": f"user{author}",
                    "email": f"user{author}@example.invalid",
                    "created": clock,
                    "body": " ".join(words).capitalize() + ".",
                }
            )
        threads.append({"id": f"t{t}", "title": f"Article number {t}", "comments": comments})
        made += size
        t += 1
    return threads


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_disqus(threads: list[dict], folder: Path, rng: random.Random) -> list[Path]:
    path = folder / "export.xml"
    posts = [(th, c) for th in threads for c in th["comments"]]
    rng.shuffle(posts)  # posts of a thread scattered through the file, as in real exports
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
            'xmlns:dsq="http://disqus.com/disqus-internals">\n'
        )
        for th in threads:
            out.write(
                f'<thread dsq:id="{th["id"]}"><id>{th["id"]}</id><link>https://example.com/'
                f'{th["id"]}</link><title>{th["title"]}</title><message/><createdAt>'
                f'{_z(T0)}</createdAt><author><name>Editor</name></author></thread>\n'
            )
        for th, c in posts:
            parent = th["comments"][c["parent"]]["id"] if c["parent"] is not None else None
            out.write(
                f'<post dsq:id="{c["id"]}"><id/><message><![CDATA[<p>{html.escape(c["body"])}'
                f'</p>]]></message><createdAt>{_z(c["created"])}</createdAt><isDeleted>false'
                f'</isDeleted><isSpam>false</isSpam><author><email>{c["email"]}</email><name>'
                f'{c["author"]}</name><isAnonymous>false</isAnonymous></author><ipAddress>'
                f'192.0.2.1</ipAddress><thread dsq:id="{th["id"]}"/>'
                + (f'<parent dsq:id="{parent}"/>' if parent else "")
                + "</post>\n"
            )
        out.write("</disqus>\n")
    return [path]


def write_wxr(threads: list[dict], folder: Path, rng: random.Random) -> list[Path]:
    path = folder / "export.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel><title>Bench</title>'
            "<link>https://example.com</link>"
            "<wp:base_blog_url>https://example.com</wp:base_blog_url>\n"
        )
        for n, th in enumerate(threads, start=1):
            out.write(
                f"<item><title>{th['title']}</title><link>https://example.com/?p={n}</link>"
                f"<dc:creator>editor</dc:creator><content:encoded><![CDATA[<p>Lead</p>]]>"
                f"</content:encoded><wp:post_id>{n}</wp:post_id><wp:post_date_gmt>"
                f"2020-01-01 00:00:00</wp:post_date_gmt><wp:post_type>post</wp:post_type>\n"
            )
            for c in th["comments"]:
                parent = th["comments"][c["parent"]]["id"][1:] if c["parent"] is not None else "0"
                out.write(
                    f"<wp:comment><wp:comment_id>{c['id'][1:]}</wp:comment_id>"
                    f"<wp:comment_author><![CDATA[{c['author']}]]></wp:comment_author>"
                    f"<wp:comment_author_email>{c['email']}</wp:comment_author_email>"
                    f"<wp:comment_author_IP>192.0.2.1</wp:comment_author_IP>"
                    f"<wp:comment_date_gmt>{c['created']:%Y-%m-%d %H:%M:%S}"
                    f"</wp:comment_date_gmt><wp:comment_content><![CDATA[{c['body']}]]>"
                    f"</wp:comment_content><wp:comment_approved>1</wp:comment_approved>"
                    f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>\n"
                )
            out.write("</item>\n")
        out.write("</channel></rss>\n")
    return [path]


def write_reddit(threads: list[dict], folder: Path, rng: random.Random) -> list[Path]:
    sys.setrecursionlimit(10_000)
    paths = []
    for th in threads:
        nodes = []
        for c in th["comments"]:
            parent = th["comments"][c["parent"]]["id"] if c["parent"] is not None else None
            nodes.append(
                {
                    "kind": "t1",
                    "data": {
                        "id": c["id"],
                        "parent_id": f"t1_{parent}" if parent else f"t3_{th['id']}",
                        "author": c["author"],
                        "body": c["body"],
                        "created_utc": c["created"].timestamp(),
                        "replies": "",
                    },
                }
            )
        top = []
        for c, node in zip(th["comments"], nodes, strict=True):
            if c["parent"] is None:
                top.append(node)
            else:
                holder = nodes[c["parent"]]["data"]
                if not holder["replies"]:
                    holder["replies"] = {"kind": "Listing", "data": {"children": []}}
                holder["replies"]["data"]["children"].append(node)
        document = [
            {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {
                "id": th["id"], "title": th["title"], "author": "editor",
                "permalink": f"/r/bench/comments/{th['id']}/", "created_utc": T0.timestamp(),
                "selftext": "",
            }}]}},
            {"kind": "Listing", "data": {"children": top}},
        ]
        path = folder / f"{th['id']}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def write_csv(threads: list[dict], folder: Path, rng: random.Random) -> list[Path]:
    path = folder / "export.csv"
    rows = []
    for th in threads:
        for c in th["comments"]:
            parent = th["comments"][c["parent"]]["id"] if c["parent"] is not None else ""
            rows.append(
                [th["id"], th["title"], c["id"], parent, c["author"], _z(c["created"]), c["body"]]
            )
    rows.sort(key=lambda r: r[5])  # by date: threads interleaved, as database dumps are
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["thread_id", "thread_title", "comment_id", "parent_id", "author", "created_at", "body"]
        )
        writer.writerows(rows)
    return [path]


def write_conversations(threads: list[dict], folder: Path, rng: random.Random) -> list[Path]:
    path = folder / "export.json"
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n, th in enumerate(threads):
            conversation = {
                c["id"]: {
                    "id": c["id"],
                    "parent_id": (
                        th["comments"][c["parent"]]["id"] if c["parent"] is not None else ""
                    ),
                    "content": c["body"],
                    "user_text": c["author"],
                    "timestamp": f"{c['created']:%Y-%m-%d %H:%M:%S} UTC",
                    "page_title": th["title"],
                    "comment_type": "COMMENT_ADDING",
                }
                for c in th["comments"]
            }
            out.write(("," if n else "") + json.dumps(conversation) + "\n")
        out.write("]\n")
    return [path]


WRITERS = {
    "disqus": write_disqus,
    "wxr": write_wxr,
    "reddit": write_reddit,
    "csv": write_csv,
    "conversations": write_conversations,
}


def reference_rows(threads: list[dict]) -> dict:
    """The comment rows the importer would store, for loaddata and executemany."""
    from threads.tree import Node, assign_paths

    stamp = datetime(2024, 1, 1, tzinfo=UTC).isoformat()
    authors = {}
    thread_rows, comment_rows = [], []
    pk = 0
    for t, th in enumerate(threads, start=1):
        thread_rows.append((t, "bench", th["id"], th["title"], stamp, stamp))
        ids = {}
        nodes = []
        for c in th["comments"]:
            parent = th["comments"][c["parent"]]["id"] if c["parent"] is not None else None
            nodes.append(Node(key=c["id"], parent=parent, sort_key=(c["created"], c["id"])))
        placements = assign_paths(nodes)
        for c in th["comments"]:
            pk += 1
            ids[c["id"]] = pk
            author = authors.setdefault(c["email"], (len(authors) + 1, c["author"]))
            parent = th["comments"][c["parent"]]["id"] if c["parent"] is not None else None
            comment_rows.append(
                (
                    pk, t, ids[parent] if parent else None, c["id"], author[0], c["author"],
                    c["body"], f"<p>{c['body']}</p>", c["created"].isoformat(),
                    hashlib.sha256(c["body"].encode()).hexdigest(),
                    placements[c["id"]].path, placements[c["id"]].depth, "pending", "", 1,
                    False, "", stamp, stamp,
                )
            )
    author_rows = [
        (pk, hashlib.sha256(email.encode()).hexdigest(), name, "")
        for email, (pk, name) in authors.items()
    ]
    return {"threads": thread_rows, "authors": author_rows, "comments": comment_rows}


COMMENT_COLUMNS = (
    "id", "thread_id", "parent_id", "external_id", "author_id", "author_name", "body",
    "body_html", "created_at", "content_hash", "path", "depth", "state", "source_state",
    "version", "needs_review", "toxicity_label", "imported_at", "updated_at",
)


def write_fixture(rows: dict, path: Path) -> None:
    objects = [
        {"model": "threads.thread", "pk": r[0], "fields": {
            "source": r[1], "external_id": r[2], "title": r[3], "imported_at": r[4],
            "updated_at": r[5]}}
        for r in rows["threads"]
    ] + [
        {"model": "threads.author", "pk": r[0], "fields": {
            "identity": r[1], "name": r[2], "email_hash": r[3]}}
        for r in rows["authors"]
    ] + [
        {"model": "threads.comment", "pk": r[0], "fields": {
            name: value for name, value in zip(COMMENT_COLUMNS[1:], r[1:], strict=True)
            if name not in ("thread_id", "parent_id", "author_id")
        } | {"thread": r[1], "parent": r[2], "author": r[4]}}
        for r in rows["comments"]
    ]
    path.write_text(json.dumps(objects), encoding="utf-8")


# --- measuring (in a worker process per database) ---------------------------------------------


def worker(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from threads.services import threads_import_from_files

    call_command("migrate", verbosity=0)
    tables = ["threads_comment", "threads_thread", "threads_author"]
    from django.apps import apps

    threads_models = set(apps.get_app_config("threads").get_models())
    # Rows an import writes beside the comments (feed events, import decisions).
    dependents = [
        model._meta.db_table
        for model in apps.get_app_config("moderation").get_models()
        if any(field.related_model in threads_models for field in model._meta.concrete_fields)
    ]

    def reset() -> None:
        # Empty tables as after `migrate`. No VACUUM/ANALYZE here: statistics
        # taken of an empty table tell the planner "0 rows" for good (this
        # server runs with autovacuum off, so nothing refreshes them), and the
        # foreign-key checks of each commit then keep seq-scan plans cached
        # while the tables grow: quadratic for one-transaction-per-thread
        # imports (Reddit: 0.34 s per thread at 100k). TRUNCATE leaves the
        # tables "never analysed", which is what a fresh install looks like.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            else:
                with connection.constraint_checks_disabled():
                    for table in dependents + tables:
                        cursor.execute(f"DELETE FROM {table}")
                    cursor.execute("DELETE FROM sqlite_sequence")
                # The search index (moderation 0013) as after `migrate`: the
                # delete trigger leaves it holding tombstones that every later
                # insert pays for.
                cursor.execute("INSERT INTO moderation_comment_search"
                               "(moderation_comment_search) VALUES ('rebuild')")

    results = []
    data = Path(args.data)
    def measure(size: int) -> None:
        base = data / str(size)
        comments = size

        def record(
            method: str, seconds: float, extra: dict | None = None, size: int = size
        ) -> None:
            results.append({"size": size, "method": method, "seconds": seconds, **(extra or {})})
            print(f"  {connection.vendor} {size} {method}: {seconds:.2f}s", file=sys.stderr)

        # At 10k each figure is the best of three runs (each from empty
        # tables), for every method alike: one run moves by ±10% from noise.
        repeats = 3 if size <= 10_000 else 1

        def best(action: Callable[[], object], repeats: int = repeats) -> float:
            times = []
            for _ in range(repeats):
                reset()
                start = time.perf_counter()
                action()
                times.append(time.perf_counter() - start)
            return min(times)

        def timed(action: Callable[[], object], repeats: int = repeats) -> float:
            """Best of `repeats` runs on the tables as they are (re-import)."""
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                action()
                times.append(time.perf_counter() - start)
            return min(times)

        for fmt in FORMATS:
            files = sorted((base / fmt).iterdir())

            def first(files: list[Path] = files) -> None:
                report = threads_import_from_files(paths=files)
                assert not report.errors and report.comments_new == comments, report.summary()

            def again(files: list[Path] = files) -> None:
                report = threads_import_from_files(paths=files)
                assert report.comments_unchanged == comments, report.summary()

            record(f"import {fmt}", best(first), {"reimport": timed(again)})

        def load() -> None:
            call_command("loaddata", str(base / "fixture.json"), verbosity=0)

        record("loaddata", best(load))

        rows = json.loads((base / "rows.json").read_text())

        def insert_parents(cursor: object) -> None:
            cursor.executemany(  # type: ignore[attr-defined]
                "INSERT INTO threads_thread (id, source, external_id, title, imported_at, "
                "updated_at, url, author_name, lead, import_notes) "
                "VALUES (%s, %s, %s, %s, %s, %s, '', '', '', '')",
                rows["threads"],
            )
            cursor.executemany(  # type: ignore[attr-defined]
                "INSERT INTO threads_author (id, identity, name, email_hash) "
                "VALUES (%s, %s, %s, %s)",
                rows["authors"],
            )

        def executemany() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                insert_parents(cursor)
                cursor.executemany(
                    f"INSERT INTO threads_comment ({', '.join(COMMENT_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(COMMENT_COLUMNS))})",
                    rows["comments"],
                )

        record("executemany", best(executemany))
        if connection.vendor == "postgresql":
            # The importer inserts comments with COPY on PostgreSQL: the same
            # rows through a bare COPY show how far below executemany that floor is.
            def copy() -> None:
                with transaction.atomic(), connection.cursor() as cursor:
                    insert_parents(cursor)
                    with cursor.cursor.copy(
                        f"COPY threads_comment ({', '.join(COMMENT_COLUMNS)}) FROM STDIN"
                    ) as stream:
                        for row in rows["comments"]:
                            stream.write_row(row)

            record("copy", best(copy))

    for size in args.sizes:
        measure(size)
    reset()
    print(json.dumps({"vendor": connection.vendor, "results": results}))


# --- orchestration ------------------------------------------------------------------------


def recreate_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def table(runs: list[dict], sizes: list[int]) -> str:
    lines = [
        "| database | comments | method | seconds | comments/s | × loaddata | × raw insert time "
        "| re-import s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for size in sizes:
            rows = [r for r in run["results"] if r["size"] == size]
            loaddata = next(r["seconds"] for r in rows if r["method"] == "loaddata")
            raw = next(r["seconds"] for r in rows if r["method"] == "executemany")
            for r in rows:
                lines.append(
                    f"| {run['vendor']} | {size:,} | {r['method']} | {r['seconds']:.2f} | "
                    f"{size / r['seconds']:,.0f} | {loaddata / r['seconds']:.1f} | "
                    f"{r['seconds'] / raw:.1f} | "
                    + (f"{r['reimport']:.2f}" if "reimport" in r else "")
                    + " |"
                )
    return "\n".join(lines)


def write_docs(text: str, command: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = (
        "## Import\n\n"
        f"Measured with `{command}` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} CPU cores). comments/s counts every stored comment; "
        "“× loaddata” is how many times faster than `loaddata` of the same rows; "
        "“× raw insert time” is the time relative to a bare `executemany` INSERT of the "
        "same rows (1.0 = the floor); on PostgreSQL “copy” is the same rows through a bare "
        "`COPY`, which the importer uses for comments. “re-import s” is the same files "
        "again (nothing changes: idempotent). Scoring enqueue is off (`SCORING_AUTO_ENQUEUE=0`): "
        "the import alone is measured, as `loaddata` and `executemany` enqueue nothing. "
        "At 10k every figure is the best of three runs from empty tables (all methods "
        "alike); at 100k, one run.\n\n"
        f"{text}\n"
    )
    start = old.find("## Import\n")
    if start == -1:
        new = old.rstrip("\n") + "\n\n" + section
    else:
        # Up to the next heading: hand-written subsections (### ...) are kept.
        end = old.find("\n#", start + 1)
        new = old[:start] + section + ("\n" + old[end + 1 :] if end != -1 else "")
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/tk_bench"),
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    with tempfile.TemporaryDirectory(prefix="threadkeeper-bench-") as tmp:
        data = Path(tmp)
        for size in args.sizes:
            print(f"generating {size:,} comments in every format ...", file=sys.stderr)
            threads = make_dataset(size)
            for fmt in FORMATS:
                folder = data / str(size) / fmt
                folder.mkdir(parents=True)
                WRITERS[fmt](threads, folder, random.Random(size))
            rows = reference_rows(threads)
            (data / str(size) / "rows.json").write_text(json.dumps(rows), encoding="utf-8")
            write_fixture(rows, data / str(size) / "fixture.json")
        urls = [] if args.no_sqlite else [f"sqlite:///{data / 'bench.sqlite3'}"]
        if not args.no_postgres:
            recreate_pg(args.pg_url)
            urls.append(args.pg_url)
        runs = []
        for url in urls:
            print(f"measuring on {url.split(':')[0]} ...", file=sys.stderr)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", "--db-url", url, "--data", str(data),
                 "--sizes", *map(str, args.sizes)],
                capture_output=True, text=True,
                # Scoring enqueue off: the import alone is measured, like loaddata
                # and executemany (which enqueue nothing); with a reachable Redis
                # broker publishing adds about 4 ms per 64 new comments.
                env={**os.environ, "DEBUG": "0", "LOG_LEVEL": "WARNING",
                     "SCORING_AUTO_ENQUEUE": "0"},
            )
            sys.stderr.write(out.stderr)
            if out.returncode:
                raise SystemExit(f"worker failed on {url.split(':')[0]}")
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    text = table(runs, args.sizes)
    print(text)
    if args.write_docs:
        write_docs(text, "python bench/import_bench.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
