"""The emulated Ollama's model catalogue: `/api/tags` (installed) and `/api/ps` (loaded).

Ollama resolves "llama3.2" to "llama3.2:latest"; the platform's router may send either, so
names are normalised the same way before lookup.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Ollama keeps a model loaded this long after its last request (its default keep_alive).
KEEP_ALIVE_S = 300.0
CONTEXT_LENGTH = 4096


def go_time(ns: int | None = None) -> str:
    """A Go `time.Time` as encoding/json writes it (RFC 3339, nanoseconds, zeros trimmed)."""
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{frac:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def normalise(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass
class Catalogue:
    """Installed models and when each loaded one expires."""

    names: list[str]
    installed_at: int = field(default_factory=time.time_ns)
    expires: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = [normalise(n) for n in self.names]

    def find(self, name: str) -> str | None:
        full = normalise(name)
        return full if full in self.names else None

    def touch(self, name: str) -> None:
        """A request loads the model (as Ollama does) and extends its keep-alive."""
        self.expires[name] = time.time() + KEEP_ALIVE_S

    def forget(self) -> None:
        self.expires.clear()

    def tags(self) -> dict[str, Any]:
        """ListModelResponse field order: name, model, modified_at, size, digest, details."""
        stamp = go_time(self.installed_at)
        entries = []
        for name in self.names:
            entry = self._entry(name)
            entries.append({"name": name, "model": name, "modified_at": stamp} | entry)
        return {"models": entries}

    def ps(self) -> dict[str, Any]:
        now = time.time()
        loaded = [n for n, until in self.expires.items() if until > now]
        return {
            "models": [
                self._entry(n)
                | {
                    "expires_at": go_time(int(self.expires[n] * 1e9)),
                    "size_vram": self._size(n),
                    "context_length": CONTEXT_LENGTH,
                }
                for n in loaded
            ]
        }

    @staticmethod
    def _size(name: str) -> int:
        return 1_000_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)

    def _entry(self, name: str) -> dict[str, Any]:
        family = name.split(":")[0].split("/")[-1].rstrip("0123456789.") or "llama"
        return {
            "name": name,
            "model": name,
            "size": self._size(name),
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        }
