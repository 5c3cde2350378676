"""A small evaluator for the arithmetic allowed in parameter values.

Grammar (no attributes beyond shape reads, no imports, nothing else)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//' | '/' | '%') unary)*
    unary  := '-' unary | atom
    atom   := NUMBER | NAME | NAME '.' NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'

Integers are Python ints, exact at any size; anything else is a float (an IEEE
double), computed as Python computes it, so that an expression written like the
reference implementation (``make_divisible(c * width, 8)``, ``ceil(n * depth)``)
gives the reference's result bit for bit, including where decimal arithmetic
would differ (``90 * 1.4`` is 125.99999999999999 in both). ``a / b`` of two
integers is an integer when it divides exactly, a float otherwise. A float
stays a float even when whole (``64 * 0.75`` is 48.0, and ``48.0 // 1`` too, as
in Python): only the rounding functions turn one into an integer, so a size
never becomes an integer by accident.

Functions: ``min``, ``max``, ``ceil``, ``floor``, ``round`` (half to even, as
Python's), ``make_divisible(v, d[, min_value])`` (torchvision's ``_make_divisible``
for MobileNet and EfficientNet: ``max(min_value, int(v + d / 2) // d * d)``, plus
``d`` if that is below 0.9 v; ``min_value`` defaults to ``d``).

A lone NAME may stand for any value (a string, a bool); arithmetic needs numbers.
``NAME.attr`` is looked up in the scope as the key ``"NAME.attr"``; the expander's
scope answers shape reads such as ``in.channels`` there.
"""

from __future__ import annotations

import functools
import math
import re

MAX_LENGTH = 256
MAX_MAGNITUDE = 10**18

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\s*(?:(\d+(?:\.\d+)?)|({_NAME}(?:\.{_NAME})?)|(//|[-+*/%(),]))")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ExprError(ValueError):
    """A malformed expression or one that cannot be evaluated."""


def evaluate(text: str, scope):
    """Evaluate ``text`` with the names in ``scope`` (a mapping)."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    if NAME.match(text.strip()):     # a lone name: its value, whatever it is
        name = text.strip()
        if name not in scope:
            raise ExprError(_unknown(name, scope))
        return scope[name]
    tokens = _tokens(text)
    parser = _Parser(tokens, scope, text)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise ExprError(f"unexpected {tokens[parser.pos][1]!r} in {text!r}")
    return value


def number(value, what: str = "value"):
    """A scope value as a number (int or finite float); anything else raises ExprError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExprError(f"{what} is {value!r}, not a number")
    return _check(value)


def _make_divisible(v, d, min_value=None):
    """max(min_value, int(v + d / 2) // d * d), plus d when below 0.9 v (min_value: d)."""
    if isinstance(d, float) or d < 1:
        raise ExprError(f"make_divisible: the divisor must be a positive integer, got {d}")
    if isinstance(min_value, float):
        raise ExprError(f"make_divisible: min_value must be an integer, got {min_value}")
    low = d if min_value is None else min_value
    new = max(low, int(v + d / 2) // d * d)
    if new < 0.9 * v:
        new += d
    return new


def _variadic(name, pick):
    def f(*args):
        if len(args) < 2:
            raise ExprError(f"{name}() takes two or more values")
        return pick(args)
    return f


def _one(name, fn):
    def f(*args):
        if len(args) != 1:
            raise ExprError(f"{name}() takes one value")
        return fn(args[0])
    return f


def _md(*args):
    if len(args) not in (2, 3):
        raise ExprError("make_divisible() takes (value, divisor) or (value, divisor, min_value)")
    return _make_divisible(*args)


FUNCTIONS = {
    "min": _variadic("min", min),
    "max": _variadic("max", max),
    "ceil": _one("ceil", math.ceil),
    "floor": _one("floor", math.floor),
    "round": _one("round", round),
    "make_divisible": _md,
}


def _unknown(name: str, scope) -> str:
    import difflib

    msg = f"unknown name {name!r}"
    names = [k for k in scope if "." not in k]
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    elif names:
        msg += f" (parameters here: {', '.join(sorted(names))})"
    else:
        msg += " (no parameters are in scope: declare them under 'params:')"
    return msg


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    """``_tokenize`` once per distinct text in a process (a repeated block evaluates the
    same expressions in every copy)."""
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ExprError(f"unexpected character {stripped[pos:].lstrip()[:1]!r} in {text!r}")
        num, name, op = m.groups()
        tokens.append(("num", num) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    if not tokens:
        raise ExprError("empty expression")
    return tokens


class _Parser:
    def __init__(self, tokens, scope, text):
        self.tokens, self.scope, self.text, self.pos = tokens, scope, text, 0

    def peek(self):
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self):
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if tok is None:
            raise ExprError(f"incomplete expression {self.text!r}")
        self.pos += 1
        return tok

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = _check(value + rhs if op == "+" else value - rhs)
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("*", "//", "/", "%"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "*":
                value = _check(value * rhs)
                continue
            if rhs == 0:
                raise ExprError(f"division by zero in {self.text!r}")
            if op == "/":
                ints = isinstance(value, int) and isinstance(rhs, int)
                value = _check(value // rhs if ints and value % rhs == 0 else value / rhs)
            elif op == "//":
                value = _check(value // rhs)
            else:
                if isinstance(value, float) or isinstance(rhs, float):
                    raise ExprError(f"% needs integers in {self.text!r}")
                value = value % rhs
        return value

    def unary(self):
        if self.peek() == "-" and self.tokens[self.pos][0] == "op":
            self.take()
            return -self.unary()
        return self.atom()

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return _check(int(text) if text.isdigit() else float(text))
        if kind == "name":
            if self.peek() == "(":
                return self.call(text)
            if text not in self.scope:
                raise ExprError(_unknown(text, self.scope))
            return number(self.scope[text], repr(text))
        if text == "(":
            value = self.expr()
            self.expect(")")
            return value
        raise ExprError(f"unexpected {text!r} in {self.text!r}")

    def call(self, name: str):
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise ExprError(f"unknown function {name!r} (netc has: {', '.join(FUNCTIONS)})")
        self.take()
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        return _check(fn(*args))

    def expect(self, tok: str):
        if self.peek() != tok:
            hint = (" (in a YAML { } mapping a comma ends the value: quote an expression that has one)"
                    if tok == ")" and self.peek() is None else "")
            raise ExprError(f"missing {tok!r} in {self.text!r}{hint}")
        self.take()


def _check(value):
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError(f"{value} in expression: not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError("value beyond ±10^18 in expression")
    return value
