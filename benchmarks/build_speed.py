"""Whole-process time of ``netc build FILE --onnx OUT`` beside the floor of the same
work, measured in the same run, interleaved:

    python benchmarks/build_speed.py [--runs 5] [examples/resnet50.yaml examples/resnet152.yaml]

floor = drawing as many random float32 numbers as the network has parameters
(numpy's Generator, as the build does) and writing that many bytes to a file
in the same folder, in a fresh process that imported numpy, so that the floor
pays interpreter start-up too. The report gives the median and minimum of each
and the ratio of the build's median to its floor's median.
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

FLOOR = """
import sys, numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
chunk = 1 << 24
with open(path, "wb") as f:
    for start in range(0, n, chunk):
        f.write(rng.standard_normal(min(chunk, n - start), dtype=np.float32).tobytes())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=["examples/resnet50.yaml", "examples/resnet152.yaml"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import netc

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        commands: dict[str, list[str]] = {}
        for f in args.files:
            params = netc.load(ROOT / f).totals.params
            name = Path(f).stem
            commands[f"netc build {name}"] = [sys.executable, "-m", "netc", "build", f, "--onnx",
                                              f"{tmp}/{name}.onnx"]
            commands[f"floor {name} ({params:,} floats)"] = [sys.executable, "-c", FLOOR, str(params),
                                                             f"{tmp}/{name}.floor"]
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.runs):
            for label, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
                times[label].append(time.perf_counter() - start)
    print(f"{'command':<45} {'median':>8} {'min':>8} {'x floor':>8}   ({args.runs} runs each)")
    labels = list(times)
    for build, floor in zip(labels[::2], labels[1::2]):
        ratio = statistics.median(times[build]) / statistics.median(times[floor])
        for label in (build, floor):
            ts = times[label]
            extra = f"{ratio:>8.2f}" if label == build else f"{'1.00':>8}"
            print(f"{label:<45} {statistics.median(ts):>7.2f}s {min(ts):>7.2f}s {extra}")


if __name__ == "__main__":
    main()
