"""/api/v1/threads: a thread by (source, external id), a thread's tree in keyset pages."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["threads"])
