"""Settings for the dashboard benchmark: the app's own, plus a timing middleware.

The middleware sits outermost so the Server-Timing header it adds covers the
whole Django request (sessions, auth, view, templates, queries): the
server-side time the benchmark reports.
"""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

MIDDLEWARE = ["bench.timing.ServerTimingMiddleware", *MIDDLEWARE]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
DEBUG = False
