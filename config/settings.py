"""Threadkeeper settings, read from the environment with safe local defaults.

Every setting an operator may change is an environment variable; nothing secret
lives in the repository. A development-only SECRET_KEY is used only while DEBUG
is on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zoneinfo
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    # A typo must not quietly turn a security setting off.
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off"
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}")
    return number


# A header name as the proxy sends it (token characters). Underscores are left
# out on purpose: nginx and gunicorn drop such headers, so it could never arrive.
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` -> ("HTTP_X_FORWARDED_PROTO", "https"); unset -> None."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not _HEADER_NAME.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a header name; give the header the proxy sets, "
            "e.g. X-Forwarded-Proto (its value must be https on secure requests)"
        )
    return ("HTTP_" + value.upper().replace("-", "_"), "https")


def env_json(name: str, default: object) -> object:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for a "
            "development-only key."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "threads",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "moderation.dashboard.middleware.ModeratorTimeZoneMiddleware",
    # JSON errors and the body limits under API_PREFIX (moderation/api/errors.py).
    "moderation.api.errors.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The dashboard's template tags live in its feature package.
            "libraries": {"dashboard": "moderation.dashboard.templatetags",
                          "policy": "moderation.policy.templatetags"},
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # 0 (Django's default) closes the connection after each request: a
        # threaded server (runserver, the test live server) makes a thread per
        # request, whose persistent connection would outlive it. Raise it under
        # gunicorn/uwsgi workers with a fixed set of threads.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: PostgreSQL compiles any query whose estimated cost
    # passes jit_above_cost, and for the reports' and the queue's queries over
    # a million comments that compiling (about 0.5 s) took longer than running
    # them (docs/benchmarks.md, "PostgreSQL's JIT").
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while a worker writes; the timeout rides out
    # the short write locks an import or a scoring batch takes. A page cache
    # of up to 16 MiB per connection (SQLite's default is 2 MiB; pages are
    # only held as they are read): a large import touches index pages all
    # over the comment table. 64 MiB was no faster and was most of a large
    # import's peak memory (figures: docs/benchmarks.md).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # One file per checkout, so two checkouts' test runs never share it.
    _checkout_id = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:10]
    # A file, not memory, for the test database: the real Celery worker that
    # the scoring tests start is another process and must see the same data.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_NAME")
        or str(Path(tempfile.gettempdir()) / f"threadkeeper-test-{_checkout_id}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- The moderator's shift (issue 13) ---
# The zone the dashboard shows dates in for a moderator who has not chosen one
# (My settings); empty: TIME_ZONE. An IANA name such as "Europe/Berlin".
DASHBOARD_TIME_ZONE = os.environ.get("DASHBOARD_TIME_ZONE", "").strip()
if DASHBOARD_TIME_ZONE:
    try:
        zoneinfo.ZoneInfo(DASHBOARD_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Refused at start-up: as a page-time error it was a 500 on every page.
        raise ImproperlyConfigured(
            f"DASHBOARD_TIME_ZONE={DASHBOARD_TIME_ZONE!r} is not a time zone name "
            "(an IANA name such as 'Europe/Berlin')") from None

STATIC_URL = "static/"
# `collectstatic` copies (and compresses) every static file here; WhiteNoise
# serves them from the app process with DEBUG off (docs/deploy.md).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "var" / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed, not Manifest: a manifest makes every {% static %} fail until
    # collectstatic has run (every test run, every fresh checkout), for the
    # sake of hashed names that only let browsers cache three files forever.
    # Unhashed files are served with a short max-age and revalidated by ETag,
    # so a new release's script reaches moderators within a minute.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# TLS ends at the reverse proxy (docs/deploy.md). Off by default: HSTS is hard to
# take back once browsers have seen it, and a redirect to https without the
# proxy header below loops forever, so each is an operator's decision.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
# Trust this header only when a proxy in front always sets (or strips) it: a
# client could otherwise claim https itself.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")

# Content-Security-Policy on every response (django-csp; docs/dashboard.md):
# scripts and styles only from our own static files, no inline script or
# style, no eval. The templates carry no style attributes, and htmx's own
# indicator <style> is switched off in base.html. Django admin runs under the
# same policy: it has no inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    },
}

# Characters of a comment's body that a card, a thread node, the history page
# and admin show; "show all" fetches the rest (docs/dashboard.md).
COMMENT_PREVIEW_CHARS = env_int("COMMENT_PREVIEW_CHARS", 1500, minimum=1)

# Salt for the one-way hash kept instead of commenter e-mail addresses. Change it
# per installation; changing it later only stops matching old hashes.
AUTHOR_HASH_SALT = os.environ.get("AUTHOR_HASH_SALT", SECRET_KEY)

# --- Import limits (docs/import-formats.md "Limits") ----------------------------
# A comment body (and its source markup) longer than this is refused, never cut.
IMPORT_MAX_BODY_CHARS = int(os.environ.get("IMPORT_MAX_BODY_CHARS", "50000"))
# A gzipped file stops with an error past this many decompressed bytes, or
# past this ratio of decompressed to compressed bytes (checked once the output
# passes 16 MiB): text exports compress well below the ratio; a bomb, far above.
IMPORT_GZIP_MAX_BYTES = int(os.environ.get("IMPORT_GZIP_MAX_BYTES", str(8 * 1024**3)))
IMPORT_GZIP_MAX_RATIO = int(os.environ.get("IMPORT_GZIP_MAX_RATIO", "100"))

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "threadkeeper")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every wait on the broker is bounded (seconds): a broker that accepts the
# connection and never answers costs a publish this long, once, and the caller
# warns and goes on (the sweep enqueues what was not sent), instead of hanging
# an import, a command or an admin page. Workers poll with BRPOP for 1 s, well
# inside it. Not a Celery setting itself (no CELERY_ prefix): it sets these.
BROKER_TIMEOUT = float(os.environ.get("CELERY_BROKER_TIMEOUT", "3"))
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_TIMEOUT,  # the TCP connect
    "socket_timeout": BROKER_TIMEOUT,  # every reply, the handshake's included
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The sweep re-enqueues whatever is unscored or stale: a lost message or a
# broker outage delays scoring, never loses it. See docs/scoring.md.
SCORING_SWEEP_SECONDS = env_int("SCORING_SWEEP_SECONDS", 300, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "scoring-sweep": {
        "task": "moderation.scoring.tasks.sweep_unscored_task",
        "schedule": float(SCORING_SWEEP_SECONDS),
    },
    # Branch hide jobs whose worker died or whose message was lost are sent again.
    "branch-job-sweep": {
        "task": "moderation.decisions.tasks.resume_stalled_branch_jobs_task",
        "schedule": 60.0,
    },
}
# A "hide branch" over this many comments runs as a background job, in chunks
# (docs/moderation.md); smaller ones are hidden within the request.
BRANCH_HIDE_SYNC_MAX = int(os.environ.get("BRANCH_HIDE_SYNC_MAX", "500"))

# --- Scoring (docs/scoring.md) ------------------------------------------------
# auto: detoxify when its weights are present, else the embedded model (tox-block
# in PyTorch, shipped in the repository); the profanity fallback only as a last
# resort. Also: detoxify, embedded, fallback (docs/scoring.md).
SCORER = os.environ.get("SCORER", "auto")
DETOXIFY_MODEL_TYPE = os.environ.get("DETOXIFY_MODEL_TYPE", "original")
DETOXIFY_CHECKPOINT = os.environ.get("DETOXIFY_CHECKPOINT", "")
DETOXIFY_HF_CONFIG = os.environ.get("DETOXIFY_HF_CONFIG", "")
SCORING_DEVICE = os.environ.get("SCORING_DEVICE", "cpu")
SCORING_BATCH_SIZE = env_int("SCORING_BATCH_SIZE", 32, minimum=1)
# auto: the fastest mode within 0.01 of fp32 on this CPU (moderation/scoring/precision.py).
SCORING_PRECISION = os.environ.get("SCORING_PRECISION", "auto")
# The worker shape, the fastest measured end to end for each model
# (docs/scoring.md "Celery"). Unset, the worker picks its children when it
# starts, from the model it will score with (moderation/scoring/receivers.py):
# detoxify, one child whose torch uses every core; the embedded model, one
# child per core (its torch runs one thread whatever it is given).
# `celery -A config worker -c N` and this setting override the pick; keep
# children x SCORING_TORCH_THREADS at most the cores.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 0, minimum=1) or None
CPU_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
SCORING_TORCH_THREADS = env_int(
    "SCORING_TORCH_THREADS", max(1, (CPU_CORES or 1) // (CELERY_WORKER_CONCURRENCY or 1)),
    minimum=1)
# Comment ids per task message. The scorer sorts by length within a task, so a
# larger task pads less, but a burst smaller than children x this leaves
# children idle: 256 suits one child with all cores' threads (docs/scoring.md).
SCORING_TASK_BATCH = env_int("SCORING_TASK_BATCH", 256, minimum=1)
# --- Official model download and precision (docs/scoring.md "The official model") ---
# Where `install_model --official TYPE` puts downloaded models.
MODELS_DIR = os.environ.get("MODELS_DIR") or str(BASE_DIR / "var" / "models")
# detoxify's release downloads and the Hugging Face hub (or mirrors of them).
DETOXIFY_RELEASE_URL = os.environ.get(
    "DETOXIFY_RELEASE_URL", "https://github.com/unitaryai/detoxify/releases/download")
MODEL_HUB_URL = (os.environ.get("MODEL_HUB_URL") or os.environ.get("HF_ENDPOINT")
                 or "https://huggingface.co")
# Seconds any one wait of a download may take (connect, or the next block).
MODEL_DOWNLOAD_TIMEOUT = env_int("MODEL_DOWNLOAD_TIMEOUT", 30, minimum=1)
# --- end official model -----------------------------------------------------------
# Enqueue scoring when an import or edit commits (off in most tests).
SCORING_AUTO_ENQUEUE = env_bool("SCORING_AUTO_ENQUEUE", default=True)
# JSON objects label -> threshold; unset labels keep the defaults in
# moderation/scoring/labels.py. Auto-hide is off unless a label is given here.
MODERATION_REVIEW_THRESHOLDS = env_json("MODERATION_REVIEW_THRESHOLDS", {})
MODERATION_AUTOHIDE_THRESHOLDS = env_json("MODERATION_AUTOHIDE_THRESHOLDS", {})

# --- Policy (docs/policy.md) ------------------------------------------------------
# What a banned watched word does: "review" (queue it) or "hide" (hide with no human).
MODERATION_BANNED_WORDS_ACTION = os.environ.get("MODERATION_BANNED_WORDS_ACTION", "review")
if MODERATION_BANNED_WORDS_ACTION not in ("review", "hide"):
    raise ImproperlyConfigured("MODERATION_BANNED_WORDS_ACTION must be review or hide")
# Days of decided comments a backtest reads when the form does not say.
POLICY_BACKTEST_DAYS = env_int("POLICY_BACKTEST_DAYS", 30, minimum=1)

# --- Decisions feed, webhooks, reader reports, Perspective (docs/api.md) ---------
# Webhook requests: the whole exchange ends after WEBHOOK_TIMEOUT seconds, the
# TCP (and TLS) connect after WEBHOOK_CONNECT_TIMEOUT.
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT", "3"))
# Attempts per delivery; the delay before attempt n+1 is BASE x 2^(n-1), at most MAX.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_SECONDS = float(os.environ.get("WEBHOOK_RETRY_MAX_SECONDS", str(6 * 3600)))
# A subscription is disabled after this many failed attempts in a row that
# span at least this many seconds (a short outage of a busy receiver is not enough).
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20, minimum=1)
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 24 * 3600)
# Plain-http receivers (a receiver on the same private network, tests).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", default=False)
# Networks (CIDR, comma-separated) a webhook may reach although they are
# private, loopback or reserved; empty: public addresses only.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "moderation.events.tasks.webhooks_sweep_task",
    "schedule": float(WEBHOOK_SWEEP_SECONDS),
}
# A pending or approved comment goes to the review queue when this many
# readers have reported it (0: reports never move a comment by themselves).
REPORTS_REVIEW_AFTER = env_int("REPORTS_REVIEW_AFTER", 3)
# Perspective-compatible endpoint: requests scored together (one model call)
# and how long the first request of a batch waits for others to join it.
PERSPECTIVE_BATCH_MAX = env_int("PERSPECTIVE_BATCH_MAX", 32, minimum=1)
PERSPECTIVE_BATCH_WAIT_MS = float(os.environ.get("PERSPECTIVE_BATCH_WAIT_MS", "5"))
# Longest comment text accepted (characters); Perspective's own limit is 20 KB.
PERSPECTIVE_MAX_TEXT_CHARS = env_int("PERSPECTIVE_MAX_TEXT_CHARS", 20480, minimum=1)

# --- API (docs/api.md) ----------------------------------------------------------
API_PREFIX = "/api/v1/"
# A request body over this is refused with 413 (a batch of 1,000 typical comments is ~1 MB).
API_MAX_REQUEST_BYTES = env_int("API_MAX_REQUEST_BYTES", 16 * 1024 * 1024, minimum=1024)
# Comments per ingest request.
API_MAX_BATCH = env_int("API_MAX_BATCH", 1000, minimum=1)
# Requests a minute per key (a key's own rate_limit overrides it); 0: no limit.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 6000)
# Where the per-key counters live: Redis when API_RATE_LIMIT_REDIS_URL is set (shared
# by all processes), else each process's memory (a limit per process).
API_RATE_LIMIT_REDIS_URL = os.environ.get("API_RATE_LIMIT_REDIS_URL", "")
API_RATE_LIMIT_CACHE = "api"
# Comments per page of a thread's tree.
API_TREE_PAGE_SIZE = env_int("API_TREE_PAGE_SIZE", 200, minimum=1)
# A source without an IngestSource row: "post" (visible unless hidden) or "pre".
API_DEFAULT_MODERATION = os.environ.get("API_DEFAULT_MODERATION", "post")
if API_DEFAULT_MODERATION not in ("post", "pre"):
    raise ImproperlyConfigured("API_DEFAULT_MODERATION must be post or pre")

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": API_RATE_LIMIT_REDIS_URL,
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
        if API_RATE_LIMIT_REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api"}
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
