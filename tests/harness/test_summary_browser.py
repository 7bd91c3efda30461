"""summary.html in a real browser: headless Chromium renders it and the page says what it must.

Skipped only where no Chromium is installed (Debian: ``apt-get install chromium``; .ci/run and
the CI workflow install it).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from acceptance.reports import summary_html
from acceptance.reports.screenshot import INSTALL_HINT, dump_dom, find_chromium, main
from acceptance.settings import SuiteConfig
from tests.support.checklist_docs import document, figures, ttft_evidence

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=f"no Chromium: {INSTALL_HINT}")
# Chromium's start on a loaded 2-core machine takes seconds; this bounds a hung one.
BROWSER_TIMEOUT_S = 120.0
REASON = "AssertionError: TTFT p95 1620.0 ms > 1000.0 ms"
FAIL_RED = (0xC6, 0x28, 0x28)


class _Svgs(HTMLParser):
    """The text inside each <svg> of a page (axis labels, ticks, titles, legends)."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[list[str]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._depth += 1
            self.svgs.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and data.strip():
            self.svgs[-1].append(data.strip())


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """summary.html of a run whose latency.ttft failed, with a baseline that passed."""
    evidence = figures()
    evidence["latency.ttft"] = ttft_evidence(1480.0, 1620.0, [1400.0 + n for n in range(30)])
    doc = document({"latency.ttft": {"verdict": "fail", "reason": REASON}}, evidence, "blocked")
    doc["baseline"] = {"previous_run": "prev/checklist.json", "new_failures": ["latency.ttft"]}
    return summary_html.write(tmp_path, doc, document(), SuiteConfig(), tmp_path / "report.html")


@needs_chromium
def test_chromium_renders_verdict_reason_figures_and_charts(page: Path) -> None:
    assert CHROMIUM is not None
    dom = dump_dom(page, binary=CHROMIUM, timeout_s=BROWSER_TIMEOUT_S)
    assert "<title>BLOCKED · Preflight release checklist</title>" in dom
    assert "✖ BLOCKED" in dom and "Do not release: 1 item failed (latency.ttft)." in dom
    assert REASON.replace(">", "&gt;") in dom
    assert re.search(r"TTFT p95</td>.*?misses SLO.*?worse", dom)
    parser = _Svgs()
    parser.feed(dom)
    assert len(parser.svgs) == 2
    histogram, line = parser.svgs
    assert {"TTFT distribution", "time to first token (ms)", "requests"} <= set(histogram)
    assert "SLO p95 = 1000" in histogram
    assert {"request sent, time since start (s)", "time to first token (ms)"} <= set(line)
    assert any(re.fullmatch(r"\d+(\.\d+)?", text) for text in line)  # tick labels


@needs_chromium
def test_screenshot_command_shows_the_red_verdict_on_the_first_screen(
    page: Path, tmp_path: Path
) -> None:
    """The documented command writes a PNG of the first screen; the blocked banner is on it."""
    out = tmp_path / "summary.png"
    argv = [str(page), str(out), "--chromium", str(CHROMIUM), "--timeout", "120"]
    assert main(argv) == 0
    with Image.open(out) as image:
        assert image.size == (1280, 900)
        top = image.convert("RGB").crop((0, 0, 1280, 300))
        colours = {colour for _, colour in top.getcolors(maxcolors=1 << 20) or []}
    assert any(all(abs(a - b) <= 8 for a, b in zip(c, FAIL_RED, strict=True)) for c in colours)


def test_screenshot_command_without_chromium(page: Path, tmp_path: Path) -> None:
    """A missing browser is a one-line error and exit code 2, not a traceback."""
    argv = [str(page), str(tmp_path / "x.png"), "--chromium", "no-such-browser-here"]
    assert main(argv) == 2
