"""Render a report page in headless Chromium: a PNG of its first screen, or its DOM.

    python -m acceptance.reports.screenshot preflight-report/summary.html summary.png

Chromium (Debian: ``apt-get install chromium``) runs with a throwaway profile and everything
that would reach the network switched off, so the picture shows what a person opening the file
offline sees. The browser test of the summary (tests/harness/) uses ``dump_dom`` from here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install Chromium (Debian: apt-get install chromium; or scripts/setup)"
# Headless, no sandbox (root in containers and CI), no background traffic of any kind.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Every frame fully composited before it is drawn: without it a loaded machine may capture
    # a picture whose lower tiles are not painted yet.
    "--run-all-compositor-stages-before-draw",
)
# Virtual time lets layout and SVG painting finish before the DOM is read or the picture taken,
# without a wall-clock wait; the page runs no script, so a short budget suffices.
VIRTUAL_TIME_MS = 3000


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or produced nothing."""


def find_chromium(explicit: str | None = None) -> str | None:
    """The given executable, else the first of ``BINARIES`` on PATH."""
    if explicit:
        return shutil.which(explicit)
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


def _run(binary: str, page: Path, extra: Sequence[str], timeout_s: float) -> str:
    if not page.is_file():
        raise BrowserError(f"{page}: no such file")
    with tempfile.TemporaryDirectory(prefix="preflight-chromium-") as profile:
        argv = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}",
            *extra,
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"{binary} did not finish within {timeout_s:g} s") from exc
    if done.returncode != 0:
        raise BrowserError(f"{binary} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def dump_dom(page: Path, *, binary: str, timeout_s: float = 60.0) -> str:
    """The page's DOM after rendering, serialised as HTML."""
    return _run(binary, page, ["--dump-dom"], timeout_s)


def screenshot(
    page: Path, out: Path, *, binary: str, width: int, height: int, timeout_s: float = 60.0
) -> Path:
    """A PNG of the page at the given window size (the first screen at the default size)."""
    out = out.resolve()
    out.unlink(missing_ok=True)
    _run(binary, page, [f"--screenshot={out}", f"--window-size={width},{height}"], timeout_s)
    if not out.is_file():
        raise BrowserError(f"{binary} wrote no screenshot to {out}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m acceptance.reports.screenshot",
        description="PNG of a report page (e.g. preflight-report/summary.html) in headless "
        "Chromium, as a person opening the file sees it.",
    )
    parser.add_argument("page", type=Path, help="the HTML file")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1280, help="Default: %(default)s")
    parser.add_argument(
        "--height", type=int, default=900, help="Default: %(default)s (the first screen)"
    )
    parser.add_argument("--chromium", help=f"executable; Default: the first of {BINARIES} found")
    parser.add_argument("--timeout", type=float, default=60.0, help="Default: %(default)s s")
    args = parser.parse_args(argv)
    binary = find_chromium(args.chromium)
    if binary is None:
        print(f"no Chromium found: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        out = screenshot(
            args.page,
            args.out,
            binary=binary,
            width=args.width,
            height=args.height,
            timeout_s=args.timeout,
        )
    except BrowserError as exc:
        print(f"screenshot failed: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
