"""Helper processes that parse for an import (read-ahead, Disqus halves): when
one may be forked, and starting and reaping one."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

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


def start_child(
    target: Callable[..., None], args: tuple[object, ...], name: str
) -> tuple[BaseProcess, Connection]:
    """Fork a child running `target(*args, send)`; return it and our end of the pipe.

    Only the child keeps the sending end open, so once it is gone our
    reads see EOF instead of waiting forever.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=target, args=(*args, send), name=name, daemon=True)
    child.start()
    send.close()
    return child, receive


def stop_child(child: BaseProcess, receive: Connection, wait: float) -> None:
    """Close our end (the child's next send fails and it exits through its own
    clean-up), give it `wait` seconds to do so, then kill it, and reap it."""
    receive.close()
    child.join(timeout=wait)
    if child.is_alive():
        child.kill()
        child.join()
    child.close()
