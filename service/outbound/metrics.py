"""The one counter of outbound HTTP calls, shared by every client that leaves the process.

The LLM gateway (service/gateway/) and the general outbound client (arXiv, Hugging Face,
GitHub) both count here, so dashboards and the suite read one metric family for all egress.
Defined once: prometheus_client refuses a second registration of the same name.
"""

from __future__ import annotations

from prometheus_client import Counter

OUTBOUND_REQUESTS = Counter(
    "platform_outbound_requests_total",
    "Outbound HTTP requests by destination (provider or external service) and outcome"
    " (ok, http_error, connect_error, timeout, transport_error, cancelled).",
    ["destination", "outcome"],
)


def count_outbound(destination: str, outcome: str) -> None:
    """Count one outbound request; `destination` is a configured name, never a raw URL."""
    OUTBOUND_REQUESTS.labels(destination=destination, outcome=outcome).inc()
