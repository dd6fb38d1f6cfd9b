"""Refuse UPDATE and DELETE on moderation_decision in the database itself.

The model and admin already refuse; this catches raw SQL, other programs and
future code that forgets. PostgreSQL: a BEFORE UPDATE OR DELETE row trigger.
SQLite: a BEFORE UPDATE trigger only — Django empties SQLite tables with
DELETE (flush, TransactionTestCase), which a DELETE trigger would break; on
PostgreSQL flush uses TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION moderation_decision_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_decision is append-only: % refused', TG_OP
        USING HINT = 'Decisions are an audit log; record a new decision instead.';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS moderation_decision_append_only ON moderation_decision;
CREATE TRIGGER moderation_decision_append_only
    BEFORE UPDATE OR DELETE ON moderation_decision
    FOR EACH ROW EXECUTE FUNCTION moderation_decision_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS moderation_decision_append_only ON moderation_decision;
DROP FUNCTION IF EXISTS moderation_decision_append_only();
"""
SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS moderation_decision_no_update
BEFORE UPDATE ON moderation_decision
BEGIN
    SELECT RAISE(ABORT, 'moderation_decision is append-only: UPDATE refused');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS moderation_decision_no_update;"


def _run(schema_editor, by_vendor):
    sql = by_vendor.get(schema_editor.connection.vendor)
    if sql:
        with schema_editor.connection.cursor() as cursor:
            # Each SQL text above is a single statement for SQLite (the
            # trigger body's ; is inside BEGIN...END); psycopg takes several.
            cursor.execute(sql)


def create_trigger(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE})


def drop_trigger(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    dependencies = [("moderation", "0002_moderators_group")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
