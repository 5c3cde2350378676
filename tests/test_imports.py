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


def _imported_modules(path) -> set[str]:
    """Every module a file imports, at any depth of its code, with relative names resolved."""
    import ast

    package = "netc." + ".".join(path.relative_to(ROOT / "netc").with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rstrip(".").split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            names.add(".".join(base + ([node.module] if node.module else [])))
    return names


def test_initializers_and_the_op_registry_do_not_import_each_other():
    init = _imported_modules(ROOT / "netc" / "initializers.py")
    registry = _imported_modules(ROOT / "netc" / "ops" / "registry.py")
    assert "netc.initializers" in registry                        # the registry uses the initializers
    assert not any(m == "netc.ops" or m.startswith("netc.ops.") for m in init), init
