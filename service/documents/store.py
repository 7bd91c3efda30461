"""The document store: SQLite with an FTS5 index, one file in ``settings.data_dir``.

Why SQLite: embedded (no server to run or secure), transactional, an online backup API, and FTS5
with bm25 ranking. WAL mode lets the API read while a worker writes; every connection waits up to
``BUSY_TIMEOUT_MS`` for a writer instead of failing. Connections are opened per operation because
the API calls the store from a thread pool.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.documents.migrate import current_version, migrate
from service.documents.models import (
    CHECKSUM_FIELDS,
    ContentKind,
    Document,
    DocumentIn,
    SearchHit,
    SearchPage,
    UpsertResult,
    bounded_snippet,
    checksum,
    classify_licence,
    document_id,
)
from service.documents.query import fts_expression
from service.settings import Settings
from service.waiting import poll_until

DB_FILENAME = "documents.sqlite3"
BUSY_TIMEOUT_MS = 5_000
# bm25 column weights (title, authors, content): a title hit says most about relevance.
BM25_WEIGHTS = (8.0, 2.0, 1.0)
SNIPPET_TOKENS = 32


def db_path(settings: Settings) -> Path:
    return settings.data_dir / DB_FILENAME


@dataclass(frozen=True, slots=True)
class StorePolicy:
    """How much text each licence class keeps (see `models` docstring)."""

    snippet_chars: int = 300
    full_text_classes: frozenset[str] = frozenset({"permissive"})
    metadata_only_classes: frozenset[str] = frozenset({"gated"})

    @classmethod
    def from_settings(cls, settings: Settings) -> StorePolicy:
        return cls(
            settings.documents_snippet_chars,
            frozenset(settings.documents_full_text_classes),
            frozenset(settings.documents_metadata_only_classes),
        )

    def stored_text(self, licence_class: str, content: str) -> tuple[str, ContentKind]:
        if licence_class in self.metadata_only_classes:
            return "", "none"
        if licence_class in self.full_text_classes:
            return content, "full"
        return bounded_snippet(content, self.snippet_chars), "snippet"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def row_to_document(row: sqlite3.Row) -> Document:
    return Document(
        id=row["id"],
        source=row["source"],
        source_id=row["source_id"],
        title=row["title"],
        link=row["link"],
        authors=json.loads(row["authors"]),
        licence=row["licence"],
        licence_class=row["licence_class"],
        content=row["content"],
        content_kind=row["content_kind"],
        checksum=row["checksum"],
        ingested_at=row["ingested_at"],
        updated_at=row["updated_at"],
        metadata=json.loads(row["metadata"]),
    )


def row_checksum(row: sqlite3.Row | dict[str, Any]) -> str:
    fields = {k: row[k] for k in CHECKSUM_FIELDS}
    fields["authors"] = json.loads(fields["authors"])
    fields["metadata"] = json.loads(fields["metadata"])
    return checksum(fields)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (it stays so), waiting out other openers of a fresh file.

    Changing the journal mode answers "database is locked" at once, without SQLite's busy
    handler, while another connection is switching it or migrating; so it is retried here,
    within the same bound a writer waits for a lock.
    """

    def switched() -> bool:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False
        return True

    poll_until(
        switched,
        timeout=BUSY_TIMEOUT_MS / 1000,
        interval=0.005,
        message="SQLite to switch to WAL (database is locked)",
    )


class DocumentStore:
    """One database file; create with `open()`, which migrates it to the latest schema."""

    def __init__(self, path: Path, policy: StorePolicy | None = None) -> None:
        self.path = path
        self.policy = policy or StorePolicy()
        self._local = threading.local()

    @classmethod
    def open(
        cls, path: Path, policy: StorePolicy | None = None, *, migrate_up: bool = True
    ) -> DocumentStore:
        store = cls(path, policy)
        path.parent.mkdir(parents=True, exist_ok=True)
        with store.connect() as conn:
            _use_wal(conn)
            if migrate_up:
                migrate(conn)
        return store

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentStore:
        return cls.open(db_path(settings), StorePolicy.from_settings(settings))

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, opened on first use and kept.

        Kept, not reopened per call: closing the last connection of a WAL database checkpoints
        it, which made every upsert pay a checkpoint (~10 ms). One per thread, because the API
        calls the store from a thread pool and a connection must not be shared across threads.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            # WAL + NORMAL: commits survive a process crash; only a power loss may drop the
            # last few, which re-ingestion restores. FULL would fsync every upsert.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        yield conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's store is dropped)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def schema_version(self) -> int:
        with self.connect() as conn:
            return current_version(conn)

    def upsert(self, doc: DocumentIn) -> UpsertResult:
        """Insert or update by (source, source_id); ``unchanged`` when the record is equal."""
        licence_class = doc.licence_class or classify_licence(
            doc.licence, gated=bool(doc.metadata.get("gated"))
        )
        content, kind = self.policy.stored_text(licence_class, doc.content)
        fields: dict[str, Any] = {
            "source": doc.source,
            "source_id": doc.source_id,
            "title": doc.title,
            "link": doc.link,
            "authors": doc.authors,
            "licence": doc.licence,
            "licence_class": licence_class,
            "content": content,
            "content_kind": kind,
            "metadata": doc.metadata,
        }
        digest = checksum(fields)
        row = {
            **fields,
            "authors": json.dumps(doc.authors, ensure_ascii=False),
            "metadata": json.dumps(doc.metadata, sort_keys=True, ensure_ascii=False),
            "checksum": digest,
            "id": document_id(doc.source, doc.source_id),
        }
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = self._write(conn, row, doc.subjects)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return result

    def _write(
        self, conn: sqlite3.Connection, row: dict[str, Any], subjects: list[str]
    ) -> UpsertResult:
        old = conn.execute("SELECT checksum FROM documents WHERE id = ?", (row["id"],)).fetchone()
        stamp = now_iso()
        if old is not None and old["checksum"] == row["checksum"]:
            return "unchanged"
        columns = [*CHECKSUM_FIELDS, "checksum"]
        if old is None:
            names = ", ".join(["id", *columns, "ingested_at", "updated_at"])
            marks = ", ".join("?" * (len(columns) + 3))
            values = [row["id"], *(row[c] for c in columns), stamp, stamp]
            conn.execute(f"INSERT INTO documents ({names}) VALUES ({marks})", values)  # noqa: S608 - fixed column names
        else:
            sets = ", ".join(f"{c} = ?" for c in [*columns, "updated_at"])
            values = [*(row[c] for c in columns), stamp, row["id"]]
            conn.execute(f"UPDATE documents SET {sets} WHERE id = ?", values)  # noqa: S608 - fixed column names
        conn.execute("DELETE FROM document_subjects WHERE document_id = ?", (row["id"],))
        conn.executemany(
            "INSERT OR IGNORE INTO document_subjects (document_id, subject) VALUES (?, ?)",
            [(row["id"], s) for s in subjects],
        )
        return "inserted" if old is None else "updated"

    def get(self, doc_id: str) -> Document | None:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row_to_document(row) if row else None

    def count(self, source: str | None = None) -> int:
        with self.connect() as conn:
            if source is None:
                return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
            sql = "SELECT count(*) FROM documents WHERE source = ?"
            return int(conn.execute(sql, (source,)).fetchone()[0])

    def search(
        self, query: str, source: str | None = None, limit: int = 10, offset: int = 0
    ) -> SearchPage:
        """Ranked (bm25) hits for the words of `query`; user syntax never reaches FTS5."""
        expression = fts_expression(query)
        where = "documents_fts MATCH ?"
        params: list[Any] = [expression]
        if source is not None:
            where += " AND d.source = ?"
            params.append(source)
        base = (
            "FROM documents_fts JOIN documents d ON d.doc_rowid = documents_fts.rowid "
            f"WHERE {where}"
        )
        w_title, w_authors, w_content = BM25_WEIGHTS
        sql = (
            f"SELECT d.*, bm25(documents_fts, {w_title}, {w_authors}, {w_content}) AS score, "
            f"snippet(documents_fts, 2, '', '', '…', {SNIPPET_TOKENS}) AS snip "
            f"{base} ORDER BY score, d.id LIMIT ? OFFSET ?"
        )
        with self.connect() as conn:
            total = int(conn.execute(f"SELECT count(*) {base}", params).fetchone()[0])
            rows = conn.execute(sql, [*params, limit, offset]).fetchall()
        limit_chars = self.policy.snippet_chars
        hits = [
            SearchHit(
                id=r["id"],
                source=r["source"],
                title=r["title"],
                link=r["link"],
                authors=json.loads(r["authors"]),
                licence=r["licence"],
                licence_class=r["licence_class"],
                snippet=bounded_snippet(r["snip"] or "", limit_chars),
                score=-float(r["score"]),
            )
            for r in rows
        ]
        return SearchPage(total=total, hits=hits)

    def delete_by_subject(self, subject: str) -> int:
        """Erase every document that names the data subject; the number deleted."""
        with self.connect() as conn:
            cur = conn.execute(
                "DELETE FROM documents WHERE id IN "
                "(SELECT document_id FROM document_subjects WHERE subject = ?)",
                (subject,),
            )
            return cur.rowcount

    def count_older_than(self, cutoff: datetime, source: str | None = None) -> int:
        """What `purge_older_than` would delete (a dry run)."""
        sql = "SELECT count(*) FROM documents WHERE updated_at < ?"
        params: list[Any] = [cutoff.astimezone(UTC).isoformat(timespec="microseconds")]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        with self.connect() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def purge_older_than(self, cutoff: datetime, source: str | None = None) -> int:
        """Delete documents not updated since `cutoff` (optionally of one source)."""
        sql = "DELETE FROM documents WHERE updated_at < ?"
        params: list[Any] = [cutoff.astimezone(UTC).isoformat(timespec="microseconds")]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        with self.connect() as conn:
            return conn.execute(sql, params).rowcount
