"""Apply the document store's migrations: ``python -m service.documents.migrate up|down|status``.

Each migration runs in one transaction together with its `schema_migrations` row, so a failed step
leaves the database at the previous version, never in between.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from service.documents.schema import LATEST_VERSION, MIGRATIONS, MIGRATIONS_TABLE, Migration


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(MIGRATIONS_TABLE)
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def _run(conn: sqlite3.Connection, migration: Migration, *, up: bool) -> None:
    script = migration.up if up else migration.down
    if up:
        mark = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
        params: tuple[object, ...] = (
            migration.version,
            migration.name,
            datetime.now(UTC).isoformat(),
        )
    else:
        mark, params = "DELETE FROM schema_migrations WHERE version = ?", (migration.version,)
    # executescript commits implicitly, so the transaction is written out explicitly.
    try:
        conn.executescript("BEGIN IMMEDIATE;\n" + script)
        conn.execute(mark, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection, target: int | None = None) -> list[int]:
    """Move the schema to `target` (default: latest), up or down; the versions applied."""
    goal = LATEST_VERSION if target is None else target
    if not 0 <= goal <= LATEST_VERSION:
        raise ValueError(f"no schema version {goal} (known: 0..{LATEST_VERSION})")
    version = current_version(conn)
    done: list[int] = []
    for migration in MIGRATIONS:
        if version < migration.version <= goal:
            try:
                _run(conn, migration, up=True)
            except sqlite3.OperationalError:
                # Two processes opening a fresh store at once (a worker's backup and its
                # retention purge, the API and the seeder) both read the old version; the second
                # one's script then fails on what the first created. The transaction was rolled
                # back: if the step is applied now, someone else applied it, which is fine.
                if current_version(conn) >= migration.version:
                    continue
                raise
            done.append(migration.version)
    for migration in reversed(MIGRATIONS):
        if goal < migration.version <= version:
            _run(conn, migration, up=False)
            done.append(-migration.version)
    return done


def status(conn: sqlite3.Connection) -> dict[str, object]:
    version = current_version(conn)
    rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    return {
        "version": version,
        "latest": LATEST_VERSION,
        "pending": [m.version for m in MIGRATIONS if m.version > version],
        "applied": [{"version": v, "name": n, "applied_at": a} for v, n, a in rows],
    }


def _default_db() -> Path:
    from service.documents.store import db_path
    from service.settings import get_settings

    return db_path(get_settings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.documents.migrate")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--db", type=Path, default=None, help="database file (default: settings)")
    parser.add_argument(
        "--to",
        type=int,
        default=None,
        metavar="N",
        help="target version; default: latest for up, one step back for down",
    )
    args = parser.parse_args(argv)
    path: Path = args.db or _default_db()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if args.command == "up":
            migrate(conn, args.to)
        elif args.command == "down":
            migrate(conn, args.to if args.to is not None else max(current_version(conn) - 1, 0))
        sys.stdout.write(json.dumps(status(conn)) + "\n")
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
