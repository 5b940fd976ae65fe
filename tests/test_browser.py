"""Open a real report in headless Chromium: no errors, no requests, every picture drawn."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.browser


def _need_browser():
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("RISKMC_REQUIRE_BROWSER"):
            pytest.fail("Chromium or Playwright missing but RISKMC_REQUIRE_BROWSER is set "
                        "(apt-get install chromium; pip install playwright)")
        pytest.skip("Chromium/Playwright not installed (.ci/run installs them)")


def test_report_in_chromium(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright
    from typer.testing import CliRunner

    from riskmc.cli import app
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(ROOT / "priors" / "base.toml"), "--draws", "20000",
                                 "--seed", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    url = (out / "report.html").as_uri()
    console, page_errors, requests = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: console.append(m) if m.type == "error" else None)
        page.on("pageerror", lambda e: page_errors.append(e))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(url)
        page.wait_for_load_state("load")
        heads = page.locator("h2").all_inner_texts()
        sizes = page.eval_on_selector_all(
            "svg", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report-full.png"
        page.screenshot(path=str(shot), full_page=True)
        # Print: nothing wider than an A4 or Letter page's printable width (~170 mm).
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 640, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        # Page one is the summary (header, headline, claims, what moves it), then a break.
        first_page = page.evaluate("document.querySelector('#headline').getBoundingClientRect().bottom + scrollY")
        breaks = page.evaluate("getComputedStyle(document.querySelector('#headline')).breakAfter")
        pdfs = {fmt: page.pdf(format=fmt) for fmt in ("A4", "Letter")}
        # Priors and the model are folded away on screen but print whole.
        folded = page.eval_on_selector_all("details", "els => els.map(e => e.open)")
        printed = page.evaluate("document.querySelector('#model details table').getBoundingClientRect().height")
        for fmt, pdf in pdfs.items():
            (ARTIFACTS / f"report-{fmt}.pdf").write_bytes(pdf)
        browser.close()
    assert not console, [m.text for m in console]
    assert not page_errors, page_errors
    assert requests == [url]
    assert heads == ["Headline", "Distributions in 2030", "Paths, 2025–2030", "What drives it", "Diagnostics",
                     "Reproduce", "Priors", "Model"]
    assert sizes and all(w > 0 and h > 0 for w, h in sizes)
    assert folded == [False, False] and printed > 0
    assert overflow <= 0
    # An A4 page less 15 mm margins is 267 mm, about 1,009 CSS px at 96 dpi (Letter: 962).
    assert breaks == "page" and first_page < 960
    assert all(pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3 for pdf in pdfs.values())
    # Not blank: a PNG of a blank page compresses to almost nothing.
    assert shot.stat().st_size > 50_000
    shutil.copy(out / "report.html", ARTIFACTS / "report.html")
