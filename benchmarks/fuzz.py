"""Fuzz netc with generated and mutated files and models, in-process.

    python benchmarks/fuzz.py [--mode yaml|onnx|both] --n 10000 --seed 1 [--timeout 5]
        [--memory 1024] [--no-build] [--minimize 60] [--report out.json]

``--mode yaml`` (the default): each input runs through ``netc.loads`` (read, validate,
expand, analyze), every lint rule and lint renderer, every summary renderer, and, for
small valid networks, ``netc.onnx.build.build_model``. Inputs: random networks drawn
from the op registry (edge values included), hostile structures (nested repeats,
pass-through chains, dead branches, long ``from`` lists), and mutations (line and token
deletion, duplication, swaps, hostile values) of examples/*.yaml, the lint rules'
examples and generated networks.

``--mode onnx``: each input is a model file that runs through ``netc lint`` (every
output format), the reader (``netc.load``, as ``netc summary`` calls it), every
summary renderer (and rolled up to depth 1), ``netc draw`` (both views) and, when every
node was read, ``netc import``, whose text must load again with the same parameters
and MACs. Seeds: ``netc build`` of examples/*.yaml (at a small input size, built once
per run), the PyTorch exports under tests/data/torch_fixtures/ and small hand-built
graphs (shape arithmetic, Slice, Split, Resize, channels-last regions, If). Mutations,
1 to 4 per input, structure-aware: attributes (wrong types, huge, negative, zero, NaN
values, added, dropped, renamed), dims of inputs, outputs and initializers (0, negative,
huge, symbolic, none), names of nodes, tensors, the graph, attributes (control
characters, invalid UTF-8, huge, duplicates), metadata (torch name scopes and stack
traces, doc strings), edges (rewired inputs, cycles, dangling, dropped outputs, node
order), op types and domains, opsets and IR version, initializers and Constant tensors
(dims against data, element types, external data anywhere), nested subgraphs, chains of
constant arithmetic; then one input in six is truncated or bit-flipped as bytes.

``--mode both`` runs ``--n`` of each. Every input runs under a limit of CPU time
(SIGPROF, so that a busy machine does not turn a slow input into a "hang") and the whole
run under a limit of memory (RLIMIT_AS: the process's size at the start plus
``--memory`` MiB, so an input that allocates without bound raises MemoryError).
Outcomes: a *crash* is any exception that is not a ``NetcError`` (a ``RuleCrash``
included); a *hang* is an input past the time limit (one that finishes within six times
it is counted apart as "slow"); *memory* is a MemoryError; *unsafe* (ONNX) is output
that could forge or hide output or run as code: a raw control character in text, markdown,
csv, github, error or draw output, a github line that is no netc annotation, an SVG that
is not well-formed XML, an HTML page with a script netc did not write; *roundtrip* (ONNX)
is an imported file netc refuses or counts differently; an ``internal error`` diagnostic
is counted apart. For each distinct failure (exception type and innermost netc frame),
the smallest input is found and printed: YAML by deleting lines, then tokens; ONNX by
dropping nodes, attributes, inputs, metadata, initializers, outputs and opsets (or
chunks of bytes, for bytes that do not parse), while the failure stays the same.
Seeded: the same ``--seed`` and ``--n`` give the same inputs. Exit status 1 when
anything crashed, hung, ran out of memory, was unsafe or did not round-trip.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETC = ROOT / "netc"
sys.path.insert(0, str(ROOT))

from netc.diagnostics import NetcError  # noqa: E402
from netc.ops import OPS  # noqa: E402

BUILD_MAX_PARAMS = 200_000
BUILD_MAX_LAYERS = 40
SLOW_FACTOR = 6

INTS = [0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 8, 16, 32, 64, -1, 4095, 4096, 4097, 1 << 16, (1 << 20) + 1,
        10**18, 10**19, "8.0", "1.5", "two", "3x3", "c", "c * 2", "c // 0", "(c", "0x10", "1e3", "null",
        "true", "''", "[]", "{}", "-0", "+3"]
NUMBERS = [0, 0.1, 0.5, 1, -1, 1.0, "1e400", "-.inf", ".nan", "1" + "0" * 30, "x", "0.999999"]
HOSTILE = ["", "0", "-1", "8.0", "1.5", "two", "3x3", "null", "~", "true", "[", "]", "{", "}", ":",
           "- ", "&a", "*a", "!!python/object:os.system", "<<", "'", '"', "#", "%", "\t", "\u2028", "\r",
           "\x85", "0x" + "F" * 60, "9" * 40, "1e400", ".inf", "[1, [2, [3]]]", "{a: {b: {c: 1}}}",
           "same", "valid", "input", "relu", "conv", "repeat: 10000", "from: input", "name: input",
           "é", "\ufeff", "---", "...", "? a", "|", ">", "# netc: noqa", "# netc: noqa: A001",
           "# netc: noqa: ZZZ9,", "x" * 3000, "ceil_mode: true", "dilation: 4096", "groups: 3",
           "[input, input]", "{constant: 1e400}"]


class Hang(BaseException):
    """Raised by the alarm inside a run that passed its time limit (not an Exception,
    so that no ``except Exception`` in netc swallows it)."""


def _alarm(signum, frame):
    raise Hang()


# -- generated networks ------------------------------------------------------------

def _value(rng: random.Random, kind: str, param, names: list[str]):
    if kind == "int":
        return rng.choice(INTS)
    if kind == "pair":
        return rng.choice(INTS) if rng.random() < 0.7 else [rng.choice(INTS), rng.choice(INTS)]
    if kind == "padding":
        r = rng.random()
        if r < 0.3:
            return rng.choice(["same", "valid"])
        return rng.choice(INTS) if r < 0.8 else [rng.choice(INTS), rng.choice(INTS)]
    if kind == "bool":
        return rng.choice(["true", "false", "1", "yes"])
    if kind == "number":
        return rng.choice(NUMBERS)
    if kind == "choice":
        return rng.choice(list(param.choices) + ["nope"])
    if kind == "init":
        from netc.initializers import INITIALIZERS
        return rng.choice(sorted(INITIALIZERS) + ["{constant: 0.1}", "{constant: x}", "he"])
    return 1


def _plain(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_plain(x) for x in v) + "]"
    return str(v)


def _layer(rng: random.Random, names: list[str], in_block: bool) -> str:
    op_name = rng.choice(list(OPS))
    op = OPS[op_name]
    sane = rng.random() < 0.6        # mostly small, valid values, so that later stages run
    parts = []
    for key, p in op.params.items():
        if not p.required and rng.random() < 0.6:
            continue
        if sane:
            v = {"filters": rng.choice([1, 4, 8, 16]), "units": rng.choice([1, 4, 10]),
                 "kernel": rng.choice([1, 2, 3]), "stride": rng.choice([1, 2, 3]),
                 "padding": rng.choice([0, 1, "same"]), "dilation": rng.choice([1, 2]),
                 "groups": 1}.get(key)
            if v is None:
                v = _value(rng, p.kind, p, names)
            if in_block and key in ("filters", "units") and rng.random() < 0.5:
                v = rng.choice(["c", "c * 2", "c // 2"])
        else:
            v = _value(rng, p.kind, p, names)
        parts.append(f"{key}: {_plain(v)}")
    if rng.random() < 0.15 and names:
        lo, hi = op.arity
        k = lo if hi == lo else rng.randint(max(lo, 1), min(hi or 3, 3))
        srcs = [rng.choice(names) for _ in range(k)]
        parts.append("from: " + (srcs[0] if k == 1 and rng.random() < 0.5 else "[" + ", ".join(srcs) + "]"))
    if rng.random() < 0.1:
        parts.append(f"repeat: {rng.choice([0, 1, 2, 3, 50, 'c'])}")
    name = None
    if rng.random() < 0.3:
        name = f"n{rng.randint(0, 20)}"
        parts.append(f"name: {name}")
    if name:
        names.append(name)
    return f"{op_name}: {{{', '.join(parts)}}}" if parts else op_name


def structure(rng: random.Random) -> str:
    """Hostile shapes of a file: nested repeats, pass-through chains, dead branches,
    long from lists, blocks that use each other."""
    head = f"netc: 1\ninput: {{shape: [{rng.choice([1, 3])}, {rng.choice([1, 7, 1 << 20])}, " \
           f"{rng.choice([1, 8, 1 << 20])}]}}\n"
    k = rng.randint(1, 60)
    kind = rng.randrange(5)
    if kind == 0:
        depth = rng.randint(1, 17)
        blocks = "".join(f"  b{i}: {{layers: [b{i + 1}: {{repeat: {rng.choice([0, 1, 2, 10, 10000])}}}]}}\n"
                         for i in range(depth))
        return head + "blocks:\n" + blocks + f"  b{depth}: {{layers: [{rng.choice(['relu', 'maxpool'])}]}}\n" \
            "layers: [b0]\n"
    if kind == 1:
        chain = "".join(f"  - relu: {{name: p{i}, from: p{i - 1}, repeat: 0}}\n" for i in range(1, k))
        return head + "layers:\n  - relu: {name: p0, repeat: 0}\n" + chain + f"  - relu: {{from: p{k - 1}}}\n"
    if kind == 2:
        chain = "".join(f"  - relu: {{name: a{i}}}\n" for i in range(k))
        dead = f"  - relu: {{from: a{k - 1}}}\n" * k
        return head + "layers:\n" + chain + dead + "  - relu: {from: input}\n"
    if kind == 3:
        return head + "layers:\n  - relu: {name: a}\n  - " + rng.choice(["concat", "add", "relu"]) + \
            ": {from: [" + ", ".join(["a"] * k) + "]}\n"
    op = rng.choice(["maxpool", "avgpool", "conv"])
    extra = ", filters: 1" if op == "conv" else ""
    return head + "blocks:\n  b: {layers: [" + op + ": {kernel: " + str(rng.choice([1, 3, 4096])) + \
        ", stride: " + str(rng.choice([2, 7, 4096])) + ", dilation: " + str(rng.choice([1, 256])) + extra + \
        ", from: input}, relu: {from: input}]}\nlayers:\n  - b: {repeat: " + str(rng.choice([1, 100, 10000])) + "}\n"


def generate(rng: random.Random) -> str:
    lines = ["netc: 1"]
    r = rng.random()
    if r < 0.7:
        shape = [rng.choice([1, 3, 4, 16]), rng.choice([1, 2, 5, 7, 8, 28, 32, 64]),
                 rng.choice([1, 2, 5, 7, 8, 28, 32, 64])]
    elif r < 0.85:
        shape = [rng.choice([1, 10, 100])]
    else:
        shape = [rng.choice(INTS) for _ in range(rng.randint(0, 4))]
    lines.append(f"input: {{shape: {_plain(shape)}}}")
    blocks = []
    if rng.random() < 0.3:
        lines.append("blocks:")
        for b in range(rng.randint(1, 2)):
            name = f"b{b}"
            blocks.append(name)
            lines.append(f"  {name}:")
            lines.append(f"    params: {{c: {rng.choice([4, 8, 'null', '8.0'])}}}")
            lines.append("    layers:")
            names: list[str] = ["input"]
            for _ in range(rng.randint(1, 4)):
                lines.append("      - " + _layer(rng, names, True))
            if b and rng.random() < 0.5:
                lines.append(f"      - b0: {{c: c}}")
    lines.append("layers:")
    names = ["input"]
    for _ in range(rng.randint(1, 10)):
        if blocks and rng.random() < 0.3:
            lines.append(f"  - {rng.choice(blocks)}: {{c: {rng.choice([4, 8, 16])}"
                         f"{', repeat: ' + str(rng.choice([1, 2, 3])) if rng.random() < 0.3 else ''}}}")
        else:
            lines.append("  - " + _layer(rng, names, False))
    if rng.random() < 0.1:
        lines.append(f"outputs: [{rng.choice(names)}]")
    return "\n".join(lines) + "\n"


# -- mutations ---------------------------------------------------------------------

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?|\S")


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        lines = text.split("\n")
        op = rng.randrange(9)
        i = rng.randrange(len(lines))
        if op == 0 and len(lines) > 1:                 # delete a line
            del lines[i]
        elif op == 1:                                  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 2:                                  # swap two lines
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:                                  # re-indent a line
            lines[i] = " " * rng.choice([0, 1, 2, 3, 4, 6, 8]) + lines[i].lstrip()
        elif op in (4, 5, 6):                          # replace a token by a hostile value
            toks = list(TOKEN.finditer(lines[i]))
            if toks:
                t = rng.choice(toks)
                new = rng.choice(HOSTILE + [str(v) for v in INTS])
                lines[i] = lines[i][:t.start()] + new + lines[i][t.end():]
        elif op == 7:                                  # delete a token
            toks = list(TOKEN.finditer(lines[i]))
            if toks:
                t = rng.choice(toks)
                lines[i] = lines[i][:t.start()] + lines[i][t.end():]
        else:                                          # truncate the file
            text = text[:rng.randrange(len(text) + 1)]
            continue
        text = "\n".join(lines)
    return text


def corpus() -> list[str]:
    from netc.lint.rule import RULES
    from netc.lint import rules  # noqa: F401

    texts = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))]
    for r in RULES.values():
        texts += [t for t in (getattr(r, "example", None), getattr(r, "fixed", None)) if t]
    return texts


# -- running one input -------------------------------------------------------------

class Runner:
    def __init__(self, timeout: float, build: bool, tmp: Path):
        from netc.lint import Config

        self.timeout, self.build, self.tmp = timeout, build, tmp
        self.config = Config()
        self.path = tmp / "fuzz.yaml"

    def run(self, text: str) -> tuple[str, str | None, str]:
        """(outcome, signature, detail): outcome ok, invalid, internal, crash, hang or slow
        (past the time limit, but done within ``SLOW_FACTOR`` times it: a big, linear input
        on a busy machine, not a hang)."""
        outcome = self._run(text, self.timeout)
        if outcome[0] == "hang":
            again = self._run(text, self.timeout * SLOW_FACTOR)
            if again[0] != "hang":
                return "slow", "slow", ""
        return outcome

    def _run(self, text: str, timeout: float) -> tuple[str, str | None, str]:
        signal.setitimer(signal.ITIMER_PROF, timeout)
        try:
            return self._stages(text)
        except Hang:
            return "hang", "hang", ""
        except NetcError as e:
            msg = str(e)
            if "internal error" in msg:
                return "internal", "internal:" + re.sub(r"\d+", "N", msg.split("internal error", 1)[1][:80]), msg
            return "invalid", None, ""
        except MemoryError as e:
            return "memory", _signature(e), "".join(traceback.format_exception(e))[-3000:]
        except (Unsafe, RoundTrip) as e:
            outcome = "unsafe" if isinstance(e, Unsafe) else "roundtrip"
            return outcome, f"{outcome}: {e}", "".join(traceback.format_exception(e))[-3000:]
        except Exception as e:  # noqa: BLE001 - what the fuzzer is looking for
            if isinstance(e.__cause__, Hang):
                return "hang", "hang", ""
            if isinstance(e.__cause__, MemoryError):
                return "memory", _signature(e.__cause__), "".join(traceback.format_exception(e))[-3000:]
            return "crash", _signature(e), "".join(traceback.format_exception(e))[-3000:]
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)

    def _stages(self, text: str):
        from netc.api import _network
        from netc.draw.html import SUMMARY_FORMATS
        from netc.lint import lint_source
        from netc.lint import output
        from netc.source import parse

        self.path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = lint_source(str(self.path), self.config)
        for fmt in output.FORMATS.values():
            fmt([result])
        net = _network(parse(text, str(self.path)))
        mem = net.memory(batch=2, dtype="float16", optimizer="adam")
        for fmt in SUMMARY_FORMATS.values():
            fmt(net.analysis, mem, 8 << 30)
        if self.build and net.totals.params <= BUILD_MAX_PARAMS and len(net.layers) <= BUILD_MAX_LAYERS \
                and max((r.activations for r in net.layers), default=0) <= 1 << 20:
            from netc.onnx.build import build_model
            build_model(net, check=True)
            return "ok", None, "built"
        return "ok", None, ""


def _signature(e: BaseException) -> str:
    """The exception's type and its innermost frame in netc (else the innermost frame
    outside this file): one signature per bug, wherever below netc it raised."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).name != "fuzz.py"]
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(NETC)]
    f = (ours or frames or [None])[-1]
    where = f"{Path(f.filename).name}:{f.lineno}" if f else "?"
    return f"{type(e).__name__} at {where}"


# -- minimizing --------------------------------------------------------------------

def minimize(runner: Runner, text: str, signature: str, budget_s: float) -> str:
    """Delete chunks of lines (halves down to single lines), then single tokens, while
    ``runner`` still fails with ``signature``; stop after ``budget_s`` seconds."""
    deadline = time.monotonic() + budget_s

    def fails(candidate: str) -> bool:
        return time.monotonic() < deadline and runner._run(candidate, runner.timeout)[1] == signature

    lines = text.split("\n")
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i, changed = 0, False
        while i < len(lines):
            candidate = lines[:i] + lines[i + chunk:]
            if candidate and fails("\n".join(candidate)):
                lines, changed = candidate, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    text = "\n".join(lines)
    i = 0
    while time.monotonic() < deadline:
        toks = list(TOKEN.finditer(text))
        if i >= len(toks):
            break
        t = toks[i]
        candidate = text[:t.start()] + text[t.end():]
        if fails(candidate):
            text = candidate
        else:
            i += 1
    return text


# -- ONNX mode: seeds ---------------------------------------------------------------

FIXTURES = ROOT / "tests" / "data" / "torch_fixtures"
FULL_WEIGHTS_MAX = 100_000          # built seeds up to this many parameters keep their weights' bytes
SMALL_ARRAY = 64                    # elements: shape constants keep their data in the other seeds


def _built_seeds() -> list[tuple[str, bytes]]:
    """``netc build`` of every example, at a small input size where the network takes one:
    weights' bytes kept for the small ones; for the others only the small tensors' (shape
    constants), as netc's reader never looks at more (netc/onnx/skeleton.py)."""
    import numpy as np
    from onnx import numpy_helper

    from netc.api import load
    from netc.onnx.build import Deferred, _Scratch, build_model

    out = []
    for p in sorted((ROOT / "examples").glob("*.yaml")):
        net = load(p)
        if len(net.analysis.input_shape) == 3:
            c = net.analysis.input_shape[0]
            for size in (32, 64, 128):
                try:
                    net = load(p, input_shape=(c, size, size))
                    break
                except NetcError:
                    continue
        if net.totals.params <= FULL_WEIGHTS_MAX:
            model = build_model(net, check=False)
        else:
            model, arrays = build_model(net, check=False, weights_apart=True)
            scratch = _Scratch()
            for t in model.graph.initializer:
                a = arrays.get(t.name)
                if a is None or int(np.prod(a.shape, dtype=np.int64)) > SMALL_ARRAY:
                    continue
                a = a.array(scratch) if isinstance(a, Deferred) else np.asarray(a)
                t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a), t.name))
        out.append((f"build:{p.name}", model.SerializeToString()))
    return out


def _hand_built() -> list[tuple[str, bytes]]:
    """Small graphs built by hand: the ops and value paths the built seeds lack (shape
    arithmetic, Slice, Split, Resize, Pad, Clip bounds, channels-last regions, control flow)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def model(name, nodes, inits=(), shape=(1, 3, 16, 16), out="y", opset=17, extra_inputs=()):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape)),
                                            *extra_inputs],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.asarray(v, dtype=np.float32 if isinstance(v, np.ndarray)
                                                                  and v.dtype.kind == "f" else np.int64), k)
                               for k, v in inits])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return (f"hand:{name}", m.SerializeToString())

    w = lambda *s: np.zeros(s, dtype=np.float32)       # noqa: E731
    i64 = lambda *v: np.array(v, dtype=np.int64)       # noqa: E731
    n = helper.make_node
    return [
        model("classifier", [
            n("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
            n("BatchNormalization", ["c", "s", "bb", "m", "v"], ["bn"], name="bn", epsilon=1e-5),
            n("Relu", ["bn"], ["r"], name="relu"),
            n("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
            n("GlobalAveragePool", ["p"], ["gap"], name="gap"),
            n("Flatten", ["gap"], ["f"], name="flatten", axis=1),
            n("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)],
            [("w", w(8, 3, 3, 3)), ("b", w(8)), ("s", w(8)), ("bb", w(8)), ("m", w(8)), ("v", w(8)),
             ("fw", w(10, 8)), ("fb", w(10))]),
        model("shape_math", [
            n("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
            n("Shape", ["c"], ["sh"], name="shape"),
            n("Gather", ["sh", "zero"], ["batch"], name="batch", axis=0),
            n("Unsqueeze", ["batch", "zero1"], ["b1"], name="unsq"),
            n("Constant", [], ["k"], name="k", value=numpy_helper.from_array(i64(2))),
            n("Mul", ["k", "k"], ["k2"], name="k2"),
            n("Mul", ["k2", "k2"], ["k4"], name="k4"),
            n("Unsqueeze", ["k4", "zero1"], ["k4v"], name="k4v"),
            n("Div", ["minus"], ["m1"], name="noop") if False else n("Neg", ["one"], ["m1"], name="neg"),
            n("Concat", ["b1", "m1"], ["target"], name="target", axis=0),
            n("Reshape", ["c", "target"], ["flat"], name="reshape"),
            n("MatMul", ["flat", "fw"], ["mm"], name="mm"),
            n("Add", ["mm", "fb"], ["y"], name="bias")],
            [("w", w(4, 3, 1, 1)), ("zero", i64(0)), ("zero1", i64(0)), ("one", i64(1)),
             ("fw", w(1024, 5)), ("fb", w(5))]),
        model("slice_split_concat", [
            n("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            n("Split", ["c", "parts"], ["s0", "s1"], name="split", axis=1),
            n("Slice", ["s0", "st", "en", "ax", "sp"], ["sl"], name="slice"),
            n("Pad", ["sl", "pads"], ["pd"], name="pad", mode="constant"),
            n("Sigmoid", ["s1"], ["sg"], name="sig"),
            n("Mul", ["s1", "sg"], ["silu"], name="silu"),
            n("Concat", ["pd", "silu"], ["cat"], name="cat", axis=1),
            n("Resize", ["cat", "", "scales"], ["up"], name="up", mode="nearest"),
            n("Clip", ["up", "lo", "hi"], ["cl"], name="relu6"),
            n("AveragePool", ["cl"], ["y"], name="avg", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
              count_include_pad=0)],
            [("w", w(8, 3, 3, 3)), ("parts", i64(4, 4)), ("st", i64(0, 0)), ("en", i64(8, 8)), ("ax", i64(2, 3)),
             ("sp", i64(1, 1)), ("pads", i64(0, 0, 0, 0, 0, 0, 0, 0)),
             ("scales", np.array([1, 1, 2, 2], dtype=np.float32)),
             ("lo", np.array(0, dtype=np.float32)), ("hi", np.array(6, dtype=np.float32))]),
        model("acts_and_groups", [
            n("Conv", ["x", "w"], ["c"], name="dw", kernel_shape=[3, 3], group=3, pads=[1, 1, 1, 1],
              dilations=[2, 2]),
            n("HardSigmoid", ["c"], ["hs"], name="hsig", alpha=1 / 6, beta=0.5),
            n("Mul", ["c", "hs"], ["hsw"], name="hswish"),
            n("LeakyRelu", ["hsw"], ["lr"], name="leaky", alpha=0.1),
            n("ConvTranspose", ["lr", "wt"], ["ct"], name="deconv", kernel_shape=[2, 2], strides=[2, 2]),
            n("PRelu", ["ct", "slope"], ["pr"], name="prelu"),
            n("ReduceMean", ["pr"], ["rm"], name="mean", axes=[2, 3], keepdims=1),
            n("Softmax", ["rm"], ["y"], name="softmax", axis=1)],
            [("w", w(3, 1, 3, 3)), ("wt", w(3, 4, 2, 2)), ("slope", w(4, 1, 1))], opset=17),
        model("channels_last", [
            n("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
            n("Transpose", ["c"], ["t"], name="to_nhwc", perm=[0, 2, 3, 1]),
            n("LayerNormalization", ["t", "g", "b"], ["ln"], name="ln", axis=-1, epsilon=1e-6),
            n("MatMul", ["ln", "fw"], ["mm"], name="pw"),
            n("Gelu", ["mm"], ["ge"], name="gelu"),
            n("Transpose", ["ge"], ["y"], name="to_nchw", perm=[0, 3, 1, 2])],
            [("w", w(8, 3, 1, 1)), ("g", w(8)), ("b", w(8)), ("fw", w(8, 16))], opset=20),
        model("control_flow", [
            n("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
            n("If", ["cond"], ["y"], name="if",
              then_branch=helper.make_graph([n("Relu", ["c"], ["t"])], "then", [],
                                            [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)]),
              else_branch=helper.make_graph([n("Sigmoid", ["c"], ["e"])], "else", [],
                                            [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)]))],
            [("w", w(4, 3, 1, 1))],
            extra_inputs=[helper.make_tensor_value_info("cond", TensorProto.BOOL, [])]),
        model("vector", [
            n("Gemm", ["x", "fw", "fb"], ["g"], name="fc1", transB=1),
            n("Tanh", ["g"], ["t"], name="tanh"),
            n("Dropout", ["t"], ["d"], name="drop"),
            n("Sum", ["d", "t"], ["y"], name="sum")],
            [("fw", w(16, 32)), ("fb", w(16))], shape=("N", 32)),
    ]


def onnx_corpus() -> list[tuple[str, bytes]]:
    """(name, serialized model): netc's builds of examples/*.yaml, the committed PyTorch
    exports under tests/data/torch_fixtures/, and the hand-built graphs; built once."""
    fixtures = [(f"torch:{p.name}", p.read_bytes()) for p in sorted(FIXTURES.glob("*.onnx"))]
    return _built_seeds() + fixtures + _hand_built()


# -- ONNX mode: mutations -----------------------------------------------------------

ONNX_INTS = [0, 1, 2, 3, -1, -2, -3, 4, 7, 64, 4096, 65537, 1 << 31, (1 << 63) - 1, -(1 << 63), 10 ** 9]
ONNX_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1 / 6, 1e-45, 3.4e38, float("nan"), float("inf"), float("-inf")]
DIMS = [0, 1, 2, 3, -1, -7, 224, 1 << 20, 1 << 31, (1 << 63) - 1, -(1 << 63)]
HOSTILE_NAMES = [
    "", "x", "input", "y", "a b", "a\nb", "a\nFORGED.onnx: node 'x' (Conv #0): error[A001]: forged",
    "\n::error file=/etc/passwd::owned", "::warning::x", "\x1b[2J\x1b]0;pwned\x07", "a\rb", "a\x00b", "\x7f",
    "\t", "</svg><script>alert(1)</script>", "a&b<c>\"'", "x: 1\nlayers: [relu]", "- relu", "'", '"', "#",
    "%", "{", "é", "\u202e", "\u2028", "\ufeff", "../../etc/passwd", "/etc/passwd:1", "CON", "a" * 5000,
    "x." * 300, "a/b/c", "layer1.0.conv1", "N", "0", "-1", "1e400", "null", "true",
]
BAD_UTF8 = [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"a\x80b", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xc0\xaf"]
ATTR_NAMES = ["strides", "pads", "kernel_shape", "dilations", "group", "axis", "axes", "perm", "alpha", "beta",
              "epsilon", "mode", "auto_pad", "ceil_mode", "count_include_pad", "allowzero", "split",
              "num_outputs", "transA", "transB", "keepdims", "value", "value_ints", "value_int", "value_float",
              "coordinate_transformation_mode", "output_padding", "output_shape", "storage_order", "approximate",
              "min", "max", "to", "starts", "ends", "momentum", "then_branch", "body"]
OP_TYPES = ["Constant", "Shape", "Identity", "Unsqueeze", "Squeeze", "Cast", "Loop", "If", "Scan", "Neg",
            "Gather", "Concat", "Reshape", "Slice", "Split", "NotAnOp", "", "conv", "Conv\n", "LRN", "Upsample",
            "ConstantOfShape", "Range", "Expand", "Where", "Einsum", "InstanceNormalization", "GroupNormalization"]
DOMAINS = ["", "ai.onnx", "com.microsoft", "ai.onnx.ml", "pkg.torch", "onnx_inline", "custom\n", "ai.onnx\x00"]
OPSETS = [0, 1, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 22, 23, 99, -1, 1 << 62]
STACK_FRAMES = ['File "/src/model.py", line 42, in forward\n    x = self.conv(x)',
                'File "/usr/lib/torch/nn/modules/conv.py", line 549, in forward',
                'File "../../etc/passwd", line 1, in x', 'File "<eval_with_key>.1", line 5, in forward',
                'File "model.py", line 99999999999, in f', 'File "a\x1b[2Jb.py", line 3, in f',
                'File "C:\\\\src\\\\m.py", line 7, in f']
SCOPES = ["['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']", "['', 'features', '0']", "[]", "['",
          "['a\\'b', \"c\"]", "['', '" + "a." * 200 + "x', 'add']", "[" + ", ".join(["'a'"] * 2000) + "]",
          "['\\n::error::x', 'y']"]
DOC_STRINGS = ["lenet5.yaml:25", "model.yaml:0", "model.yaml:999999999", "../../etc/passwd:1", "/etc/passwd:1",
               "x:1\n::error::forged", "", "a" * 10000, "\x1b[31mred:1", "C:\\x.yaml:3"]
ELEM_TYPES = [0, 1, 2, 6, 7, 9, 10, 11, 16, 17, 21, 99, -1]


class Mutant:
    """A model being mutated, and the byte patches (invalid UTF-8) to apply once serialized:
    protobuf refuses to set such a string, so a name is set to a unique ASCII marker of the
    same length, replaced in the serialized bytes."""

    def __init__(self, model):
        self.model = model
        self.patches: list[tuple[bytes, bytes]] = []

    def bad_utf8(self, rng: random.Random) -> str:
        bad = rng.choice(BAD_UTF8)
        k = len(self.patches)
        marker = f"\x01FUZZ{k:04d}\x02"
        bad = (b"~" * len(marker) + bad)[-len(marker):] if rng.random() < 0.5 else \
            (bad + b"~" * len(marker))[:len(marker)]
        self.patches.append((marker.encode(), bad))
        return marker

    def serialize(self) -> bytes:
        data = self.model.SerializeToString()
        for marker, bad in self.patches:
            data = data.replace(marker, bad)
        return data


def _name(rng: random.Random, m: Mutant, others: list[str]) -> str:
    r = rng.random()
    if r < 0.2:
        return m.bad_utf8(rng)
    if r < 0.4 and others:
        return rng.choice(others)                      # a duplicate
    return rng.choice(HOSTILE_NAMES)


def _tensors(g) -> list[str]:
    names = [v.name for v in g.input] + [t.name for t in g.initializer]
    for node in g.node:
        names += list(node.output)
    return names


def _set_attr(rng: random.Random, m: Mutant, a, name: str) -> None:
    """``a`` becomes attribute ``name`` with a value of a random kind (the wrong one, often)."""
    a.Clear()
    a.name = name
    kind = rng.choice(["INT", "INTS", "FLOAT", "FLOATS", "STRING", "STRINGS", "TENSOR", "GRAPH", "EMPTY",
                       "MISTYPED"])
    if kind == "INT":
        a.type, a.i = 2, rng.choice(ONNX_INTS)
    elif kind == "INTS":
        a.type = 7
        a.ints.extend(rng.choice(ONNX_INTS) for _ in range(rng.choice([0, 1, 2, 3, 4, 6, 8, 100])))
    elif kind == "FLOAT":
        a.type, a.f = 1, rng.choice(ONNX_FLOATS)
    elif kind == "FLOATS":
        a.type = 6
        a.floats.extend(rng.choice(ONNX_FLOATS) for _ in range(rng.choice([0, 1, 2, 4])))
    elif kind == "STRING":
        a.type = 3
        a.s = rng.choice(["nearest", "linear", "SAME_UPPER", "VALID", "NOTSET", "constant", "reflect",
                          "tanh", "", "x" * 1000]).encode() if rng.random() < 0.7 else rng.choice(BAD_UTF8)
    elif kind == "STRINGS":
        a.type = 8
        a.strings.extend([b"a", rng.choice(BAD_UTF8)])
    elif kind == "TENSOR":
        a.type = 4
        _random_tensor(rng, m, a.t)
    elif kind == "GRAPH":
        a.type = 5
        a.g.name = "sub"
        node = a.g.node.add()
        node.op_type, node.input[:], node.output[:] = rng.choice(["Relu", "Loop", "If"]), ["x"], ["z"]
    elif kind == "EMPTY":
        a.type = rng.choice([0, 2, 7])                  # a type and no value
    else:                                               # a value under another kind's type
        a.type = rng.choice([0, 1, 2, 3, 4, 6, 7, 8])
        a.ints.extend([rng.choice(ONNX_INTS)])
        a.f = rng.choice(ONNX_FLOATS)


def _random_tensor(rng: random.Random, m: Mutant, t) -> None:
    """``t`` gets dims that its data may or may not match, of a random element type."""
    t.data_type = rng.choice([1, 7, 7, 6, 10, 11, 0, 99])
    del t.dims[:]
    t.dims.extend(rng.choice(DIMS[:5] + [4, 16]) for _ in range(rng.choice([0, 1, 1, 2, 4])))
    k = rng.choice([0, 1, 2, 4, 8])
    r = rng.random()
    t.ClearField("raw_data")
    del t.int64_data[:], t.float_data[:], t.int32_data[:]
    if r < 0.3:
        t.int64_data.extend(rng.choice(ONNX_INTS) for _ in range(k))
    elif r < 0.5:
        t.float_data.extend(rng.choice(ONNX_FLOATS) for _ in range(k))
    elif r < 0.8:
        t.raw_data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 3, 8, 16, 33])))
    else:
        t.data_location = 1                              # EXTERNAL, pointing anywhere
        for key, value in (("location", rng.choice(["../../etc/passwd", "/etc/passwd", "w.data", "",
                                                    "a\nb"])),
                           ("offset", str(rng.choice(ONNX_INTS))), ("length", str(rng.choice(ONNX_INTS)))):
            e = t.external_data.add()
            e.key, e.value = key, value


def m_attribute(rng: random.Random, m: Mutant) -> None:
    g = m.model.graph
    if not g.node:
        return
    node = rng.choice(g.node)
    r = rng.random()
    if node.attribute and r < 0.5:
        a = rng.choice(node.attribute)
        _set_attr(rng, m, a, a.name)
    elif node.attribute and r < 0.6:
        del node.attribute[rng.randrange(len(node.attribute))]
    elif node.attribute and r < 0.7:
        a = rng.choice(node.attribute)
        a.name = _name(rng, m, [x.name for x in node.attribute])
    else:
        _set_attr(rng, m, node.attribute.add(), rng.choice(ATTR_NAMES))


def m_dims(rng: random.Random, m: Mutant) -> None:
    g = m.model.graph
    infos = list(g.input) + list(g.output) + list(g.value_info)
    if g.initializer and rng.random() < 0.3:
        t = rng.choice(g.initializer)
        dims = list(t.dims)
        if dims and rng.random() < 0.7:
            dims[rng.randrange(len(dims))] = rng.choice(DIMS)
        elif rng.random() < 0.5:
            dims.append(rng.choice(DIMS))
        else:
            dims = dims[:-1]
        del t.dims[:]
        t.dims.extend(dims)
        return
    if not infos:
        return
    v = rng.choice(infos)
    tt = v.type.tensor_type
    r = rng.random()
    if r < 0.1:
        v.type.ClearField("tensor_type")
    elif r < 0.2:
        tt.elem_type = rng.choice(ELEM_TYPES)
    elif r < 0.3:
        tt.ClearField("shape")
    elif r < 0.4:
        tt.shape.dim.add().dim_value = rng.choice(DIMS)
    elif r < 0.5 and tt.shape.dim:
        del tt.shape.dim[rng.randrange(len(tt.shape.dim))]
    else:
        d = tt.shape.dim[rng.randrange(len(tt.shape.dim))] if tt.shape.dim else tt.shape.dim.add()
        r = rng.random()
        if r < 0.6:
            d.dim_value = rng.choice(DIMS)
        elif r < 0.9:
            d.dim_param = _name(rng, m, ["N", "batch", "height"])
        else:
            d.Clear()                                    # neither a value nor a name


def m_names(rng: random.Random, m: Mutant) -> None:
    model, g = m.model, m.model.graph
    tensors = _tensors(g)
    r = rng.random()
    if r < 0.35 and g.node:
        node = rng.choice(g.node)
        node.name = _name(rng, m, [n.name for n in g.node])
    elif r < 0.65 and tensors:                           # a tensor renamed everywhere, or on one side
        old = rng.choice(tensors)
        new = _name(rng, m, tensors)
        everywhere = rng.random() < 0.7
        for v in list(g.input) + list(g.output) + list(g.value_info) + list(g.initializer):
            if v.name == old and (everywhere or rng.random() < 0.5):
                v.name = new
        for node in g.node:
            for field in (node.input, node.output):
                for i, t in enumerate(field):
                    if t == old and (everywhere or rng.random() < 0.5):
                        field[i] = new
    elif r < 0.75:
        g.name = _name(rng, m, [])
    elif r < 0.85:
        model.producer_name = _name(rng, m, [])
        model.domain = _name(rng, m, [])
    elif g.node:
        node = rng.choice(g.node)
        node.doc_string = m.bad_utf8(rng) if rng.random() < 0.3 else rng.choice(DOC_STRINGS + HOSTILE_NAMES)


def m_metadata(rng: random.Random, m: Mutant) -> None:
    model, g = m.model, m.model.graph
    r = rng.random()
    if r < 0.6 and g.node:
        node = rng.choice(g.node)
        p = node.metadata_props.add()
        if rng.random() < 0.5:
            p.key = "pkg.torch.onnx.name_scopes"
            p.value = rng.choice(SCOPES) if rng.random() < 0.8 else m.bad_utf8(rng)
        else:
            p.key = "pkg.torch.onnx.stack_trace"
            p.value = "\n".join(rng.choice(STACK_FRAMES) for _ in range(rng.choice([1, 2, 5, 200])))
    elif r < 0.8:
        p = model.metadata_props.add()
        p.key, p.value = _name(rng, m, []), _name(rng, m, [])
    else:
        target = rng.choice([model, g])
        target.doc_string = rng.choice(DOC_STRINGS + HOSTILE_NAMES)


def m_edges(rng: random.Random, m: Mutant) -> None:
    g = m.model.graph
    tensors = _tensors(g)
    r = rng.random()
    if not g.node:
        return
    i = rng.randrange(len(g.node))
    node = g.node[i]
    if r < 0.3 and node.input:                           # rewire an input: anywhere (a cycle), nowhere, ""
        k = rng.randrange(len(node.input))
        node.input[k] = rng.choice(tensors + ["nowhere", "", node.output[0] if node.output else "x"])
    elif r < 0.4:
        node.input.append(rng.choice(tensors + [""]))
    elif r < 0.5 and node.input:
        del node.input[rng.randrange(len(node.input))]
    elif r < 0.58 and g.output:                          # drop graph outputs
        if rng.random() < 0.5:
            del g.output[:]
        else:
            del g.output[rng.randrange(len(g.output))]
    elif r < 0.66:                                       # another graph output
        o = g.output.add()
        o.CopyFrom(g.output[0]) if len(g.output) > 1 else None
        o.name = rng.choice(tensors + ["nowhere"])
    elif r < 0.74:
        del g.node[i]
    elif r < 0.8:                                        # a second producer of the same tensors
        g.node.add().CopyFrom(node)
    elif r < 0.88:                                       # out of topological order
        j = rng.randrange(len(g.node))
        a, b = type(node)(), type(node)()
        a.CopyFrom(g.node[i])
        b.CopyFrom(g.node[j])
        g.node[i].CopyFrom(b)
        g.node[j].CopyFrom(a)
    elif r < 0.94 and node.output:
        node.output.append(rng.choice(["", "extra", node.output[0]]))
    else:                                                # a graph input more or less
        if rng.random() < 0.5 and g.input:
            del g.input[rng.randrange(len(g.input))]
        else:
            v = g.input.add()
            v.CopyFrom(g.input[0]) if len(g.input) > 1 else None
            v.name = rng.choice(tensors + ["second"])


def m_op(rng: random.Random, m: Mutant) -> None:
    from netc.onnx.reader import READERS

    g = m.model.graph
    if not g.node:
        return
    node = rng.choice(g.node)
    if rng.random() < 0.75:
        node.op_type = rng.choice(sorted(READERS) + OP_TYPES)
    else:
        node.domain = rng.choice(DOMAINS)


def m_opset(rng: random.Random, m: Mutant) -> None:
    model = m.model
    r = rng.random()
    if r < 0.5 and model.opset_import:
        rng.choice(model.opset_import).version = rng.choice(OPSETS)
    elif r < 0.65:
        o = model.opset_import.add()
        o.domain, o.version = rng.choice(DOMAINS), rng.choice(OPSETS)
    elif r < 0.75:
        del model.opset_import[:]
    else:
        model.ir_version = rng.choice([0, 1, 3, 7, 8, 10, 11, 99, -1])


def m_initializer(rng: random.Random, m: Mutant) -> None:
    g = m.model.graph
    consts = [a.t for node in g.node if node.op_type == "Constant" for a in node.attribute if a.type == 4]
    targets = list(g.initializer) + consts
    r = rng.random()
    if targets and r < 0.6:
        t = rng.choice(targets)
        if rng.random() < 0.5 and (t.raw_data or t.int64_data or t.float_data):
            del t.dims[:]                                # the same data under other dims
            t.dims.extend(rng.choice(DIMS[:5] + [2, 4, 1 << 20]) for _ in range(rng.choice([0, 1, 2, 4])))
        else:
            name = t.name
            _random_tensor(rng, m, t)
            t.name = name
    elif g.initializer and r < 0.75:
        del g.initializer[rng.randrange(len(g.initializer))]
    else:                                                # a new one, maybe shadowing a name
        t = g.initializer.add()
        _random_tensor(rng, m, t)
        t.name = rng.choice(_tensors(g) + ["fresh"])


def m_subgraph(rng: random.Random, m: Mutant) -> None:
    """A node given a subgraph attribute (If, Loop), nested a few levels."""
    g = m.model.graph
    if not g.node:
        return
    node = rng.choice(g.node)
    a = node.attribute.add()
    a.name, a.type = rng.choice(["then_branch", "else_branch", "body"]), 5
    sub = a.g
    for _ in range(rng.choice([1, 2, 8])):
        sub.name = "sub"
        inner = sub.node.add()
        inner.op_type, inner.input[:], inner.output[:] = rng.choice(["Relu", "If", "Conv"]), ["x"], ["z"]
        b = inner.attribute.add()
        b.name, b.type = "then_branch", 5
        sub = b.g


def m_value_chain(rng: random.Random, m: Mutant) -> None:
    """Shape arithmetic on constants before a node's second input (a Reshape target, Slice
    bounds, Resize scales): chains of Mul, Add, Concat, Gather over Constant nodes."""
    import numpy as np
    from onnx import helper, numpy_helper

    g = m.model.graph
    users = [node for node in g.node if len(node.input) >= 2]
    if not users:
        return
    node = rng.choice(users)
    k = rng.choice([1, 2, 3, 5, 8, 12])
    base = f"fz{rng.randrange(1 << 30)}"
    value = np.array(rng.choice([[2], [-1], [0], [1, -1], [1 << 40], [3, 3]]), dtype=np.int64)
    chain = [helper.make_node("Constant", [], [f"{base}_0"], value=numpy_helper.from_array(value))]
    for j in range(k):
        op = rng.choice(["Mul", "Add", "Concat", "Sub", "Div", "Gather"])
        attrs = {"axis": 0} if op in ("Concat", "Gather") else {}
        chain.append(helper.make_node(op, [f"{base}_{j}", f"{base}_{j}" if op != "Gather" else f"{base}_0"],
                                      [f"{base}_{j + 1}"], **attrs))
    at = list(g.node).index(node) if rng.random() < 0.8 else len(g.node)
    for j, c in enumerate(chain):
        g.node.insert(at + j, c)
    node.input[rng.randrange(1, len(node.input))] = f"{base}_{k}"


MUTATIONS = [(m_attribute, 5), (m_dims, 3), (m_names, 4), (m_metadata, 2), (m_edges, 4), (m_op, 2),
             (m_opset, 1), (m_initializer, 3), (m_subgraph, 1), (m_value_chain, 1)]


def _bytes_mutation(rng: random.Random, data: bytes) -> bytes:
    r = rng.random()
    if not data:
        return data
    if r < 0.3:                                          # truncation
        return data[:rng.randrange(len(data))]
    if r < 0.65:                                         # bit flips
        b = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 4, 16])):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if r < 0.8:                                          # bytes overwritten with edge values
        b = bytearray(data)
        i = rng.randrange(len(b))
        new = rng.choice([b"\xff" * 10, b"\x00", b"\x80" * 9 + b"\x01", b"\x7f", b"\x0a\xff\xff\xff\xff\x0f"])
        b[i:i + len(new)] = new
        return bytes(b)
    if r < 0.9:                                          # a chunk duplicated
        i = rng.randrange(len(data))
        j = min(len(data), i + rng.choice([1, 8, 64, 1024]))
        return data[:j] + data[i:j] + data[j:]
    return data + rng.choice([b"\x00" * 64, b"\x9a\x05\xff\xff\xff\x0f", b"\xfa\xff\xff\xff\x07x",
                              bytes([0xb2, 0x80, 0x80, 0x08]) + b"u" * 64])   # unknown fields, lying lengths


def mutate_onnx(rng: random.Random, seed_model) -> bytes:
    """One input: 1-4 structure-aware mutations of ``seed_model`` (a ModelProto, not changed),
    serialized; one in six is then truncated or bit-flipped as bytes."""
    import onnx

    model = onnx.ModelProto()
    model.CopyFrom(seed_model)
    m = Mutant(model)
    fns, weights = zip(*MUTATIONS)
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        rng.choices(fns, weights)[0](rng, m)
    data = m.serialize()
    if rng.random() < 1 / 6:
        data = _bytes_mutation(rng, data)
    return data


class OnnxInputs:
    """The ONNX inputs of a run: the seeds as they are (the first ``len(seeds)`` inputs),
    then mutations of seeds drawn with ``rng``, the small ones more often (a run costs
    about linear time in the nodes)."""

    def __init__(self):
        import onnx

        self.named = onnx_corpus()
        self.models = [onnx.ModelProto.FromString(b) for _, b in self.named]
        self.weights = [1 / (8 + len(m.graph.node)) ** 0.5 for m in self.models]

    def next(self, rng: random.Random, k: int) -> tuple[str, bytes]:
        """(seed name, serialized model) of input ``k``."""
        if k < len(self.named):
            return self.named[k]
        j = rng.choices(range(len(self.models)), self.weights)[0]
        return self.named[j][0], mutate_onnx(rng, self.models[j])


# -- ONNX mode: running and minimizing ---------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def unsafe_output(kind: str, text: str) -> str | None:
    """Why ``text``, netc's output in format ``kind``, is unsafe to show, or None: a raw
    control character (not tab or newline), a github line that is no workflow command
    netc wrote, an SVG that is not well-formed XML, an HTML page with a second script."""
    if kind not in ("json", "sarif") and CONTROL.search(text):
        return "a raw control character"
    if kind == "github":
        bad = [ln for ln in text.split("\n") if ln and not ln.startswith(("::error ", "::warning ", "::notice "))]
        if bad:
            return "a line that is no netc annotation"
    if kind == "svg":
        import xml.etree.ElementTree as ET

        try:
            ET.fromstring(text)
        except ET.ParseError:
            return "SVG not well-formed"
    if kind == "html" and text.count("<script") != 1:
        return "a script netc did not write"
    return None


class Unsafe(Exception):
    """Output that would be executed, or would forge or hide output (``unsafe_output``)."""


def _check_output(kind: str, text: str) -> None:
    why = unsafe_output(kind, text)
    if why:
        raise Unsafe(f"{kind}: {why}")


class OnnxRunner(Runner):
    """Runs a serialized model through what netc does to a model file: lint (every
    output format), summary (load, every renderer, rolled up too), import (and a load of
    what it wrote) and draw (both views)."""

    def __init__(self, timeout: float, tmp: Path):
        super().__init__(timeout, False, tmp)
        self.path = tmp / "fuzz.onnx"

    def _stages(self, data: bytes):
        from netc.api import load
        from netc.draw import draw
        from netc.draw.html import SUMMARY_FORMATS
        from netc.lint import lint_source, output
        from netc.onnx.importer import import_graph
        from netc.rollup import rollup

        self.path.write_bytes(data)
        path = str(self.path)
        result = lint_source(path, self.config)
        for kind, fmt in output.FORMATS.items():
            _check_output(kind, fmt([result]))
        try:
            net = load(path, partial=True)
        except NetcError as e:
            _check_output("error", "\n".join(d.format() for d in e.diagnostics))
            raise
        mem = net.memory(batch=2, dtype="float16", optimizer="adam")
        for a in (net.analysis, rollup(net.analysis, 1)):
            for kind, fmt in SUMMARY_FORMATS.items():
                _check_output(kind, fmt(a, mem, 8 << 30))
        for view in ("volume", "graph"):
            _check_output("svg", draw(net.analysis, view, findings=result.findings))
        unread = net.graph.unread
        if unread is not None:
            _check_output("error", unread.format())
            raise NetcError(unread)                 # netc import refuses it: an invalid input
        text = import_graph(net.graph, path)
        try:
            again = _loads(text)
        except NetcError as e:
            raise RoundTrip(f"the imported file does not load: {e.diagnostics[0].code}: "
                            f"{e.diagnostics[0].message[:60]}") from None
        if (again.totals.params, again.totals.macs) != (net.totals.params, net.totals.macs):
            raise RoundTrip("the imported file counts other params or MACs than the model")
        return "ok", None, ""


class RoundTrip(Exception):
    """``netc import`` wrote a file that netc refuses, or that describes another network."""


def _loads(text: str):
    from netc.api import loads

    return loads(text, "imported.yaml")


def minimize_onnx(runner: "OnnxRunner", data: bytes, signature: str, budget_s: float) -> bytes:
    """Drop nodes (or bypass them: their result replaced by their input), then each node's
    attributes, inputs and metadata, then initializers,
    value infos, outputs, opsets and doc strings, while ``runner`` still fails with
    ``signature``; bytes that do not parse as a model (or no longer fail once parsed and
    serialized again) lose chunks of bytes instead. Stops after ``budget_s`` seconds."""
    import onnx

    deadline = time.monotonic() + budget_s

    def fails(candidate: bytes) -> bool:
        return time.monotonic() < deadline and runner._run(candidate, runner.timeout)[1] == signature

    try:
        model = onnx.ModelProto.FromString(data)
    except Exception:  # noqa: BLE001 - any parse failure: minimize the bytes
        model = None
    if model is None or not fails(model.SerializeToString()):
        return _minimize_bytes(data, fails)

    def shrink(model, field):
        """Delete chunks (halves down to single items) of the repeated ``field(model)``."""
        chunk = max(1, len(field(model)) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            i, changed = 0, False
            while i < len(field(model)):
                candidate = onnx.ModelProto()
                candidate.CopyFrom(model)
                del field(candidate)[i:i + chunk]
                if fails(candidate.SerializeToString()):
                    model, changed = candidate, True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
        return model

    def clear(model, owner, name):
        candidate = onnx.ModelProto()
        candidate.CopyFrom(model)
        if owner(candidate).HasField(name) if name in ("graph",) else getattr(owner(candidate), name):
            owner(candidate).ClearField(name)
            if fails(candidate.SerializeToString()):
                return candidate
        return model

    def bypass(model):
        """Delete single nodes, their result replaced by their first input wherever it is
        used (a graph output included): a chain shrinks without a dangling output."""
        k = len(model.graph.node) - 1
        while k >= 0 and time.monotonic() < deadline:
            node = model.graph.node[k]
            if node.input and node.output:
                old, new = node.output[0], node.input[0]
                candidate = onnx.ModelProto()
                candidate.CopyFrom(model)
                del candidate.graph.node[k]
                for n in candidate.graph.node:
                    n.input[:] = [new if t == old else t for t in n.input]
                for o in candidate.graph.output:
                    if o.name == old:
                        o.name = new
                if fails(candidate.SerializeToString()):
                    model = candidate
            k = min(k - 1, len(model.graph.node) - 1)
        return model

    size = None
    while size != model.ByteSize() and time.monotonic() < deadline:   # until a round changes nothing
        size = model.ByteSize()
        model = shrink(model, lambda m: m.graph.node)
        model = bypass(model)
        for name in ("initializer", "value_info", "output", "input", "sparse_initializer"):
            model = shrink(model, lambda m, name=name: getattr(m.graph, name))
        for name in ("metadata_props", "opset_import", "functions"):
            model = shrink(model, lambda m, name=name: getattr(m, name))
        for k in reversed(range(len(model.graph.node))):
            for name in ("attribute", "metadata_props", "input", "output"):
                if k < len(model.graph.node):
                    model = shrink(model, lambda m, k=k, name=name: getattr(m.graph.node[k], name))
            for name in ("doc_string", "domain"):
                if k < len(model.graph.node):
                    model = clear(model, lambda m, k=k: m.graph.node[k], name)
        for name in ("doc_string", "producer_name", "producer_version", "domain"):
            model = clear(model, lambda m: m, name)
        model = clear(model, lambda m: m.graph, "doc_string")
    return model.SerializeToString()


def _minimize_bytes(data: bytes, fails) -> bytes:
    chunk = max(1, len(data) // 2)
    while chunk >= 1:
        i, changed = 0, False
        while i < len(data):
            candidate = data[:i] + data[i + chunk:]
            if candidate and fails(candidate):
                data, changed = candidate, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
        if not fails(data):              # out of time (or no longer failing): stop here
            break
    return data


def describe_onnx(data: bytes, limit: int = 4000) -> str:
    """A model in protobuf text format (invalid UTF-8 shown escaped), cut at ``limit``
    characters, or the head of bytes that do not parse."""
    import onnx
    from google.protobuf import text_format

    try:
        text = text_format.MessageToString(onnx.ModelProto.FromString(data), as_utf8=False)
    except Exception:  # noqa: BLE001
        return f"{len(data)} bytes that do not parse as a ModelProto: {data[:256].hex()}"
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text):,} characters)"


# -- main --------------------------------------------------------------------------

MODES = ("yaml", "onnx", "both")
MEMORY_MB = 1024
OUTCOMES = ("ok", "invalid", "internal", "crash", "hang", "slow", "memory", "unsafe", "roundtrip")
FAILURES = ("crash", "hang", "memory", "unsafe", "roundtrip")


def _limit_memory(mb: int | None):
    """Cap this process's address space (RLIMIT_AS, soft limit) at its size now plus ``mb``
    MiB, so that an input that allocates without bound raises MemoryError in netc instead
    of taking the machine; returns the old limits, to restore."""
    import resource

    old = resource.getrlimit(resource.RLIMIT_AS)
    if not mb:
        return old
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    want = size + (mb << 20)
    hard = old[1]
    resource.setrlimit(resource.RLIMIT_AS, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    return old


def fuzz(n: int, seed: int, timeout: float = 5.0, build: bool = True, minimize_s: float = 60.0,
         log=None, mode: str = "yaml", memory_mb: int | None = MEMORY_MB) -> dict:
    """Run ``n`` inputs from ``seed`` (``mode`` yaml or onnx); return counts and the
    smallest input of each failure."""
    import resource

    if mode not in ("yaml", "onnx"):
        raise ValueError(f"mode {mode!r}: expected yaml or onnx")
    rng = random.Random(seed)
    counts = dict.fromkeys(OUTCOMES, 0)
    counts["built"] = 0
    found: dict[str, dict] = {}
    if mode == "onnx":
        inputs = OnnxInputs()
    else:
        seeds = corpus()
    old = signal.signal(signal.SIGPROF, _alarm)
    old_limit = _limit_memory(memory_mb)
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runner = OnnxRunner(timeout, Path(tmp)) if mode == "onnx" else Runner(timeout, build, Path(tmp))
            generated: list[str] = []
            for k in range(n):
                origin = ""
                if mode == "onnx":
                    origin, text = inputs.next(rng, k)
                else:
                    r = rng.random()
                    if r < 0.03:
                        text = structure(rng)
                    elif r < 0.35:
                        text = generate(rng)
                        generated.append(text)
                        generated[:] = generated[-50:]
                    elif r < 0.8 or not generated:
                        text = mutate(rng, rng.choice(seeds))
                    else:
                        text = mutate(rng, rng.choice(generated))
                outcome, sig, detail = runner.run(text)
                counts[outcome] += 1
                counts["built"] += detail == "built"
                if sig is not None and outcome != "invalid":
                    entry = found.get(sig)
                    if entry is None and log:           # a new class: said at once, kept for the end
                        log(f"input {k:,}: new {outcome}: {sig}")
                    if entry is None or len(text) < len(entry["input"]):
                        found[sig] = {"outcome": outcome, "input": text, "detail": detail, "seed": origin,
                                      "count": (entry or {}).get("count", 0) + 1, "index": k}
                    else:
                        entry["count"] += 1
                if log and (k + 1) % 1000 == 0:
                    log(f"{k + 1:,} {mode} inputs, {time.monotonic() - start:.0f} s: {counts}")
            for sig, entry in found.items():
                if minimize_s > 0 and sig != "slow":
                    small = minimize_onnx if mode == "onnx" else minimize
                    entry["input"] = small(runner, entry["input"], sig, minimize_s)
                    entry["detail"] = runner._run(entry["input"], runner.timeout)[2]
    finally:
        signal.signal(signal.SIGPROF, old)
        resource.setrlimit(resource.RLIMIT_AS, old_limit)
    if mode == "onnx":
        import base64

        for entry in found.values():
            entry["bytes"] = base64.b64encode(entry["input"]).decode()
            entry["input"] = describe_onnx(entry["input"])
    return {"mode": mode, "n": n, "seed": seed, "seconds": round(time.monotonic() - start, 1),
            "counts": counts, "failures": found}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=MODES, default="yaml",
                    help="yaml files, onnx models, or both (--n of each)")
    ap.add_argument("--n", type=int, default=1000, help="inputs to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0, help="CPU seconds per input")
    ap.add_argument("--memory", type=int, default=MEMORY_MB,
                    help="MiB the process may grow by (RLIMIT_AS); 0: no limit")
    ap.add_argument("--no-build", action="store_true", help="skip the ONNX build stage (yaml mode)")
    ap.add_argument("--minimize", type=float, default=60.0, help="seconds to minimize each failure")
    ap.add_argument("--report", type=Path, help="write the result as JSON here")
    args = ap.parse_args(argv)
    results = []
    for mode in (("yaml", "onnx") if args.mode == "both" else (args.mode,)):
        result = fuzz(args.n, args.seed, args.timeout, not args.no_build, args.minimize,
                      log=lambda m: print(m, file=sys.stderr, flush=True), mode=mode, memory_mb=args.memory)
        results.append(result)
        print(f"{result['n']:,} {mode} inputs (seed {result['seed']}) in {result['seconds']} s: "
              f"{result['counts']}")
        for sig, entry in result["failures"].items():
            print(f"\n== {entry['outcome']}: {sig} ({entry['count']} inputs; first at #{entry['index']}"
                  f"{', from ' + entry['seed'] if entry['seed'] else ''})")
            print(entry["input"])
            if entry.get("bytes") and len(entry["bytes"]) <= 4000:
                print(f"base64: {entry['bytes']}")
            if entry["detail"]:
                print(entry["detail"])
        print()
    if args.report:
        args.report.write_text(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    bad = sum(r["counts"][k] for r in results for k in FAILURES)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
