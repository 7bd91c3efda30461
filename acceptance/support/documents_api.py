"""Helpers of the search/document checks: the labelled set, search calls, uploads, metrics.

Kept here (not in each test module) so that relevance is computed one way everywhere.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from acceptance.settings import SuiteConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Relevance:
    recall_at_k: float
    mrr: float
    per_query: dict[str, dict[str, Any]]


def labelled_set(config: SuiteConfig) -> list[dict[str, Any]]:
    path = config.documents.labelled_set
    path = path if path.is_absolute() else REPO_ROOT / path
    queries: list[dict[str, Any]] = json.loads(path.read_text())["queries"]
    return queries


def documents_held(anon_client: httpx.Client) -> int | None:
    """How many documents the target says it holds (/health ``documents.count``); None: unsaid.

    An empty answer from a target that says it holds documents is a failure, not a lack of
    evidence: the checks that search use this to tell the two apart."""
    response = anon_client.get("/health")
    component = (
        response.json().get("components", {}).get("documents") if response.is_success else None
    )
    count = component.get("count") if isinstance(component, dict) else None
    return int(count) if isinstance(count, int | float) else None


def search(client: httpx.Client, q: str, **params: Any) -> httpx.Response:
    return client.get("/search", params={"q": q, **params})


def relevance(client: httpx.Client, queries: list[dict[str, Any]], k: int) -> Relevance:
    """Mean recall@k and MRR (first relevant hit in the top 10) over the labelled queries."""
    recalls: list[float] = []
    reciprocal: list[float] = []
    per_query: dict[str, dict[str, Any]] = {}
    for item in queries:
        response = search(client, item["q"], limit=max(k, 10))
        response.raise_for_status()
        ids = [r["id"] for r in response.json()["results"]]
        relevant = set(item["relevant"])
        found = len(relevant & set(ids[:k]))
        recalls.append(found / len(relevant))
        rank = next((i + 1 for i, doc in enumerate(ids) if doc in relevant), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
        per_query[item["q"]] = {"recall": round(recalls[-1], 3), "first_rank": rank}
    n = max(len(queries), 1)
    return Relevance(sum(recalls) / n, sum(reciprocal) / n, per_query)


def upload(
    client: httpx.Client, name: str, data: bytes, content_type: str = "text/markdown"
) -> httpx.Response:
    return client.post("/documents/upload", files={"file": (name, data, content_type)})


def unique_word() -> str:
    """A token no corpus contains (letters only: FTS tokenises digits and letters alike)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:12])
