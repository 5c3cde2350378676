"""How long drawing ResNet-152 (514 layers) takes: whole ``netc draw`` processes
next to ``netc summary`` on the same file (what loading and analysing cost
anyway), and the in-process stages (load, lint, draw) best of N.

    python benchmarks/draw_speed.py [repeats]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "examples" / "resnet152.yaml"


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sys.path.insert(0, str(ROOT))
    import netc
    from netc.draw import draw, lint_findings

    py = sys.executable
    print(f"best of {repeats}, {NET.name}, {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "net.svg")
        rows = [
            ("netc summary (process)", [py, "-m", "netc", "summary", str(NET)]),
            ("netc draw (process, volume view)", [py, "-m", "netc", "draw", str(NET), "-o", out]),
            ("netc draw --expand (process, 514 boxes)", [py, "-m", "netc", "draw", str(NET), "--expand", "-o", out]),
            ("netc draw --view graph --expand (process)",
             [py, "-m", "netc", "draw", str(NET), "--view", "graph", "--expand", "-o", out]),
            ("netc summary --format html (process)", [py, "-m", "netc", "summary", str(NET), "--format", "html"]),
        ]
        for label, cmd in rows:
            t = best(lambda: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True), repeats)
            print(f"{label:<48} {t * 1000:8.1f} ms")
    net = netc.load(NET)
    stages = [
        ("load + analyse", lambda: netc.load(NET)),
        ("lint findings", lambda: lint_findings(NET)),
        ("draw, volume view", lambda: draw(net.analysis, "volume")),
        ("draw, volume view, --expand", lambda: draw(net.analysis, "volume", expand=True)),
        ("draw, graph view, --expand", lambda: draw(net.analysis, "graph", expand=True)),
    ]
    for label, fn in stages:
        print(f"in process: {label:<36} {best(fn, repeats) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
