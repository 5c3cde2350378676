"""A fast yes/no check of a document against netc's JSON Schema.

``compile_schema(schema)`` turns the subset of JSON Schema that ``build_schema``
uses into nested Python closures, once per process; the result answers
"does this document conform?" in microseconds per layer. It is sound, not
complete: True means jsonschema finds no error; False (also for every corner
it does not decide, such as ``3.0`` for an integer or a YAML key that is not a
string) means "ask jsonschema", which then produces the errors with their
positions. So a valid file never imports jsonschema, and an invalid one gets
exactly the errors it got before.

A schema keyword outside the subset makes ``compile_schema`` raise
``Unsupported``, and callers fall back to jsonschema for every document.
"""

from __future__ import annotations

import re
from typing import Callable

Check = Callable[[object], bool]

# annotations: they never make a document invalid
_IGNORED = {"$schema", "$id", "title", "description", "default", "$defs", "examples", "$comment"}


class Unsupported(Exception):
    """The schema uses a keyword this checker does not implement."""


def _is_int(x) -> bool:
    return type(x) is int            # bool is not an integer; 3.0 is left to jsonschema


def _is_number(x) -> bool:
    return type(x) is int or type(x) is float


_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": _is_int,
    "number": _is_number,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


def _same(a, b) -> bool:
    """Scalar equality as JSON sees it: same type and value (1 is not true, 1 is not 1.0 here)."""
    return type(a) is type(b) and a == b


def _unique(items: list) -> bool:
    """No two items equal as JSON sees them; containers are left to jsonschema (False)."""
    seen = set()
    for v in items:
        if isinstance(v, (dict, list)):
            return False
        key = (type(v), v)
        if key in seen:
            return False
        seen.add(key)
    return True


def compile_schema(schema: dict) -> Check:
    """The conformance check of ``schema`` (its ``$defs`` resolved lazily, recursion allowed)."""
    defs = schema.get("$defs", {})
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        prefix = "#/$defs/"
        if not target.startswith(prefix) or target[len(prefix):] not in defs:
            raise Unsupported(f"$ref {target}")
        name = target[len(prefix):]

        def check(x):
            c = compiled.get(name)
            if c is None:
                c = compiled[name] = build(defs[name])
            return c(x)
        return check

    def build(s) -> Check:
        if s is True:
            return lambda x: True
        if s is False:
            return lambda x: False
        checks: list[Check] = []
        unknown = set(s) - _IGNORED - _KEYWORDS
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        if "type" in s:
            kinds = s["type"] if isinstance(s["type"], list) else [s["type"]]
            tests = [_TYPES[k] for k in kinds]
            checks.append(tests[0] if len(tests) == 1 else (lambda x, t=tests: any(f(x) for f in t)))
        if "const" in s:
            c = s["const"]
            if isinstance(c, (dict, list)):
                raise Unsupported("const of a container")
            checks.append(lambda x, c=c: _same(x, c))
        if "enum" in s:
            values = s["enum"]
            if any(isinstance(v, (dict, list)) for v in values):
                raise Unsupported("enum of containers")
            checks.append(lambda x, vs=values: any(_same(x, v) for v in vs))
        if "$ref" in s:
            checks.append(ref(s["$ref"]))
        if "anyOf" in s:
            subs = [build(sub) for sub in s["anyOf"]]
            checks.append(lambda x, subs=subs: any(f(x) for f in subs))
        if "pattern" in s:
            search = re.compile(s["pattern"]).search
            checks.append(lambda x: type(x) is not str or search(x) is not None)
        for key, holds in (("minimum", lambda x, v: x >= v), ("maximum", lambda x, v: x <= v),
                           ("exclusiveMinimum", lambda x, v: x > v), ("exclusiveMaximum", lambda x, v: x < v)):
            if key in s:
                checks.append(lambda x, v=s[key], h=holds: not _is_number(x) or h(x, v))
        if "minItems" in s:
            checks.append(lambda x, n=s["minItems"]: type(x) is not list or len(x) >= n)
        if "maxItems" in s:
            checks.append(lambda x, n=s["maxItems"]: type(x) is not list or len(x) <= n)
        if s.get("uniqueItems"):
            checks.append(lambda x: type(x) is not list or _unique(x))
        if "items" in s:
            item = build(s["items"])
            checks.append(lambda x: type(x) is not list or all(item(v) for v in x))
        if "minProperties" in s:
            checks.append(lambda x, n=s["minProperties"]: type(x) is not dict or len(x) >= n)
        if "maxProperties" in s:
            checks.append(lambda x, n=s["maxProperties"]: type(x) is not dict or len(x) <= n)
        if "required" in s:
            checks.append(lambda x, keys=tuple(s["required"]): type(x) is not dict or all(k in x for k in keys))
        if "propertyNames" in s:
            name = build(s["propertyNames"])
            checks.append(lambda x: type(x) is not dict or all(name(k) for k in x))
        if "properties" in s or "additionalProperties" in s or "patternProperties" in s:
            props = {k: build(v) for k, v in s.get("properties", {}).items()}
            patterns = [(re.compile(p).search, build(v)) for p, v in s.get("patternProperties", {}).items()]
            extra = build(s.get("additionalProperties", True))

            def members(x, props=props, patterns=patterns, extra=extra):
                if type(x) is not dict:
                    return True
                for k, v in x.items():
                    if type(k) is not str:
                        return False
                    matched = [check for search, check in patterns if search(k)]
                    if k in props:
                        matched.append(props[k])
                    if not matched:
                        matched = [extra]
                    if not all(check(v) for check in matched):
                        return False
                return True
            checks.append(members)
        if not checks:
            return lambda x: True
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(f(x) for f in checks)

    return build(schema)


_KEYWORDS = {"type", "const", "enum", "$ref", "anyOf", "pattern", "minimum", "maximum", "exclusiveMinimum",
             "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "items", "minProperties", "maxProperties", "required",
             "propertyNames", "properties", "patternProperties", "additionalProperties"}
