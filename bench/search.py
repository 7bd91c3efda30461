"""Search relevance and latency over a 10,000-document corpus: ``python -m bench.search``.

The 52 labelled fixture documents are mixed into generated distractors that reuse the same
vocabulary (titles and abstracts built from the fixture's topic words), so the labelled queries
compete with thousands of near-misses. Reports recall@5 and MRR of the labelled queries, and
query latency (p50/p95) of the store and of ``GET /search`` over HTTP (in-process uvicorn).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service.documents import DocumentIn, DocumentStore, Source, StorePolicy
from service.documents.seed import load_corpus, seed
from service.waiting import poll_until

TOPICS = [
    "attention",
    "transformer",
    "quantization",
    "retrieval",
    "diffusion",
    "speculative",
    "decoding",
    "reinforcement",
    "preference",
    "reasoning",
    "embedding",
    "mixture",
    "experts",
    "vision",
    "speech",
    "scaling",
    "inference",
    "serving",
    "cache",
    "benchmark",
    "evaluation",
    "fine-tuning",
    "adapter",
    "tokenizer",
    "multilingual",
    "agents",
    "tools",
    "parallelism",
    "memory",
    "gpu",
    "kernel",
    "contrastive",
    "language",
    "model",
    "training",
    "dataset",
]
FILLER = [
    "we",
    "propose",
    "a",
    "novel",
    "method",
    "for",
    "efficient",
    "robust",
    "large",
    "results",
    "show",
    "improvements",
    "over",
    "baselines",
    "on",
    "standard",
    "tasks",
]
GENERATED_SOURCES: list[Source] = ["arxiv", "huggingface", "github"]
LICENCES = [
    "cc-by-4.0",
    "mit",
    "apache-2.0",
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
    "cc-by-nc-sa-4.0",
    "unknown",
]


def distractor(rng: random.Random, n: int) -> DocumentIn:
    source = rng.choice(GENERATED_SOURCES)
    words = rng.sample(TOPICS, 4)
    text = " ".join(rng.choice(FILLER + words) for _ in range(rng.randint(60, 200)))
    return DocumentIn(
        source=source,
        source_id=f"gen-{n}",
        title=" ".join(w.title() for w in words[:3]),
        link=f"https://example.org/{source}/gen-{n}",
        authors=[f"Author {rng.randint(1, 5000)}"],
        licence=rng.choice(LICENCES),
        content=text,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(store: DocumentStore, k: int) -> dict[str, float]:
    queries = load_corpus()["queries"]
    recalls, reciprocal = [], []
    for item in queries:
        ids = [h.id for h in store.search(item["q"], limit=10).hits]
        relevant = set(item["relevant"])
        recalls.append(len(relevant & set(ids[:k])) / len(relevant))
        rank = next((i + 1 for i, d in enumerate(ids) if d in relevant), None)
        reciprocal.append(1 / rank if rank else 0.0)
    return {"recall_at_k": statistics.fmean(recalls), "mrr": statistics.fmean(reciprocal)}


def latency(store: DocumentStore, rounds: int) -> dict[str, float]:
    qs = [item["q"] for item in load_corpus()["queries"]]
    times = []
    for _ in range(rounds):
        for q in qs:
            started = time.perf_counter()
            store.search(q, limit=10)
            times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95), "n": len(times)}


def http_latency(db: Path, rounds: int) -> dict[str, float]:
    """GET /search over loopback HTTP against an app on the same store (auth, validation, JSON)."""
    import threading

    import httpx
    import uvicorn

    from service.app import create_app
    from service.stack.ports import free_port
    from tests.support.api import KEYS, api_settings  # the tests' settings and keys

    settings = api_settings(
        "redis://127.0.0.1:1/0", db.parent, data_dir=db.parent, rate_limit_enabled=False
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    qs = [item["q"] for item in load_corpus()["queries"]]
    times: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            poll_until(lambda: server.started, timeout=10, interval=0.01, message="uvicorn start")
            for _ in range(rounds):
                for q in qs:
                    started = time.perf_counter()
                    r = client.get("/search", params={"q": q}, headers={"X-API-Key": KEYS["ci"]})
                    times.append((time.perf_counter() - started) * 1000)
                    r.raise_for_status()
    finally:
        server.should_exit = True
        thread.join(5)
    return {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95), "n": len(times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--docs", type=int, default=10_000, help="corpus size. Default: 10000")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the query set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 - reproducible corpus, not security
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        db = Path(tmp) / "documents.sqlite3"
        store = DocumentStore.open(db, StorePolicy())
        started = time.perf_counter()
        seed(store)
        for n in range(args.docs - store.count()):
            store.upsert(distractor(rng, n))
        build_s = time.perf_counter() - started
        report = {
            "documents": store.count(),
            "build_s": round(build_s, 1),
            **measure(store, args.k),
            "store": latency(store, args.rounds),
        }
        if not args.no_http:
            report["http"] = http_latency(db, args.rounds)
    sys.stdout.write(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
