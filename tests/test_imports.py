"""The lint and summary paths import neither onnx, onnxruntime nor numpy."""

import json
import subprocess
import sys

from conftest import ROOT

PROBE = """
import json, sys
from typer.testing import CliRunner
from netc.cli import app
r = CliRunner().invoke(app, ["summary", "examples/murphy-fig7.yaml", "--format", "json"])
assert r.exit_code == 0, r.output
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"onnx", "onnxruntime", "numpy"})))
"""


def test_summary_imports_no_heavy_modules():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
