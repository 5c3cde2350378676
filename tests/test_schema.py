"""The JSON Schema: generated from the op registry, committed for editors, used for validation."""

import json

import jsonschema
import yaml

from conftest import EXAMPLES, ROOT
from netc.ops import OPS
from netc.schema import build_schema


def test_committed_schema_is_current():
    """Regenerate with: python -m netc schema > schemas/netc.schema.json"""
    committed = json.loads((ROOT / "schemas" / "netc.schema.json").read_text())
    assert committed == build_schema()


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(build_schema())


def test_every_op_and_param_is_described():
    defs = build_schema()["$defs"]
    for name, op in OPS.items():
        props = defs[f"op_{name}"]["properties"]
        assert set(op.params) <= set(props)
        assert all(props[p].get("description") for p in op.params)


def test_examples_validate_and_carry_the_modeline():
    validator = jsonschema.Draft202012Validator(build_schema())
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text()
        assert "# yaml-language-server: $schema=../schemas/netc.schema.json" in text, path.name
        assert list(validator.iter_errors(yaml.safe_load(text))) == [], path.name


def test_schema_rejects_unknown_keys_for_editors():
    validator = jsonschema.Draft202012Validator(build_schema())
    doc = {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": [{"conv": {"filtres": 3}}]}
    assert any("filtres" in e.message for e in validator.iter_errors(doc))
