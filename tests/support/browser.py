"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium through Playwright's
Python API (no browser download). Without it the tests skip, naming why; with
HARVESTER_REQUIRE_BROWSER=1 (CI) the skip is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_ENV = "HARVESTER_REQUIRE_BROWSER"
# Every element's box against the viewport, after layout; names the offenders for the message.
MEASURE = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      wide.push(`${el.tagName.toLowerCase()} ${Math.round(box.left)}..${Math.round(box.right)}: `
                + (el.textContent || '').trim().slice(0, 60));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide.slice(0, 10)};
}"""



def find_browser() -> str | None:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def unavailable(reason: str):
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it. Install it: apt-get install -y chromium")
    pytest.skip(reason)


def launch_chromium():
    """A generator for a fixture: yields a launched headless Chromium, closes it after."""
    executable = find_browser()
    if executable is None:
        unavailable("no Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()
