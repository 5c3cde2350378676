"""A short seeded slice of benchmarks/fuzz.py: generated and mutated files through
load, lint, summary and build, with no crash and no hang."""

import importlib.util
import re

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


# -- ONNX mode ------------------------------------------------------------------------

# Failures of the seed-19 slice known and not fixed yet (signature -> why); empty: the
# slice is strict.
OPEN_ON_OTHER_BRANCHES: dict[str, str] = {}


def test_seeded_onnx_slice_has_no_crash_hang_or_unsafe_output(fuzz):
    pytest.importorskip("onnx")
    result = fuzz.fuzz(300, seed=19, timeout=10.0, minimize_s=0, mode="onnx")
    open_ = {re.sub(r":\d+$", "", sig) for sig in OPEN_ON_OTHER_BRANCHES}     # line numbers move
    failures = {sig: e["input"][:2000] for sig, e in result["failures"].items()
                if e["outcome"] in fuzz.FAILURES and re.sub(r":\d+$", "", sig) not in open_}
    assert not failures, failures
    counts = result["counts"]
    assert counts["ok"] >= 60 and counts["invalid"] >= 60 and counts["hang"] == 0, counts


def test_onnx_inputs_are_seeded_mutations_of_every_seed(fuzz):
    import random

    pytest.importorskip("onnx")
    inputs = fuzz.OnnxInputs()
    names = {name.split(":")[0] for name, _ in inputs.named}
    assert names == {"build", "torch", "hand"}, names

    def run(seed):
        rng = random.Random(seed)
        return [inputs.next(rng, k) for k in range(len(inputs.named) + 40)]

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first[:len(inputs.named)] == inputs.named          # each seed once as it is
    mutated = first[len(inputs.named):]
    assert mutated != other[len(inputs.named):]
    seeds = dict(inputs.named)
    assert all(data != seeds[name] for name, data in mutated)


def test_an_onnx_crash_is_minimized_to_a_few_nodes(fuzz, monkeypatch):
    from netc.draw.html import SUMMARY_FORMATS

    pytest.importorskip("onnx")

    def broken(a, mem, device_bytes=None):
        if any(r.op == "conv" for r in a.layers):
            raise ZeroDivisionError("planted")
        return ""

    monkeypatch.setitem(SUMMARY_FORMATS, "csv", broken)
    result = fuzz.fuzz(40, seed=3, minimize_s=30.0, mode="onnx")
    planted = [e for sig, e in result["failures"].items() if sig.startswith("ZeroDivisionError at test_fuzz.py:")]
    assert len(planted) == 1, list(result["failures"])
    entry = planted[0]
    assert entry["outcome"] == "crash" and entry["bytes"]
    assert entry["input"].count("node {") == 1 and 'op_type: "Conv"' in entry["input"], entry["input"]


def test_memory_past_the_limit_is_a_failure_of_its_own(fuzz, monkeypatch):
    from netc.draw.html import SUMMARY_FORMATS

    def greedy(a, mem, device_bytes=None):
        return str(len(bytearray(1 << 31)))         # 2 GiB: past a 256 MiB limit

    monkeypatch.setitem(SUMMARY_FORMATS, "csv", greedy)
    # enough inputs that some are valid networks (about 1 in 10; which ones shifts with
    # the registered ops, which the generator draws from)
    result = fuzz.fuzz(60, seed=1, build=False, minimize_s=0, memory_mb=256)
    assert result["counts"]["memory"] > 0, result["counts"]
    assert [e["outcome"] for sig, e in result["failures"].items()
            if sig.startswith("MemoryError at test_fuzz.py:")] == ["memory"]
