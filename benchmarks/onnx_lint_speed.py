"""``netc lint`` of an ONNX ResNet-50 next to ``python -c "import onnx; onnx.load(F)"``
on the same file: whole processes, interleaved, best of N, with each one's peak
resident memory (ru_maxrss of the child), also with the weights as external data.

    python benchmarks/onnx_lint_speed.py [repeats]

The issue's budget: time at most 1.5x the onnx.load line; memory under 2x the file
size (1.2x with external data: the weights are never read).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return seconds, usage.ru_maxrss * 1024


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        inline, external = Path(tmp) / "resnet50.onnx", Path(tmp) / "ext" / "resnet50.onnx"
        external.parent.mkdir()
        # built by child processes: a child forked from a parent holding the model would
        # report the parent's pages in its peak RSS
        src = str(ROOT / "examples" / "resnet50.yaml")
        run([py, "-m", "netc", "build", src, "--onnx", str(inline), "--no-external-data"])
        run([py, "-m", "netc", "build", src, "--onnx", str(external), "--external-data"])
        print(f"best of {repeats}, whole processes, interleaved, {sys.version.split()[0]}")
        for path in (inline, external):
            size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob("*.data"))
            rows = {
                "python -c 'import onnx; onnx.load(F)'": [py, "-c", f"import onnx; onnx.load({str(path)!r})"],
                "netc lint F": [py, "-m", "netc", "lint", "--exit-zero", str(path)],
                "netc summary F": [py, "-m", "netc", "summary", str(path)],
            }
            results: dict[str, list[tuple[float, int]]] = {k: [] for k in rows}
            for _ in range(repeats):
                for label, cmd in rows.items():
                    results[label].append(run(cmd))
            kind = "external data" if path == external else "weights inline"
            print(f"\nResNet-50, {kind}: {size / 1e6:.1f} MB on disk "
                  f"(model file {path.stat().st_size / 1e6:.1f} MB)")
            base = min(t for t, _ in results[next(iter(rows))])
            for label, res in results.items():
                t = min(s for s, _ in res)
                rss = max(m for _, m in res)
                print(f"  {label:<42} {t:6.2f} s  {t / base:5.2f}x   peak RSS {rss / 1e6:7.1f} MB "
                      f"({rss / size:.2f}x the files)")


if __name__ == "__main__":
    main()
