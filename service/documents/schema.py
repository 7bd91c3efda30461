"""The document store's schema as numbered migrations, each with its up and its down.

Why up *and* down: a release rollback (checklist `backup.rollback-tested`) must take the data back
to the previous release's schema, so every step ships with its inverse and the suite exercises
both on a copy of the data. Version N is the state after migrations 1..N; `schema_migrations`
records which were applied and when.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    up: str
    down: str


_V1_UP = """
CREATE TABLE documents (
    doc_rowid     INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL CHECK (source IN ('arxiv', 'huggingface', 'github', 'upload')),
    source_id     TEXT NOT NULL,
    title         TEXT NOT NULL,
    link          TEXT NOT NULL,
    authors       TEXT NOT NULL,
    licence       TEXT NOT NULL,
    licence_class TEXT NOT NULL
        CHECK (licence_class IN ('permissive', 'restricted', 'gated', 'unknown')),
    content       TEXT NOT NULL,
    content_kind  TEXT NOT NULL CHECK (content_kind IN ('full', 'snippet', 'none')),
    checksum      TEXT NOT NULL,
    ingested_at   TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    UNIQUE (source, source_id)
);
CREATE INDEX documents_updated_at ON documents (updated_at);
CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, authors, content,
    content='documents', content_rowid='doc_rowid', tokenize='porter unicode61'
);
CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, title, authors, content)
    VALUES (new.doc_rowid, new.title, new.authors, new.content);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, authors, content)
    VALUES ('delete', old.doc_rowid, old.title, old.authors, old.content);
END;
CREATE TRIGGER documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, authors, content)
    VALUES ('delete', old.doc_rowid, old.title, old.authors, old.content);
    INSERT INTO documents_fts (rowid, title, authors, content)
    VALUES (new.doc_rowid, new.title, new.authors, new.content);
END;
"""

_V1_DOWN = """
DROP TRIGGER IF EXISTS documents_au;
DROP TRIGGER IF EXISTS documents_ad;
DROP TRIGGER IF EXISTS documents_ai;
DROP TABLE IF EXISTS documents_fts;
DROP TABLE IF EXISTS documents;
"""

# Data subjects (pseudonymous ids the ingestion assigns, e.g. a keyed hash of a GitHub login):
# an erasure request deletes every document that names the subject, found by index, not scan.
_V2_UP = """
CREATE TABLE document_subjects (
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    PRIMARY KEY (subject, document_id)
);
CREATE INDEX document_subjects_document ON document_subjects (document_id);
"""

_V2_DOWN = """
DROP INDEX IF EXISTS document_subjects_document;
DROP TABLE IF EXISTS document_subjects;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "documents and full-text index", _V1_UP, _V1_DOWN),
    Migration(2, "data subjects of documents", _V2_UP, _V2_DOWN),
)
LATEST_VERSION = MIGRATIONS[-1].version

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""
