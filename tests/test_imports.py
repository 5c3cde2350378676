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


def _imported_modules(path, names_too: bool = False) -> set[str]:
    """Every module a file imports, at any depth of its code, with relative names resolved;
    ``names_too``: ``from X import y`` also gives ``X.y`` (a submodule, when there is one)."""
    import ast

    package = "netc." + ".".join(path.relative_to(ROOT / "netc").with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rstrip(".").split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            if names_too:
                names |= {f"{module}.{a.name}" for a in node.names}
    return names


def test_initializers_and_the_op_registry_do_not_import_each_other():
    init = _imported_modules(ROOT / "netc" / "initializers.py")
    registry = _imported_modules(ROOT / "netc" / "ops" / "registry.py")
    assert "netc.initializers" in registry                        # the registry uses the initializers
    assert not any(m == "netc.ops" or m.startswith("netc.ops.") for m in init), init


RUN_PROBE = """
import json, sys
sys.argv = ["netc", *sys.argv[1:]]
from netc.entry import run
try:
    run()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_of(*args) -> set[str]:
    r = subprocess.run([sys.executable, "-c", RUN_PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                       check=True)
    return set(json.loads(r.stderr.strip().splitlines()[-1]))


def _under(modules, *prefixes) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_lint_loads_neither_typer_nor_other_commands_nor_jsonschema_for_valid_files():
    """A plain lint runs without typer (netc.entry's fast path) and pays neither for
    bench, build nor the summary's tables, nor for jsonschema when every file conforms
    (netc's own schema check answers)."""
    mods = _modules_of("lint", "--exit-zero", "--output-format=json", "examples/")
    assert "netc.lint.command" in mods
    assert _under(mods, "typer", "click", "netc.cli", "netc.render", "netc.bench", "netc.onnx", "jsonschema",
                  "rich", "onnx", "onnxruntime", "numpy") == []


def test_a_lint_command_line_typer_must_read_loads_only_the_lint_command():
    """--help goes to typer, which loads the lint command's module and no other command's."""
    mods = _modules_of("lint", "--help")
    assert "netc.cli.lint" in mods and "typer" in mods
    assert _under(mods, "netc.cli.summary", "netc.cli.build", "netc.cli.bench", "netc.render", "netc.bench",
                  "netc.onnx", "jsonschema", "onnx", "onnxruntime", "numpy") == []


def test_summary_loads_neither_lint_bench_build_nor_jsonschema():
    mods = _modules_of("summary", "examples/resnet50.yaml")
    assert "netc.render.summary" in mods
    assert _under(mods, "netc.cli.lint", "netc.lint", "netc.cli.build", "netc.cli.bench", "netc.bench",
                  "netc.onnx", "jsonschema", "rich", "onnx", "onnxruntime", "numpy") == []


def test_an_invalid_file_still_gets_jsonschema_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 8, kernal: 3}\n")
    mods = _modules_of("lint", str(bad))
    assert "jsonschema" in mods


def test_the_package_s_imports_go_one_way():
    """No import circle between netc's modules, counting imports inside functions too (the
    floors of design/house-sketch.md: an error type lives below what raises it, a renderer
    never imports the drawing that uses it, the reader returns a graph that the API wraps).
    A module importing its own package's ``__init__`` is not counted."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "netc").rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        used = set()
        for m in _imported_modules(path, names_too=True):
            while m and m not in modules:               # 'netc.ops.registry.Op' -> the module
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + "."):
                used.add(m)
        edges[name] = used
    state, circles = {}, []         # depth-first search for back edges, iteratively
    for start in sorted(edges):
        if start in state:
            continue
        stack, path = [(start, iter(sorted(edges[start])))], [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(edges[nxt]))))
                path.append(nxt)
    assert circles == []
