"""Fuzz netc with generated and mutated files: load, lint, summary and build, in-process.

    python benchmarks/fuzz.py --n 10000 --seed 1 [--timeout 5] [--no-build] [--report out.json]

Each input runs through ``netc.loads`` (read, validate, expand, analyze), every lint
rule and lint renderer, every summary renderer, and, for small valid networks,
``netc.onnx.build.build_model``, under a per-input limit of CPU time (SIGPROF, so
that a busy machine does not turn a slow input into a "hang"). A crash is
any exception that is not a ``NetcError`` (a ``RuleCrash`` included); a hang is an
input past the time limit; an ``internal error`` diagnostic is counted apart, and so is an input past the limit
that finishes within six times it ("slow"). For
each distinct crash (exception type and the innermost netc frame) and for hangs,
the smallest input is found by deleting lines, then tokens, while the failure
stays the same, and printed. Inputs: random networks drawn from the op registry
(edge values included), hostile structures (nested repeats, pass-through chains,
dead branches, long ``from`` lists), and mutations (line and token deletion, duplication,
swaps, hostile values) of examples/*.yaml, the lint rules' examples and
generated networks. Seeded: the same ``--seed`` and ``--n`` give the same inputs.
Exit status 1 when anything crashed or hung.
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
        except Exception as e:  # noqa: BLE001 - what the fuzzer is looking for
            if isinstance(e.__cause__, Hang):
                return "hang", "hang", ""
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
    frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).name != "fuzz.py"]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
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


# -- main --------------------------------------------------------------------------

def fuzz(n: int, seed: int, timeout: float = 5.0, build: bool = True, minimize_s: float = 60.0,
         log=None) -> dict:
    """Run ``n`` inputs from ``seed``; return counts and the smallest input of each failure."""
    rng = random.Random(seed)
    seeds = corpus()
    counts = {"ok": 0, "invalid": 0, "internal": 0, "crash": 0, "hang": 0, "slow": 0, "built": 0}
    found: dict[str, dict] = {}
    old = signal.signal(signal.SIGPROF, _alarm)
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runner = Runner(timeout, build, Path(tmp))
            generated: list[str] = []
            for k in range(n):
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
                    if entry is None or len(text) < len(entry["input"]):
                        found[sig] = {"outcome": outcome, "input": text, "detail": detail,
                                      "count": (entry or {}).get("count", 0) + 1, "index": k}
                    else:
                        entry["count"] += 1
                if log and (k + 1) % 1000 == 0:
                    log(f"{k + 1:,} inputs, {time.monotonic() - start:.0f} s: {counts}")
            for sig, entry in found.items():
                if minimize_s > 0 and sig != "slow":
                    entry["input"] = minimize(runner, entry["input"], sig, minimize_s)
                    entry["detail"] = runner._run(entry["input"], runner.timeout)[2]
    finally:
        signal.signal(signal.SIGPROF, old)
    return {"n": n, "seed": seed, "seconds": round(time.monotonic() - start, 1), "counts": counts,
            "failures": found}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="inputs to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per input")
    ap.add_argument("--no-build", action="store_true", help="skip the ONNX build stage")
    ap.add_argument("--minimize", type=float, default=60.0, help="seconds to minimize each failure")
    ap.add_argument("--report", type=Path, help="write the result as JSON here")
    args = ap.parse_args(argv)
    result = fuzz(args.n, args.seed, args.timeout, not args.no_build, args.minimize,
                  log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{result['n']:,} inputs (seed {result['seed']}) in {result['seconds']} s: {result['counts']}")
    for sig, entry in result["failures"].items():
        print(f"\n== {entry['outcome']}: {sig} ({entry['count']} inputs; first at #{entry['index']})")
        print(entry["input"])
        if entry["detail"]:
            print(entry["detail"])
    if args.report:
        args.report.write_text(json.dumps(result, indent=2))
    bad = result["counts"]["crash"] + result["counts"]["hang"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
