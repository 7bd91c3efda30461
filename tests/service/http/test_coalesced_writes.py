"""Writes within one event-loop turn reach the socket as one write, and nothing is lost."""

from __future__ import annotations

import asyncio
import socket

from service.http.coalesced_writes import CoalescingTransport


def _read_all(peer: socket.socket) -> bytes:
    """Everything the peer receives until the connection ends (run off the event loop)."""
    data = b""
    try:
        while chunk := peer.recv(1024):
            data += chunk
    except ConnectionResetError:  # an abort resets the connection
        pass
    peer.close()
    return data


async def _pair() -> tuple[CoalescingTransport, socket.socket, asyncio.Transport]:
    """A real loopback connection: our side wrapped, the peer a plain blocking socket."""
    server = socket.create_server(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, *server.getsockname()[:2])
    peer, _ = server.accept()
    server.close()
    peer.settimeout(5)
    return CoalescingTransport(transport, loop), peer, transport


def test_one_turn_one_write() -> None:
    """Head and body written in one turn leave together; the next turn's write follows."""

    async def run() -> list[int]:
        wrapped, peer, transport = await _pair()
        sizes: list[int] = []
        original = transport.write

        def counting(data: bytes) -> None:
            sizes.append(len(data))
            original(data)

        transport.write = counting  # type: ignore[assignment,method-assign]  # count the writes
        wrapped.write(b"HTTP/1.1 200 OK\r\n\r\n")
        wrapped.write(b"first")
        assert sizes == []  # held until the turn ends
        await asyncio.sleep(0)
        wrapped.write(b"second")
        await asyncio.sleep(0)
        wrapped.close()
        received = await asyncio.get_running_loop().run_in_executor(None, _read_all, peer)
        assert received == b"HTTP/1.1 200 OK\r\n\r\nfirstsecond"
        return sizes

    assert asyncio.run(run()) == [24, 6]


def test_close_flushes_and_abort_drops() -> None:
    """Bytes held when the connection is closed are written first; an abort discards them."""

    async def run() -> tuple[bytes, bytes]:
        results = []
        for closing in ("close", "abort"):
            wrapped, peer, _ = await _pair()
            wrapped.write(b"held")
            getattr(wrapped, closing)()
            loop = asyncio.get_running_loop()
            results.append(await loop.run_in_executor(None, _read_all, peer))
        return results[0], results[1]

    assert asyncio.run(run()) == (b"held", b"")
