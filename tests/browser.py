"""Lay out a report in headless Chromium (Debian's `chromium` package) at a given width and read
back what a reader would notice: whether the page scrolls sideways and whether its charts load."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL = "apt-get install chromium (Debian's package; .ci/run installs it)"
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@dataclass(frozen=True)
class Layout:
    page_width: int  # the page's scroll width: wider than the view means sideways scrolling
    view_width: int
    image_widths: list[int]  # 0 for an image the browser could not decode


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(f"the report layout tests need Chromium: {INSTALL}")
    return path


def layout(report: Path, width: int) -> Layout:
    """The report in an iframe `width` CSS pixels wide (headless windows have a minimum width; a
    frame does not), measured once it has loaded."""
    probe = report.parent / f"_layout_probe_{width}.html"
    probe.write_text(
        "<!DOCTYPE html><html><head><title>not loaded</title></head><body style='margin:0'>"
        f"<iframe id='f' src='{report.name}' style='width:{width}px;height:900px;border:0'>"
        "</iframe><script>f.addEventListener('load', () => { const d = f.contentDocument;"
        " document.title = JSON.stringify({page: d.documentElement.scrollWidth,"
        " view: d.documentElement.clientWidth,"
        " images: [...d.images].map(i => i.naturalWidth)}); });</script></body></html>"
    )
    try:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--allow-file-access-from-files",  # the probe reads the frame's document
                "--window-size=1400,1000",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        probe.unlink()
    found = TITLE.search(done.stdout)
    assert found and found.group(1) != "not loaded", done.stderr[-2000:]
    measured = json.loads(html.unescape(found.group(1)))
    return Layout(measured["page"], measured["view"], measured["images"])
