"""The ratios of issue 12, measured side by side in one run: each netc command beside
its yardstick, interleaved, as the median of the per-pair ratios (whole processes).

    python benchmarks/ratios.py [--pairs 9] [--tree /path/to/other/netc/checkout ...]
                                [--torch-python /path/to/a/venv/with/torch/bin/python]
                                [--write-readme]

``--write-readme`` writes the figures into README.md's speed table, between its
``<!-- ratios.py --write-readme -->`` markers (the table and the line that says how,
where and when they were measured), so that the README's figures are regenerated,
never retyped. Run it with the interpreter of a fresh venv (``python -m venv v &&
v/bin/pip install '.[onnx]' && v/bin/python benchmarks/ratios.py --write-readme``) to
measure what a new user gets.

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
import datetime
import os
import platform
import re
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


BEGIN = "<!-- ratios.py --write-readme: begin -->"
END = "<!-- ratios.py --write-readme: end -->"
WORK = {      # row -> what the README calls it
    "build": "`netc build examples/resnet50.yaml --onnx`",
    "lint": "`netc lint` of the 10 files `examples/` held in 0.1.0",
    "lint-all": "`netc lint examples/` (all {n} files)",
    "summary": "`netc summary examples/murphy-fig7.yaml`",
}


def example_count(tree: Path = ROOT) -> int:
    return len(list((tree / "examples").glob("*.yaml")))


def _seconds(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f} s" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f} to {hi:.2f} s"


def readme_block(rows: dict, trees: dict, labels: dict, pairs: int, torch: bool, when: str, machine: str,
                 command: str = "") -> str:
    """The README's speed table and its caption, from the measured rows: per work and tree,
    (times, yardstick times, ratios)."""
    yard = {"build": "`torch.onnx.export` of torchvision's ResNet-50 (TorchScript exporter, opset 17" +
                     (f"): {_seconds(rows[('build', 'this')][1])} here" if torch else
                      "): not measured in this run (no torch; `--torch-python`)"),
            "lint": f"`python -c \"import yaml, jsonschema\"`: {_seconds(rows[('lint', 'this')][1])} here",
            "lint-all": "the same", "summary": "the same"}
    order = [t for t in trees if t != "this"] + ["this"]
    head = " | ".join(labels[t] for t in order)
    lines = [f"| work | yardstick | {head} |", "|---|---|" + "---|" * len(order)]
    for work, title in WORK.items():
        cells = []
        for t in order:
            if work == "lint-all" and t != "this":     # another tree's examples/ holds other files
                cells.append("")
                continue
            times, _, ratios = rows[(work, t)]
            cell = f"{statistics.median(times):.2f} s"
            if ratios:
                cell += f", {statistics.median(ratios):.2f}×"
            cells.append(cell)
        lines.append(f"| {title.format(n=example_count())} | {yard[work]} | {' | '.join(cells)} |")
    command = command or f"python benchmarks/ratios.py --pairs {pairs} --write-readme"
    caption = (f"(Written by `{command}` on {when}: {machine}. "
               f"Times are medians, ratios the medians of the per-pair ratios of {pairs} pairs, each command "
               "and its yardstick back to back, interleaved; absolute times vary with the load of the machine, "
               "the ratios much less. Compiled bytecode is cached, as an installed package has it.)")
    return "\n".join(lines) + "\n\n" + caption


def write_readme(block: str, readme: Path = ROOT / "README.md") -> None:
    """Replace what lies between the markers of ``readme`` with ``block``."""
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"ratios: {readme} has no '{BEGIN}' ... '{END}' block to write")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{block}\n{END}", text))


def machine_line() -> str:
    """The machine and the versions that the figures depend on, in words."""
    import importlib.metadata as md

    versions = []
    for name in ("onnx", "ml_dtypes", "numpy", "PyYAML", "jsonschema", "typer"):
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            pass
    load = f", load average {os.getloadavg()[0]:.1f} as it started" if hasattr(os, "getloadavg") else ""
    venv = " in a venv" if sys.prefix != sys.base_prefix else ""
    return (f"a {os.cpu_count()}-core machine ({platform.machine()}, {platform.system()}{load}), Python "
            f"{platform.python_version()}{venv}, {', '.join(versions)}")


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
    parser.add_argument("--write-readme", action="store_true", help="write the figures into README.md's speed table")
    args = parser.parse_args()
    if args.write_readme and args.only:
        parser.error("--write-readme writes every row: leave out --only")
    torch = has_torch(args.torch_python)
    machine = machine_line()          # before the runs: the load they start in
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
            rows[(name, label)] = (cmd, tree, yardstick, [], [], [])
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.no_bytecode:
        base_env["PYTHONDONTWRITEBYTECODE"] = "1"
        for label, tree in trees.items():
            if (tree / "netc" / "__pycache__").exists():
                print(f"warning: {tree}/netc/__pycache__ exists: {label} reads its bytecode", file=sys.stderr)
    else:
        base_env["PYTHONPYCACHEPREFIX"] = str(out / "pycache")
    for (name, label), (cmd, tree, yardstick, _, _, _) in rows.items():   # warm-up: fills the cache
        env = dict(base_env, PYTHONPATH=str(tree))
        timed(cmd, tree, env)
        if yardstick is not None:
            timed(yardstick, ROOT, env)
    for i in range(args.pairs):
        for (name, label), (cmd, tree, yardstick, times, ratios, bases) in rows.items():
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
            bases.append(base)
            ratios.append(t / base)
    print(f"{args.pairs} pairs each, interleaved; {'torch ' + 'found' if torch else 'no torch: build alone'}; "
          f"{'no bytecode cache' if args.no_bytecode else 'bytecode cached'}")
    for label, tree in trees.items():
        print(f"  {label}: {tree}")
    print(f"{'work':<10} {'tree':<7} {'median s':>9} {'ratio':>7}")
    for (name, label), (_, _, yardstick, times, ratios, _) in rows.items():
        ratio = f"{statistics.median(ratios):.2f}x" if ratios else "-"
        print(f"{name:<10} {label:<7} {statistics.median(times):>9.3f} {ratio:>7}")
    if args.write_readme:
        labels = {"this": "now"}
        for label, tree in trees.items():
            if label != "this":
                rev = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True,
                                     text=True).stdout.strip()
                labels[label] = f"before ({rev or tree.name})"
        command = " ".join(["python benchmarks/ratios.py", f"--pairs {args.pairs}",
                            *(f"--tree <checkout of {labels[f'tree{i}'][8:-1]}>" for i, _ in enumerate(args.tree, 1)),
                            *(["--torch-python ..."] if torch and args.torch_python != sys.executable else []),
                            "--write-readme"])
        block = readme_block({k: (v[3], v[5], v[4]) for k, v in rows.items()}, trees, labels, args.pairs, torch,
                             datetime.date.today().isoformat(), machine, command)
        write_readme(block)
        print("README.md: speed table written")


if __name__ == "__main__":
    main()
