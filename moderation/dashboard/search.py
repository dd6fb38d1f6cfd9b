"""Full-text search over comments (body and author name), threads and authors.

One query syntax on both databases: words (letters and digits) that must all
appear, in any order; `"two words"` for a phrase; `word*` for a prefix. Case
is ignored; there is no stemming (a moderator looking for a slur or a name
wants that word, in any language). Anything else in the text (punctuation,
operators) is ignored, so no input can break the query.

PostgreSQL matches the stored column `search_document`, generated as
`to_tsvector('simple', author name || body)` (migrations
moderation/0013_comment_search and 0015_comment_search_document), against a
tsquery built from the terms, served by its GIN index; SQLite matches its
FTS5 table, kept in sync by triggers. Both index the first SEARCH_INDEX_CHARS characters of a body.
Thread titles and author names are matched as substrings, for the short
"threads" and "authors" lists beside the results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from threads.models import Author, Comment, Thread

# Keep in step with migration moderation/0013_comment_search.
SEARCH_INDEX_CHARS = 100_000
# The stored tsvector column (migrations 0013 and 0015), GIN-indexed.
PG_DOCUMENT = "threads_comment.search_document"
SQLITE_TABLE = "moderation_comment_search"
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
# Terms: a "quoted phrase", or a word with an optional trailing * (prefix).
_TERM = re.compile(r'"([^"]*)"|(\w+)(\*?)')
_WORD = re.compile(r"\w+")


class SearchError(ValueError):
    """The search text cannot be searched for; the message says why."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    prefix: bool = False  # the last word is a prefix


@dataclass(frozen=True)
class SearchQuery:
    text: str
    terms: tuple[Term, ...]

    def tsquery(self) -> str:
        """PostgreSQL to_tsquery text; every word is \\w+ and quoted, so nothing is an operator."""
        parts = []
        for term in self.terms:
            words = [f"'{word}'" for word in term.words]
            if term.prefix:
                words[-1] += ":*"
            parts.append(" <-> ".join(words) if len(words) > 1 else words[0])
        return " & ".join(parts)

    def fts5(self) -> str:
        """SQLite FTS5 MATCH text: each term a quoted string, "a b" a phrase, "a"* a prefix."""
        return " AND ".join(
            '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "") for term in self.terms
        )


def search_parse(text: str) -> SearchQuery:
    """The terms of a search box's text; SearchError when nothing searchable is left."""
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(f"search text is longer than {MAX_QUERY_CHARS} characters")
    terms: list[Term] = []
    for match in _TERM.finditer(text):
        phrase, word, star = match.groups()
        if phrase is not None:
            words = tuple(w.lower() for w in _WORD.findall(phrase))
            if words:
                terms.append(Term(words))
        else:
            terms.append(Term((word.lower(),), prefix=bool(star)))
    if not terms:
        raise SearchError("search for at least one word (letters or digits)")
    if len(terms) > MAX_TERMS:
        raise SearchError(f"search for at most {MAX_TERMS} words or phrases")
    return SearchQuery(text=text, terms=tuple(terms))


def search_available() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def comments_matching(queryset: QuerySet[Comment], query: SearchQuery) -> QuerySet[Comment]:
    """These comments narrowed to those whose body or author name has every term."""
    if connection.vendor == "postgresql":
        return queryset.extra(
            where=[f"{PG_DOCUMENT} @@ to_tsquery('simple'::regconfig, %s)"],
            params=[query.tsquery()],
        )
    if connection.vendor == "sqlite":
        return queryset.extra(
            where=[f"threads_comment.id IN (SELECT rowid FROM {SQLITE_TABLE} "
                   f"WHERE {SQLITE_TABLE} MATCH %s)"],
            params=[query.fts5()],
        )
    raise SearchError(f"search needs PostgreSQL or SQLite, not {connection.vendor}")


def _substring_filter(field: str, query: SearchQuery) -> Q:
    condition = Q()
    for term in query.terms:
        condition &= Q(**{f"{field}__icontains": " ".join(term.words)})
    return condition


SIDE_LIST = 5


def threads_matching(query: SearchQuery, *, limit: int = SIDE_LIST) -> list[Thread]:
    """Threads whose title contains every term (newest first), for the list beside the results."""
    return list(Thread.objects.filter(_substring_filter("title", query)).defer("lead")
                .order_by("-published_at", "-id")[:limit])


def authors_matching(query: SearchQuery, *, limit: int = SIDE_LIST) -> list[Author]:
    return list(Author.objects.filter(_substring_filter("name", query)).order_by("name", "id")
                [:limit])
