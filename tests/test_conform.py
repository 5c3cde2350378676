"""netc's own schema check (netc/conform.py) is sound: when it says a document
conforms, jsonschema finds no error, so skipping jsonschema loses nothing. Checked
on every example and on random mutations of them; an invalid document is left to
jsonschema, whose errors the schema tests check."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from netc.conform import Unsupported, compile_schema
from netc.ops import OPS
from netc.schema import build_schema, validator
from netc.source import read_file

SCHEMA = build_schema()
CONFORMS = compile_schema(SCHEMA)
DOCS = {p.name: read_file(p).data for p in sorted(EXAMPLES.glob("*.yaml"))}


def jsonschema_errors(doc) -> list:
    return list(validator().iter_errors(doc))


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_example_conforms_without_jsonschema(name):
    assert jsonschema_errors(DOCS[name]) == []
    assert CONFORMS(DOCS[name])


def paths(doc, prefix=()):
    """Every (path, value) in a document, containers included."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, prefix + (i,))


WORDS = sorted({*OPS, "netc", "name", "from", "repeat", "input", "shape", "layers", "blocks", "params",
                "defaults", "outputs", "doc", "filters", "kernel", "stride", "padding", "same", "valid",
                "relu", "he_normal", "constant", "units", "1x", "", "x" * 70})
SCALARS = st.one_of(st.integers(-3, 1 << 21), st.sampled_from([0, 1, 2, 3, 1 << 20, (1 << 20) + 1, 10_001]),
                    st.floats(allow_nan=False, allow_infinity=True), st.sampled_from([1.0, 3.0, 0.5]),
                    st.booleans(), st.none(), st.sampled_from(WORDS))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.sampled_from(WORDS), st.integers(0, 2)),
                                                 inner, max_size=3)), max_leaves=6)


def mutate(doc, data):
    """Replace, delete or add one value somewhere in a copy of ``doc``."""
    doc = copy.deepcopy(doc)
    path, _ = data.draw(st.sampled_from(list(paths(doc))))
    if not path:
        return data.draw(VALUES)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.one_of(st.sampled_from(WORDS), st.integers(0, 2)))] = data.draw(VALUES)
    elif action == "add":
        parent.insert(path[-1], data.draw(VALUES))
    else:
        parent[path[-1]] = data.draw(VALUES)
    return doc


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_document_that_conforms_has_no_jsonschema_error(data):
    doc = DOCS[data.draw(st.sampled_from(sorted(DOCS)))]
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data)
    if CONFORMS(doc):
        assert jsonschema_errors(doc) == [], doc


@pytest.mark.parametrize("doc", [
    {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": [{"conv": {"filters": 8, "kernal": 3}}]},
    {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": [{"conv": {"filters": True}}]},
    {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": [{"conv": {"filters": 8}, "relu": None}]},
    {"netc": 1, "input": {"shape": [3, 8, 8.5]}, "layers": ["relu"]},
    {"netc": True, "input": {"shape": [3, 8, 8]}, "layers": ["relu"]},
    {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": []},
    {"netc": 1, "input": {"shape": [3, 8, 8]}, "layers": ["relu"], "blocks": {"1x": {"layers": ["relu"]}}},
])
def test_documents_with_schema_errors_do_not_conform(doc):
    assert jsonschema_errors(doc)
    assert not CONFORMS(doc)


def test_a_keyword_it_does_not_know_is_refused_not_ignored():
    with pytest.raises(Unsupported):
        compile_schema({"type": "object", "dependentRequired": {"a": ["b"]}})
