"""A short seeded slice of benchmarks/fuzz.py: generated and mutated files through
load, lint, summary and build, with no crash and no hang."""

import importlib.util

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("netc_fuzz", ROOT / "benchmarks" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeded_slice_has_no_crash_or_hang(fuzz):
    pytest.importorskip("onnx")
    result = fuzz.fuzz(300, seed=9, timeout=10.0, minimize_s=10.0)
    failures = {sig: e["input"] for sig, e in result["failures"].items() if e["outcome"] in ("crash", "hang")}
    assert not failures, failures
    counts = result["counts"]
    assert counts["ok"] >= 20 and counts["built"] >= 10 and counts["invalid"] >= 100, counts


def test_a_crash_is_reported_with_a_small_input(fuzz, monkeypatch):
    from netc.draw.html import SUMMARY_FORMATS

    def broken(a, mem, device_bytes=None):
        if any(r.op == "conv" for r in a.layers):
            raise ZeroDivisionError("planted")
        return ""

    monkeypatch.setitem(SUMMARY_FORMATS, "csv", broken)
    result = fuzz.fuzz(150, seed=3, build=False, minimize_s=10.0)
    assert result["counts"]["crash"] > 0
    [entry] = [e for sig, e in result["failures"].items() if sig.startswith("ZeroDivisionError at test_fuzz.py:")]
    assert "conv" in entry["input"] and entry["input"].count("\n") <= 4, entry["input"]
