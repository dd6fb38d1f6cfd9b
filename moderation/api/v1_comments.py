"""/api/v1/comments: ingest, read, act (filled in by the ingest and action work)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["comments"])
