"""The lint path imports no onnx, onnxruntime or numpy (checked in a fresh process)."""

import subprocess
import sys

from conftest import EXAMPLES, ROOT

PROBE = """
import sys
from netc.cli import app
try:
    app(["lint", "--exit-zero", "--output-format", "json", *sys.argv[1:]], standalone_mode=False)
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("onnx", "onnxruntime", "numpy"))
print("HEAVY:", ",".join(heavy))
"""


def test_linting_examples_imports_no_onnx_onnxruntime_or_numpy(write):
    # a file with findings from every family, so that every rule's code path runs
    from netc.lint import RULES

    extra = [str(write(r.example, f"{code}.yaml")) for code, r in RULES.items()]
    r = subprocess.run([sys.executable, "-c", PROBE, str(EXAMPLES), *extra], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "HEAVY:", r.stdout[-500:]
    assert '"code": "A001"' in r.stdout      # the rules did run
