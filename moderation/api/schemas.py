"""Request bodies, as pydantic models: validation for the small bodies, documentation for all.

The ingest body is read item by item by the importers' readers (ingest.py),
so that one bad item fails alone; its models here only describe it in the
OpenAPI schema (`DOCUMENTED`).
"""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field


class _Strict(Schema):
    # A misspelt field is an error, never silently dropped.
    model_config = ConfigDict(extra="forbid")


class ThreadIn(Schema):
    external_id: str = Field(description="The article's id on the site.")
    title: str = ""
    url: str = Field("", description="http or https; any other scheme is dropped.")
    published_at: datetime | None = None


class AuthorIn(Schema):
    external_id: str = Field("", description="The site's id for the commenter.")
    name: str = Field("", description="Display name.")
    email: str = Field("", description="Kept only as a salted hash, never stored in clear.")


class CommentIn(Schema):
    source: str = Field(description="The site or comment system: `coral`, `mysite`, …")
    thread: ThreadIn
    external_id: str = Field(description="The comment's id on the site, unique in its thread.")
    parent_id: str | None = Field(None, description="The parent comment's external id.")
    author: AuthorIn | None = None
    body: str = Field(description="Plain text, at most IMPORT_MAX_BODY_CHARS characters.")
    created_at: datetime | None = None


class CommentBatchIn(Schema):
    comments: list[CommentIn] = Field(description="1 to API_MAX_BATCH comments.")


class EditIn(_Strict):
    body: str
    expected_version: int | None = Field(
        None, description="409 if the comment's version is no longer this.")


class ActionIn(_Strict):
    action: str = Field(description="approve, flag, hide, restore or hide_branch.")
    reason: str = Field("", description="For flag / hide / hide_branch: a reason code.")
    note: str = ""
    expected_version: int | None = Field(
        None, description="The version the moderator saw; 409 naming who acted if it moved.")


class BulkItemIn(_Strict):
    id: int
    expected_version: int | None = None


class BulkActionIn(_Strict):
    action: str
    reason: str = ""
    note: str = ""
    comments: list[int | BulkItemIn] = Field(
        description="Comment ids, or {id, expected_version} objects; at most 500.")


class ErrorBody(Schema):
    code: str = Field(description="Stable, for programs: invalid, forbidden, stale_version, …")
    message: str = Field(description="For people: what was wrong, naming the field.")
    field: str | None = Field(None, description="The request field at fault, when one is.")


class ErrorOut(Schema):
    """Every error answer under /api/v1/ (more members for some codes: docs/api.md)."""

    error: ErrorBody


DOCUMENTED = (CommentIn, CommentBatchIn, ErrorOut)
