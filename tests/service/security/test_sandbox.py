"""The sandbox stops hostile input with a clear reason; ordinary content parses."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from service.emulators.arxiv import corpus, feed
from service.security import sandbox
from service.settings import Settings


def _settings(*, sandbox_enabled: bool = True) -> Settings:
    return Settings(
        api_keys={"a": SecretStr("k" * 30)},
        admin_keys={"b": SecretStr("m" * 30)},
        sandbox_cpu_s=1,
        sandbox_enabled=sandbox_enabled,
    )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("cpu", "cpu_limit"),
        ("memory", "memory_limit"),
        ("write", "blocked"),
        ("connect", "blocked"),
        ("xml-bomb", "xml_forbidden"),
    ],
)
def test_probe_is_stopped(kind: str, reason: str) -> None:
    """Each kind of hostile input is stopped by the limit meant for it."""
    result = asyncio.run(sandbox.probe(_settings(), kind))
    assert result["stopped"] and result["reason"] == reason, result


def test_unsandboxed_write_escapes() -> None:
    """With the sandbox off, the same probe is not stopped (what opsec.sandbox detects)."""
    result = asyncio.run(sandbox.probe(_settings(sandbox_enabled=False), "write"))
    assert not result["stopped"]


def test_atom_feed_parses_in_sandbox() -> None:
    papers = corpus.load()[:3]
    data = feed.feed("search_query=all", papers, 30, 0, 3)
    parsed = asyncio.run(sandbox.parse(_settings(), "atom", data))
    assert [e["id"] for e in parsed["entries"]] == [p.id for p in papers]
    assert parsed["entries"][0]["licence"] == papers[0].licence
    assert parsed["total"] == 30


def test_child_gets_no_platform_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's environment is built from scratch: PLATFORM_* never reaches it."""
    monkeypatch.setenv("PLATFORM_API_KEYS", "secret")
    page = b"<html><head><title>T</title></head><body>x</body></html>"
    assert sandbox.run("html", page, sandbox.Limits(2, 256, 1, 10))["title"] == "T"


def test_oversized_input_refused() -> None:
    with pytest.raises(sandbox.SandboxError, match="too_large"):
        sandbox.run("html", b"x" * 20, sandbox.Limits(1, 256, 1, 5, max_input_bytes=10))
