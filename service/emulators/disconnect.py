"""Noticing that a client left while a handler waits for something else.

uvicorn does not cancel an ASGI handler when its client disconnects (only a streaming response
listens for that); the servers emulated here do stop the work (Go cancels the request's
context; vLLM wraps its routes in `with_cancellation`). After the body is read, the next
ASGI `receive()` returns only when the client disconnects, which is what is raced here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starlette.types import Receive


async def unless_disconnected(work: Coroutine[Any, Any, None], receive: Receive) -> bool:
    """Run `work` to its end (True) unless the client disconnects first (False, work cancelled)."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(disconnected(receive))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        task.cancel()
    if task.done() and not task.cancelled():
        task.result()
        return True
    return False


async def disconnected(receive: Receive) -> None:
    """Return when the client has disconnected (the request body must have been read)."""
    while (await receive())["type"] != "http.disconnect":
        pass
