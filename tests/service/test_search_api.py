"""The search, upload and admin document routes over real HTTP, on a real SQLite store."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from service.documents.deps import get_store
from service.documents.seed import seed
from tests.support.api import KEYS, LiveServer, StartApi

API = {"X-API-Key": KEYS["ci"]}
ADMIN = {"X-API-Key": KEYS["ops"]}


@pytest.fixture
def seeded(start_api: StartApi) -> Iterator[tuple[LiveServer, httpx.Client]]:
    server = start_api(upload_max_bytes=64 * 1024, upload_max_pdf_stream_bytes=1024 * 1024)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.get("/health/live")
        store = get_store(type("R", (), {"app": server.app})())  # type: ignore[arg-type] # only .app is read
        seed(store)
        yield server, client


def test_search_results_and_pagination(seeded: tuple[LiveServer, httpx.Client]) -> None:
    """Ranked results carry attribution; pages tile the ranking; total is stable."""
    _, client = seeded
    whole = client.get("/search", params={"q": "language model", "limit": 6}, headers=API).json()
    assert whole["total"] >= 6
    first = whole["results"][0]
    assert {"source", "link", "authors", "licence", "snippet", "score"} <= first.keys()
    pages = [
        client.get(
            "/search", params={"q": "language model", "limit": 3, "offset": o}, headers=API
        ).json()["results"]
        for o in (0, 3)
    ]
    assert [r["id"] for r in pages[0] + pages[1]] == [r["id"] for r in whole["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "***"},
        {"q": "x" * 300},
        {"q": "a", "limit": 0},
        {"q": "a", "source": "nope"},
    ],
)
def test_bad_queries_422(
    seeded: tuple[LiveServer, httpx.Client], params: dict[str, object]
) -> None:
    """Missing, empty, word-less, overlong or out-of-range queries are 422 JSON errors."""
    _, client = seeded
    response = client.get("/search", params=params, headers=API)  # type: ignore[arg-type] # test data
    assert response.status_code == 422 and "error" in response.json()


def test_search_needs_key(seeded: tuple[LiveServer, httpx.Client]) -> None:
    """No key: 401."""
    assert seeded[1].get("/search", params={"q": "a"}).status_code == 401


def _upload(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post("/documents/upload", files={"file": (name, data, "text/plain")}, headers=API)


def test_upload_rules(seeded: tuple[LiveServer, httpx.Client]) -> None:
    """Text is stored under a safe name; oversize 413; archives, binaries, bombs refused."""
    _, client = seeded
    ok = _upload(client, "../../x/notes.md", b"# Notes\nuploaded quokka text")
    assert ok.status_code == 201 and ok.json()["filename"] == "notes.md"
    assert (
        _upload(client, "notes.md", b"# Notes\nuploaded quokka text").json()["result"]
        == "unchanged"
    )
    hits = client.get("/search", params={"q": "quokka"}, headers=API).json()["results"]
    assert hits and hits[0]["source"] == "upload"
    assert _upload(client, "big.md", b"a" * (65 * 1024)).status_code == 413
    assert _upload(client, "a.md", gzip.compress(b"x" * 1000)).status_code == 415
    assert _upload(client, "a.md", b"PK\x03\x04" + bytes(50)).status_code == 415
    assert _upload(client, "a.md", b"\x7fELF" + bytes(50)).status_code == 415
    stream = zlib.compress(bytes(4 * 1024 * 1024))
    bomb = b"%PDF-1.4\nstream\n" + stream + b"\nendstream\n"
    assert _upload(client, "b.pdf", bomb).status_code == 413
    text_pdf = b"%PDF-1.4\nstream\n" + zlib.compress(b"BT (wombat paper) Tj ET") + b"\nendstream\n"
    assert _upload(client, "w.pdf", text_pdf).status_code == 201
    assert client.get("/search", params={"q": "wombat"}, headers=API).json()["total"] == 1


def test_admin_routes(seeded: tuple[LiveServer, httpx.Client]) -> None:
    """Integrity, backup, verify, rollback drill, schema, purge, probe; 403 for ordinary keys."""
    _, client = seeded
    assert client.get("/admin/documents/integrity", headers=API).status_code == 403
    assert client.get("/admin/documents/integrity", headers=ADMIN).json()["ok"] is True
    made = client.post("/admin/backups", headers=ADMIN)
    assert made.status_code == 201 and made.json()["ok"] is True
    latest = client.get("/admin/backups/latest", headers=ADMIN).json()["last"]
    assert latest["ok"] is True and latest["age_s"] < 60
    assert client.post("/admin/backups/verify", headers=ADMIN).json()["ok"] is True
    assert client.post("/admin/documents/rollback-drill", headers=ADMIN).json()["ok"] is True
    assert client.get("/admin/documents/schema", headers=ADMIN).json()["version"] >= 1
    purge = client.post("/admin/retention/purge", json={"dry_run": True}, headers=ADMIN).json()
    assert purge["dry_run"] is True and purge["purged"]["upload"] == 0
    probe = client.post(
        "/admin/egress/probe", json={"url": "http://169.254.169.254/"}, headers=ADMIN
    ).json()
    assert probe["outcome"] == "refused"
    health = client.get("/health").json()["components"]["documents"]
    assert health["status"] == "ok" and health["count"] > 0 and health["last_backup_ok"] is True


def test_backups_disabled_409(start_api: StartApi) -> None:
    """backups_enabled=false: POST /admin/backups is 409."""
    server = start_api(backups_enabled=False)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/admin/backups", headers=ADMIN).status_code == 409


def test_purge_dry_run_as_of_a_later_day(seeded: tuple[LiveServer, httpx.Client]) -> None:
    """A dry run as of a day past the upload retention counts a fresh upload; nothing is removed;
    as_of outside a dry run is refused."""
    _, client = seeded
    files = {"file": ("fresh.md", b"# fresh upload\nretention probe", "text/markdown")}
    assert client.post("/documents/upload", files=files, headers=API).status_code == 201
    days = client.get("/admin/retention", headers=ADMIN).json()["documents_retention_days"]
    later = (datetime.now(UTC) + timedelta(days=days["upload"] + 1)).isoformat()
    now = client.post("/admin/retention/purge", json={"dry_run": True}, headers=ADMIN).json()
    then = client.post(
        "/admin/retention/purge", json={"dry_run": True, "as_of": later}, headers=ADMIN
    ).json()
    assert now["purged"]["upload"] == 0 and then["purged"]["upload"] >= 1, (now, then)
    assert then["as_of"] is not None
    again = client.post("/admin/retention/purge", json={"dry_run": True}, headers=ADMIN).json()
    assert again["purged"] == now["purged"]  # the dry run as of later removed nothing
    wet = client.post("/admin/retention/purge", json={"as_of": later}, headers=ADMIN)
    assert wet.status_code == 422
