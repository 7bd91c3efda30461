"""Outbound endpoints named in a target's (redacted) admin config: providers, ingestion, hooks.

Both ``protection.tls`` (https outside local environments) and ``config.environment`` (the
endpoints fit the environment) read them; written once here.
"""

from __future__ import annotations

from typing import Any

# URL settings that point inside the deployment (datastore), not at an external service.
INTERNAL = frozenset({"redis_url"})


def endpoint_urls(settings: dict[str, Any]) -> dict[str, str]:
    """``{setting path: url}`` for every ``*_url`` setting and every provider's ``base_url``."""
    urls = {
        name: value
        for name, value in settings.items()
        if name.endswith("_url") and name not in INTERNAL and isinstance(value, str) and value
    }
    providers = settings.get("providers") or {}
    if isinstance(providers, dict):
        for name, provider in providers.items():
            if isinstance(provider, dict) and isinstance(provider.get("base_url"), str):
                urls[f"providers.{name}.base_url"] = provider["base_url"]
    return urls


def plain_http(urls: dict[str, str]) -> dict[str, str]:
    """The endpoints not reached over https."""
    return {name: url for name, url in urls.items() if not url.lower().startswith("https://")}
