"""Threadkeeper settings, read from the environment with safe local defaults.

Every setting an operator may change is an environment variable; nothing secret
lives in the repository. A development-only SECRET_KEY is used only while DEBUG
is on.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
    "threads",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
            "libraries": {"dashboard": "moderation.dashboard.templatetags"},
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
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
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

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Salt for the one-way hash kept instead of commenter e-mail addresses. Change it
# per installation; changing it later only stops matching old hashes.
AUTHOR_HASH_SALT = os.environ.get("AUTHOR_HASH_SALT", SECRET_KEY)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "threadkeeper")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The sweep re-enqueues whatever is unscored or stale: a lost message or a
# broker outage delays scoring, never loses it. See docs/scoring.md.
SCORING_SWEEP_SECONDS = int(os.environ.get("SCORING_SWEEP_SECONDS", "300"))
CELERY_BEAT_SCHEDULE = {
    "scoring-sweep": {
        "task": "moderation.scoring.tasks.sweep_unscored_task",
        "schedule": float(SCORING_SWEEP_SECONDS),
    },
}

# --- Scoring (docs/scoring.md) ------------------------------------------------
# auto: detoxify when its weights are present, else the offline fallback.
SCORER = os.environ.get("SCORER", "auto")
DETOXIFY_MODEL_TYPE = os.environ.get("DETOXIFY_MODEL_TYPE", "original")
DETOXIFY_CHECKPOINT = os.environ.get("DETOXIFY_CHECKPOINT", "")
DETOXIFY_HF_CONFIG = os.environ.get("DETOXIFY_HF_CONFIG", "")
SCORING_DEVICE = os.environ.get("SCORING_DEVICE", "cpu")
SCORING_BATCH_SIZE = int(os.environ.get("SCORING_BATCH_SIZE", "32"))
SCORING_PRECISION = os.environ.get("SCORING_PRECISION", "fp32")
# One torch thread per worker child; scale with worker concurrency instead, or run
# one child with all cores' threads (one model copy; docs/scoring.md "Celery").
SCORING_TORCH_THREADS = int(os.environ.get("SCORING_TORCH_THREADS", "1"))
# Comment ids per task message. The scorer sorts by length within a task, so a
# larger task pads less, but a burst smaller than children x this leaves
# children idle: 256 suits one child with all cores' threads (docs/scoring.md).
SCORING_TASK_BATCH = int(os.environ.get("SCORING_TASK_BATCH", "64"))
# Enqueue scoring when an import or edit commits (off in most tests).
SCORING_AUTO_ENQUEUE = env_bool("SCORING_AUTO_ENQUEUE", default=True)
# JSON objects label -> threshold; unset labels keep the defaults in
# moderation/scoring/labels.py. Auto-hide is off unless a label is given here.
MODERATION_REVIEW_THRESHOLDS = env_json("MODERATION_REVIEW_THRESHOLDS", {})
MODERATION_AUTOHIDE_THRESHOLDS = env_json("MODERATION_AUTOHIDE_THRESHOLDS", {})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
