"""FastAPI dependency for the document store, opened once per app on first use.

Lazy rather than in the lifespan so that the store's routers need no edit of the app factory's
startup, and an app whose routes never touch documents never creates the file.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from service.documents.store import DocumentStore
from service.settings import Settings

_lock = threading.Lock()


def get_store(request: Request) -> DocumentStore:
    state = request.app.state
    store: DocumentStore | None = getattr(state, "documents", None)
    if store is None:
        with _lock:  # handlers run in a thread pool: open (and migrate) once
            store = getattr(state, "documents", None)
            if store is None:
                settings: Settings = state.settings
                store = DocumentStore.from_settings(settings)
                state.documents = store
    return store


StoreDep = Annotated[DocumentStore, Depends(get_store)]
