"""``netc lint`` as users run it: paths, selection, config files, suppressions,
output formats and exit codes, through a real subprocess."""

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_netc

DATA = Path(__file__).parent / "data"

# conv1: (32 - 3)/3 + 1 = 32/3: the last 2 rows and columns are dropped (A001, error);
# 30 filters (D001, info).
BAD = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {filters: 30, kernel: 3, stride: 3}\n"
GOOD = "netc: 1\ninput: {shape: [3, 33, 33]}\nlayers:\n  - conv: {filters: 32, kernel: 3, stride: 3}\n"


def codes(stdout: str) -> list[tuple[str, int, int]]:
    return [(f["code"], f["line"], f["column"]) for f in json.loads(stdout)]


def test_bad_file_exits_1_and_names_place(write):
    path = write(BAD)
    r = run_netc("lint", str(path))
    assert r.returncode == 1, r.stderr
    assert f"{path}:4:33: error[A001]: conv1: (32 - 3)/3 + 1 = 32/3 is not whole" in r.stdout
    assert f"{path}:4:21: info[D001]" in r.stdout
    assert r.stdout.rstrip().endswith("Found 1 error, 1 info in 1 file.")


def test_clean_file_says_so_in_one_line_and_quiet_says_nothing(write):
    r = run_netc("lint", str(write(GOOD)))
    assert (r.returncode, r.stdout, r.stderr) == (0, "All checks passed!\n", "")
    r = run_netc("lint", "-q", str(write(GOOD)))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = run_netc("lint", "--quiet", str(write(BAD)), "--exit-zero")
    assert "Found" not in r.stdout and "error[A001]" in r.stdout


def test_no_path_lints_the_current_folder(write, tmp_path):
    write(BAD, "bad.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.yaml").write_text(GOOD)
    r = run_netc("lint", "--output-format", "json", cwd=tmp_path)
    assert r.returncode == 1 and {f["file"] for f in json.loads(r.stdout)} == {"bad.yaml"}
    assert run_netc("lint", "-q", cwd=tmp_path / "sub").returncode == 0


def test_stdin_is_read_as_the_named_file_with_its_folder_s_configuration(tmp_path):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "pyproject.toml").write_text('[tool.netc.lint]\nignore = ["D001"]\n')
    r = run_netc("lint", "-", "--stdin-filename", "nets/x.yaml", "--output-format", "json", cwd=tmp_path,
                 input=BAD)
    found = json.loads(r.stdout)
    assert r.returncode == 1 and {f["file"] for f in found} == {"nets/x.yaml"}
    assert [f["code"] for f in found] == ["A001"]         # D001 ignored by nets/pyproject.toml
    r = run_netc("lint", "-", cwd=tmp_path, input=GOOD)
    assert (r.returncode, r.stdout) == (0, "All checks passed!\n")
    r = run_netc("lint", "-", cwd=tmp_path, input="netc: 1\ninput: {shape: [3, 8, 8]}\nlayers: [\n")
    assert r.returncode == 1 and r.stdout.startswith("<stdin>:") and "error[E001]" in r.stdout
    r = run_netc("lint", "good.yaml", "--stdin-filename", "x.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "give '-' as the path" in r.stderr


def test_statistics_counts_findings_per_code(write):
    path = str(write(BAD))
    listed = codes(run_netc("lint", path, "--output-format", "json").stdout)
    r = run_netc("lint", path, "--statistics")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert r.returncode == 1
    assert {code: int(n) for n, code, _ in rows} == {c: [x for x, *_ in listed].count(c) for c, *_ in listed}
    assert {code: name for _, code, name in rows}["A001"] == "inexact-window"


def test_json_fields(write):
    path = write(BAD)
    r = run_netc("lint", str(path), "--output-format", "json")
    data = json.loads(r.stdout)
    assert data[0] == {"code": "D001", "severity": "info", "file": str(path), "line": 4, "column": 21,
                       "end_line": 4, "end_column": 23, "layer": "conv1", "notes": [],
                       "message": "conv1: 30 filters is neither a multiple of 8 nor a power of two; "
                                  "24 or 32 would vectorize better"}
    assert [d["code"] for d in data] == ["D001", "A001"]


def test_select_ignore_extend_select_by_prefix(write):
    path = str(write(BAD))
    assert codes(run_netc("lint", path, "--output-format", "json", "--select", "A").stdout) == [("A001", 4, 33)]
    assert codes(run_netc("lint", path, "--output-format", "json", "--ignore", "A,N").stdout) == [("D001", 4, 21)]
    r = run_netc("lint", path, "--output-format", "json", "--select", "D", "--extend-select", "A001")
    assert [c for c, *_ in codes(r.stdout)] == ["D001", "A001"]
    r = run_netc("lint", path, "--select", "A", "--ignore", "A001")
    assert (r.returncode, r.stdout) == (0, "All checks passed!\n")
    # a more specific select beats a broader ignore
    r = run_netc("lint", path, "--output-format", "json", "--ignore", "A", "--extend-select", "A001")
    assert "A001" in [c for c, *_ in codes(r.stdout)]


def test_fail_on_and_exit_zero(write):
    path = str(write(BAD))
    assert run_netc("lint", path, "--ignore", "A").returncode == 0          # info only
    assert run_netc("lint", path, "--ignore", "A", "--fail-on", "info").returncode == 1
    assert run_netc("lint", path, "--exit-zero").returncode == 0


def test_usage_errors_exit_2(write, tmp_path):
    path = str(write(GOOD))
    for args in (["--select", "ZZ"], ["--output-format", "xml"], ["--fail-on", "fatal"]):
        r = run_netc("lint", path, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
    r = run_netc("lint", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_load_error_is_a_finding_with_its_code(write):
    path = write("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {filters: 8, kernal: 3}\n")
    r = run_netc("lint", str(path), "--output-format", "json")
    assert r.returncode == 1
    assert codes(r.stdout) == [("E002", 4, 24)]
    # an output size <= 0 (kernel larger than the padded input) is load error E004
    path = write("netc: 1\ninput: {shape: [3, 4, 4]}\nlayers:\n  - conv: {filters: 8, kernel: 7}\n", "e4.yaml")
    r = run_netc("lint", str(path), "--output-format", "json", "--select", "D")
    assert codes(r.stdout) == [("E004", 4, 32)]


def test_noqa_suppresses_on_any_line_of_the_span(write):
    path = write(BAD.replace("stride: 3}", "stride: 3}  # netc: noqa: A001"))
    r = run_netc("lint", str(path), "--output-format", "json")
    assert [c for c, *_ in codes(r.stdout)] == ["D001"] and r.returncode == 0
    multi = ("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv:\n      filters: 32\n"
             "      kernel: 3  # netc: noqa: A001, D001\n      stride: 3\n")
    r = run_netc("lint", str(write(multi, "multi.yaml")), "--output-format", "json")
    assert codes(r.stdout) == [("N001", 6, 18)]
    assert "no D001 finding" in json.loads(r.stdout)[0]["message"]


def test_unused_and_unknown_suppressions(write):
    path = write(GOOD.replace("stride: 3}", "stride: 3}  # netc: noqa: A001, X123"))
    r = run_netc("lint", str(path), "--output-format", "json")
    msgs = [f["message"] for f in json.loads(r.stdout)]
    assert msgs == ["suppression names unknown rule code X123",
                    "unused suppression: no A001 finding on this line"]
    assert r.returncode == 0
    assert run_netc("lint", str(path), "--ignore", "N001").stdout == "All checks passed!\n"


def test_config_walks_up_and_per_file_ignores(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.netc.lint]\nignore = ["D"]\nfail-on = "warning"\n'
        'per-file-ignores = {"nets/legacy/*.yaml" = ["A001"]}\n')
    (tmp_path / "nets" / "legacy").mkdir(parents=True)
    (tmp_path / "nets" / "a.yaml").write_text(BAD)
    (tmp_path / "nets" / "legacy" / "b.yaml").write_text(BAD)
    (tmp_path / "nets" / "notes.yaml").write_text("title: not a network\n")
    r = run_netc("lint", "nets", "--output-format", "json", cwd=tmp_path)
    found = json.loads(r.stdout)
    assert [(Path(f["file"]).name, f["code"]) for f in found] == [("a.yaml", "A001")]
    assert r.returncode == 1
    # a closer netc.toml wins
    (tmp_path / "nets" / "legacy" / "netc.toml").write_text('[lint]\nselect = ["D001"]\n')
    r = run_netc("lint", "nets", "--output-format", "json", cwd=tmp_path)
    assert [(Path(f["file"]).name, f["code"]) for f in json.loads(r.stdout)] == \
        [("a.yaml", "A001"), ("b.yaml", "D001")]
    assert run_netc("lint", "nets", "--isolated", "--output-format", "json", cwd=tmp_path).stdout.count("D001") == 2


def test_config_options_reach_rules(tmp_path):
    (tmp_path / "netc.toml").write_text('[lint]\ndevice-memory = "8MB"\n')
    rule_example = run_netc("rule", "S003").stdout.split("```yaml\n")[1].split("```")[0]
    (tmp_path / "net.yaml").write_text(rule_example)
    r = run_netc("lint", "net.yaml", cwd=tmp_path)
    assert "error[S003]" in r.stdout and r.returncode == 1
    r = run_netc("lint", "net.yaml", "--device-memory", "1GB", cwd=tmp_path)
    assert r.returncode == 0


@pytest.mark.parametrize("text, message", [
    ('[lint]\nselec = ["A"]\n', "unknown setting; did you mean 'select'?"),
    ('[lint]\nignore = ["Q9"]\n', "'Q9' matches no rule code"),
    ('[lint]\nmax-param-share = 2\n', "expected a fraction in (0, 1]"),
    ('[lint\n', "cannot read configuration"),
])
def test_bad_config_exits_2(tmp_path, text, message):
    (tmp_path / "netc.toml").write_text(text)
    (tmp_path / "net.yaml").write_text(GOOD)
    r = run_netc("lint", "net.yaml", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_github_format_is_automatic_on_actions(write):
    import os
    import subprocess
    import sys

    path = write(BAD)
    env = dict(os.environ, PYTHONPATH=str(ROOT), GITHUB_ACTIONS="true")
    r = subprocess.run([sys.executable, "-m", "netc", "lint", str(path)], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    assert lines[0] == (f"::notice file={path},line=4,col=21,endLine=4,endColumn=23,title=netc D001::"
                        "D001 conv1: 30 filters is neither a multiple of 8 nor a power of two; "
                        "24 or 32 would vectorize better")
    assert lines[1].startswith(f"::error file={path},line=4,col=33,")
    assert r.returncode == 1


def _sarif_schemas():
    names = ["sarif-2.1.0-subset.schema.json"]
    if (DATA / "sarif-schema-2.1.0.json").exists():
        names.append("sarif-schema-2.1.0.json")
    return names


@pytest.mark.parametrize("schema_name", _sarif_schemas())
def test_sarif_validates(write, schema_name):
    import jsonschema

    schema = json.loads((DATA / schema_name).read_text())
    bad_load = write("netc: 1\ninput: {shape: [3]}\nlayers: []\n", "load error.yaml")
    block = write("netc: 1\ninput: {shape: [3, 32, 32]}\nblocks:\n  b:\n    layers:\n"
                  "      - conv: {filters: 30, kernel: 3, stride: 3}\nlayers:\n  - b\n  - b\n", "block.yaml")
    r = run_netc("lint", str(write(BAD)), str(bad_load), str(block), "--output-format", "sarif")
    log = json.loads(r.stdout)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    errors = list(validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER).iter_errors(log))
    assert not errors, errors[0]
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"A001", "D001", "E002"}
    a001 = next(r for r in results if r["ruleId"] == "A001")
    assert a001["level"] == "error"
    assert a001["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert any(r.get("relatedLocations") for r in results)   # block use sites
    # a broken result must fail the schema: the test can fail
    a001["level"] = "fatal"
    assert list(validator_cls(schema).iter_errors(log))


def test_rule_command_prints_each_page_and_lists_all():
    r = run_netc("rule", "a001")
    assert r.returncode == 0 and r.stdout.startswith("# A001 inexact-window")
    assert "## Why is this bad?" in r.stdout and "§3.4" in r.stdout
    listing = run_netc("rule", "--all").stdout
    assert "E004" in listing and "S001  oversized-layer" in listing
    codes = [line.split()[0] for line in listing.splitlines()]
    assert codes == sorted(codes) and "E007" in codes       # one list, in code order, every code
    assert run_netc("rule", "E007").stdout.startswith("# E007 build error")
    r = run_netc("rule", "A01")
    assert r.returncode == 2 and "did you mean" in r.stderr


def test_docs_pages_match_rules():
    from netc.lint.docs import pages

    folder = ROOT / "docs" / "rules"
    expected = pages()
    on_disk = {p.name for p in folder.glob("*.md")}
    assert on_disk == set(expected), "run: python -m netc.lint.docs docs/rules"
    for name, text in expected.items():
        assert (folder / name).read_text() == text, f"{name} is stale: python -m netc.lint.docs docs/rules"


def test_examples_lint_clean_at_the_default_level():
    """Every bundled example: no finding at error level (the default --fail-on);
    warnings are allowed, and a deliberate suppression must say why on its line."""
    files = sorted(EXAMPLES.rglob("*.yaml"))
    assert files
    r = run_netc("lint", *map(str, files), "--output-format", "json")
    errors = [f for f in json.loads(r.stdout) if f["severity"] == "error"]
    assert not errors, errors
    assert r.returncode == 0
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if "netc: noqa" in line:
                reason = line.split("netc: noqa", 1)[1]
                assert "--" in reason or "because" in reason, f"{f}:{n}: say why the suppression is there"


def test_a_crashing_rule_is_an_internal_error_not_a_clean_file(write, monkeypatch):
    from netc.lint import RULES, Config, RuleCrash, lint_file

    def broken(ctx):
        raise ZeroDivisionError("boom")
        yield

    monkeypatch.setitem(RULES, "D001", RULES["D001"].__class__(**{**RULES["D001"].__dict__, "check": broken}))
    with pytest.raises(RuleCrash, match="rule D001 failed on .*ZeroDivisionError: boom"):
        lint_file(write(GOOD), Config())


def test_empty_folder_warns(tmp_path):
    r = run_netc("lint", str(tmp_path))
    assert r.returncode == 0 and "no netc files found" in r.stderr


def test_blanket_noqa_and_lowercase_codes(write):
    path = write(BAD.replace("stride: 3}", "stride: 3}  # netc: noqa"))
    assert run_netc("lint", str(path)).stdout == "All checks passed!\n"
    path = write(BAD.replace("stride: 3}", "stride: 3}  # NETC: noqa: a001,d001"), "lower.yaml")
    assert run_netc("lint", str(path)).stdout == "All checks passed!\n"
    path = write(GOOD.replace("stride: 3}", "stride: 3}  # netc: noqa"), "unused.yaml")
    r = run_netc("lint", str(path), "--output-format", "json")
    assert codes(r.stdout) == [("N001", 4, 48)]
