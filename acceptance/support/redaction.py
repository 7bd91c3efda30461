"""Masking secrets in what the reports show of the operator's tools (command lines, output).

A log command or a fault hook may carry a token on its command line (``logcli --password``,
``curl -H 'Authorization: ...'``) and may print one. Reports are shared widely, so whatever the
suite shows of a command passes through a ``Redactor``: every secret the suite knows (the
target's keys, webhook secrets, hook headers, the GitHub token) and everything matching the
configured secret patterns (``[logs] secret_patterns``) becomes ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.settings.faults import HOOKS

MASK = "***"
# Shorter values are not secrets worth masking (and would mask half of any text).
MIN_SECRET_CHARS = 6


class Redactor:
    """``redactor(text)``: the text with known secrets and secret-looking values masked."""

    def __init__(self, secrets: Iterable[str], patterns: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len)[::-1]
        self.patterns = [re.compile(p) for p in patterns]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern in self.patterns:
            text = pattern.sub(_masked, text)
        return text


def _masked(match: re.Match[str]) -> str:
    """Keep the first group (``Bearer ``, ``password=``) and mask the rest of the match."""
    return (match.group(1) if match.re.groups else "") + MASK


def known_secrets(target: Target, config: SuiteConfig) -> list[str]:
    """Every secret value the suite holds for this run."""
    values = [target.api_key, target.api_key_2, target.admin_key, target.revoked_key]
    values.append(target.rate_limit_key)
    stack = target.stack
    if stack is not None:
        values.extend(dict(stack.keys.model_dump()).values())
        values.extend((getattr(stack, "webhook_secrets", None) or {}).values())
    values.extend(v.get_secret_value() for v in config.ingestion.webhook_secrets.values())
    token = config.ops.user_issues_token
    values.append(token.get_secret_value() if token is not None else None)
    for name in HOOKS:
        hook = getattr(config.faults, name)
        if hook is not None:
            values.extend(v.get_secret_value() for v in hook.headers.values())
    return [str(v) for v in values if v]


def redactor_for(target: Target, config: SuiteConfig) -> Redactor:
    return Redactor(known_secrets(target, config), config.logs.secret_patterns)
