"""Free loopback ports, and recognising the race that comes with them.

A port found free by binding 127.0.0.1:0 can be taken by someone else (another stack under
pytest-xdist, another CI job) before the child binds it. There is no way to hand a bound socket to
valkey-server or uvicorn here, so the stack detects the clash in the child's log and retries.
"""

from __future__ import annotations

import socket

# What valkey-server and uvicorn write when bind() fails with EADDRINUSE.
_CLASH_MARKERS = ("address already in use", "errno 98", "eaddrinuse")


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_port_clash(log_text: str) -> bool:
    """Whether a child's log says it died because its port was taken."""
    lowered = log_text.lower()
    return any(marker in lowered for marker in _CLASH_MARKERS)
