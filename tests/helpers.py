"""Helpers shared by the test suite (fixtures are in tests/conftest.py).

- factory_boy factories. CommentFactory places each comment in its thread's
  reply tree: a top-level comment gets the next top-level path segment, a
  reply (parent=...) the next segment under its parent, so selectors that read
  `path` work on factory data (trees deeper than threads.tree.FLAT_DEPTH need
  the importer).
- Scores written directly (ToxicityScore rows plus the denormalised
  comment.toxicity / needs_review the scoring policy maintains), and a
  deterministic MarkerScorer, so most tests need no model installed.
- the documented production environment (docs/production.env) made local,
  and the manage.py and gunicorn processes that run under it.
- detoxify checkpoints with random weights in detoxify's own format, used by
  the tests (a tiny BERT that loads in well under a second) and by
  bench/scoring_bench.py (bert-base shape: the same compute as the real
  `original` model). Offline: the vocabulary is written by hand (plus, for the
  benchmark, words from a corpus so token counts are realistic), and the
  checkpoint's base-model field points at the local Hugging Face directory,
  as `install_model` does. `build_evil_checkpoint` is one in the same format
  whose unpickling would run a command.
- Failing infrastructure, real: `SilentServer` (a TCP server on 127.0.0.1 that
  accepts and never answers: a hung broker) and `returns_within` (fails a block
  that runs too long instead of hanging the suite).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import factory
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from factory.django import DjangoModelFactory, Password

from moderation.models import ToxicityScore
from threads.importers.base import content_hash
from threads.models import Author, Comment, Thread
from threads.services import threads_import_from_file
from threads.tree import SEGMENT_WIDTH

TEST_PASSWORD = "correct-horse-battery-staple"
ROOT = Path(__file__).resolve().parents[1]

# --- factories ----------------------------------------------------------------

class ThreadFactory(DjangoModelFactory):
    class Meta:
        model = Thread

    source = "native"
    external_id = factory.Sequence(lambda n: f"thread-{n}")
    title = factory.Sequence(lambda n: f"Article {n}")
    url = factory.LazyAttribute(lambda o: f"https://news.example/{o.external_id}")


class AuthorFactory(DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ["identity"]

    identity = factory.Sequence(lambda n: f"{n:064x}")
    name = factory.Sequence(lambda n: f"reader{n}")


def _next_path(comment) -> str:
    if comment.parent is not None:
        prefix = comment.parent.path
        siblings = Comment.objects.filter(parent=comment.parent).count()
    else:
        prefix = ""
        siblings = Comment.objects.filter(thread=comment.thread, parent__isnull=True).count()
    return prefix + str(siblings).zfill(SEGMENT_WIDTH)


class CommentFactory(DjangoModelFactory):
    class Meta:
        model = Comment

    parent = None
    thread = factory.LazyAttribute(
        lambda o: o.parent.thread if o.parent is not None else ThreadFactory()
    )
    external_id = factory.Sequence(lambda n: f"c{n}")
    author = factory.SubFactory(AuthorFactory)
    author_name = factory.LazyAttribute(lambda o: o.author.name if o.author else "")
    body = factory.Sequence(lambda n: f"Comment number {n} about the article.")
    content_hash = factory.LazyAttribute(lambda o: content_hash(o.body))
    path = factory.LazyAttribute(_next_path)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent is not None else 0)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = Password(TEST_PASSWORD)


class StaffFactory(UserFactory):
    """Staff without moderation rights (can sign in to admin, nothing more)."""

    is_staff = True


class ModeratorFactory(UserFactory):
    """A moderator exactly as create_moderator makes one: staff, in Moderators."""

    username = factory.Sequence(lambda n: f"moderator{n}")
    is_staff = True

    @factory.post_generation
    def moderators_group(self, create, extracted, **kwargs):
        if create:
            from moderation.decisions.accounts import moderators_group_ensure

            self.groups.add(moderators_group_ensure())


# --- scores, threads and scorers -------------------------------------------------

MODEL_KEY = "detoxify:original:test0001"
LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
# Moderators are ModeratorFactory (staff, in the Moderators
# group, exactly as create_moderator makes one), signing in with TEST_PASSWORD.
PASSWORD = TEST_PASSWORD
XSS_BODY = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def score_comment(comment: Comment, top: float, label: str = "toxicity", *,
                  threshold: float = 0.5, model_key: str = MODEL_KEY) -> ToxicityScore:
    """Attach a score whose `label` is `top` and the other labels are lower."""
    scores = {name: round(top * (0.9 - 0.1 * i), 4) for i, name in enumerate(LABELS)}
    scores[label] = top
    record = ToxicityScore.objects.create(
        comment=comment, model_key=model_key, content_hash=comment.content_hash,
        scores=scores, top_label=label, top_score=top,
    )
    comment.toxicity = top
    comment.toxicity_label = label
    comment.needs_review = top >= threshold
    comment.save(update_fields=["toxicity", "toxicity_label", "needs_review"])
    return record


def thread_document(external_id: str, bodies: list[str], *, nested: bool = False,
                    title: str = "") -> dict:
    """A native JSON thread: flat replies to the first comment, or a chain when nested."""
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    comments = []
    for i, body in enumerate(bodies):
        parent = None
        if i > 0:
            parent = f"{external_id}-{i - 1}" if nested else f"{external_id}-0"
        comments.append({
            "external_id": f"{external_id}-{i}",
            "parent_id": parent,
            "author": f"author{i % 7}",
            "body": body,
            "created_at": (start + timedelta(minutes=i)).isoformat(),
        })
    return {
        "external_id": external_id,
        "title": title or f"Article {external_id}",
        "url": f"https://news.example/{external_id}",
        "comments": comments,
    }


def branch_thread_document(external_id: str, size: int, *, fanout: int = 4) -> dict:
    """A native JSON thread: a branch of `size` comments under its first one (each reply
    to comment (i - 1) // fanout, so a few levels deep), then one top-level comment
    outside the branch."""
    comments = [{"external_id": f"{external_id}-{i}",
                 "parent_id": f"{external_id}-{(i - 1) // fanout}" if i else None,
                 "body": f"reply {i} in the branch"} for i in range(size)]
    comments.append({"external_id": f"{external_id}-outside", "parent_id": None,
                     "body": "a top-level comment outside the branch"})
    return {"external_id": external_id, "title": f"Article {external_id}",
            "comments": comments}


def import_threads(tmp_path: Path, threads: list[dict], name: str = "seed.json") -> None:
    path = tmp_path / name
    path.write_text(json.dumps({"threads": threads}), encoding="utf-8")
    threads_import_from_file(path=path)


HOSTILE_DIR = Path(__file__).parent / "data" / "hostile"
DEEP = 2000  # levels of nested replies in the generated deep files


def nested_native_replies(depth: int, external_id: str = "deep") -> str:
    """Native JSON text of one thread whose replies nest `depth` deep.

    Written as text: json.dumps itself recurses once per level.
    """
    opening = "".join(
        f'{{"external_id": "c{level}", "body": "level {level}", "replies": ['
        for level in range(depth - 1)
    )
    bottom = f'{{"external_id": "c{depth - 1}", "body": "bottom"}}'
    comments = opening + bottom + "]}" * (depth - 1)
    return f'{{"threads": [{{"external_id": "{external_id}", "title": "deep", ' \
        f'"comments": [{comments}]}}]}}'


def nested_reddit_replies(depth: int, post_id: str = "deep1") -> str:
    """Reddit thread JSON text whose comments nest `depth` deep through `replies`."""
    opening = "".join(
        '{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {'
        f'"id": "r{level}", "parent_id": "{f"t1_r{level - 1}" if level else f"t3_{post_id}"}", '
        f'"body": "level {level}", "author": "user{level % 5}", '
        f'"created_utc": {1700000000 + level}, "replies": '
        for level in range(depth)
    )
    comments = opening + '""' + "}}]}}" * depth
    post = json.dumps({"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {
        "id": post_id, "title": "deep", "permalink": f"/r/x/comments/{post_id}/",
        "created_utc": 1700000000}}]}})
    return f"[{post}, {comments}]"


def write_large_hostile_files(directory: Path) -> None:
    """The hostile cases too large to commit (tests/data/hostile/README.md)."""
    import gzip

    from django.conf import settings

    directory.mkdir(parents=True, exist_ok=True)
    # 40 MiB of one letter: a few tens of KB gzipped, a ratio in the thousands.
    bomb = json.dumps({"threads": [{"external_id": "bomb", "comments": [
        {"external_id": "c1", "body": "A" * (40 * 1024 * 1024)}]}]})
    (directory / "gzip_bomb.json.gz").write_bytes(gzip.compress(bomb.encode(), compresslevel=9))
    limit = settings.IMPORT_MAX_BODY_CHARS
    (directory / "body_too_long.json").write_text(json.dumps({"threads": [{
        "external_id": "body_too_long", "comments": [
            {"external_id": "ok", "body": "fine"},
            {"external_id": "c1", "body": "b" * (limit + 1)},
        ]}]}))
    (directory / "native_deep_replies.json").write_text(nested_native_replies(DEEP))
    (directory / "reddit_deep_replies.json").write_text(nested_reddit_replies(DEEP))



class MarkerScorer:
    """Reads its scores from markers in the text, e.g. "rude [threat=0.8]".

    A real Scorer (the protocol is all the pipeline sees) whose output a test
    controls exactly; labels without a marker score 0.01.
    """

    labels = ("toxicity", "threat", "insult")
    MARKER = re.compile(r"\[(\w+)=([0-9.]+)\]")

    def __init__(self, key: str = "marker:test:1") -> None:
        self.key = key
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        results = []
        for text in texts:
            scores = dict.fromkeys(self.labels, 0.01)
            for label, value in self.MARKER.findall(text):
                scores[label] = float(value)
            results.append(scores)
        return results



def child_database_url() -> str:
    """DATABASE_URL of the test database, for a worker or command run as another process
    (which opens the test database by name)."""

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def row_lock_held(model: type, pk: int, *, touch: dict[str, object]) -> Iterator[None]:
    """Hold a row lock on model `pk` from another connection while the block runs.

    On SQLite the write (`touch`: field -> value) takes the database write
    lock; on PostgreSQL the SELECT ... FOR UPDATE takes the row's. Whatever
    needs that row (or, on SQLite, any write) waits until the block ends.
    """
    from django.db import connection, transaction

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                model.objects.select_for_update().get(pk=pk)
                model.objects.filter(pk=pk).update(**touch)
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30), "could not take the lock"
    try:
        yield
    finally:
        release.set()
        holder.join()


def point_celery_app(broker: str, queue: str | None = None) -> None:
    """Send this process's task messages to `broker` (and `queue`) from now on."""
    import kombu.pools

    from config.celery import app

    app.conf.broker_url = broker
    # Celery prefers a CELERY_BROKER_URL in the environment to broker_url
    # (conf.broker_url reads the variable first); the read and write URLs set
    # here win over it, so this works however the suite's broker is chosen.
    app.conf.broker_read_url = broker
    app.conf.broker_write_url = broker
    if queue is not None:
        app.conf.task_default_queue = queue
    app.__dict__.pop("amqp", None)  # rebuilt (with the new default queue) on next use
    app._pool = None
    kombu.pools.reset()  # producer pools are cached per connection, process-wide


# --- browsers --------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The marks of every browser test module: `pytestmark = BROWSER_TEST`.
BROWSER_TEST = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


# --- deployment: the documented environment, manage.py and gunicorn -----------------

PRODUCTION_ENV_FILE = ROOT / "docs" / "production.env"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; blank lines and # comments skipped (systemd's EnvironmentFile)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def production_environment(directory: Path, **overrides: str) -> dict[str, str]:
    """docs/production.env for a server on this machine: what a deployment runs with.

    Only the site-specific values change (secret, salt, host names, database,
    broker, static root); every security setting is the file's own. The rest of
    this process's environment (PATH, ...) is kept, less anything the file sets.
    """
    documented = read_env_file(PRODUCTION_ENV_FILE)
    local = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUTHOR_HASH_SALT": secrets.token_urlsafe(16),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "STATIC_ROOT": str(directory / "static"),
    }
    inherited = {key: value for key, value in os.environ.items()
                 if key not in documented and not key.startswith(("SECURE_", "DETOXIFY_"))}
    return {**inherited, **documented, **local, "DJANGO_SETTINGS_MODULE": "config.settings",
            **overrides}


def manage(env: dict[str, str], *args: str, stdin: str | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS` in a fresh process with exactly this environment."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
        capture_output=True, text=True, timeout=timeout,
    )


def gunicorn_start(env: dict[str, str], port: int, *, workers: int = 2,
                   threads: int = 2) -> subprocess.Popen:
    """gunicorn as docs/deploy.md runs it (gthread workers), answering on 127.0.0.1:port."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process_stop(process)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within 30 s")


def process_stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and its children (gunicorn's workers)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
# --- a real Celery worker ---------------------------------------------------------

def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a prefork worker's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class CeleryWorker:
    """A real `celery -A config worker` (prefork, one child) on its own queue; its log in a file."""

    def __init__(self, queue: str, env: dict[str, str], log: Path,
                 children: int | None = 1) -> None:
        """`children=None`: no `-c`, so the worker picks its children itself."""
        self.queue, self.env, self.log, self.children = queue, env, log, children
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        children = [] if self.children is None else ["-c", str(self.children)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
             *children, "-Q", self.queue, "--without-heartbeat", "--without-gossip",
             "--without-mingle", "-l", "debug", "-n", f"{self.queue}@%h"],
            cwd=django_settings.BASE_DIR, env=self.env, stdout=handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def log_count(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)

    def kill_child(self) -> None:
        """SIGKILL the worker child (the prefork parent starts a new one)."""
        (child,) = child_pids(self.process.pid)
        os.kill(child, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole worker, parent and child: nothing acks, nothing cleans up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"worker never logged {text!r}:\n"
                             + self.log.read_text(errors="replace")[-3000:])


# --- detoxify checkpoints ---------------------------------------------------------

# The Jigsaw 2018 classes, in the original checkpoint's order and spelling
# (detoxify renames toxic -> toxicity etc. when it loads them).
ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
DETOXIFY_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult",
                   "identity_attack")

TINY_WORDS = ["you", "are", "an", "idiot", "hello", "friend", "thanks", "the", "is", "great",
              "article", "stupid", "hate", "kill", "good", "point"]


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int | None  # None: exactly the words given


TINY = Shape(hidden=32, layers=2, heads=2, intermediate=64, vocab_size=None)
BERT_BASE = Shape(hidden=768, layers=12, heads=12, intermediate=3072, vocab_size=30522)


def _vocab(words: Iterable[str], size: int | None) -> list[str]:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = string.ascii_lowercase + string.digits + string.punctuation
    vocab += list(pieces) + [f"##{c}" for c in pieces]
    seen = set(vocab)
    for word in words:
        word = word.lower()
        if word and word not in seen and len(vocab) < (size or 10**9):
            seen.add(word)
            vocab.append(word)
    if size is not None:
        vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def build_detoxify_checkpoint(
    directory: Path,
    *,
    shape: Shape = TINY,
    words: Iterable[str] = TINY_WORDS,
    seed: int = 0,
    point_base_model_at_directory: bool = True,
    classifier_scale: float = 20.0,
) -> tuple[Path, Path]:
    """Write `model.ckpt` and a Hugging Face config dir `hf/`; return both paths.

    With `point_base_model_at_directory=False` the checkpoint names
    "bert-base-uncased" as the official ones do (install_model rewrites it).
    """
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    hf_dir = directory / "hf"
    hf_dir.mkdir(exist_ok=True)
    vocab = _vocab(words, shape.vocab_size)
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=shape.hidden, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, intermediate_size=shape.intermediate,
        max_position_embeddings=512, num_labels=len(ORIGINAL_CLASSES),
        id2label=dict(enumerate(DETOXIFY_LABELS)),
        label2id={label: i for i, label in enumerate(DETOXIFY_LABELS)},
    )
    config.save_pretrained(hf_dir)
    tokenizer = transformers.BertTokenizer(str(hf_dir / "vocab.txt"), do_lower_case=True,
                                           model_max_length=512)
    tokenizer.save_pretrained(hf_dir)
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config)
    # Spread the classifier's outputs so random weights give varied scores
    # (x20: logits spread about like a trained classifier's, std ~5; x1 leaves
    # every score near 0.5). The spread also scales up reduced-precision error.
    with torch.no_grad():
        model.classifier.weight.mul_(classifier_scale)
    checkpoint = {
        "config": {
            "arch": {
                "args": {
                    "model_type": str(hf_dir) if point_base_model_at_directory
                    else "bert-base-uncased",
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(ORIGINAL_CLASSES),
                }
            },
            "dataset": {"args": {"classes": ORIGINAL_CLASSES}},
        },
        "state_dict": model.state_dict(),
    }
    path = directory / "model.ckpt"
    torch.save(checkpoint, path)
    return path, hf_dir


class _RunsOnUnpickle:
    """Unpickling this runs a shell command: what a crafted checkpoint can do."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (self.command,))


def build_evil_checkpoint(directory: Path, marker: Path) -> tuple[Path, Path]:
    """The tiny model's checkpoint plus an object whose unpickling creates `marker`.

    Otherwise a valid detoxify checkpoint: a loader that unpickles it runs the
    command and then loads and scores as if nothing happened.
    """
    import torch

    path, hf_dir = build_detoxify_checkpoint(directory)
    loaded = torch.load(path, weights_only=True)
    loaded["config"]["payload"] = _RunsOnUnpickle(f"touch {shlex.quote(str(marker))}")
    torch.save(loaded, path)
    return path, hf_dir


# --- failing infrastructure -------------------------------------------------------


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers.

    What a hung broker looks like to a client: the connect succeeds and every
    read waits. `connections` counts the clients accepted. An ephemeral port,
    so parallel runs never collide.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._accepted.append(client)  # held open, never read or written

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for client in self._accepted:
            client.close()
        self._listener.close()


class _Deadline(BaseException):
    """Raised by the alarm; a BaseException, so no `except Exception` swallows it."""


@contextmanager
def returns_within(seconds: float) -> Iterator[None]:
    """Fail the test if the block is still running after `seconds`; never hang.

    A SIGALRM interrupts even a blocking socket read in the main thread (where
    pytest runs tests), so the block runs in this thread with the test's own
    database connection and transaction.
    """
    import pytest

    def expire(signum: int, frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Deadline:
        pytest.fail(f"still running after {seconds} s", pytrace=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- Policy (issue 14) ---------------------------------------------------------------


class PolicyManagerFactory(ModeratorFactory):
    """A moderator who may also change the policy (moderation.manage_policy)."""

    username = factory.Sequence(lambda n: f"policy{n}")

    @factory.post_generation
    def manage_policy(self, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Permission

            self.user_permissions.add(Permission.objects.get(codename="manage_policy"))


def score_exactly(comment: Comment, scores: dict[str, float], *,
                  model_key: str = MODEL_KEY) -> ToxicityScore:
    """Store exactly these scores for the comment's current text (no other labels)."""
    top = max(scores, key=scores.__getitem__)
    record = ToxicityScore.objects.create(
        comment=comment, model_key=model_key, content_hash=comment.content_hash,
        scores=scores, top_label=top, top_score=scores[top])
    Comment.objects.filter(pk=comment.pk).update(toxicity=scores[top], toxicity_label=top)
    return record


# The hand-checked backtest set: (toxicity score, what the moderator did).
BACKTEST_SET = [(0.9, "hide"), (0.8, "hide"), (0.7, "approve"), (0.6, "flag"),
                (0.5, "approve"), (0.4, "approve"), (0.3, "hide"), (0.2, "approve"),
                (0.1, "approve"), (0.05, "approve")]


def decided_set(moderator, rows=BACKTEST_SET, *, source: str = "news",
                model_key: str = MODEL_KEY) -> list[Comment]:
    """Comments in one thread of `source`, scored (toxicity only) and decided by the moderator
    through the real service, in the order given."""
    from moderation.decisions.services import comment_action_apply

    thread = ThreadFactory(source=source)
    comments = []
    for score, action in rows:
        comment = CommentFactory(thread=thread, body=f"comment scored {score}")
        score_exactly(comment, {"toxicity": score}, model_key=model_key)
        comment_action_apply(comment=comment, action=action, actor=moderator)
        comments.append(comment)
    return comments


@contextmanager
def keeping_given_times(*fields):
    """bulk_create keeps the times set on the objects instead of auto_now_add's "now"
    (fixture history: a report needs decisions spread over days)."""
    saved = [(f, f.pre_save) for f in fields]
    for f in fields:
        f.pre_save = lambda obj, add, _name=f.attname: getattr(obj, _name)
    try:
        yield
    finally:
        for f, pre_save in saved:
            f.pre_save = pre_save


def bulk_decided(moderators: list, n: int, *, source: str = "news", days: int = 20,
                 seed: int = 3, model_key: str = MODEL_KEY) -> None:
    """`n` comments with scores, a system queue decision and a moderator's decision each,
    spread over `days` (bulk inserts: a large report in a second, not a minute)."""
    import random

    from django.utils import timezone

    from moderation.models import Decision

    rng = random.Random(seed)
    thread = ThreadFactory(source=source)
    now = timezone.now()
    arrivals = [now - timedelta(days=days * rng.random(), hours=1) for _ in range(n)]
    with keeping_given_times(Comment._meta.get_field("imported_at")):
        comments = Comment.objects.bulk_create([
            Comment(thread=thread, external_id=f"bulk-{i}", body=f"bulk comment {i}",
                    content_hash=content_hash(f"bulk comment {i}"),
                    path=str(i).zfill(SEGMENT_WIDTH), state=Comment.State.PENDING,
                    imported_at=arrivals[i])
            for i in range(n)])
    scores, decisions = [], []
    for i, comment in enumerate(comments):
        acted = rng.random() < 0.3
        tox = min(1.0, max(0.0, rng.gauss(0.7 if acted else 0.25, 0.18)))
        scores.append(ToxicityScore(comment=comment, model_key=model_key,
                                    content_hash=comment.content_hash,
                                    scores={"toxicity": tox, "insult": tox * 0.8},
                                    top_label="toxicity", top_score=tox))
        decided = min(arrivals[i] + timedelta(minutes=rng.randint(1, 600)), now)
        decisions.append(Decision(
            comment=comment, action="queue", from_state="pending", to_state="pending",
            comment_version=1, model_key=model_key, top_label="toxicity", top_score=tox,
            created_at=arrivals[i] + timedelta(seconds=30)))
        if rng.random() < 0.9:  # the rest are still waiting
            decisions.append(Decision(
                comment=comment, actor=moderators[i % len(moderators)],
                action="hide" if acted else "approve", from_state="pending",
                to_state="hidden" if acted else "approved", comment_version=2,
                model_key=model_key, top_label="toxicity", top_score=tox,
                content_hash=comment.content_hash, created_at=decided))
    ToxicityScore.objects.bulk_create(scores)
    with keeping_given_times(Decision._meta.get_field("created_at")):
        Decision.objects.bulk_create(decisions)



# --- webhooks: a real receiver on 127.0.0.1 ----------------------------------------


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (ephemeral port) that records every POST it gets.

    `script`: how to answer, one entry per request in turn (the last one
    repeats): a status code, or ("sleep", seconds, status), or ("redirect",
    url), or ("trickle", seconds) (sends its answer one byte a second).
    `secret`: when given, `verified` lists the requests whose Standard
    Webhooks signature checks out.
    """

    def __init__(self, script: Sequence[object] = (200,), secret: str | None = None) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script = list(script)
        self.secret = secret
        self.received: list[ReceivedWebhook] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                # The client may give up first (its deadline): that is the point of some tests.
                with suppress(BrokenPipeError, ConnectionResetError):
                    self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    step = receiver.script[min(len(receiver.received), len(receiver.script) - 1)]
                    status = step if isinstance(step, int) else 200
                    if isinstance(step, tuple) and step[0] == "sleep":
                        status = step[2]
                    elif isinstance(step, tuple) and step[0] == "redirect":
                        status = 302
                    receiver.received.append(ReceivedWebhook(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                if isinstance(step, tuple) and step[0] == "trickle":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(int(step[1])):
                        self.wfile.write(b"X")
                        self.wfile.flush()
                        time.sleep(1)
                    return
                self.send_response(status)
                if isinstance(step, tuple) and step[0] == "redirect":
                    self.send_header("Location", step[1])
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if 200 <= status < 300 else b"<b>nope</b>")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/threadkeeper"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def verified(self) -> list[ReceivedWebhook]:
        from moderation.events.webhooks import webhook_verify

        assert self.secret is not None
        return [r for r in self.received
                if webhook_verify(secret=self.secret, headers=r.headers, body=r.body)]

    def successes(self) -> list[ReceivedWebhook]:
        return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received)} request(s), not {count}")

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

# --- the v1 API (issue 15) ----------------------------------------------------------


class ApiClient:
    """Django's test client speaking JSON to /api/v1/ with one API key."""

    def __init__(self, client, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        out.update(headers or {})
        return out

    def get(self, path: str, data: dict | None = None, **headers):
        return self.client.get(_api_path(path), data, **self._headers(headers))

    def post(self, path: str, body=None, **headers):
        return self.client.post(_api_path(path), json.dumps(body), content_type="application/json",
                                **self._headers(headers))

    def patch(self, path: str, body=None, **headers):
        return self.client.patch(_api_path(path), json.dumps(body),
                                 content_type="application/json", **self._headers(headers))

    def delete(self, path: str, **headers):
        return self.client.delete(_api_path(path), **self._headers(headers))


def _api_path(path: str) -> str:
    return path if path.startswith("/") else f"/api/v1/{path}"


def api_error(response) -> dict:
    """The error envelope of a JSON error response (asserting its shape)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick), for a server of this test run."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_json(base: str, method: str, path: str, *, key: str | None = None, body=None,
              timeout: float = 30) -> tuple[int, dict]:
    """One JSON request to a real server (HTTPS said by X-Forwarded-Proto): (status, body)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("X-Forwarded-Proto", "https")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

# --- languages (issue 12 part 4) ------------------------------------------------------

# A Turkish book review, an English and a German comment, long enough to be
# detected confidently; and a text too short to tell.
TURKISH_REVIEW = ("Bu kitabı çok beğendim, yazarın anlatımı akıcı ve karakterler çok canlı. "
                  "Herkese tavsiye ederim.")
ENGLISH_COMMENT = "I disagree with the premise, but the reporting on the court ruling is solid."
GERMAN_COMMENT = "Ich finde den Artikel sehr gut geschrieben, aber der Schluss überzeugt nicht."
SHORT_COMMENT = "lol ok"


class EnglishMarkerScorer(MarkerScorer):
    """A MarkerScorer that declares it reads English only, like detoxify original."""

    languages = ("en",)


class MultilingualMarkerScorer(MarkerScorer):
    """A MarkerScorer that declares detoxify multilingual's seven languages."""

    languages = ("en", "fr", "es", "it", "pt", "tr", "ru")

# --- the embedded model (tox-block) -------------------------------------------------

TOXBLOCK_RECORDING = ROOT / "tests" / "data" / "toxblock" / "keras_recording.json.gz"


def load_toxblock_recording() -> dict:
    """scripts/convert_toxblock.py's recording: texts, Keras ids and raw scores, labels."""
    import gzip
    import json

    with gzip.open(TOXBLOCK_RECORDING, "rt", encoding="utf-8") as handle:
        return json.load(handle)

# --- queuefeat: score bands, authors, search, threads table (browser tests) ----------

# Bodies and scores of the "desk" thread: a spread over the whole score range.
DESK_BODIES = [
    "You are an idiot and a liar, crawl back under your rock.",
    "Absolute garbage reporting from clowns, cancel my subscription.",
    "Shut up, nobody asked for your stupid opinion on the harbour.",
    "This is nonsense and the council knows it.",
    "The harbour project is over budget again, who signed this off?",
    "I disagree with the premise, but the harbour reporting is solid.",
    "Does anyone have a link to the council minutes?",
    "Thanks for the thoughtful piece on the harbour.",
    "Great photos, the old lighthouse looks lovely.",
    "My grandfather worked at that harbour for forty years.",
    "Parking near the harbour has been a mess all summer.",
    "Well written, thank you.",
]
DESK_SCORES = [0.97, 0.93, 0.88, 0.81, 0.66, 0.58, 0.34, 0.21, 0.12, 0.08, 0.05, 0.02]


def desk_seed(tmp_path: Path) -> None:
    """Two threads for the queuefeat browser tests: "desk" (12 scored comments by 7
    authors, native) and "letters" (2 comments, disqus)."""
    import_threads(tmp_path, [
        thread_document("desk", DESK_BODIES, title="Harbour redevelopment: council votes"),
        thread_document("letters", ["A letter about the library.", "Another letter."],
                        title="Letters to the editor"),
    ], name="desk.json")
    Thread.objects.filter(external_id="letters").update(source="disqus")
    for comment in Comment.objects.filter(thread__external_id="desk"):
        index = int(comment.external_id.split("-")[1])
        score_comment(comment, DESK_SCORES[index], label="insult" if index % 3 == 0
                      else "toxicity")
    for comment in Comment.objects.filter(thread__external_id="letters"):
        score_comment(comment, 0.04)


def csp_violations(page) -> list[str]:
    """Every Content-Security-Policy violation the page reports, across navigations."""
    violations: list[str] = []
    page.expose_function("reportCspViolationQf", lambda text: violations.append(text))
    page.add_init_script("""document.addEventListener("securitypolicyviolation", (e) =>
        window.reportCspViolationQf(e.violatedDirective + " " + e.blockedURI));""")
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return violations


# --- official model download: a loopback file server -------------------------------


class ModelFileServer:
    """An HTTP server on 127.0.0.1 (ephemeral port) that serves `files` (path -> bytes).

    As detoxify's release host and the hub do: Content-Length, `Range: bytes=N-`
    answered with 206 and Content-Range (unless `ignore_range`), 404 for any
    other path. `truncate_next[path] = n` makes the next response for that path
    announce the full length, send n bytes and close: an interrupted download.
    `requests` records (path, Range header or None) for every request.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.files = dict(files)
        self.truncate_next: dict[str, int] = {}
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                range_header = self.headers.get("Range")
                server.requests.append((path, range_header))
                body = server.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if range_header and not server.ignore_range:
                    start = int(range_header.removeprefix("bytes=").rstrip("-"))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                payload = body[start:]
                cut = server.truncate_next.pop(path, None)
                if cut is not None:
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def paths_requested(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __enter__(self) -> ModelFileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def official_model_files(directory: Path) -> tuple[dict[str, bytes], str]:
    """A tiny checkpoint in detoxify's release form and its base model's hub files.

    Returns ({server path: bytes}, the checkpoint's sha256). The checkpoint
    names "bert-base-uncased" as the official `original` one does; the hub's
    config.json has no id2label for its six classes, as bert-base-uncased's
    has not; there is no tokenizer.json (optional: a 404), and the base
    model's own weights are there to prove they are never asked for.
    """
    import hashlib

    checkpoint, hf_dir = build_detoxify_checkpoint(directory,
                                                   point_base_model_at_directory=False)
    config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    for key in ("id2label", "label2id", "architectures"):
        config.pop(key, None)
    data = checkpoint.read_bytes()
    hub = "/hub/bert-base-uncased/resolve/main/"
    files = {
        f"{hub}config.json": json.dumps(config).encode(),
        f"{hub}vocab.txt": (hf_dir / "vocab.txt").read_bytes(),
        f"{hub}tokenizer_config.json": (hf_dir / "tokenizer_config.json").read_bytes(),
        f"{hub}model.safetensors": b"base model weights: never needed",
    }
    sha256 = hashlib.sha256(data).hexdigest()
    files[f"/releases/v-test/tiny_original-{sha256[:8]}.ckpt"] = data
    return files, sha256


# --- browser tests: where their screenshots go -------------------------------------
# `SCREENSHOTS_DIR=docs/screenshots make test` refreshes the committed
# screenshots; otherwise they go to a temporary folder, so a test run leaves
# the checkout as it was.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "threadkeeper-screenshots"
)
