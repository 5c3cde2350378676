"""Whole-process time of ``netc summary`` (or ``netc lint``) on netc files, beside
the floor of ``python -c "import yaml, jsonschema"``, measured in the same run.

    python benchmarks/startup.py [--runs 15] [--command lint] [examples/resnet152.yaml ...]

Each command runs ``--runs`` times, interleaved so that machine noise hits all of
them alike; the report gives the median and minimum wall time of each and the
ratio of its median to the import floor's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=["examples/resnet152.yaml"])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--command", default="summary", help="the netc command to time")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    commands = {"import yaml, jsonschema": [sys.executable, "-c", "import yaml, jsonschema"]}
    for f in args.files:
        commands[f"netc {args.command} {f}"] = [sys.executable, "-m", "netc", args.command, f]
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for label, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - start)
    floor = statistics.median(times["import yaml, jsonschema"])
    print(f"{'command':<45} {'median':>8} {'min':>8} {'x floor':>8}   ({args.runs} runs each)")
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:<45} {med * 1000:>6.0f}ms {min(ts) * 1000:>6.0f}ms {med / floor:>8.2f}")


if __name__ == "__main__":
    main()
