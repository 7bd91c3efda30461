"""Integrity check, online backup and verified restore of the document store.

Why these three belong together: a backup is only worth what a restore proves, and a restore is
proved by the same integrity check that guards the live store (SQLite's own page check, the FTS
index against its content table, and every stored checksum recomputed), plus the document count
recorded when the backup was taken.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.documents.migrate import current_version
from service.documents.schema import LATEST_VERSION
from service.documents.store import DocumentStore, row_checksum

MAX_REPORTED_IDS = 20


@dataclass(slots=True)
class IntegrityReport:
    ok: bool
    schema_version: int
    documents: int
    indexed: int
    checks: dict[str, str] = field(default_factory=dict)
    bad_checksums: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def integrity_check(store: DocumentStore) -> IntegrityReport:
    """Page integrity, FTS/content consistency, checksums and schema version, in one report."""
    checks: dict[str, str] = {}
    bad: list[str] = []
    with store.connect() as conn:
        version = current_version(conn)
        pages = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        checks["sqlite"] = "ok" if pages == ["ok"] else "; ".join(pages[:5])
        try:
            # rank=1 makes FTS5 compare its index with the external content table itself.
            conn.execute(
                "INSERT INTO documents_fts (documents_fts, rank) VALUES ('integrity-check', 1)"
            )
            checks["fts"] = "ok"
        except sqlite3.DatabaseError as exc:
            checks["fts"] = f"index does not match the documents: {exc}"
        documents = int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        indexed = int(conn.execute("SELECT count(*) FROM documents_fts_docsize").fetchone()[0])
        if indexed != documents:
            checks["fts"] = f"{indexed} rows indexed for {documents} documents"
        for row in conn.execute("SELECT * FROM documents"):
            if row_checksum(row) != row["checksum"]:
                bad.append(row["id"])
    checks["checksums"] = "ok" if not bad else f"{len(bad)} document(s) do not match"
    checks["schema"] = (
        "ok" if version == LATEST_VERSION else f"at {version}, expected {LATEST_VERSION}"
    )
    ok = all(v == "ok" for v in checks.values())
    return IntegrityReport(ok, version, documents, indexed, checks, bad[:MAX_REPORTED_IDS])


@dataclass(slots=True)
class BackupResult:
    path: str
    at: str
    bytes: int
    sha256: str
    documents: int
    schema_version: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def backup(store: DocumentStore, dest: Path) -> BackupResult:
    """Copy the live database with SQLite's online backup API (consistent while others write).

    A ``<dest>.json`` sidecar records what the copy holds, so a restore can be checked against it.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    try:
        with store.connect() as source:
            source.backup(target)
        documents = int(target.execute("SELECT count(*) FROM documents").fetchone()[0])
        version = current_version(target)
    finally:
        target.close()
    result = BackupResult(
        str(dest),
        datetime.now(UTC).isoformat(),
        partial.stat().st_size,
        _sha256(partial),
        documents,
        version,
    )
    # Sidecar first, then the final name: the newest backup (what a verify picks, possibly while
    # a scheduled backup is being taken) always has its record; a half-written one never
    # carries the final name.
    sidecar(dest).write_text(json.dumps(result.as_dict()))
    partial.replace(dest)
    return result


@dataclass(slots=True)
class RestoreReport:
    ok: bool
    backup: str
    problems: list[str]
    expected_documents: int | None
    restored_documents: int
    integrity: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_restore(backup_path: Path, scratch: Path) -> RestoreReport:
    """Restore `backup_path` into `scratch` (never the live file) and prove the copy sound."""
    problems: list[str] = []
    meta_file = sidecar(backup_path)
    meta: dict[str, Any] = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if not meta:
        problems.append("no backup record (sidecar) to compare with")
    elif meta.get("sha256") != _sha256(backup_path):
        problems.append("backup file does not match its recorded sha256")
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    target = sqlite3.connect(scratch)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    report = integrity_check(DocumentStore(scratch))
    if not report.ok:
        problems.append(f"restored copy fails integrity: {report.checks}")
    expected = meta.get("documents")
    if expected is not None and expected != report.documents:
        problems.append(f"restored {report.documents} documents, backup recorded {expected}")
    return RestoreReport(
        not problems, str(backup_path), problems, expected, report.documents, report.as_dict()
    )


def rollback_drill(store: DocumentStore, scratch: Path) -> dict[str, Any]:
    """The documented rollback, on a copy: schema down one version, readable, up again, sound.

    Never touches the live file: the copy is taken with the online backup API.
    """
    from service.documents.migrate import migrate

    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.unlink(missing_ok=True)
    target = sqlite3.connect(scratch, isolation_level=None)
    steps: list[str] = []
    try:
        with store.connect() as source:
            source.backup(target)
        before = int(target.execute("SELECT count(*) FROM documents").fetchone()[0])
        start = current_version(target)
        down_to = max(start - 1, 1)
        steps.append(f"down {start}->{down_to}: {migrate(target, down_to)}")
        during = int(target.execute("SELECT count(*) FROM documents").fetchone()[0])
        steps.append(f"up {down_to}->{LATEST_VERSION}: {migrate(target)}")
    finally:
        target.close()
    report = integrity_check(DocumentStore(scratch))
    ok = report.ok and before == during == report.documents
    return {
        "ok": ok,
        "from_version": start,
        "down_to": down_to,
        "steps": steps,
        "documents": {"before": before, "after_down": during, "after_up": report.documents},
        "integrity": report.as_dict(),
    }
