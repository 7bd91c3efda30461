"""`POST /documents/upload`: a PDF or Markdown/plain-text file becomes a document (source upload).

Limits, in the order they bite: the body limit of the middleware, ``upload_max_bytes`` (413, read
in chunks so an oversize file is never held whole), type by magic bytes (415; archives refused),
a PDF's inflated streams capped (413), a safe stored name (no path components). Uploads carry no
licence grant, so they are stored under the ``unknown`` class: a bounded snippet, never full text.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel

from service.deps import ApiKey, SettingsDep
from service.documents.deps import StoreDep
from service.documents.models import DocumentIn, bounded_snippet
from service.documents.upload import UploadRejectedError, pdf_text, safe_name, sniff
from service.errors import ApiError
from service.security.api_keys import record_event

router = APIRouter(prefix="/documents", tags=["documents"])
CHUNK = 64 * 1024


class UploadPublic(BaseModel):
    id: str
    result: str
    filename: str
    content_type: str
    bytes: int
    sha256: str


@router.post("/upload", status_code=201)
def create_upload(
    settings: SettingsDep,
    store: StoreDep,
    principal: ApiKey,
    file: Annotated[UploadFile, File()],
    title: Annotated[str | None, Form(max_length=300)] = None,
) -> UploadPublic:
    data = bytearray()
    while chunk := file.file.read(CHUNK):
        data += chunk
        if len(data) > settings.upload_max_bytes:
            record_event("upload_too_large", principal.key_id)
            raise ApiError(
                413,
                "invalid_request_error",
                f"file larger than {settings.upload_max_bytes} bytes",
                code="file_too_large",
            )
    name = safe_name(file.filename)
    try:
        kind = sniff(bytes(data))
        text = (
            pdf_text(bytes(data), settings.upload_max_pdf_stream_bytes)
            if kind == "application/pdf"
            else bytes(data).decode("utf-8")
        )
    except UploadRejectedError as exc:
        record_event("upload_rejected", principal.key_id, reason=exc.code)
        raise ApiError(exc.status, "invalid_request_error", str(exc), code=exc.code) from exc
    digest = hashlib.sha256(data).hexdigest()
    doc = DocumentIn(
        source="upload",
        source_id=digest[:32],
        title=bounded_snippet(title or name, 300),
        link=f"upload://{digest[:32]}/{name}",
        authors=[f"key:{principal.key_id}"],
        licence="unknown",
        licence_class="unknown",
        content=text,
        metadata={"filename": name, "content_type": kind, "bytes": len(data), "sha256": digest},
        subjects=[f"key:{principal.key_id}"],
    )
    result = store.upsert(doc)
    return UploadPublic(
        id=f"upload:{digest[:32]}",
        result=result,
        filename=name,
        content_type=kind,
        bytes=len(data),
        sha256=digest,
    )
