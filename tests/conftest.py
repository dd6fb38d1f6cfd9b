"""Every fixture of the suite, in one place (helpers are in tests/helpers.py)."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass

import pytest
from django.db import connections

from moderation.scoring.registry import reset_active_scorer
from tests.helpers import (
    CHROMIUM,
    LAUNCH_ARGS,
    TEST_PASSWORD,
    CeleryWorker,
    CommentFactory,
    MarkerScorer,
    ModelFileServer,
    ModeratorFactory,
    PolicyManagerFactory,
    SilentServer,
    StaffFactory,
    branch_thread_document,
    build_detoxify_checkpoint,
    child_database_url,
    gunicorn_start,
    import_threads,
    load_toxblock_recording,
    manage,
    official_model_files,
    point_celery_app,
    process_stop,
    production_environment,
    score_comment,
    thread_document,
)
from threads.models import Comment, Thread
from threads.services import threads_import_from_file


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher costs ~0.3 s per password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_remembered_source_modes(monkeypatch):
    """The feed's thread -> pre-moderated cache is off: it lives two seconds, so
    whether a query is saved depends on the host's speed (query counts would), and
    it would hold thread ids that a rolled-back test gives out again."""
    from moderation.decisions import events

    monkeypatch.setattr(events, "MODE_CACHE_SECONDS", 0)


@pytest.fixture(autouse=True)
def _no_scoring_enqueue(settings):
    """Imports in tests do not publish scoring tasks to the shared Redis.

    Tests of the enqueueing itself set SCORING_AUTO_ENQUEUE back on.
    """
    settings.SCORING_AUTO_ENQUEUE = False


# --- imports ----------------------------------------------------------------------


@pytest.fixture
def import_json(tmp_path):
    """Write a native JSON document to a file and import it; returns the report."""

    def run(document, name="import.json", **kwargs):
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return threads_import_from_file(path=path, **kwargs)

    return run


@pytest.fixture
def make_thread(import_json):
    """Import one thread of comments with these bodies; returns their Comment rows."""
    counter = {"n": 0}

    def make(bodies, external_id=None):
        counter["n"] += 1
        external_id = external_id or f"t{counter['n']}"
        document = {"threads": [{
            "external_id": external_id, "title": f"Thread {external_id}",
            "comments": [{"external_id": f"c{i}", "body": body} for i, body in enumerate(bodies)],
        }]}
        import_json(document, name=f"{external_id}.json")
        return list(Comment.objects.filter(thread__external_id=external_id).order_by("pk"))

    return make


@pytest.fixture
def scored_thread(db, tmp_path):
    """One thread of 8 comments with scores 0.95, 0.85, ... (6 over the threshold)."""
    import_threads(tmp_path, [thread_document("t1", [f"comment number {i}" for i in range(8)])])
    thread = Thread.objects.get(external_id="t1")
    comments = list(Comment.objects.filter(thread=thread).order_by("path"))
    for i, comment in enumerate(comments):
        score_comment(comment, round(0.95 - 0.1 * i, 2), label="insult" if i % 2 else "toxicity")
    return thread


@pytest.fixture
def comment(db):
    return CommentFactory()


# --- people -----------------------------------------------------------------------


@pytest.fixture
def moderator(db):
    return ModeratorFactory(username="mod")


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def staff(db):
    """Signed-in staff who can view comments in admin but may not moderate."""
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_comment", "view_thread", "view_decision"])
    )
    return user


# --- scorers ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(checkpoint, hf_config_dir) of a 2-layer BERT in detoxify's format."""
    return build_detoxify_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"))


@pytest.fixture
def use_tiny_detoxify(settings, tiny_model):
    checkpoint, hf_dir = tiny_model
    settings.SCORER = "detoxify"
    settings.DETOXIFY_CHECKPOINT = str(checkpoint)
    settings.DETOXIFY_HF_CONFIG = str(hf_dir)
    settings.SCORING_PRECISION = "fp32"
    reset_active_scorer()
    yield tiny_model
    reset_active_scorer()


@pytest.fixture
def marker_scorer():
    return MarkerScorer()


@pytest.fixture(scope="session")
def embedded_scorer():
    """The embedded model (tox-block in PyTorch), loaded once for the session."""
    from moderation.scoring.embedded import EmbeddedScorer

    return EmbeddedScorer()


@pytest.fixture(scope="session")
def toxblock_recording():
    """The Keras model's own ids and scores for fixed texts (tests/data/toxblock/)."""
    return load_toxblock_recording()


@pytest.fixture
def embedded_model_copy(tmp_path, monkeypatch):
    """A copy of the embedded model's files that a test may damage; the registry reads it."""
    import shutil

    from moderation.scoring import embedded

    directory = tmp_path / "embedded_model"
    shutil.copytree(embedded.MODEL_DIR, directory)
    monkeypatch.setattr(embedded, "MODEL_DIR", directory)
    reset_active_scorer()
    yield directory
    reset_active_scorer()


# --- browsers and servers -----------------------------------------------------------


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium, driven by Playwright."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop running in this thread; the ORM
    # calls made meanwhile (and the close below) are ordinary blocking calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
        # While Playwright's event loop runs in this thread, Django keeps this
        # thread's connections in a context variable (asgiref's Local), out of
        # sight of the test database teardown once the loop stops: close them
        # here, or PostgreSQL refuses to drop the test database.
        connections.close_all()


@dataclass(frozen=True)
class ProductionServer:
    url: str
    env: dict[str, str]
    username: str
    password: str


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """Real gunicorn, DEBUG off, the documented production environment, a fresh SQLite.

    Set up as docs/deploy.md says: migrate, collectstatic, create_moderator. It
    sits behind no proxy: requests say https themselves with X-Forwarded-Proto.
    """
    directory = tmp_path_factory.mktemp("deploy")
    env = production_environment(directory)
    for args, stdin in [(("migrate", "--no-input", "-v0"), None),
                        (("collectstatic", "--no-input", "-v0"), None),
                        (("create_moderator", "mod", "--password-stdin"), TEST_PASSWORD + "\n")]:
        result = manage(env, *args, stdin=stdin)
        assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr}"
    port = int(os.environ.get("DEPLOY_TEST_PORT", "18491"))
    process = gunicorn_start(env, port)
    try:
        yield ProductionServer(f"http://127.0.0.1:{port}", env, "mod", TEST_PASSWORD)
    finally:
        process_stop(process)
# --- brokers ----------------------------------------------------------------------


@pytest.fixture
def hung_broker():
    """This process's task messages go to a broker that accepts and never answers."""
    from config.celery import app

    saved = (app.conf.broker_url, app.conf.task_default_queue)
    with SilentServer() as server:
        point_celery_app(server.url)
        try:
            yield server
        finally:
            point_celery_app(*saved)
# --- Celery: background branch jobs --------------------------------------------------

# The real Redis, a database of its own (the scoring worker tests use DB 5).
BRANCH_JOB_BROKER = os.environ.get("TEST_BRANCH_JOB_BROKER", "redis://127.0.0.1:6379/10")


@pytest.fixture
def branch_job_queue():
    """This process sends task messages to a fresh queue on the real Redis; returns its name."""
    import redis

    from config.celery import app

    queue = f"tk-branch-{uuid.uuid4().hex[:10]}"
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app(BRANCH_JOB_BROKER, queue)
    yield queue
    redis.Redis.from_url(BRANCH_JOB_BROKER).delete(queue, f"{queue}.unacked")
    point_celery_app(*saved)


@pytest.fixture
def branch_job_worker(branch_job_queue, tmp_path):
    """A real prefork worker on that queue, reading the test database by name.

    Tests using it commit (transaction=True). Call .start() again after .kill().
    """
    env = {
        **os.environ,
        "SECRET_KEY": "test-worker", "DEBUG": "0", "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": BRANCH_JOB_BROKER, "CELERY_TASK_DEFAULT_QUEUE": branch_job_queue,
        "SCORING_AUTO_ENQUEUE": "0", "LOG_LEVEL": "DEBUG",
    }
    worker = CeleryWorker(branch_job_queue, env, tmp_path / "worker.log")
    worker.start()
    worker.wait_for_log("ready.")
    yield worker
    worker.stop()


@pytest.fixture
def big_branch(import_json):
    """A 1,200-comment branch (a few levels deep) and one comment outside it, imported.

    Returns (root, ids of the branch in path order, the outside comment)."""
    import_json({"threads": [branch_thread_document("big", 1200)]}, name="big.json")
    branch = list(Comment.objects.filter(thread__external_id="big")
                  .exclude(external_id="big-outside").order_by("path"))
    return branch[0], [c.pk for c in branch], Comment.objects.get(external_id="big-outside")


# --- Policy (issue 14) -----------------------------------------------------------------


@pytest.fixture
def policy_manager(db):
    return PolicyManagerFactory(username="policymanager")


@pytest.fixture
def policy_client(client, policy_manager):
    client.force_login(policy_manager)
    return client

# --- The moderator's shift (issue 13) -------------------------------------------------


@pytest.fixture
def long_queue(db, tmp_path):
    """30 comments in review (more than a page of 25), scores 0.99 down to 0.70, and a
    low-scored one outside the queue; returns the review ids in queue order."""
    bodies = [f"Queue comment number {i}, long enough to read." for i in range(30)]
    bodies.append("A kind and thoughtful comment.")
    import_threads(tmp_path, [thread_document("long", bodies, title="A long thread")],
                   name="long.json")
    comments = list(Comment.objects.filter(thread__external_id="long").order_by("path"))
    for i, comment in enumerate(comments[:30]):
        score_comment(comment, round(0.99 - 0.01 * i, 2), label="insult")
    score_comment(comments[30], 0.03, label="insult")
    return [c.pk for c in comments[:30]]

# --- webhooks and the decisions feed ---------------------------------------------------

# The real Redis, the events package's own database.
WEBHOOK_BROKER = os.environ.get("TEST_WEBHOOK_BROKER", "redis://127.0.0.1:6379/9")
# What a receiver on this machine needs (tests only: production allows public https).
WEBHOOK_TEST_ENV = {
    "WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.3", "WEBHOOK_TIMEOUT": "2",
}


@pytest.fixture
def webhook_settings(settings):
    """Receivers on 127.0.0.1 over plain http are allowed; retries come quickly."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3
    settings.WEBHOOK_TIMEOUT = 2.0
    return settings


@pytest.fixture
def webhook_queue():
    """This process sends task messages to a fresh queue on the real Redis; returns its name."""
    import redis

    from config.celery import app

    queue = f"tk-webhooks-{uuid.uuid4().hex[:10]}"
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app(WEBHOOK_BROKER, queue)
    yield queue
    redis.Redis.from_url(WEBHOOK_BROKER).delete(queue, f"{queue}.unacked")
    point_celery_app(*saved)


@pytest.fixture
def webhook_worker(webhook_queue, tmp_path):
    """A real prefork worker on that queue, with the webhook test settings. Tests commit."""
    env = {
        **os.environ, **WEBHOOK_TEST_ENV,
        "SECRET_KEY": "test-worker", "DEBUG": "0", "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": WEBHOOK_BROKER, "CELERY_TASK_DEFAULT_QUEUE": webhook_queue,
        "SCORING_AUTO_ENQUEUE": "0", "LOG_LEVEL": "INFO",
    }
    worker = CeleryWorker(webhook_queue, env, tmp_path / "webhook-worker.log")
    worker.start()
    worker.wait_for_log("ready.")
    yield worker
    worker.stop()

# --- the v1 API (issue 15) ----------------------------------------------------------


@pytest.fixture
def api_key(db):
    """Make an API key with these scopes; returns its secret."""
    from moderation.api.keys import api_key_create

    counter = {"n": 0}

    def make(*scopes: str, **kwargs) -> str:
        counter["n"] += 1
        name = kwargs.pop("name", f"integration-{counter['n']}")
        return api_key_create(name=name, scopes=scopes or ("read",), **kwargs).secret

    return make


@pytest.fixture
def api(client, api_key):
    """An ApiClient holding a key with every scope; `api.as_(scopes...)` for another."""
    from tests.helpers import ApiClient

    full = ApiClient(client, api_key("ingest", "read", "moderate", "analyze", name="full"))
    full.as_ = lambda *scopes, **kw: ApiClient(client, api_key(*scopes, **kw) if scopes else None)
    return full


# The real Redis database of the API's end-to-end tests (queues of their own in it).
API_BROKER = os.environ.get("TEST_API_BROKER", "redis://127.0.0.1:6379/8")


@dataclass
class ApiServer:
    base: str
    env: dict[str, str]
    key: str  # ingest, read and moderate
    worker: CeleryWorker


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    """The documented production set-up on a fresh SQLite: real gunicorn, a real Celery
    worker (the offline fallback scorer) on its own queue of the real Redis, and an API
    key made by `create_api_key`."""
    import redis

    from tests.helpers import free_port

    directory = tmp_path_factory.mktemp("api")
    queue = f"tk-api-{uuid.uuid4().hex[:10]}"
    env = production_environment(directory, CELERY_BROKER_URL=API_BROKER,
                                 CELERY_TASK_DEFAULT_QUEUE=queue, SCORER="fallback",
                                 SCORING_AUTO_ENQUEUE="1", **WEBHOOK_TEST_ENV)
    assert manage(env, "migrate", "--no-input", "-v0").returncode == 0
    made = manage(env, "create_api_key", "site", "--scope", "ingest,read,moderate")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    worker = CeleryWorker(queue, env, directory / "worker.log")
    worker.start()
    port = free_port()
    server = gunicorn_start(env, port)
    try:
        worker.wait_for_log("ready.")
        yield ApiServer(f"http://127.0.0.1:{port}", env, key, worker)
    finally:
        process_stop(server)
        worker.stop()
        redis.Redis.from_url(API_BROKER).delete(queue, f"{queue}.unacked")

# --- queuefeat: score bands, authors, search, threads table ---------------------------


@pytest.fixture
def desk(transactional_db, tmp_path, monkeypatch):
    """The desk_seed threads and a moderator "mod", for the browser tests (committed)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from tests.helpers import desk_seed

    desk_seed(tmp_path)
    return ModeratorFactory(username="mod")

# --- the official model download ---------------------------------------------------


@pytest.fixture
def models_dir_isolated(settings, tmp_path_factory):
    """MODELS_DIR never points into the checkout: a fresh (not yet created) directory.

    Not autouse: an autouse `settings` user changes the fixture order of the
    live-server browser tests (the branch-job undo test then fails)."""
    settings.MODELS_DIR = str(tmp_path_factory.getbasetemp() / f"models-{uuid.uuid4().hex[:8]}")


@dataclass
class OfficialServer:
    server: ModelFileServer
    sha256: str  # of the checkpoint as served
    checkpoint_path: str  # its path on the server


@pytest.fixture
def official_server(settings, monkeypatch, tmp_path):
    """detoxify's release host and the hub on 127.0.0.1, serving a tiny `original` model.

    The release table's `original` entry names the tiny checkpoint (its file
    name carries its own hash prefix, as the real ones do); the download
    settings point at the server; MODELS_DIR is tmp_path/models.
    """
    from dataclasses import replace

    from moderation.scoring import official

    files, sha256 = official_model_files(tmp_path / "served")
    (release_path,) = [path for path in files if path.startswith("/releases/")]
    monkeypatch.setitem(official.OFFICIAL_RELEASES, "original", replace(
        official.OFFICIAL_RELEASES["original"],
        release_path=release_path.removeprefix("/releases/")))
    with ModelFileServer(files) as server:
        settings.DETOXIFY_RELEASE_URL = f"{server.url}/releases"
        settings.MODEL_HUB_URL = f"{server.url}/hub"
        settings.MODELS_DIR = str(tmp_path / "models")
        settings.SCORER = "auto"
        settings.DETOXIFY_CHECKPOINT = ""
        reset_active_scorer()
        yield OfficialServer(server, sha256, release_path)
        reset_active_scorer()
