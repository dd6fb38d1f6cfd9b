"""One INSERT statement for many rows of a model, without an instance per row.

`rows_insert` is what an import uses for its new comments and their feed
events: bulk_create compiles SQL for every value of every row and an
instance per row costs as much again (docs/benchmarks.md, "Import").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

# Rows of one INSERT statement where the rows are not sent with COPY. SQLite
# keeps each distinct statement compiled (Python's statement cache, 128 of
# them), and a compiled INSERT grows with its rows (every index and the search
# trigger, per row): at 1,000 rows a 200 MB import peaked 95 MiB higher.
ROWS_PER_STATEMENT = 64


def rows_insert(
    model: type[models.Model], attnames: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """INSERT `rows` of `model`: each holds the values of `attnames`, in that order.

    The columns come from `model._meta.concrete_fields`, so a new field
    cannot be left out, but each field is looked at once per statement, not
    once per row: a field not in `attnames` gets one value for all rows
    (pre_save and get_db_prep_save on a default instance: its default, or
    the time for auto_now), unless its default is callable (called per
    row); a field with only a db_default, a generated field and an
    auto-incremented primary key not given are left to the database; a
    given value goes through get_db_prep_save unless its field stores the
    Python value as it is (_keeps_value). COPY on PostgreSQL, multi-row
    INSERTs elsewhere; in the caller's transaction.
    """
    if not rows:
        return
    connection = connections[model.objects.db]
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    by_attname = {f.attname: f for f in fields}
    given = [by_attname[name] for name in attnames]
    prepared = [(i, f.get_db_prep_save) for i, f in enumerate(given) if not _keeps_value(f)]
    defaults = model()
    per_row: list[Field] = []  # callable defaults: a value for each row
    tail_fields: list[Field] = []
    tail_values: list[object] = []
    for f in fields:
        if f.attname in attnames or (f.has_db_default() and not f.has_default()):
            continue
        if f.primary_key and isinstance(f, models.AutoField):
            continue
        if f.has_default() and callable(f.default):
            per_row.append(f)
        else:
            tail_fields.append(f)
            tail_values.append(f.get_db_prep_save(f.pre_save(defaults, True), connection))
    tail = tuple(tail_values)

    def db_row(row: tuple[object, ...]) -> tuple[object, ...]:
        if prepared:
            values = list(row)
            for i, prep in prepared:
                values[i] = prep(values[i], connection)
            row = tuple(values)
        if per_row:
            row += tuple(f.get_db_prep_save(f.get_default(), connection) for f in per_row)
        return row + tail

    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = [*given, *per_row, *tail_fields]
    column_list = ", ".join(qn(f.column) for f in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor (Django's wrapper has no copy()), on the
            # same connection: the rows are in the caller's transaction.
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(db_row(row))
        else:
            # Multi-row INSERTs, as bulk_create writes them, not executemany:
            # on SQLite each statement flushes the FTS5 search table's pending
            # terms (the insert trigger of moderation/migrations/0013), so a
            # statement per row costs several times the row itself.
            size = _rows_per_statement(connection, len(columns))
            row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
            for start in range(0, len(rows), size):
                batch = [db_row(row) for row in rows[start:start + size]]
                cursor.execute(
                    f"INSERT INTO {table} ({column_list}) VALUES "
                    + ", ".join([row_sql] * len(batch)),
                    [value for row in batch for value in row],
                )


def _rows_per_statement(connection: BaseDatabaseWrapper, columns: int) -> int:
    """Rows for one INSERT, up to ROWS_PER_STATEMENT: on SQLite within the library's
    own limit on variables (32,766 or more since SQLite 3.32), not Django's 999 of
    older builds."""
    if connection.vendor != "sqlite":
        return ROWS_PER_STATEMENT
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(ROWS_PER_STATEMENT, limit // columns))


# Fields whose get_db_prep_save returns a str, int or None unchanged on
# SQLite and PostgreSQL. Exact classes: a subclass may convert its values.
_PLAIN_FIELDS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.BigIntegerField,
        models.AutoField,
        models.BigAutoField,
    }
)


def _keeps_value(field: Field) -> bool:
    """True when `field` stores the Python value as it is."""
    if type(field) is models.ForeignKey:
        field = field.target_field
    return type(field) in _PLAIN_FIELDS
