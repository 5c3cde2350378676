"""The JSON Schema of the netc format, generated from the op registry, and
validation whose errors point at the file.

``schemas/netc.schema.json`` is this schema written out (``netc schema``); a
test keeps the two equal. Values that may hold block-parameter expressions
accept strings here; the expander checks the evaluated values with the same
``Param`` definitions.
"""

from __future__ import annotations

import difflib

from .diagnostics import SCHEMA, Diagnostic, NetcError
from .ops import OPS
from .source import Source

FORMAT_VERSION = 1
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"   # a layer, or one output of a block use
MAX_REPEAT = 10_000
META_KEYS = ("name", "from", "repeat", "if")
PARAM_OP_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*$"
MAX_BLOCK_INPUTS = 64     # and outputs
MAX_DECLARED_SIZES = 64   # input: {sizes: [...]}: each is analyzed by lint (A012)
COMMA_HINT = ("; a comma inside { } ends the value: quote an expression that has one, "
              "e.g. filters: \"make_divisible(c * width, 8)\"")
SCHEMA_ID = "urn:netc:format:1"


def build_schema() -> dict:
    """The whole-document schema (JSON Schema draft 2020-12)."""
    name = {"$ref": "#/$defs/name"}
    ref = {"$ref": "#/$defs/ref"}
    expr = {"type": "string"}
    meta = {
        "name": {**name, "description": "layer name, unique in its scope; used by 'from'"},
        "from": {"description": "input layer(s) by name (NAME.OUT: one output of a block use with "
                               "several); default: the previous layer",
                 "anyOf": [ref, {"type": "array", "items": ref, "minItems": 1}]},
        "repeat": {"description": "chain N copies of this layer (0: pass the input through)",
                   "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_REPEAT}, expr]},
        "if": {"description": "a condition, e.g. \"stride == 1 and in.channels == c\": when false, "
                              "the layer is left out and its name stands for its (first) input",
               "type": ["boolean", "string"]},
    }
    defs: dict = {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "ref": {"type": "string", "pattern": REF_PATTERN},
        "param_value": {"description": "a number, word, expression, true/false, or a list of them",
                        "type": ["number", "string", "boolean", "array"],
                        "items": {"$ref": "#/$defs/param_value"}},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}},
        "layer": {
            "description": "one op or block, mapped to its settings: '- conv: {filters: 64, kernel: 3}'; "
                           "a bare name ('- relu') takes no settings",
            "type": ["string", "object"],
            "minProperties": 1, "maxProperties": 1,
            "properties": {op: {"$ref": f"#/$defs/op_{op}"} for op in OPS},
            "patternProperties": {PARAM_OP_PATTERN: {"$ref": "#/$defs/param_op"}},
            "additionalProperties": {"$ref": "#/$defs/block_use"},
        },
        "param_op": {
            "description": "'$act': the op or block named by parameter 'act' (none: no layer), "
                           "with that op's settings",
            "type": ["object", "null"],
            "properties": meta,
        },
        "block_use": {
            "description": "use of a block defined under 'blocks:', with its parameters",
            "type": ["object", "null"],
            "properties": meta,
        },
        "block": {
            "type": "object",
            "properties": {
                "doc": {"type": "string"},
                "params": {"description": "declared parameters and their defaults (null: required)",
                           "type": "object", "propertyNames": name},
                "inputs": {"description": "names of the block's inputs, given in order by "
                                          "'from: [a, b]' where it is used (default: one, 'input')",
                           "type": "array", "items": name, "minItems": 1, "maxItems": MAX_BLOCK_INPUTS,
                           "uniqueItems": True},
                "outputs": {"description": "the block's outputs, by layer name (NAME.OUT: an output of an "
                                           "inner block use); a later layer names one as USE.NAME "
                                           "(default: one, the last layer)",
                            "type": "array", "items": ref, "minItems": 1, "maxItems": MAX_BLOCK_INPUTS,
                            "uniqueItems": True},
                "layers": {"$ref": "#/$defs/layers"},
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
    }
    defaults = {}
    for op_name, op in OPS.items():
        props = {k: p.schema() for k, p in op.params.items()}
        defs[f"op_{op_name}"] = {"description": op.doc, "type": ["object", "null"],
                                 "properties": {**meta, **props}, "additionalProperties": False}
        defaults[op_name] = {"type": "object", "properties": props, "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "netc network description",
        "description": "A convolutional network for netc (format version 1).",
        "type": "object",
        "properties": {
            "netc": {"description": "format version", "const": FORMAT_VERSION},
            "name": {"type": "string"},
            "doc": {"type": "string"},
            "input": {
                "type": "object",
                "properties": {
                    "name": name,
                    "shape": {"description": "[channels, height, width], [channels, length], "
                                             "[channels, depth, height, width] or [features]; no batch",
                              "type": "array", "minItems": 1, "maxItems": 4,
                              "items": {"type": "integer", "minimum": 1, "maximum": 1 << 20}},
                    "sizes": {"description": "the input sizes the network is trained and served at, "
                                             "[[height, width], ...] ([[length], ...] for a 1-D map, "
                                             "[[depth, height, width], ...] for a 3-D one): lint checks each "
                                             "(A012), netc sizes reports them",
                              "type": "array", "minItems": 1, "maxItems": MAX_DECLARED_SIZES,
                              "items": {"type": "array", "minItems": 1, "maxItems": 3,
                                        "items": {"type": "integer", "minimum": 1, "maximum": 1 << 20}}},
                },
                "required": ["shape"],
                "additionalProperties": False,
            },
            "params": {"description": "network parameters, usable in every layer and block; "
                                     "overridden from the command line with --set NAME=VALUE",
                       "type": "object", "propertyNames": name,
                       "additionalProperties": {"$ref": "#/$defs/param_value"}},
            "defaults": {"description": "settings per op type, overridden per layer",
                         "type": "object", "properties": defaults, "additionalProperties": False},
            "blocks": {"type": "object", "propertyNames": name,
                       "additionalProperties": {"$ref": "#/$defs/block"}},
            "layers": {"$ref": "#/$defs/layers"},
            "outputs": {"description": "output layers (NAME.OUT: one output of a block use); default: "
                                       "the last layer (every output of a block with several)",
                        "type": "array", "items": ref, "minItems": 1},
        },
        "required": ["netc", "input", "layers"],
        "additionalProperties": False,
        "$defs": defs,
    }


_VALIDATOR = None


def validator():
    global _VALIDATOR
    if _VALIDATOR is None:
        from jsonschema import Draft202012Validator, validators

        # JSON Schema counts 8.0 as an integer; a YAML size, count or channel number must
        # be written as one (8), as every runtime's integer attributes are.
        checker = Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
        strict = validators.extend(Draft202012Validator, type_checker=checker)
        _VALIDATOR = strict(build_schema())
    return _VALIDATOR


_CONFORMS = None


def conforms(data) -> bool:
    """netc's own yes/no check against the schema (netc/conform.py): True only when
    jsonschema would find no error; microseconds per layer, compiled once per process."""
    global _CONFORMS
    if _CONFORMS is None:
        from .conform import Unsupported, compile_schema

        try:
            _CONFORMS = compile_schema(build_schema())
        except Unsupported:        # a keyword it does not know: jsonschema decides every document
            _CONFORMS = lambda data: False  # noqa: E731
    return _CONFORMS(data)


def validate(src: Source) -> None:
    """Raise NetcError with one diagnostic per schema violation, in file order."""
    diags, _ = problems(src)
    if diags:
        raise NetcError(diags)


def problems(src: Source) -> tuple[list[Diagnostic], list[tuple] | None]:
    """Every schema violation, in file order, and the settings to leave out so that the rest
    of the file can still be expanded and checked: when each violation lies in the settings
    of one op layer (an unknown key, a value out of range), the path of each such setting;
    None when one lies elsewhere (the file's structure), where expansion cannot go on.
    A file that is not a mapping, or of another format version, raises at once."""
    data = src.data
    if not isinstance(data, dict):
        raise NetcError(Diagnostic("a netc file is a mapping that starts with 'netc: 1'",
                                   src.span(()), SCHEMA))
    version = data.get("netc")
    if version != FORMAT_VERSION:
        where = src.span(("netc",)) if "netc" in data else src.span(())
        what = "is missing" if "netc" not in data else f"is {version!r}"
        raise NetcError(Diagnostic(f"format version 'netc' {what}; this netc reads format "
                                   f"version {FORMAT_VERSION} (write 'netc: 1')", where, SCHEMA))
    if conforms(data):          # the common case, without jsonschema
        return [], []
    diags: dict[tuple, Diagnostic] = {}
    errors = list(validator().iter_errors(data))
    # a layer that is not one key (an under-indented setting): one error for it, none inside it
    bad_layers = [tuple(e.absolute_path) for e in errors if _is_layer_shape(e)]
    settings: list[tuple] | None = []
    for err in errors:
        path = tuple(err.absolute_path)
        if any(len(path) > len(b) and path[:len(b)] == b for b in bad_layers):
            continue
        for d in _explain(err, src):
            key = (d.span.line, d.span.col, d.message) if d.span else (0, 0, d.message)
            diags.setdefault(key, d)
        if settings is not None:
            found = _settings_of(err, path)
            settings = None if found is None else settings + found
    return [diags[k] for k in sorted(diags, key=lambda k: (k[0], k[1]))], settings


def _settings_of(err, path: tuple) -> list[tuple] | None:
    """The op settings a violation lies in (``('layers', 3, 'conv', 'kernal')``), or None
    when it lies elsewhere: a layer's name, ``from``, ``repeat`` or ``if`` (other layers
    depend on them), a block use's arguments, or the file's structure."""
    if err.validator == "additionalProperties" and len(path) >= 3 and path[-3] == "layers" \
            and isinstance(path[-2], int) and path[-1] in OPS:
        unknown = [k for k in err.instance if k not in err.schema.get("properties", {})]
        return [path + (k,) for k in unknown]
    for i in range(len(path) - 3, -1, -1):
        if path[i] == "layers" and isinstance(path[i + 1], int) and path[i + 2] in OPS \
                and i + 3 < len(path) and path[i + 3] not in META_KEYS and not _is_layer_shape(err):
            return [path[:i + 4]]
    return None


def _is_layer_shape(err) -> bool:
    """A layer item that is not exactly one op or block name."""
    path = tuple(err.absolute_path)
    return err.validator in ("minProperties", "maxProperties") and len(path) >= 2 and isinstance(path[-1], int)


def _param_at(path: tuple):
    """The op Param a value path refers to, e.g. ('layers', 0, 'conv', 'filters')."""
    if len(path) >= 2 and path[-2] in OPS and isinstance(path[-1], str):
        return OPS[path[-2]].params.get(path[-1])
    return None


def _explain(err, src: Source) -> list[Diagnostic]:
    path = tuple(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        allowed = list(err.schema.get("properties", {}))
        out = []
        for key in err.instance:
            if key in allowed:
                continue
            msg = f"unknown key {key!r}" + _where(path)
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            if path == ("defaults",) and isinstance(key, str):   # op names: never a look-alike op
                from .ops.aliases import suggest
                close = [c for c in [suggest(key, allowed)] if c]
            if isinstance(key, str) and (")" in key or "(" in key):
                msg += COMMA_HINT
            elif close:
                msg += f"; did you mean {close[0]!r}?"
            elif allowed:
                msg += f" (expected one of: {', '.join(allowed)})"
            out.append(Diagnostic(msg, src.span(path + (key,), key=True), SCHEMA))
        return out
    if v == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return [Diagnostic(f"missing key {k!r}" + _where(path), src.span(path), SCHEMA) for k in missing]
    if _is_layer_shape(err):
        keys = list(err.instance)
        if len(keys) > 1 and keys[0] in OPS:
            op = OPS[keys[0]]
            stray = [k for k in keys[1:] if k in op.params or k in META_KEYS]
            if stray:
                return [Diagnostic(f"{stray[0]!r} is a setting of {keys[0]}: indent it under "
                                   f"'{keys[0]}:' with its other settings", src.span(path + (stray[0],), key=True),
                                   SCHEMA)]
        return [Diagnostic("a layer is one op or block name mapped to its settings, e.g. "
                           "'- conv: {filters: 64, kernel: 3}'", src.span(path), SCHEMA)]
    param = _param_at(path)
    if param is not None and v in ("anyOf", "type", "minimum", "maximum", "enum"):
        try:
            param.check(err.instance)
        except ValueError as e:
            return [Diagnostic(f"{path[-2]} {path[-1]}: {e}", src.span(path), SCHEMA)]
    if v == "type" and path and path[-1] == "if":
        return [Diagnostic(f"if: expected a condition (true, false or an expression such as "
                           f"\"stride == 1\"), got {_kind(err.instance)}", src.span(path), SCHEMA)]
    if v == "type":
        msg = f"{_label(path)}: expected {_types(err.validator_value)}, got {_kind(err.instance)}"
        if isinstance(err.instance, float) and err.instance.is_integer() and "integer" in err.validator_value:
            msg += f": sizes, counts and channels are written as integers ({int(err.instance)}, not {err.instance})"
        return [Diagnostic(msg, src.span(path), SCHEMA)]
    if v == "pattern" and err.validator_value == REF_PATTERN:
        return [Diagnostic(f"{_label(path)}: {err.instance!r} is not a layer reference (a name, or "
                           f"USE.OUTPUT: one output of a block use with several)", src.span(path), SCHEMA)]
    if v == "pattern":
        hint = COMMA_HINT if isinstance(err.instance, str) and ")" in err.instance else ""
        return [Diagnostic(f"{_label(path)}: {err.instance!r} is not a valid name (letters, digits "
                           f"and _, not starting with a digit){hint}", src.span(path), SCHEMA)]
    if v in ("minimum", "maximum"):
        return [Diagnostic(f"{_label(path)}: must be {'at least' if v == 'minimum' else 'at most'} "
                           f"{err.validator_value:,}, got {err.instance:,}", src.span(path), SCHEMA)]
    if v == "anyOf" and path and path[-1] == "repeat":
        return [Diagnostic(f"repeat must be an integer from 0 to {MAX_REPEAT:,} or an expression, "
                           f"got {err.instance!r}", src.span(path), SCHEMA)]
    if v == "anyOf" and path and path[-1] == "from":
        return [Diagnostic("from: expected a layer name (or USE.OUTPUT) or a list of them", src.span(path),
                           SCHEMA)]
    return [Diagnostic(f"{_label(path)}: {err.message}", src.span(path), SCHEMA)]


def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "document"


def _where(path: tuple) -> str:
    if not path:
        return " at the top level"
    if path[-1] in OPS:
        return f" for {path[-1]}"
    return f" in {_label(path)}"


def _types(t) -> str:
    return " or ".join(t) if isinstance(t, list) else t


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return f"the number {v}"  # source.py refuses integers beyond 10^18
    if isinstance(v, str):
        return f"the string {v!r}" if len(v) < 40 else "a string"
    return "a list" if isinstance(v, list) else "a mapping"


