"""Full-text search over comments (moderation/dashboard/search.py).

PostgreSQL: a GIN index on threadkeeper_search_document(author_name, body),
the tsvector of a comment's author name and the first SEARCH_INDEX_CHARS
characters of its body ('simple' configuration: no stemming, no stop words,
any language); moderation/dashboard/search.py queries that same function so
the planner can use the index.

SQLite: an FTS5 table over the same two texts (unicode61 tokenizer, diacritics
kept, as PostgreSQL's 'simple' keeps them), kept in sync with threads_comment
by triggers on insert, delete and on an update of the body or the author
name. Other databases: no index; search says it is unavailable.
"""

from django.db import migrations

# Keep in step with moderation/dashboard/search.py (SEARCH_INDEX_CHARS, PG_DOCUMENT).
# The index's statistics (which words are common) come with the next ANALYZE:
# autovacuum's, or run ANALYZE threads_comment after migrating a large table.
CHARS = 100_000
# A function of our own rather than the bare expression, for its COST: the
# planner's default for to_tsvector (100 x cpu_operator_cost) is some twenty
# times too cheap for a comment's text, so with the bare expression it walked
# the whole date index computing tsvectors for a rare word (27 s on the
# 1M-comment bench database) instead of reading the GIN index (a few ms).
# plpgsql, so the planner does not inline it (and lose the cost); IMMUTABLE,
# as to_tsvector with a fixed configuration is, so it can be indexed.
PG_FORWARD = [
    "CREATE FUNCTION threadkeeper_search_document(author_name varchar, body text) "
    "RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 2000 AS $$ BEGIN "
    "RETURN to_tsvector('simple'::regconfig, coalesce(author_name, '') || ' ' || "
    f"left(coalesce(body, ''), {CHARS})); END $$",
    "CREATE INDEX comment_search_gin ON threads_comment USING gin "
    "(threadkeeper_search_document(author_name, body))",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS comment_search_gin",
    "DROP FUNCTION IF EXISTS threadkeeper_search_document(varchar, text)",
]

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE moderation_comment_search USING fts5("
    "author_name, body, content='threads_comment', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO moderation_comment_search (rowid, author_name, body) "
    f"SELECT id, author_name, substr(body, 1, {CHARS}) FROM threads_comment",
    "CREATE TRIGGER moderation_comment_search_ai AFTER INSERT ON threads_comment BEGIN "
    "INSERT INTO moderation_comment_search (rowid, author_name, body) "
    f"VALUES (new.id, new.author_name, substr(new.body, 1, {CHARS})); END",
    "CREATE TRIGGER moderation_comment_search_ad AFTER DELETE ON threads_comment BEGIN "
    "INSERT INTO moderation_comment_search (moderation_comment_search, rowid, author_name, body) "
    f"VALUES ('delete', old.id, old.author_name, substr(old.body, 1, {CHARS})); END",
    "CREATE TRIGGER moderation_comment_search_au AFTER UPDATE OF body, author_name "
    "ON threads_comment BEGIN "
    "INSERT INTO moderation_comment_search (moderation_comment_search, rowid, author_name, body) "
    f"VALUES ('delete', old.id, old.author_name, substr(old.body, 1, {CHARS})); "
    "INSERT INTO moderation_comment_search (rowid, author_name, body) "
    f"VALUES (new.id, new.author_name, substr(new.body, 1, {CHARS})); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS moderation_comment_search_au",
    "DROP TRIGGER IF EXISTS moderation_comment_search_ad",
    "DROP TRIGGER IF EXISTS moderation_comment_search_ai",
    "DROP TABLE IF EXISTS moderation_comment_search",
]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD})


def backward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0012_batch_jobs_author_standing'),
        ("threads", "0005_thread_table_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward)]
