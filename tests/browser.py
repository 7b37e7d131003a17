"""Open a report in headless Chromium (Debian's package) through Playwright:
collect console errors, check what was drawn, save a screenshot."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshots_or_skip(tmp_path: Path) -> Path:
    """The folder for screenshots, ``tmp_path / "screenshots"`` (created; pytest keeps the last runs' temporary
    folders, so they can be looked at after the run); skips the calling test when Debian's chromium or playwright
    is missing."""
    import pytest

    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
    pytest.importorskip("playwright")
    shots = tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@dataclass
class PageCheck:
    errors: list[str] = field(default_factory=list)
    map_points: int = 0
    topic_rows: int = 0
    alerts: list[str] = field(default_factory=list)
    title: str = ""


def open_report(report: Path, screenshot: Path, *, width: int = 1366, height: int = 900) -> PageCheck:
    from playwright.sync_api import sync_playwright

    check = PageCheck()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda msg: check.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: check.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (check.alerts.append(dialog.message), dialog.dismiss()))
        page.goto(report.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        check.title = page.title()
        check.map_points = page.evaluate(
            "() => document.querySelectorAll('#fig-map .scatterlayer .point').length"
        )
        check.topic_rows = page.evaluate("() => document.querySelectorAll('#topic-table tbody tr').length")
        page.screenshot(path=str(screenshot), full_page=False)
        browser.close()
    return check
