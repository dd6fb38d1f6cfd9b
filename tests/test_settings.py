"""Settings come from the environment; a dev-only secret exists only with DEBUG on."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PROBE = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps([settings.DEBUG, settings.SECRET_KEY, "
    "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.ALLOWED_HOSTS]))"
)


def probe(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_secret_without_debug_is_refused():
    result = probe()
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_debug_gets_a_dev_key_and_local_defaults():
    import json

    result = probe(DEBUG="1")
    debug, key, engine, broker, hosts = json.loads(result.stdout)
    assert debug is True and key.startswith("dev-only")
    assert engine == "django.db.backends.sqlite3"
    assert broker == "redis://127.0.0.1:6379/0"
    assert hosts == ["127.0.0.1", "localhost"]


def test_environment_overrides():
    import json

    result = probe(
        SECRET_KEY="s3cret",
        DATABASE_URL="postgres://u@db.example:5433/x",
        CELERY_BROKER_URL="redis://broker:6379/2",
        ALLOWED_HOSTS="a.example,b.example",
    )
    debug, key, engine, broker, hosts = json.loads(result.stdout)
    assert (debug, key, broker, hosts) == (
        False,
        "s3cret",
        "redis://broker:6379/2",
        ["a.example", "b.example"],
    )
    assert engine == "django.db.backends.postgresql"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SECURE_HSTS_SECONDS", "one year", "SECURE_HSTS_SECONDS='one year' is not a whole number"),
    ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS='-1' must be at least 0"),
    ("SECURE_SSL_REDIRECT", "ture", "SECURE_SSL_REDIRECT='ture' is not a boolean"),
    ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "y", "SECURE_HSTS_INCLUDE_SUBDOMAINS='y' is not a boolean"),
    ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE='maybe' is not a boolean"),
    ("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO",
     "SECURE_PROXY_SSL_HEADER='HTTP_X_FORWARDED_PROTO' is not a header name"),
    ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https",
     "SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto: https' is not a header name"),
])
def test_a_bad_security_value_is_refused_by_name(name, value, message):
    result = probe(SECRET_KEY="s3cret", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_dashboard_time_zone_that_is_not_one_is_refused_at_start_up():
    # Read only when a page was drawn, a misspelt zone was a 500 on every page.
    result = probe(SECRET_KEY="s", DASHBOARD_TIME_ZONE="Europe/Berlln")
    assert result.returncode != 0
    assert "DASHBOARD_TIME_ZONE='Europe/Berlln' is not a time zone name" in result.stderr
    assert probe(SECRET_KEY="s", DASHBOARD_TIME_ZONE="Europe/Berlin").returncode == 0


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit():
    """PostgreSQL's JIT compile cost more than the reports' queries it was meant to speed up."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
