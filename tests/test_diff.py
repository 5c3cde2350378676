"""``netc diff``: deltas equal the difference of the two ``netc summary`` totals (YAML and
ONNX, renamed layers, added and removed layers); REV:PATH from git; budgets; the
markdown of ResNet-50 with one stage deepened (a golden file)."""

import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES, ROOT, run_netc
from netc.cli import app

GOLDEN = ROOT / "tests" / "golden"
runner = CliRunner()

SMALL = """netc: 1
name: small
input: {shape: [3, 32, 32]}
layers:
  - conv: {name: c1, filters: 8, kernel: 3, padding: 1}
  - relu: {name: r1}
  - maxpool: {name: pool, kernel: 2, stride: 2}
  - conv: {name: c2, filters: 16, kernel: 3, padding: 1}
  - relu: {name: r2}
  - global_avgpool: {name: gap}
  - dense: {name: fc, units: 10}
"""
WIDER = SMALL.replace("filters: 16", "filters: 32")
# a batchnorm added after c1, the second relu removed, fc wider
EDITED = (SMALL.replace("  - relu: {name: r1}", "  - batchnorm: {name: bn1}\n  - relu: {name: r1}")
          .replace("  - relu: {name: r2}\n", "").replace("units: 10", "units: 12"))
# every layer renamed, c2 wider
RENAMED = (WIDER.replace("name: c1", "name: stem").replace("name: r1", "name: act1")
           .replace("name: pool", "name: down").replace("name: c2", "name: body")
           .replace("name: r2", "name: act2").replace("name: gap", "name: squeeze")
           .replace("name: fc", "name: head"))

COUNTED = ("params", "macs", "flops", "activations", "activation_bytes", "inference_bytes", "training_bytes")
MEMORY = ["--batch", "3", "--dtype", "float16", "--optimizer", "adam"]


def summary_totals(path, *options) -> dict:
    """The numbers a budget may limit, from the real ``netc summary --format json``."""
    r = runner.invoke(app, ["summary", str(path), "--format", "json", *options])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    t, m = data["totals"], data["memory"]
    return {"params": t["params"], "macs": t["macs"], "flops": t["flops"],
            "activations": t["activations"], "activation_bytes": t["activation_bytes"],
            "inference_bytes": m["inference_bytes"], "training_bytes": m["training_bytes"]}


def diff_json(old, new, *options, cwd=None) -> dict:
    r = runner.invoke(app, ["diff", str(old), str(new), "--format", "json", *options])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def assert_deltas_match_summary(old, new, *options):
    d = diff_json(old, new, *options)
    a, b = summary_totals(old, *options), summary_totals(new, *options)
    for key in COUNTED:
        assert d["totals"][key] == {"old": a[key], "new": b[key], "delta": b[key] - a[key]}, key
    return d


def statuses(d) -> dict:
    return {layer["name"]: layer["status"] for layer in d["layers"]}


@pytest.fixture
def nets(tmp_path):
    out = {}
    for name, text in (("small", SMALL), ("wider", WIDER), ("edited", EDITED), ("renamed", RENAMED)):
        out[name] = tmp_path / f"{name}.yaml"
        out[name].write_text(text)
    return out


# -- deltas equal the summaries' difference ---------------------------------------------------

@pytest.mark.parametrize("options", [[], MEMORY])
def test_yaml_deltas_equal_summary(nets, options):
    d = assert_deltas_match_summary(nets["small"], nets["wider"], *options)
    assert d["totals"]["params"]["delta"] == 16 * 8 * 9 + 16 + 16 * 10     # c2's extra filters, fc's inputs
    assert statuses(d) == {"c1": "same", "r1": "same", "pool": "same", "c2": "changed", "r2": "changed",
                           "gap": "changed", "fc": "changed"}
    c2 = next(layer for layer in d["layers"] if layer["name"] == "c2")
    assert c2["changes"][0] == "filters" and "params" in c2["changes"] and "output_shape" in c2["changes"]
    assert c2["old"]["settings"]["filters"] == 16 and c2["new"]["settings"]["filters"] == 32
    assert d["totals"]["output_shape"] == {"old": [[10]], "new": [[10]], "delta": [[0]]}


def test_onnx_deltas_equal_summary(nets, tmp_path):
    pytest.importorskip("onnx")
    models = {}
    for name in ("small", "edited"):
        models[name] = tmp_path / f"{name}.onnx"
        r = runner.invoke(app, ["build", str(nets[name]), "--onnx", str(models[name])])
        assert r.exit_code == 0, r.output
    d = assert_deltas_match_summary(models["small"], models["edited"])
    assert d["totals"]["params"]["delta"] > 0
    assert {layer["status"] for layer in d["layers"]} >= {"added", "changed"}
    # the same change, YAML against the model built from it: no layer count differs
    assert_deltas_match_summary(nets["small"], models["edited"])


def test_renamed_layers_are_matched_by_position(nets):
    d = assert_deltas_match_summary(nets["small"], nets["renamed"])
    assert [(x["name"], x["status"], x["matched"]) for x in d["layers"]] == [
        ("stem", "changed", "position"), ("act1", "changed", "position"), ("down", "changed", "position"),
        ("body", "changed", "position"), ("act2", "changed", "position"),
        ("squeeze", "changed", "position"), ("head", "changed", "position")]
    stem, body = d["layers"][0], d["layers"][3]
    assert stem["changes"] == ["name"] and stem["old"]["name"] == "c1"
    # a renamed producer is no rewiring: inputs are compared through the matching
    assert d["layers"][1]["changes"] == ["name"]
    assert body["changes"][:2] == ["name", "filters"]
    assert d["counts"] == {"added": 0, "removed": 0, "changed": 7, "same": 0, "renamed": 7}
    text = runner.invoke(app, ["diff", str(nets["small"]), str(nets["renamed"])]).stdout
    assert "renamed from c1 (matched by position)" in text and "7 renamed (7 matched by position)" in text


def test_added_and_removed_layers(nets):
    d = assert_deltas_match_summary(nets["small"], nets["edited"])
    assert [(x["name"], x["status"]) for x in d["layers"]] == [
        ("c1", "same"), ("bn1", "added"), ("r1", "changed"), ("pool", "same"), ("c2", "same"),
        ("r2", "removed"), ("gap", "changed"), ("fc", "changed")]
    added, removed = d["layers"][1], d["layers"][5]
    assert added["old"] is None and added["new"]["op"] == "batchnorm" and added["new"]["params"] == 32
    assert removed["new"] is None and removed["old"]["name"] == "r2"
    assert d["layers"][2]["changes"] == ["inputs"]          # r1 now reads bn1
    assert d["layers"][7]["changes"][0] == "units"
    assert d["counts"] == {"added": 1, "removed": 1, "changed": 3, "same": 3, "renamed": 0}
    text = runner.invoke(app, ["diff", str(nets["small"]), str(nets["edited"])]).stdout
    assert "  + bn1 " in text and "  - r2 " in text and "inputs c1 → bn1" in text
    assert "units 10 → 12" in text and "\n    c1 " not in text        # same layers are not listed


def test_identical_networks(nets):
    r = runner.invoke(app, ["diff", str(nets["small"]), str(nets["small"]), "--fail-on-growth", "params=0"])
    assert r.exit_code == 0
    assert "0 added, 0 removed, 0 changed, 7 same" in r.stdout and "±0" in r.stdout


# -- git REV:PATH ---------------------------------------------------------------------------

def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com"))


@pytest.fixture
def repo(tmp_path, nets):
    root = tmp_path / "repo"
    (root / "nets").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "nets" / "net.yaml").write_text(SMALL)
    git(root, "add", ".")
    git(root, "commit", "-qm", "small")
    (root / "nets" / "net.yaml").write_text(EDITED)
    return root


def test_rev_path_from_git(repo, nets):
    r = run_netc("diff", "HEAD:nets/net.yaml", "nets/net.yaml", "--format", "json", cwd=repo)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    ref = diff_json(nets["small"], nets["edited"])
    assert d["totals"] == ref["totals"] and d["layers"] == ref["layers"]
    assert d["old"]["file"] == "HEAD:nets/net.yaml" and d["new"]["file"] == "nets/net.yaml"


def test_rev_path_onnx_from_git(repo, nets):
    pytest.importorskip("onnx")
    model = repo / "model.onnx"
    assert runner.invoke(app, ["build", str(nets["small"]), "--onnx", str(model)]).exit_code == 0
    git(repo, "add", "model.onnx")
    git(repo, "commit", "-qm", "model")
    assert runner.invoke(app, ["build", str(nets["wider"]), "--onnx", str(model)]).exit_code == 0
    r = run_netc("diff", "HEAD:model.onnx", "model.onnx", "--format", "json", cwd=repo)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["old"]["file"] == "HEAD:model.onnx"
    a, b = summary_totals(nets["small"]), summary_totals(nets["wider"])
    assert d["totals"]["params"]["delta"] == b["params"] - a["params"]


def test_rev_path_errors(repo, tmp_path):
    r = run_netc("diff", "HEAD:nets/missing.yaml", "nets/net.yaml", cwd=repo)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("netc: error: HEAD:nets/missing.yaml: not a file, and git cannot read it "
                               "as REV:PATH: path 'nets/missing.yaml' does not exist in 'HEAD'")
    r = run_netc("diff", "nosuchbranch:nets/net.yaml", "nets/net.yaml", cwd=repo)
    assert r.returncode == 2 and "nosuchbranch:nets/net.yaml" in r.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    r = run_netc("diff", "HEAD:net.yaml", "HEAD:net.yaml", cwd=outside)
    assert r.returncode == 2 and "not a git repository" in r.stderr
    r = run_netc("diff", "--", "-p:x.yaml", "nets/net.yaml", cwd=repo)      # never an option to git
    assert r.returncode == 2 and "expected REV:PATH" in r.stderr


def test_invalid_blob_is_named_by_rev_path(repo):
    (repo / "nets" / "bad.yaml").write_text("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n"
                                            "  - conv: {filters: 4, kernal: 3}\n")
    git(repo, "add", "nets/bad.yaml")
    r = run_netc("diff", ":nets/bad.yaml", "nets/net.yaml", cwd=repo)       # ':PATH': the index
    assert r.returncode == 1
    # a leading ':' is shown as \x3a (netc.safe_text): no message line ever starts a workflow command
    assert r.stderr.startswith("\\x3anets/bad.yaml:4:24: error[E002]: unknown key 'kernal'")
    (repo / "nets" / "junk.onnx").write_bytes(b"\x08\x07" + b"\xff" * 50)
    git(repo, "add", "nets/junk.onnx")
    r = run_netc("diff", ":nets/junk.onnx", "nets/net.yaml", cwd=repo)
    assert r.returncode == 1 and r.stderr.startswith("\\x3anets/junk.onnx: error[E010]")


def test_an_existing_file_wins_over_rev_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a:b.yaml").write_text(SMALL)
    r = runner.invoke(app, ["diff", "a:b.yaml", "a:b.yaml"])
    assert r.exit_code == 0, r.output
    from netc.diff import is_revision

    assert not is_revision("a:b.yaml") and is_revision("main:a.yaml") and not is_revision("C:\\nets\\a.yaml")
    r = runner.invoke(app, ["diff", "C:/nets/a.yaml", "a:b.yaml"])
    assert r.exit_code == 2 and "no such file: C:/nets/a.yaml" in r.output


# -- budgets -----------------------------------------------------------------------------------

def test_fail_on_growth(nets):
    old, new = str(nets["small"]), str(nets["wider"])   # params +1,328 (+85.02%), macs +57.16%
    r = run_netc("diff", old, new, "--fail-on-growth", "params=80%,macs=60%")
    assert r.returncode == 1, r.stderr
    assert r.stderr == "netc diff: params grew +1,328 (+85.02%), past its budget params=80%\n"
    assert "Budgets: params=80% passed, macs=60% kept." in r.stdout
    assert run_netc("diff", old, new, "--fail-on-growth", "params=90%,macs=60%").returncode == 0
    # absolute: growth equal to the budget keeps it
    assert runner.invoke(app, ["diff", old, new, "--fail-on-growth", "params=1328"]).exit_code == 0
    r = runner.invoke(app, ["diff", old, new, "--fail-on-growth", "params=1327"])
    assert r.exit_code == 1 and "past its budget params=1327" in r.output
    assert runner.invoke(app, ["diff", old, new, "--fail-on-growth", "training_bytes=1MB"]).exit_code == 0
    # shrinking never passes a budget
    assert runner.invoke(app, ["diff", new, old, "--fail-on-growth", "params=0"]).exit_code == 0
    d = json.loads(runner.invoke(app, ["diff", old, new, "-f", "json", "--fail-on-growth", "macs=1%"]).stdout)
    assert d["budgets"] == [{"metric": "macs", "limit": "1%", "passed": True}]


@pytest.mark.parametrize("budget, words", [
    ("parms=5%", "unknown metric 'parms'; did you mean 'params'?"),
    ("params=five", "expected a percentage"),
    ("params", "expected a percentage"),
    (",", "expected METRIC=LIMIT"),
])
def test_bad_budget_is_a_usage_error(nets, budget, words):
    r = runner.invoke(app, ["diff", str(nets["small"]), str(nets["wider"]), "--fail-on-growth", budget])
    assert r.exit_code == 2 and words in r.output


def test_budget_from_pyproject(nets, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.netc.diff]\nfail-on-growth = {params = "5%", macs = 10}\n')
    monkeypatch.chdir(project / "sub")                       # found by walking up
    old, new = str(nets["small"]), str(nets["wider"])
    r = runner.invoke(app, ["diff", old, new])
    assert r.exit_code == 1 and "params grew" in r.output and "macs grew" in r.output
    assert runner.invoke(app, ["diff", old, new, "--isolated"]).exit_code == 0
    assert runner.invoke(app, ["diff", old, new, "--fail-on-growth", "params=90%"]).exit_code == 0
    (project / "pyproject.toml").write_text('[tool.netc.diff]\nfail-on-growth = "params=90%"\n')
    assert runner.invoke(app, ["diff", old, new]).exit_code == 0
    (project / "pyproject.toml").write_text('[tool.netc.diff]\nfail-on-grow = "params=90%"\n')
    r = runner.invoke(app, ["diff", old, new])
    assert r.exit_code == 2 and "[tool.netc.diff] fail-on-grow: unknown setting" in r.output
    (project / "netc.toml").write_text('[diff]\nfail-on-growth = {flops = "1%"}\n')   # closer? same folder: wins
    r = runner.invoke(app, ["diff", old, new])
    assert r.exit_code == 1 and "flops grew" in r.output


# -- output ----------------------------------------------------------------------------------

def test_json_shape(nets):
    d = diff_json(nets["small"], nets["edited"])
    assert set(d["totals"]) == {*COUNTED, "receptive_field", "output_shape"}
    assert all(set(t) == {"old", "new", "delta"} for t in d["totals"].values())
    assert d["totals"]["output_shape"] == {"old": [[10]], "new": [[12]], "delta": [[2]]}
    assert d["totals"]["receptive_field"]["old"] == [[38, 38]]
    layer = d["layers"][0]
    assert set(layer) >= {"name", "status", "old", "new"}
    assert set(layer["new"]) >= {"name", "op", "output_shape", "params", "macs", "flops", "activations",
                                 "receptive_field", "settings", "inputs"}


def test_names_from_a_model_are_shown_not_interpreted(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def model(filters):
        w = helper.make_tensor("w", TensorProto.FLOAT, [filters, 3, 3, 3], [0.0] * (filters * 27))
        node = helper.make_node("Conv", ["x", "w"], ["y"], name="c|1\n\x1b[31m<b>`x`", pads=[1, 1, 1, 1])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, filters, 8, 8])], [w])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    onnx.save(model(4), tmp_path / "a.onnx")
    onnx.save(model(8), tmp_path / "b.onnx")
    args = ["diff", str(tmp_path / "a.onnx"), str(tmp_path / "b.onnx")]
    text = runner.invoke(app, args).stdout
    md = runner.invoke(app, [*args, "--format", "markdown"]).stdout
    for out in (text, md):
        assert "\x1b" not in out and "c|1\n" not in out
    assert "\\x1b[31m" in text
    row = next(line for line in md.splitlines() if "\\x1b" in line)
    assert row.count("|") - row.count("\\|") == 5            # the name's '|' cannot open a column
    assert "| `` c\\|1\\n\\x1b[31m<b>`x` `` | conv |" in row    # a code span: '<b>' and '`' stay text


def test_markdown_folds_past_the_limit_and_golden(tmp_path, monkeypatch):
    """ResNet-50 with layer3 deepened from 6 to 8 blocks: the pull-request comment.
    Golden files are reviewed by hand; regenerate with NETC_UPDATE_GOLDEN=1."""
    text = (EXAMPLES / "resnet50.yaml").read_text()
    deeper = text.replace("{name: layer3, width: 256, blocks: 6}", "{name: layer3, width: 256, blocks: 8}")
    assert deeper != text
    (tmp_path / "resnet50.yaml").write_text(text)
    (tmp_path / "resnet50-deeper.yaml").write_text(deeper)
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["diff", "resnet50.yaml", "resnet50-deeper.yaml", "--format", "markdown",
                            "--fail-on-growth", "params=10%,macs=10%"])
    assert r.exit_code == 1
    golden = GOLDEN / "resnet50-deeper.diff.md"
    if os.environ.get("NETC_UPDATE_GOLDEN"):
        golden.write_text(r.stdout)
    assert r.stdout == golden.read_text()
    assert "| Params | 25,610,152 | 27,850,664 | +2,240,512 (+8.75%) |" in r.stdout
    assert "**Over budget:** macs +436,731,904 (+10.68%), past macs=10%" in r.stdout
    assert "20 added, 0 removed, 34 changed, 140 same" in r.stdout
    assert "<details><summary>29 more changed layers</summary>" in r.stdout


def test_yaml_diff_imports_no_onnx_or_numpy(nets):
    code = ("import sys; from netc.diff import diff, load_spec; from netc.render.diff import FORMATS; "
            f"d = diff(load_spec({str(nets['small'])!r}), load_spec({str(nets['edited'])!r})); "
            "[f(d) for f in FORMATS.values()]; "
            "print(sorted(m for m in ('onnx', 'numpy', 'onnxruntime') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_matching_is_linear():
    """20,000 layers, every name changed: matched by position through dicts, not pairwise."""
    from types import SimpleNamespace

    from netc.diff import _match

    n = 20_000
    old = [SimpleNamespace(name=f"a{i}", op=("conv", "relu")[i % 2]) for i in range(n)]
    new = [SimpleNamespace(name=f"b{i}", op=("conv", "relu")[i % 2]) for i in range(n)]
    start = time.perf_counter()
    pairs, how = _match(old, new)
    assert time.perf_counter() - start < 2.0
    assert pairs == {i: i for i in range(n)} and set(how.values()) == {"position"}
    same = [SimpleNamespace(name=f"a{i}", op="conv") for i in range(n)]
    pairs, how = _match(same, same[::-1])                      # names kept, order reversed
    assert pairs == {j: n - 1 - j for j in range(n)} and set(how.values()) == {"name"}


def test_missing_file_and_usage(nets):
    r = runner.invoke(app, ["diff", "nope.yaml", str(nets["small"])])
    assert r.exit_code == 2 and "no such file: nope.yaml" in r.output
    r = runner.invoke(app, ["diff", str(nets["small"])])
    assert r.exit_code == 2
    r = runner.invoke(app, ["diff", str(nets["small"].parent), str(nets["small"])])
    assert r.exit_code == 2 and "is a directory" in r.output
