"""JSON-lines logging for every process of the service (API and workers).

One JSON object per record so that logs can be searched and checked by machines: the acceptance
suite reads these files to prove that requests are logged, correlated and free of secrets. The
request id (and key id, job id, ...) comes from a context variable bound by the HTTP middleware or
the worker, so every record written while serving a request carries it without being passed along.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import re
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.settings import Settings

ACCESS_LOGGER = "platform.access"
SECURITY_LOGGER = "platform.security"

# Fields bound to the current request or job (request_id, key_id, job_id, ...).
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "platform_log_context", default=None
)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
# (`color_message` is uvicorn's ANSI-coloured duplicate of the message.)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_MASK = "***"


def bind_context(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Bind fields to every record logged in this context; returns a token for `reset_context`.

    The bound dict is shared with copies of the context taken later (tasks, threadpool calls), so
    `update_context` on it is seen by all of them and by the code that bound it.
    """
    return _context.set({**(_context.get() or {}), **fields})


def update_context(**fields: Any) -> None:
    """Add fields to the dict bound by the nearest `bind_context` (e.g. key id after auth)."""
    current = _context.get()
    if current is None:
        _context.set(dict(fields))
    else:
        current.update(fields)


def reset_context(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


def current_context() -> dict[str, Any]:
    """A copy of the fields bound to the current context."""
    return dict(_context.get() or {})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """`with log_context(job_id=...)`: bind fields for the block (workers use this per job)."""
    token = bind_context(**fields)
    try:
        yield
    finally:
        reset_context(token)


class RedactingFilter(logging.Filter):
    """Masks configured secrets and anything that looks like a bearer token, before formatting.

    Redaction happens on the rendered message, so secrets passed as `%s` arguments are caught too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, _MASK)
        return _BEARER.sub(lambda m: m.group(1) + _MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, process, extras."""

    def __init__(self, process_name: str, redactor: RedactingFilter | None = None) -> None:
        super().__init__()
        self.process_name = process_name
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None,
            "process": self.process_name,
            "pid": record.process,
        }
        data.update(current_context())
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                data[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            data["exc_type"] = exc_type.__name__
            data["exc_message"] = str(exc)
            data["traceback"] = "".join(traceback.format_exception(exc_type, exc, tb))
        text = json.dumps(data, default=str, ensure_ascii=False)
        # Exception text and extras are redacted here, as they are only rendered at this point.
        return self.redactor.redact(text) if self.redactor else text


def secret_values(settings: Settings) -> list[str]:
    """Every secret value of the settings, for the redaction filter."""
    keys = [*settings.api_keys.values(), *settings.admin_keys.values()]
    values = [k.get_secret_value() for k in keys]
    if "@" in settings.redis_url:  # redis://:password@host: mask the password part too
        userinfo = settings.redis_url.partition("://")[2].rpartition("@")[0]
        values.append(userinfo.rpartition(":")[2] or userinfo)
    return values


def _handler(path: Path | None, settings: Settings) -> logging.Handler:
    if path is None:
        return logging.StreamHandler(sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        path,
        maxBytes=settings.log_max_bytes,
        backupCount=settings.log_backup_count,
        encoding="utf-8",
        delay=True,  # open on first record: a worker never writes access.log, so never opens it
    )


def _replace_handlers(logger: logging.Logger, handler: logging.Handler | None) -> None:
    """Close and drop the handlers this module installed before (configure is idempotent)."""
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    if handler is not None:
        logger.addHandler(handler)


def _format(
    handler: logging.Handler,
    settings: Settings,
    process_name: str,
    redactor: RedactingFilter | None,
) -> None:
    """JSON (or plain text) formatting and, unless switched off, redaction of a handler."""
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(process_name, redactor))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    if redactor is not None:
        handler.addFilter(redactor)


def configure_logging(settings: Settings, process_name: str) -> None:
    """Route the process's logs to `<log_dir>/<process_name>.log` (+ `access.log`) as JSON lines.

    Without a log_dir everything goes to stderr as JSON. Uvicorn's own access log is switched off
    (the middleware writes a richer one) and its error log goes through the same formatter.
    """
    redactor = RedactingFilter(secret_values(settings)) if settings.log_redaction else None
    log_dir = settings.log_dir

    app_handler = _handler(log_dir / f"{process_name}.log" if log_dir else None, settings)
    _format(app_handler, settings, process_name, redactor)
    root = logging.getLogger()
    _replace_handlers(root, app_handler)
    root.setLevel(settings.log_level)

    access = logging.getLogger(ACCESS_LOGGER)
    access_handler = _handler(log_dir / "access.log" if log_dir else None, settings)
    _format(access_handler, settings, process_name, redactor)
    _replace_handlers(access, access_handler)
    access.setLevel(logging.INFO)
    access.propagate = False

    for name in ("uvicorn", "uvicorn.error"):
        uv = logging.getLogger(name)
        _replace_handlers(uv, None)
        uv.propagate = True
    uv_access = logging.getLogger("uvicorn.access")
    _replace_handlers(uv_access, None)
    uv_access.propagate = False  # uvicorn logs access only when this logger has handlers
    uv_access.disabled = True
    # httpx writes an INFO record per request it sends: every provider call (on the chat path,
    # before the first token) and probe (4 a second in the stack), 80 % of the stack's app log.
    # platform_outbound_requests_total counts them and failures are logged by their callers.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)
