"""/api/v1/threads: a thread by (source, external id) or id, and its tree in keyset pages."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from moderation.models import ApiScope

from .auth import ApiKeyAuth
from .errors import ApiError
from .selectors import sources_premoderated, thread_by_external_id, thread_comments_page, thread_get
from .serialize import comment_json, thread_json

router = Router(tags=["threads"])


def _thread_out(thread) -> dict:
    premoderated = sources_premoderated(sources=[thread.source])[thread.source]
    return thread_json(thread, premoderated=premoderated)


@router.get("/threads", auth=ApiKeyAuth(ApiScope.READ),
            summary="A thread by its source and external id")
def thread_lookup(request: HttpRequest, source: str, external_id: str) -> dict:
    return _thread_out(thread_by_external_id(source=source, external_id=external_id))


@router.get("/threads/{thread_id}", auth=ApiKeyAuth(ApiScope.READ), summary="A thread")
def thread_read(request: HttpRequest, thread_id: int) -> dict:
    return _thread_out(thread_get(thread_id=thread_id))


def _cursor(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode("ascii")).decode("ascii").rstrip("=")


def _path_of(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        path = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "after: not a cursor this API gave out", field="after") from None
    if not path or not path.isprintable():
        raise ApiError(400, "after: not a cursor this API gave out", field="after")
    return path


@router.get("/threads/{thread_id}/comments", auth=ApiKeyAuth(ApiScope.READ),
            summary="The thread's comments in tree order, a page at a time")
def thread_comments(request: HttpRequest, thread_id: int, after: str = "",
                    limit: int | None = None) -> dict:
    thread = thread_get(thread_id=thread_id)
    most = settings.API_TREE_PAGE_SIZE
    limit = most if limit is None else limit
    if not 1 <= limit <= most:
        raise ApiError(400, f"limit: give 1 to {most}", field="limit")
    comments, more = thread_comments_page(thread=thread, after_path=_path_of(after) if after
                                          else "", limit=limit)
    premoderated = sources_premoderated(sources=[thread.source])[thread.source]
    return {
        "thread": thread_json(thread, premoderated=premoderated),
        "comments": [comment_json(c, premoderated=premoderated) for c in comments],
        "next": _cursor(comments[-1].path) if more else None,
    }
