"""The ratios of issue 12, measured side by side in one run: each netc command beside
its yardstick, interleaved, as the median of the per-pair ratios (whole processes).

    python benchmarks/ratios.py [--pairs 9] [--tree /path/to/other/netc/checkout ...]
                                [--torch-python /path/to/a/venv/with/torch/bin/python]

| work                                          | yardstick                                           |
|-----------------------------------------------|-----------------------------------------------------|
| netc build examples/resnet50.yaml --onnx OUT  | torch.onnx.export of torchvision's resnet50, opset 17 (TorchScript exporter), when torch and torchvision import |
| netc lint of the issue's 10 example files      | python -c "import yaml, jsonschema"                 |
| netc lint examples/ (the whole folder)        | python -c "import yaml, jsonschema"                 |
| netc summary examples/murphy-fig7.yaml        | python -c "import yaml, jsonschema"                 |

The lint row reads a fixed list of files (``LINT_FILES``, the ten of the issue),
so that its ratio does not drift as the zoo grows; ``lint-all`` gives the whole
folder.

Every process runs with its bytecode cached under a temporary
``PYTHONPYCACHEPREFIX`` (one warm-up run per command fills it), as an installed
package has its ``.pyc`` files: a checkout run with ``PYTHONDONTWRITEBYTECODE``
would otherwise compile netc's sources on every call. ``--no-bytecode`` measures
that case instead (a tree whose ``netc/__pycache__`` exists still reads it: the
script says so).

Without torch (in ``--torch-python``, default this interpreter) the build row gives
the build's median time alone. ``--tree`` adds
the same commands run from another checkout (PYTHONPATH=that tree, cwd=that
tree), interleaved with this one's, so that "before" and "after" meet the same
machine noise. Each pair runs the command and its yardstick back to back, in an
order that alternates; the ratio of a row is the median over pairs of
command time / yardstick time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TORCH_EXPORT = """
import sys, torch, torchvision
model = torchvision.models.resnet50(weights=None).eval()
kwargs = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
torch.onnx.export(model, torch.randn(1, 3, 224, 224), sys.argv[1], opset_version=17,
                  input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
"""
LINT_FILES = [f"examples/{name}.yaml" for name in (
    "alexnet", "googlenet", "lenet5", "mobilenet_v2", "murphy-deep-stride1", "murphy-fig7",
    "resnet152", "resnet18", "resnet50", "vgg16")]
FLOOR = [sys.executable, "-c", "import yaml, jsonschema"]


def has_torch(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import torch, torchvision"], capture_output=True)
    return probe.returncode == 0


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--tree", action="append", default=[], help="another netc checkout to measure too")
    parser.add_argument("--only", choices=["build", "lint", "lint-all", "summary"], action="append")
    parser.add_argument("--no-bytecode", action="store_true", help="no .pyc cache: compile on every run")
    parser.add_argument("--torch-python", default=sys.executable, help="an interpreter with torch and torchvision")
    args = parser.parse_args()
    torch = has_torch(args.torch_python)
    out = Path(tempfile.mkdtemp(prefix="netc-ratios-"))
    trees = {"this": ROOT, **{f"tree{i}": Path(t).resolve() for i, t in enumerate(args.tree, 1)}}
    work = {
        "build": (["build", "examples/resnet50.yaml", "--onnx"],
                  [args.torch_python, "-c", TORCH_EXPORT, str(out / "torch.onnx")] if torch else None),
        "lint": (["lint", "--exit-zero", *LINT_FILES], FLOOR),
        "lint-all": (["lint", "--exit-zero", "examples/"], FLOOR),
        "summary": (["summary", "examples/murphy-fig7.yaml"], FLOOR),
    }
    rows = {}
    for name, (netc_args, yardstick) in work.items():
        if args.only and name not in args.only:
            continue
        for label, tree in trees.items():
            cmd = [sys.executable, "-m", "netc", *netc_args]
            if name == "build":
                cmd.append(str(out / f"{label}.onnx"))
            rows[(name, label)] = (cmd, tree, yardstick, [], [])
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.no_bytecode:
        base_env["PYTHONDONTWRITEBYTECODE"] = "1"
        for label, tree in trees.items():
            if (tree / "netc" / "__pycache__").exists():
                print(f"warning: {tree}/netc/__pycache__ exists: {label} reads its bytecode", file=sys.stderr)
    else:
        base_env["PYTHONPYCACHEPREFIX"] = str(out / "pycache")
    for (name, label), (cmd, tree, yardstick, _, _) in rows.items():   # warm-up: fills the cache
        env = dict(base_env, PYTHONPATH=str(tree))
        timed(cmd, tree, env)
        if yardstick is not None:
            timed(yardstick, ROOT, env)
    for i in range(args.pairs):
        for (name, label), (cmd, tree, yardstick, times, ratios) in rows.items():
            env = dict(base_env, PYTHONPATH=str(tree))
            if yardstick is None:
                times.append(timed(cmd, tree, env))
                continue
            if i % 2:
                base = timed(yardstick, ROOT, env)
                t = timed(cmd, tree, env)
            else:
                t = timed(cmd, tree, env)
                base = timed(yardstick, ROOT, env)
            times.append(t)
            ratios.append(t / base)
    print(f"{args.pairs} pairs each, interleaved; {'torch ' + 'found' if torch else 'no torch: build alone'}; "
          f"{'no bytecode cache' if args.no_bytecode else 'bytecode cached'}")
    for label, tree in trees.items():
        print(f"  {label}: {tree}")
    print(f"{'work':<10} {'tree':<7} {'median s':>9} {'ratio':>7}")
    for (name, label), (_, _, yardstick, times, ratios) in rows.items():
        ratio = f"{statistics.median(ratios):.2f}x" if ratios else "-"
        print(f"{name:<10} {label:<7} {statistics.median(times):>9.3f} {ratio:>7}")


if __name__ == "__main__":
    main()
