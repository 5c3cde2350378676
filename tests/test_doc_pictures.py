"""The drawings committed under docs/img are what `netc draw` makes today; the README
shows three zoo networks, docs/paper-tables.md the paper's Figure 7."""

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from netc.cli import app

PICTURES = {"vgg16": [], "resnet50": [], "googlenet": [], "murphy-fig7": []}
runner = CliRunner()


@pytest.mark.parametrize("name", PICTURES)
def test_committed_drawing_is_fresh(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"{name}.svg"
    r = runner.invoke(app, ["draw", f"examples/{name}.yaml", "-o", str(out), *PICTURES[name]])
    assert r.exit_code == 0, r.output
    committed = ROOT / "docs" / "img" / f"{name}.svg"
    assert committed.read_text() == out.read_text(), \
        f"{committed} is stale: python -m netc draw examples/{name}.yaml -o docs/img/{name}.svg"


def test_docs_show_the_drawings():
    readme = (ROOT / "README.md").read_text()
    for name in ("vgg16", "resnet50", "googlenet"):
        assert f"](docs/img/{name}.svg)" in readme
    assert "](img/murphy-fig7.svg)" in (ROOT / "docs" / "paper-tables.md").read_text()
