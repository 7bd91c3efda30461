"""``preflight``: the release gate as one command, for a directory that is not this repository.

``preflight ARGS`` is exactly ``pytest -m preflight --pyargs acceptance ARGS``: the checks of the
installed package, with the plugin loaded by its entry point, so a release repository needs no
checkout, conftest or pytest.ini. Every argument passes through to pytest unchanged (the
plugin's options, ``-n 2``, ``--junitxml``, ``-k``); a ``-m`` given here replaces ``preflight``.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

# -p names the plugin's entry point (a no-op where it is installed): the command also works where
# the package is importable but its metadata is not installed (PYTHONPATH, an older install).
PYTEST_ARGS = ("-p", "acceptance.harness.plugin", "-m", "preflight", "--pyargs", "acceptance")
# This module runs from inside the package, so `acceptance` and `acceptance.harness` are imported
# before pytest marks the entry point's package for assertion rewriting, and pytest warns on every
# run. Only those two __init__ modules and this one escape rewriting (they hold no assert); the
# plugin and the checks import later and are rewritten. The filter names this one message.
QUIET_ARGS = (
    "-W",
    "ignore:Module already imported so cannot be rewritten; acceptance"
    ":pytest.PytestAssertRewriteWarning",
)
USAGE = """usage: preflight [OPTIONS...]

Fill in the release checklist: runs
  pytest {pytest_args} OPTIONS...
With neither --target nor --stack it boots the reference stack; reports go to preflight-report/.

Options of the checklist (every other pytest option passes through too; `pytest --help` lists
them all):
{options}

Exit codes:
  {ready:<4} ready (also ready_with_unverified, unless --fail-on-unverified)
  {blocked:<4} blocked: an item failed, or an expired waiver was used
  {unverified:<4} items not verified, with --fail-on-unverified ([report] fail_on_unverified)
  {bad:<4} bad input, nothing ran (preflight.toml, a waiver, --baseline, --report-dir)
  1, 3-5 pytest's own: a test that is no check failed, internal error, usage, nothing collected
"""


def usage() -> str:
    """The help text, its option list taken from the plugin's own option table."""
    # Imported here: a plugin imported before pytest.main() starts would not be assert-rewritten.
    from acceptance.harness import exitcodes
    from acceptance.harness.plugin import OPTIONS

    lines = []
    for flag, keywords in OPTIONS:
        metavar = keywords.get("metavar")
        name = f"{flag} {metavar}" if metavar else flag
        text = textwrap.fill(
            keywords["help"], width=100, initial_indent=f"  {name:<26} ", subsequent_indent=" " * 29
        )
        lines.append(text)
    return USAGE.format(
        pytest_args=" ".join(PYTEST_ARGS),
        options="\n".join(lines),
        ready=exitcodes.READY,
        blocked=exitcodes.BLOCKED,
        unverified=exitcodes.UNVERIFIED,
        bad=exitcodes.BAD_INPUT,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "-h" in args or "--help" in args:
        print(usage())
        return 0
    return int(pytest.main([*PYTEST_ARGS, *QUIET_ARGS, *args]))


if __name__ == "__main__":
    sys.exit(main())
