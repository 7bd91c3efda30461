"""``POST /admin/diagnostics/error``: raise on purpose, so operators can see an error logged.

Whether error records reach the log sink, structured and with their traceback, can only be
shown by causing one; doing it through a dedicated admin route keeps the induced error apart
from real traffic (its own logger name and exception type) and out of reach of ordinary keys.
"""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import AdminKey
from service.routers.job_models import ADMIN_REFUSALS

router = APIRouter(prefix="/admin/diagnostics", tags=["admin"], responses=ADMIN_REFUSALS)


class DiagnosticError(RuntimeError):
    """The exception the diagnostics route raises; its name marks the record as induced."""


@router.post("/error", status_code=500, responses={500: {"description": "always"}})
async def raise_error(_admin: AdminKey) -> None:
    """Raise DiagnosticError: answered 500 in the API's error shape, logged with traceback."""
    raise DiagnosticError("induced error for log verification")
