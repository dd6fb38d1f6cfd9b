"""When an import may fork a helper process to parse (read-ahead, Disqus halves)."""

from __future__ import annotations

import multiprocessing
import os
import threading

from django.conf import settings


def forking_allowed() -> bool:
    """IMPORT_READ_AHEAD: "off" never, "on" where safe, "auto" where safe and useful.

    Safe: the platform can fork, this process runs no other thread (a fork
    copies locks other threads hold, such as a driver's or logging's, and the
    child could hang on one) and is not daemonic. Useful: a second core.
    """
    mode = settings.IMPORT_READ_AHEAD
    if mode == "off":
        return False
    safe = (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        # A daemonic process (a Celery prefork child, say) may not have children.
        and not multiprocessing.current_process().daemon
    )
    if mode == "auto":
        return safe and (os.cpu_count() or 1) > 1
    return safe
