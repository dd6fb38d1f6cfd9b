"""PostgreSQL search reads a stored tsvector column instead of recomputing it.

0013 indexed the expression threadkeeper_search_document(author_name, body).
A query that reads rows in date or score order and keeps those matching (the
planner's choice whenever it expects the matches early: a common word, a
phrase) recomputed that tsvector for every row it passed, and so did the
recheck of a phrase read through the index: on the 1M-comment bench database
a mid-frequency word took 127 ms and a phrase 42-79 ms, most of it
to_tsvector. PostgreSQL's documentation recommends the separate column for
this reason ("it will not be necessary to redo the to_tsvector calls to
verify index matches"): the same two queries take 3.8 and 1.0 ms on it.

The column is GENERATED ... STORED, so every writer (the ORM, COPY, raw SQL)
keeps it in step with no trigger; Django does not know the column and never
selects it. It costs about 0.4 KB a comment (931 -> 1,329 MB with its index
on the 1M bench database). Adding it rewrites the table: on a large
installation run this migration in a quiet hour, then VACUUM ANALYZE
threads_comment (until a vacuum, the rewritten table has no visibility map and
the queue's counts read the heap: 25 ms instead of 7 on the bench database).
SQLite keeps its FTS5 table (0013); other databases: nothing.
"""

from django.db import migrations

PG_FORWARD = [
    "ALTER TABLE threads_comment ADD COLUMN search_document tsvector "
    "GENERATED ALWAYS AS (threadkeeper_search_document(author_name, body)) STORED",
    "CREATE INDEX comment_search_document ON threads_comment USING gin (search_document)",
    "DROP INDEX IF EXISTS comment_search_gin",
]
PG_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS comment_search_gin ON threads_comment USING gin "
    "(threadkeeper_search_document(author_name, body))",
    "ALTER TABLE threads_comment DROP COLUMN IF EXISTS search_document",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in PG_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in PG_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [("moderation", "0014_decision_action_choices")]

    operations = [migrations.RunPython(forward, backward)]
