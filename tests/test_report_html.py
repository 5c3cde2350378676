"""summary --format html: one self-contained page, checked in a real headless Chromium
(tests/browser.py) for console errors, network requests and a drawing that is not blank."""

import os
import re

import pytest
from typer.testing import CliRunner

from browser import chromium, ink, load, png_pixels
from conftest import ROOT
from netc.cli import app

runner = CliRunner()
needs_browser = pytest.mark.skipif(chromium() is None and not os.environ.get("CI"),
                                   reason="chromium is not installed (CI installs it: .ci/run)")

PROBES = {
    "rows": "document.querySelectorAll('#layers tbody tr').length",
    "visible": "[...document.querySelectorAll('#layers tbody tr')].filter(r => r.style.display !== 'none').length",
    "expanded": "document.getElementById('expand-all').click(); "
                "[...document.querySelectorAll('#layers tbody tr')].filter(r => r.style.display !== 'none').length",
    "sorted": "document.querySelectorAll('#layers thead th')[3].click(); "
              "document.querySelectorAll('#layers thead th')[3].click(); "
              "document.querySelector('#layers tbody tr').cells[0].textContent",
    "boxes": "document.querySelectorAll('#drawing svg g.item').length",
}


def report(tmp_path, example: str, *args: str):
    r = runner.invoke(app, ["summary", f"examples/{example}", "--format", "html", *args])
    assert r.exit_code == 0, r.output
    path = tmp_path / f"{example}.html"
    path.write_text(r.stdout)
    return path, r.stdout


def test_page_is_self_contained(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, page = report(tmp_path, "resnet18.yaml")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", page)     # no CDN, no remote asset
    assert "<svg" in page and 'id="layers"' in page and "A003" in page          # drawing, table, findings


@needs_browser
@pytest.mark.parametrize("example, depth, stages", [("resnet152.yaml", "1", 10), ("googlenet.yaml", "2", None)])
def test_report_in_headless_chromium(tmp_path, monkeypatch, example, depth, stages):
    monkeypatch.chdir(ROOT)
    path, _ = report(tmp_path, example, "--depth", depth)
    run = load(path, "#drawing", PROBES)
    assert run.errors == []
    assert run.requests == [path.resolve().as_uri()]            # the page itself, nothing else
    w, h, _ = png_pixels(run.screenshot)
    assert w > 300 and h > 100
    assert ink(run.screenshot) > 0.03                            # boxes and labels, not a blank frame
    n = run.values
    assert n["boxes"] > 5 and n["rows"] > n["visible"] and n["expanded"] == n["rows"]
    if stages:
        assert n["visible"] == stages                            # collapsed to the stages
        assert n["sorted"].endswith("layer3")                # the most parameters first


@needs_browser
def test_the_harness_sees_errors_and_requests(tmp_path):
    """The browser check can fail: a page that logs an error, throws and fetches is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><div id='d'>x</div><img src='http://127.0.0.1:9/a.png'>"
                    "<script>console.error('boom'); fetch('http://127.0.0.1:9/b').catch(() => {});"
                    "null.x;</script></body></html>")
    run = load(page, "#d")
    assert any("boom" in e for e in run.errors) and any("exception" in e for e in run.errors)
    assert "http://127.0.0.1:9/a.png" in run.requests and "http://127.0.0.1:9/b" in run.requests
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body><div id='d' style='width:300px;height:100px'></div></body></html>")
    assert ink(load(blank, "#d").screenshot) == 0
