"""What the SQLite search table costs an insert: per statement, not per row.

    python bench/sqlite_fts_bench.py [--rows 20000] [--repeats 3]

An in-memory table with an FTS5 table kept by an insert trigger, as
moderation/migrations/0013 makes them, filled in one transaction with the
same rows in four ways: a statement per row (`executemany`, like loaddata's
save per row), multi-row INSERTs of several sizes (as `rows_insert` in
threads/bulk.py writes them), a statement per row without the trigger, and
without the trigger followed by one INSERT ... SELECT into the FTS5 table.
FTS5 flushes its pending terms at the end of each statement that writes it,
so the first way pays that flush per row. Prints the best of --repeats
seconds for each (docs/benchmarks.md, "What the search index really cost
SQLite").
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time

WORDS = (  # noqa: SIM905
    "the of and to in is that it for was on are as with his they at be this from have or by "
    "one had not but what all were when we there can an your which their said if do will "
    "each about how up out them article comment reply moderator thread source opinion"
).split()
TRIGGER = (
    "CREATE TRIGGER search_ai AFTER INSERT ON comment BEGIN "
    "INSERT INTO search (rowid, author_name, body) "
    "VALUES (new.id, new.author_name, substr(new.body, 1, 100000)); END"
)


def _database(trigger: bool) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE comment (id INTEGER PRIMARY KEY, author_name TEXT, body TEXT)")
    db.execute(
        "CREATE VIRTUAL TABLE search USING fts5(author_name, body, content='comment', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
    )
    if trigger:
        db.execute(TRIGGER)
    return db


def _timed(rows: list[tuple], trigger: bool, per_statement: int, then_select: bool) -> float:
    db = _database(trigger)
    start = time.perf_counter()
    db.execute("BEGIN")
    if per_statement == 1:
        db.executemany("INSERT INTO comment VALUES (?, ?, ?)", rows)
    else:
        for i in range(0, len(rows), per_statement):
            part = rows[i:i + per_statement]
            db.execute(
                "INSERT INTO comment VALUES " + ", ".join(["(?, ?, ?)"] * len(part)),
                [value for row in part for value in row],
            )
    if then_select:
        db.execute("INSERT INTO search (rowid, author_name, body) "
                   "SELECT id, author_name, substr(body, 1, 100000) FROM comment")
    db.execute("COMMIT")
    seconds = time.perf_counter() - start
    indexed = db.execute("SELECT count(*) FROM search WHERE search MATCH 'the'").fetchone()[0]
    assert bool(indexed) == (trigger or then_select), indexed
    db.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)
    rows = [
        (i + 1, f"user{rng.randrange(2000)}", " ".join(rng.choices(WORDS, k=rng.randint(5, 60))))
        for i in range(args.rows)
    ]
    ways = [
        ("a statement per row (executemany), trigger on", True, 1, False),
        *((f"multi-row INSERTs of {n} rows, trigger on", True, n, False) for n in (20, 64, 100)),
        ("a statement per row, no trigger", False, 1, False),
        ("no trigger, then one INSERT ... SELECT into the FTS5 table", False, 1, True),
    ]
    print(f"{args.rows:,} rows, one transaction, best of {args.repeats}; "
          f"SQLite {sqlite3.sqlite_version}\n")
    print("| insert | seconds |\n|---|---:|")
    for name, trigger, per_statement, then_select in ways:
        best = min(_timed(rows, trigger, per_statement, then_select) for _ in range(args.repeats))
        print(f"| {name} | {best:.2f} |")


if __name__ == "__main__":
    main()
