"""Verdicts: how a check ends, and how pytest's outcomes map onto the checklist's words.

A check ends with a plain assertion (fail), by returning (pass), or by calling
``not_verified(reason)`` / ``needs_confirmation(reason)``. Both are implemented as a pytest skip
whose message carries a tag, so they stop the test (also from inside a fixture), survive xdist's
report serialisation unchanged, and show as "skipped" with the reason in pytest's own summary.
"""

from __future__ import annotations

import enum
from typing import NoReturn

import pytest

_TAG = "[preflight:{verdict}] "


class Verdict(enum.StrEnum):
    """The five verdicts of checklist.json."""

    PASS = "pass"  # noqa: S105  # a verdict, not a password
    FAIL = "fail"
    WAIVED = "waived"
    NOT_VERIFIED = "not_verified"
    NEEDS_CONFIRMATION = "needs_confirmation"


# Aggregation order: the first verdict in this tuple that any check of an item has wins.
SEVERITY: tuple[Verdict, ...] = (
    Verdict.FAIL,
    Verdict.NOT_VERIFIED,
    Verdict.NEEDS_CONFIRMATION,
    Verdict.PASS,
)


def not_verified(reason: str) -> NoReturn:
    """End the check: the item could not be established (no access, no key, no ground truth)."""
    pytest.skip(_TAG.format(verdict=Verdict.NOT_VERIFIED.value) + reason)


def needs_confirmation(reason: str) -> NoReturn:
    """End the check: the evidence is gathered and sane, a person must still confirm it."""
    pytest.skip(_TAG.format(verdict=Verdict.NEEDS_CONFIRMATION.value) + reason)


def parse_skip_message(message: str) -> tuple[Verdict, str]:
    """Verdict and reason of a skip: tagged by the functions above, or a plain pytest skip.

    A plain skip is "not verified", never a pass: a skipped check established nothing.
    """
    for verdict in (Verdict.NOT_VERIFIED, Verdict.NEEDS_CONFIRMATION):
        tag = _TAG.format(verdict=verdict.value)
        if message.startswith(tag):
            return verdict, message[len(tag) :]
    return Verdict.NOT_VERIFIED, f"skipped: {message}"


def first_line(text: str, limit: int = 300) -> str:
    """A one-line reason for reports: the first non-empty line, cut to ``limit`` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def verdict_of_phase(
    report: pytest.TestReport, call: pytest.CallInfo[None]
) -> tuple[Verdict, str | None] | None:
    """What one phase (setup, call, teardown) of a test says about its items; None: nothing.

    * failed in any phase (incl. a fixture error in setup) -> fail
    * skipped -> the tagged verdict, or not_verified "skipped: ..."
    * xfailed -> fail: known failures are waived in preflight.toml, where they have an owner and
      an expiry, not hidden behind a marker
    * call passed -> pass
    """
    if report.failed:
        excinfo = call.excinfo
        text = excinfo.exconly() if excinfo is not None else str(report.longrepr)
        prefix = "" if report.when == "call" else f"error in {report.when}: "
        return Verdict.FAIL, prefix + first_line(text)
    if report.skipped:
        wasxfail = getattr(report, "wasxfail", None)
        if wasxfail is not None:
            return Verdict.FAIL, first_line(f"xfail: {wasxfail or 'expected failure'}")
        message = ""
        if call.excinfo is not None and isinstance(call.excinfo.value, pytest.skip.Exception):
            message = call.excinfo.value.msg or ""
        elif isinstance(report.longrepr, tuple):
            message = report.longrepr[2].removeprefix("Skipped: ")
        return parse_skip_message(message)
    if report.when == "call":
        return Verdict.PASS, None
    return None


def worst(verdicts: list[tuple[Verdict, str | None]]) -> tuple[Verdict, list[str]]:
    """The deciding verdict among several, with the reasons of the checks that gave it."""
    for verdict in SEVERITY:
        reasons = [reason or "" for v, reason in verdicts if v is verdict]
        if reasons:
            return verdict, [r for r in reasons if r]
    return Verdict.NOT_VERIFIED, ["not run"]
