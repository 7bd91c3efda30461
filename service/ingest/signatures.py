"""Webhook authentication: GitHub's ``X-Hub-Signature-256`` and Hugging Face's secret header.

GitHub signs the raw request body with HMAC-SHA256 under the shared secret and sends
``sha256=<hex>``; the body must be verified exactly as received (a re-serialised JSON differs).
Hugging Face sends the secret itself in ``X-Webhook-Secret``. Both compare in constant time;
the HF secret is compared as digests so that its length does not leak either.
"""

from __future__ import annotations

import hashlib
import hmac

GITHUB_PREFIX = "sha256="


def github_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return GITHUB_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(GITHUB_PREFIX):
        return False
    return hmac.compare_digest(github_signature(secret, body).encode(), header.strip().encode())


def verify_huggingface(secret: str, header: str | None) -> bool:
    if header is None:
        return False
    given = hashlib.sha256(header.encode()).digest()
    return hmac.compare_digest(given, hashlib.sha256(secret.encode()).digest())
