"""Peak memory of importing large and hostile files: bounded, not by the file.

    SECRET_KEY=bench .venv/bin/python bench/import_memory.py [--mb 200] [--only NAME ...]

Writes each file into a temporary directory, imports it into a fresh SQLite
database in a child process and prints that process's peak RSS (getrusage
ru_maxrss):

- `disqus`: a Disqus export of about --mb megabytes (posts of ~2,000 threads
  of up to 300 comments, scattered through the file as real exports are),
  and one a tenth the size: if memory grew with the file, the two peaks
  would differ by about ten times;
- `json`: native JSON of about --mb megabytes (threads of up to 300
  comments, half nested through `replies`);
- `jsonl`: native JSONL of about --mb megabytes, all one thread;
- `gzip-bomb`: a gzipped native JSON whose one body inflates to 2 GB,
  refused by IMPORT_GZIP_MAX_RATIO.

The importing connection's SQLite page cache (64 MiB as configured) is part
of the peak; `--sqlite-cache-mib 2` (SQLite's default) shows the rest.

The files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.conf import settings
if sys.argv[2] != "configured" and "init_command" in settings.DATABASES["default"]["OPTIONS"]:
    # The SQLite page cache as asked (KiB), instead of the configured 64 MiB.
    options = settings.DATABASES["default"]["OPTIONS"]
    options["init_command"] = options["init_command"].replace(
        "cache_size=-65536", "cache_size=-%d" % (int(sys.argv[2]) * 1024)
    )
from django.core.management import call_command
call_command("migrate", verbosity=0)
from pathlib import Path
from threads.importers import ImportFailure
from threads.services import threads_import_from_file
start = time.perf_counter()
try:
    report = threads_import_from_file(path=Path(sys.argv[1]))
    comments, threads = report.comments_new, report.threads_new
except ImportFailure as exc:
    print(exc, file=sys.stderr)
    comments = threads = -1
took = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(comments, threads, took, peak_kib)
"""

WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
         "do", "eiusmod"]


def write_export(path: Path, target_bytes: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
    ]
    posts = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
            'xmlns:dsq="http://disqus.com/disqus-internals">\n'
        )
        threads = 0
        while out.tell() < target_bytes:
            # A block of 20 threads whose posts are interleaved.
            block = [threads + i for i in range(20)]
            for t in block:
                out.write(
                    f'<thread dsq:id="t{t}"><link>https://example.com/{t}</link>'
                    f"<title>Article {t}</title></thread>\n"
                )
            threads += len(block)
            sizes = {t: rng.randint(20, 300) for t in block}
            seen: dict[int, int] = dict.fromkeys(block, 0)
            while sizes:
                t = rng.choice(list(sizes))
                n = seen[t]
                parent = (
                    f'<parent dsq:id="t{t}p{rng.randrange(n)}"/>'
                    if n and rng.random() < 0.6
                    else ""
                )
                body = " ".join(rng.choices(words, k=rng.randint(10, 120)))
                out.write(
                    f'<post dsq:id="t{t}p{n}"><message><![CDATA[<p>{body}</p>]]></message>'
                    f"<createdAt>2020-01-01T00:00:{n % 60:02d}Z</createdAt><isDeleted>false"
                    f"</isDeleted><isSpam>false</isSpam><author><email>u{n % 500}@example.invalid"
                    f"</email><name>user {n % 500}</name></author><ipAddress>192.0.2.1"
                    f'</ipAddress><thread dsq:id="t{t}"/>{parent}</post>\n'
                )
                posts += 1
                seen[t] = n + 1
                if seen[t] == sizes[t]:
                    del sizes[t]
        out.write("</disqus>\n")
    return posts


def write_native_json(path: Path, target_bytes: int, seed: int = 2) -> int:
    """Threads of 20-300 comments; every other thread nests its replies."""
    rng = random.Random(seed)
    comments = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"threads": [\n')
        t = 0
        while out.tell() < target_bytes:
            size = rng.randint(20, 300)
            items = []
            for n in range(size):
                body = " ".join(rng.choices(WORDS, k=rng.randint(10, 120)))
                items.append({"external_id": f"c{n}", "author": f"user {n % 500}", "body": body,
                              "created_at": f"2020-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"})
            if t % 2:
                # Chains of up to 10 replies nested through "replies".
                roots, chain = [], None
                for n, item in enumerate(items):
                    if chain is None or n % 10 == 0:
                        roots.append(item)
                    else:
                        chain["replies"] = [item]
                    chain = item
                items = roots
            else:
                for n, item in enumerate(items[1:], start=1):
                    if rng.random() < 0.6:
                        item["parent_id"] = f"c{rng.randrange(n)}"
            thread = {"external_id": f"t{t}", "title": f"Article {t}",
                      "url": f"https://example.com/{t}", "comments": items}
            out.write(("," if t else "") + json.dumps(thread) + "\n")
            comments += size
            t += 1
        out.write("]}\n")
    return comments


def write_one_thread_jsonl(path: Path, target_bytes: int, seed: int = 3) -> int:
    rng = random.Random(seed)
    n = 0
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < target_bytes:
            parent = f"c{rng.randrange(n)}" if n and rng.random() < 0.6 else None
            body = " ".join(rng.choices(WORDS, k=rng.randint(10, 120)))
            out.write(json.dumps({
                "thread": {"external_id": "one", "title": "One long thread"},
                "external_id": f"c{n}", "parent_id": parent, "author": f"user {n % 500}",
                "body": body, "created_at": 1577836800 + n,
            }) + "\n")
            n += 1
    return n


def write_gzip_bomb(path: Path, inflated_bytes: int = 2 * 1000**3) -> int:
    """A native JSON whose one body is `inflated_bytes` of one letter, gzipped."""
    block = b"A" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'{"threads": [{"external_id": "bomb", "comments": [{"external_id": "c", '
                  b'"body": "')
        for _ in range(inflated_bytes // len(block)):
            out.write(block)
        out.write(b'"}]}]}')
    return 0


def measure(
    path: Path, workdir: Path, sqlite_cache_mib: str = "configured"
) -> tuple[int, int, float, int]:
    db = workdir / f"{path.stem}.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "LOG_LEVEL": "WARNING"}
    env.setdefault("SECRET_KEY", "bench-only")
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path), sqlite_cache_mib],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    comments, threads, took, peak = out.stdout.split()
    return int(comments), int(threads), float(took), int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=["disqus", "json", "jsonl", "gzip-bomb"])
    parser.add_argument(
        "--sqlite-cache-mib", default="configured",
        help="SQLite page cache of the importing connection (config/settings.py: 64 MiB)",
    )
    args = parser.parse_args()
    mb = args.mb * 1024 * 1024
    cases = []
    if "disqus" in args.only:
        cases += [("Disqus XML", f"disqus_{args.mb // 10}.xml", write_export, mb // 10),
                  ("Disqus XML", f"disqus_{args.mb}.xml", write_export, mb)]
    if "json" in args.only:
        cases.append(("native JSON", f"native_{args.mb}.json", write_native_json, mb))
    if "jsonl" in args.only:
        cases.append(("JSONL, one thread", f"one_{args.mb}.jsonl", write_one_thread_jsonl, mb))
    if "gzip-bomb" in args.only:
        cases.append(("gzip bomb (2 GB inflated)", "bomb.json.gz", write_gzip_bomb, None))
    with tempfile.TemporaryDirectory(prefix="threadkeeper-mem-") as tmp:
        workdir = Path(tmp)
        rows = []
        for label, name, write, size in cases:
            path = workdir / name
            start = time.perf_counter()
            written = write(path) if size is None else write(path, size)
            print(f"wrote {path.stat().st_size / 1e6:.1f} MB ({written:,} comments) "
                  f"in {time.perf_counter() - start:.0f}s", file=sys.stderr)
            comments, threads, took, peak = measure(path, workdir, args.sqlite_cache_mib)
            if written:
                assert comments == written, (comments, written)
            rows.append((label, path.stat().st_size, comments, threads, took, peak))
            path.unlink()
    print("| file | size | comments | threads | import s | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, size, comments, threads, took, peak in rows:
        outcome = (f"{comments:,} | {threads:,}" if comments >= 0 else "refused | ")
        print(f"| {label} | {size / 1e6:.1f} MB | {outcome} | {took:.0f} | {peak / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
