"""The platform's document store and search (SQLite + FTS5). Public interface:

- `DocumentStore.from_settings(settings)` / `DocumentStore.open(path, policy)`
- `store.upsert(DocumentIn) -> "inserted" | "updated" | "unchanged"`, `store.get(id)`,
  `store.search(q, source=None, limit=10, offset=0) -> SearchPage`, `store.count()`,
  `store.delete_by_subject(subject)`, `store.purge_older_than(cutoff, source=None)`
- `integrity_check(store)`, `backup(store, dest)`, `verify_restore(backup, scratch)`
"""

from service.documents.maintenance import (
    BackupResult,
    IntegrityReport,
    RestoreReport,
    backup,
    integrity_check,
    verify_restore,
)
from service.documents.models import (
    Document,
    DocumentIn,
    LicenceClass,
    SearchHit,
    SearchPage,
    Source,
    UpsertResult,
    classify_licence,
)
from service.documents.query import EmptyQueryError
from service.documents.store import DocumentStore, StorePolicy, db_path

__all__ = [
    "BackupResult",
    "Document",
    "DocumentIn",
    "DocumentStore",
    "EmptyQueryError",
    "IntegrityReport",
    "LicenceClass",
    "RestoreReport",
    "SearchHit",
    "SearchPage",
    "Source",
    "StorePolicy",
    "UpsertResult",
    "backup",
    "classify_licence",
    "db_path",
    "integrity_check",
    "verify_restore",
]
