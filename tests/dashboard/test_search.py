"""Full-text search: PostgreSQL (GIN index on a tsvector) and SQLite (FTS5 kept in sync
by triggers), through the queue page that shows the results as cards."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from moderation.dashboard import search
from moderation.dashboard.queue import QueueFilters, queue_page
from tests.helpers import import_threads, thread_document
from threads.models import Comment

pytestmark = pytest.mark.django_db

BODIES = [
    "The mayor's zoning plan is a disgrace to Springfield.",
    "Zoning boards never listen; the plan passed anyway.",
    "Lovely photos of the harbour at dawn.",
    "Ünïcode Straße: Grüße aus Köln, and the harbour too.",
    "I'd ask the council about parking instead.",
]


def found(query: str, tab: str = "all") -> set[str]:
    page = queue_page(tab=tab, sort="newest",
                      filters=QueueFilters(query=search.search_parse(query)))
    return {c.body for c in page.comments}


def test_words_phrases_prefixes_and_author_names(make_thread):
    comments = make_thread(BODIES)
    comments[2].author_name = "Harbour Watcher"
    comments[2].save()
    assert found("zoning plan") == {BODIES[0], BODIES[1]}  # every word, any order
    assert found('"zoning plan"') == {BODIES[0]}  # a phrase
    assert found("ZONING") == {BODIES[0], BODIES[1]}  # case ignored
    assert found("zon*") == {BODIES[0], BODIES[1]}  # a prefix
    assert found("zon") == set()  # a whole word otherwise: no stemming
    assert found("straße köln") == {BODIES[3]}  # letters beyond ASCII, accents kept
    assert found("watcher") == {BODIES[2]}  # the author's name is searched too
    assert found("harbour") == {BODIES[2], BODIES[3]}
    # Operators of either engine are text, never syntax.
    assert found("plan & | ! ( ) : * ^ -") == {BODIES[0], BODIES[1]}
    assert found("zoning OR photos") == set()  # OR is a word to find, not an operator
    assert found("'; DROP TABLE threads_comment; --") == set()
    assert Comment.objects.count() == len(BODIES)


def test_the_index_follows_edits_and_deletions(make_thread):
    first, second, *_ = make_thread(BODIES)
    first.body = "Entirely rewritten: now about the aquarium."
    first.save()
    assert found("aquarium") == {first.body}
    assert found("springfield") == set()
    second.delete()
    assert found("boards") == set()
    # Changes that do not touch the text (a decision) leave the index alone.
    first.state = "hidden"
    first.save(update_fields=["state"])
    assert found("aquarium") == {first.body}


def test_search_is_a_filter_like_the_others(make_thread):
    comments = make_thread(BODIES)
    Comment.objects.filter(pk=comments[0].pk).update(state="hidden")
    assert found("zoning", tab="hidden") == {BODIES[0]}
    assert found("zoning", tab="approved") == set()


def test_bodies_beyond_the_index_limit_are_searched_in_their_first_part(make_thread):
    # Imports refuse such bodies; a row stored another way must not break the index.
    (comment,) = make_thread(["short"])
    long_body = "needle " + "x" * (search.SEARCH_INDEX_CHARS + 10) + " haystack"
    Comment.objects.filter(pk=comment.pk).update(body=long_body)
    assert len(found("needle")) == 1
    assert found("haystack") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN index")
def test_postgresql_uses_the_gin_index(make_thread):
    make_thread(BODIES)
    queryset = search.comments_matching(Comment.objects.all(), search.search_parse("zoning"))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = queryset.explain()
        cursor.execute("RESET enable_seqscan")
    assert "comment_search_document" in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_keeps_its_fts5_table_in_sync(make_thread):
    comments = make_thread(BODIES)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search.SQLITE_TABLE}")
        assert cursor.fetchone()[0] == len(BODIES)
        comments[0].delete()
        cursor.execute(f"SELECT rowid FROM {search.SQLITE_TABLE} WHERE {search.SQLITE_TABLE} "
                       "MATCH 'springfield'")
        assert cursor.fetchall() == []


@pytest.mark.parametrize("text, message", [
    ("!!! ???", "search for at least one word"),
    ("a b c d e f g h i", "at most 8 words"),
    ("x" * 201, "at most 200 characters"),
])
def test_unsearchable_text_is_a_400_that_says_why(moderator_client, text, message):
    response = moderator_client.get(reverse("moderation:queue", args=["all"]), {"q": text})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_results_are_queue_cards_with_matching_threads_and_authors(moderator_client,
                                                                   tmp_path):
    import_threads(tmp_path, [thread_document("s", BODIES, title="Harbour thread")])
    comments = list(Comment.objects.order_by("pk"))
    response = moderator_client.get(reverse("moderation:queue", args=["all"]),
                                    {"q": "harbour", "sort": "newest"})
    html = response.content.decode()
    assert response.status_code == 200
    ids = {int(pk) for pk in re.findall(r'data-card data-id="(\d+)"', html)}
    assert ids == {comments[2].pk, comments[3].pk}
    assert 'name="action" value="hide"' in html  # the same actions as the queue
    assert 'name="q" value="harbour"' in html  # the filters keep the search
    threads = moderator_client.get(reverse("moderation:queue", args=["all"]),
                                   {"q": "thread"}).content.decode()
    assert "Threads:" in threads and f"?thread={comments[0].thread_id}" in threads
    authors = moderator_client.get(reverse("moderation:queue", args=["all"]),
                                   {"q": "author0"}).content.decode()
    assert "Authors:" in authors and f"/authors/{comments[0].author_id}/" in authors
