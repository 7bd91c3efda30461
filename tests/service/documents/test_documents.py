"""The document store on real SQLite files: licence policy, idempotency, search, maintenance."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.documents import (
    DocumentIn,
    DocumentStore,
    EmptyQueryError,
    StorePolicy,
    backup,
    classify_licence,
    integrity_check,
    verify_restore,
)
from service.documents.maintenance import rollback_drill
from service.documents.migrate import current_version, migrate
from service.documents.query import fts_expression
from service.documents.schema import LATEST_VERSION
from service.documents.seed import load_corpus, seed

LONG = "word " * 400 + "tailterm"


def _doc(licence: str, source_id: str = "1", **extra: object) -> DocumentIn:
    return DocumentIn(
        source="arxiv",
        source_id=source_id,
        title="A paper",
        link="https://x/1",
        authors=["A. Author"],
        licence=licence,
        content=LONG,
        **extra,
    )  # type: ignore[arg-type] # extra holds optional DocumentIn fields


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore.open(tmp_path / "docs.sqlite3", StorePolicy(snippet_chars=100))


@pytest.mark.parametrize(
    ("licence", "expected"),
    [
        ("MIT", "permissive"),
        ("cc-by-4.0", "permissive"),
        ("CC-BY-NC-4.0", "restricted"),
        ("http://arxiv.org/licenses/nonexclusive-distrib/1.0/", "restricted"),
        ("GPL-3.0", "restricted"),
        ("", "unknown"),
        ("some-custom", "unknown"),
    ],
)
def test_classify_licence(licence: str, expected: str) -> None:
    """SPDX ids and licence URLs map to the class that decides storage."""
    assert classify_licence(licence) == expected


def test_licence_decides_stored_text(store: DocumentStore) -> None:
    """Full text for permissive, a bounded snippet for restricted, nothing for gated."""
    store.upsert(_doc("mit", "p"))
    store.upsert(_doc("cc-by-nc-4.0", "r"))
    store.upsert(_doc("mit", "g", metadata={"gated": True}))
    full, snippet, gated = (store.get(f"arxiv:{i}") for i in ("p", "r", "g"))
    assert full and full.content_kind == "full" and full.content.endswith("tailterm")
    assert snippet and snippet.content_kind == "snippet" and len(snippet.content) <= 100
    assert gated and gated.licence_class == "gated" and gated.content == ""
    assert [h.id for h in store.search("tailterm").hits] == ["arxiv:p"]


def test_upsert_idempotent(store: DocumentStore) -> None:
    """Same record: unchanged; changed record: updated with ingested_at kept."""
    assert store.upsert(_doc("mit")) == "inserted"
    assert store.upsert(_doc("mit")) == "unchanged"
    first = store.get("arxiv:1")
    assert store.upsert(_doc("mit", metadata={"v": 2})) == "updated"
    second = store.get("arxiv:1")
    assert first and second and first.ingested_at == second.ingested_at
    assert first.checksum != second.checksum and store.count() == 1


@pytest.mark.parametrize("text", ['"', "NEAR(a b)", "title:x", "a AND (b", "x*", "^a"])
def test_fts_syntax_neutralised(store: DocumentStore, text: str) -> None:
    """FTS5 operators in user text are quoted terms, never syntax errors."""
    store.upsert(_doc("mit"))
    with contextlib.suppress(EmptyQueryError):
        store.search(text)
    assert fts_expression("NEAR(a b)") == '"near" OR "a" OR "b"'


def test_search_ranks_labelled_corpus(store: DocumentStore) -> None:
    """On the fixture corpus, every labelled query finds a relevant document in its top 5."""
    seed(store)
    assert seed(store) == {"unchanged": len(load_corpus()["documents"])}
    for item in load_corpus()["queries"]:
        top = [h.id for h in store.search(item["q"], limit=5).hits]
        assert set(top) & set(item["relevant"]), item["q"]
    page = store.search("model", source="github", limit=3, offset=0)
    assert all(h.source == "github" for h in page.hits) and page.total >= len(page.hits)


def test_subject_erasure_and_purge(store: DocumentStore) -> None:
    """delete_by_subject removes a subject's documents; purge removes only stale ones."""
    store.upsert(_doc("mit", "s", subjects=["subj-1"]))
    store.upsert(_doc("mit", "t"))
    assert store.delete_by_subject("subj-1") == 1 and store.get("arxiv:s") is None
    assert store.purge_older_than(datetime.now(UTC) - timedelta(days=1)) == 0
    assert store.purge_older_than(datetime.now(UTC) + timedelta(seconds=1)) == 1


def test_integrity_detects_desync_and_tampering(store: DocumentStore) -> None:
    """A write behind the index's back fails the FTS and checksum checks."""
    store.upsert(_doc("mit"))
    assert integrity_check(store).ok
    with store.connect() as conn:
        conn.execute("DROP TRIGGER documents_au")
        conn.execute("UPDATE documents SET title = 'changed'")
    report = integrity_check(store)
    assert not report.ok and report.checks["fts"] != "ok" and report.bad_checksums == ["arxiv:1"]


def test_backup_restore_and_rollback(store: DocumentStore, tmp_path: Path) -> None:
    """A backup restores with equal counts; a damaged backup does not verify; rollback works."""
    seed(store)
    result = backup(store, tmp_path / "b" / "one.sqlite3")
    assert result.documents == store.count()
    assert verify_restore(Path(result.path), tmp_path / "scratch.sqlite3").ok
    drill = rollback_drill(store, tmp_path / "drill.sqlite3")
    assert drill["ok"] and drill["down_to"] == LATEST_VERSION - 1
    with sqlite3.connect(result.path) as conn:
        conn.execute("DELETE FROM documents WHERE rowid IN (SELECT rowid FROM documents LIMIT 1)")
    report = verify_restore(Path(result.path), tmp_path / "scratch2.sqlite3")
    assert not report.ok and report.problems


def test_migrations_down_and_up(tmp_path: Path) -> None:
    """Every migration has a working inverse: 0 -> latest -> 0 -> latest."""
    conn = sqlite3.connect(tmp_path / "m.sqlite3", isolation_level=None)
    try:
        assert migrate(conn) == list(range(1, LATEST_VERSION + 1))
        migrate(conn, 0)
        assert current_version(conn) == 0
        migrate(conn)
        assert current_version(conn) == LATEST_VERSION
    finally:
        conn.close()


def test_fresh_store_opened_by_several_at_once(tmp_path: Path) -> None:
    """Several openers of a fresh database at the same instant (a worker's backup and purge, the
    API and the seeder) all end in WAL mode with the latest schema; none fails on another's switch
    of the journal mode or its migration."""
    openers = 4
    for attempt in range(50):  # a race: each attempt a fresh file; 1 in ~20 failed before
        path = tmp_path / f"race-{attempt}.sqlite3"
        barrier = threading.Barrier(openers)
        errors: list[BaseException] = []

        def open_store(
            path: Path = path,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            barrier.wait(timeout=10)
            try:
                DocumentStore.open(path)
            except BaseException as exc:  # reported below, with the attempt
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(openers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, f"attempt {attempt}: {errors}"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert current_version(conn) == LATEST_VERSION
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
