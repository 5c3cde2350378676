"""A netc expression (an ``if:`` condition) as Python source over constructor arguments.

    to_python("stride == 1 and input.channels == c", {"stride": "stride", "c": "c",
              "input.channels": "in_channels"})   # 'stride == 1 and in_channels == c'

The text is parsed by netc's own parser (netc/expr.py), never evaluated, and written
back from the tree with Python's spelling: ``true``/``false`` as ``True``/``False``,
``ceil``/``floor`` as ``math.ceil``/``math.floor``, ``not a == b`` as ``a != b``, parentheses only where the
precedence needs them (netc's order of operators is Python's). Whatever Python would
compute differently is refused (None): a name or shape read not in ``names``, a list
index, ``len``, ``make_divisible``, ``==``/``!=`` beside a true/false (Python's
``True == 1`` is netc's false), a malformed text.
"""

from __future__ import annotations

from ..expr import _PRECEDENCE, ExprError, _compile

_UNARY = 7          # unary minus: tighter than * and /
_NOT = 3            # 'not': looser than a comparison, tighter than 'and' (netc's and Python's)
_ATOM = 9
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}   # exact: netc's numbers are finite


class _Refused(Exception):
    pass


def to_python(text: str, names: dict[str, str], bools: frozenset = frozenset()) -> str | None:
    """``text`` as a Python expression, each name (or ``NAME.attr`` shape read) written
    as ``names`` maps it; None where the text cannot be written so that Python computes
    what netc computes. ``bools``: names whose values are true or false."""
    if not isinstance(text, str):
        return None
    try:
        tree = _compile(text)
        return _emit(tree, names, bools)[0]
    except (ExprError, _Refused, RecursionError):
        return None


def _emit(node, names, bools) -> tuple[str, int]:
    kind = node[0]
    if kind == "num":
        return repr(node[1]), _ATOM
    if kind == "name":
        name = node[1]
        if name in names:
            return names[name], _ATOM
        if name in ("true", "false"):
            return ("True" if name == "true" else "False"), _ATOM
        raise _Refused(name)
    if kind == "neg":
        text, prec = _emit(node[1], names, bools)
        if node[2] % 2 == 0:
            return text, prec
        return "-" + (text if prec >= _UNARY else f"({text})"), _UNARY
    if kind == "not":
        text, prec = _emit(node[1], names, bools)
        if node[2] % 2 == 0:
            return text, prec
        inner = node[1]
        if inner[0] == "op" and inner[1] in _NEGATED:     # not a == b: a != b (ruff's SIM202)
            return _emit(("op", _NEGATED[inner[1]], inner[2], inner[3]), names, bools)
        return "not " + (text if prec > _NOT else f"({text})"), _NOT
    if kind == "op":
        op = node[1]
        if op in ("==", "!=") and (_is_bool(node[2], bools) or _is_bool(node[3], bools)):
            raise _Refused(op)
        prec = _PRECEDENCE[op]
        left, lp = _emit(node[2], names, bools)
        right, rp = _emit(node[3], names, bools)
        if lp < prec:
            left = f"({left})"
        if rp <= prec:
            right = f"({right})"
        return f"{left} {op} {right}", prec
    if kind == "call":
        fn, args = node[1], node[2]
        if fn in ("min", "max") and len(args) >= 2 or fn == "round" and len(args) == 1:
            py = fn
        elif fn in ("ceil", "floor") and len(args) == 1:
            py = f"math.{fn}"
        else:
            raise _Refused(fn)
        return f"{py}({', '.join(_emit(a, names, bools)[0] for a in args)})", _ATOM
    raise _Refused(kind)                          # a list index


def _is_bool(node, bools) -> bool:
    return node[0] == "name" and (node[1] in bools or node[1] in ("true", "false")) or \
        node[0] in ("not",) or node[0] == "op" and node[1] in ("and", "or", "==", "!=", "<", "<=", ">", ">=")
