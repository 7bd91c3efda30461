"""acceptance/support/redaction.py: known secrets and secret-looking values never reach a report."""

from __future__ import annotations

from acceptance.settings.logs import DEFAULT_SECRET_PATTERNS
from acceptance.support.redaction import MASK, Redactor


def test_known_secrets_masked_longest_first() -> None:
    redact = Redactor(["abcdef123456", "abcdef123456-long"], [])
    assert redact("k=abcdef123456-long and abcdef123456") == f"k={MASK} and {MASK}"


def test_short_values_are_not_treated_as_secrets() -> None:
    """A two-letter 'secret' would mask half of every line."""
    assert Redactor(["ab"], [])("about") == "about"


def test_default_patterns_keep_the_prefix() -> None:
    redact = Redactor([], DEFAULT_SECRET_PATTERNS)
    text = redact(
        "curl -H 'Authorization: Bearer eyJhbGci.x.y' https://u:pw123@loki/?token=zzz&x=1 "
        "--password=hunter2 --token s3cr3t"
    )
    for secret in ("eyJhbGci", "pw123", "zzz", "hunter2", "s3cr3t"):
        assert secret not in text
    assert "x=1" in text and "https://u:***@loki" in text and "--password=***" in text
