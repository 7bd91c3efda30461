"""The bytes a response writes in one turn of the event loop leave in one write.

Uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then each body message on its own. Every write wakes the client, and on
a busy host the client may run before the server writes what it had ready in the same turn: the
gateway's first token follows its headers at once, and the head written alone cost 0.8 ms of
time to first token on the 2-core reference machine (bench/README.md, gateway overhead). Holding
what is written during one turn and flushing it when the turn ends (``loop.call_soon``) delays
nothing: the flush runs as soon as the writing code awaits anything, before any other I/O.
No library does this for uvicorn's protocols, hence this small proxy.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """An asyncio transport whose writes within one loop turn go out as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        """Everything else (extra info, reading, closing state) is the transport's own."""
        return getattr(self._transport, name)
