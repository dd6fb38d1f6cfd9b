"""Peak memory of importing a large Disqus export: bounded by the largest thread.

    SECRET_KEY=bench .venv/bin/python bench/import_memory.py [--mb 200]

Writes a Disqus export of about --mb megabytes (posts of ~2,000 threads of
up to 300 comments, scattered through the file as real exports are) into a
temporary directory, imports it into a fresh SQLite database in a child
process and prints that process's peak RSS (getrusage ru_maxrss) beside
the peak of the same child importing a file one tenth the size: if memory grew
with the file, the two peaks would differ by about ten times. The file is
deleted afterwards.
"""

from __future__ import annotations

import argparse
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
from django.core.management import call_command
call_command("migrate", verbosity=0)
from pathlib import Path
from threads.services import threads_import_from_file
start = time.perf_counter()
report = threads_import_from_file(path=Path(sys.argv[1]))
took = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(report.comments_new, report.threads_new, took, peak_kib)
"""


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


def measure(path: Path, workdir: Path) -> tuple[int, int, float, int]:
    db = workdir / f"{path.stem}.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "LOG_LEVEL": "WARNING"}
    env.setdefault("SECRET_KEY", "bench-only")
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path)],
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadkeeper-mem-") as tmp:
        workdir = Path(tmp)
        rows = []
        for mb in (max(1, args.mb // 10), args.mb):
            path = workdir / f"disqus_{mb}mb.xml"
            start = time.perf_counter()
            posts = write_export(path, mb * 1024 * 1024)
            print(
                f"wrote {path.stat().st_size / 1e6:.0f} MB, {posts:,} posts "
                f"in {time.perf_counter() - start:.0f}s",
                file=sys.stderr,
            )
            comments, threads, took, peak = measure(path, workdir)
            assert comments == posts, (comments, posts)
            rows.append((path.stat().st_size, comments, threads, took, peak))
            path.unlink()
    print("| file | comments | threads | import s | comments/s | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, comments, threads, took, peak in rows:
        print(
            f"| {size / 1e6:.0f} MB | {comments:,} | {threads:,} | {took:.0f} | "
            f"{comments / took:,.0f} | {peak / 1024:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
