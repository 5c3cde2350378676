"""A small evaluator for the arithmetic allowed in parameter values.

Grammar (no attributes beyond shape reads, no imports, nothing else), loosest first::

    cond    := cond 'or' cond | cond 'and' cond | 'not' cond | compare
    compare := expr (('==' | '!=' | '<' | '<=' | '>' | '>=') expr)?
    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '//' | '/' | '%') unary)*
    unary   := '-'* postfix
    postfix := atom ('[' cond ']')*
    atom    := NUMBER | NAME | NAME '.' NAME ('.' NAME)? | NAME '(' cond (',' cond)* ')' | '(' cond ')'

Integers are Python ints, exact at any size; anything else is a float (an IEEE
double), computed as Python computes it, so that an expression written like the
reference implementation (``make_divisible(c * width, 8)``, ``ceil(n * depth)``)
gives the reference's result bit for bit, including where decimal arithmetic
would differ (``90 * 1.4`` is 125.99999999999999 in both). ``a / b`` of two
integers is an integer when it divides exactly, a float otherwise. A float
stays a float even when whole (``64 * 0.75`` is 48.0, and ``48.0 // 1`` too, as
in Python): only the rounding functions turn one into an integer, so a size
never becomes an integer by accident.

Functions: ``min``, ``max`` (of two or more numbers, or of one list), ``ceil``,
``floor``, ``round`` (half to even, as Python's), ``len`` (of a list),
``make_divisible(v, d[, min_value])`` (torchvision's ``_make_divisible`` for
MobileNet and EfficientNet: ``max(min_value, int(v + d / 2) // d * d)``, plus
``d`` if that is below 0.9 v; ``min_value`` defaults to ``d``).

A parameter may hold a list (``rates: [12, 24, 36]``): ``rates[0]``,
``rates[-1]``, ``rates[i]`` index it (integers; out of range is an error) and
``len(rates)`` counts it. Comparisons give true or false (also written as
``true`` and ``false``); ``and``, ``or`` (both
short-circuit, as Python's) and ``not`` take only true or false, so
``if: stride`` must be written ``stride == 1``.

A lone NAME may stand for any value (a string, a bool, a list); arithmetic needs numbers.
``NAME.attr`` is looked up in the scope as the key ``"NAME.attr"``; the expander's
scope answers shape reads such as ``in.channels`` there (``b.out.channels``: an
output of a block with several).

Bounded: an expression is at most 256 characters, nests brackets at most 32
deep, and is parsed once per distinct text into a small tree that is evaluated
without Python's ``eval``; no value grows beyond ±10^18.
"""

from __future__ import annotations

import functools
import math
import re

MAX_LENGTH = 256
MAX_MAGNITUDE = 10**18
MAX_NESTING = 32             # brackets, parentheses and calls inside one another

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\s*(?:(\d+(?:\.\d+)?)|({_NAME}(?:\.{_NAME}){{0,2}})|(//|==|!=|<=|>=|[-+*/%(),<>\[\]]))")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORDS = ("and", "or", "not")            # operators spelled as words
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_ARITH = ("+", "-", "*", "/", "//", "%")
_PRECEDENCE = {"or": 1, "and": 2, **{op: 4 for op in _COMPARE}, "+": 5, "-": 5,
               "*": 6, "/": 6, "//": 6, "%": 6}
_BOOLS = {"true": True, "false": False}  # as YAML writes them (a parameter of that name shadows them)
_NOT = 3                                 # 'not' binds looser than a comparison, tighter than 'and'


class ExprError(ValueError):
    """A malformed expression or one that cannot be evaluated."""


def evaluate(text: str, scope):
    """Evaluate ``text`` with the names in ``scope`` (a mapping)."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    if NAME.match(text.strip()):     # a lone name: its value, whatever it is
        name = text.strip()
        if name not in scope:
            if name in _BOOLS:
                return _BOOLS[name]
            raise ExprError(_unknown(name, scope))
        return scope[name]
    return _Evaluator(scope, text).value(_compile(text))


def check_syntax(text: str) -> None:
    """Raise ExprError when ``text`` is not an expression, whatever its names hold."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    if not NAME.match(text.strip()):
        _compile(text)


def number(value, what: str = "value"):
    """A scope value as a number (int or finite float); anything else raises ExprError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExprError(f"{what} is {_show(value)}, not a number")
    return _check(value)


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "the list [" + ", ".join(_show(v) for v in value[:8]) + (", ...]" if len(value) > 8 else "]")
    return repr(value)


show = _show       # a value as a message names it: true, 'relu', the list [1, 2]


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


def _numbers(name, args):
    return [number(a, f"an argument of {name}()") for a in args]


def _variadic(name, pick):
    def f(*args):
        if len(args) == 1 and isinstance(args[0], list):     # max(rates)
            if not args[0]:
                raise ExprError(f"{name}() of an empty list")
            return pick(_numbers(name, args[0]))
        if len(args) < 2:
            raise ExprError(f"{name}() takes two or more values, or one list")
        return pick(_numbers(name, args))
    return f


def _one(name, fn):
    def f(*args):
        if len(args) != 1:
            raise ExprError(f"{name}() takes one value")
        return fn(*_numbers(name, args))
    return f


def _md(*args):
    if len(args) not in (2, 3):
        raise ExprError("make_divisible() takes (value, divisor) or (value, divisor, min_value)")
    return _make_divisible(*_numbers("make_divisible", args))


def _len(*args):
    if len(args) != 1 or not isinstance(args[0], list):
        raise ExprError("len() takes one list" + (f", got {_show(args[0])}" if len(args) == 1 else ""))
    return len(args[0])


FUNCTIONS = {
    "min": _variadic("min", min),
    "max": _variadic("max", max),
    "ceil": _one("ceil", math.ceil),
    "floor": _one("floor", math.floor),
    "round": _one("round", round),
    "make_divisible": _md,
    "len": _len,
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


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ExprError(f"unexpected character {stripped[pos:].lstrip()[:1]!r} in {text!r}")
        num, name, op = m.groups()
        tokens.append(("num", num) if num else ("op", name) if name in _WORDS else
                      ("name", name) if name else ("op", op))
        pos = m.end()
    if not tokens:
        raise ExprError("empty expression")
    return tokens


@functools.lru_cache(maxsize=4096)
def _compile(text: str) -> tuple:
    """The tree of ``text``, parsed once per distinct text in a process (a repeated
    block evaluates the same expressions in every copy). Nodes are tuples:
    ("num", v), ("name", n), ("neg", x, times), ("op", o, a, b), ("not", x, times),
    ("index", x, i), ("call", f, args)."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    tree = parser.cond(_PRECEDENCE["or"])
    if parser.pos != len(tokens):
        raise ExprError(f"unexpected {tokens[parser.pos][1]!r} in {text!r}")
    return tree


class _Parser:
    """Precedence climbing over the tokens; recursion only where brackets nest."""

    def __init__(self, tokens, text):
        self.tokens, self.text, self.pos, self.depth = tokens, text, 0, 0

    def peek(self):
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self):
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if tok is None:
            raise ExprError(f"incomplete expression {self.text!r}")
        self.pos += 1
        return tok

    def nested(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExprError(f"expression nested deeper than {MAX_NESTING} levels")

    def cond(self, least: int):
        """Operators that bind at least as tightly as ``least``."""
        nots = 0
        while least <= _NOT and self.peek() == "not" and self.tokens[self.pos][0] == "op":
            self.take()
            nots += 1
        left = ("not", self.cond(_NOT + 1), nots) if nots else self.unary()
        while True:
            op = self.peek()
            prec = _PRECEDENCE.get(op) if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op" else None
            if prec is None or prec < least:
                return left
            self.take()
            right = self.cond(prec + 1)
            if op in _COMPARE and self.peek() in _COMPARE:
                raise ExprError(f"comparisons cannot be chained in {self.text!r}: join them with 'and'")
            left = ("op", op, left, right)

    def unary(self):
        negations = 0
        while self.peek() == "-" and self.tokens[self.pos][0] == "op":
            self.take()
            negations += 1
        value = self.postfix()
        return ("neg", value, negations) if negations else value

    def postfix(self):
        value = self.atom()
        while self.peek() == "[":
            self.take()
            self.nested()
            index = self.cond(_PRECEDENCE["or"])
            self.expect("]")
            self.depth -= 1
            value = ("index", value, index)
        return value

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return ("num", _check(int(text) if text.isdigit() else float(text)))
        if kind == "name":
            if self.peek() == "(":
                return self.call(text)
            return ("name", text)
        if text == "(":
            self.nested()
            value = self.cond(_PRECEDENCE["or"])
            self.expect(")")
            self.depth -= 1
            return value
        raise ExprError(f"unexpected {text!r} in {self.text!r}")

    def call(self, name: str):
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function {name!r} (netc has: {', '.join(FUNCTIONS)})")
        self.take()
        self.nested()
        args = [self.cond(_PRECEDENCE["or"])]
        while self.peek() == ",":
            self.take()
            args.append(self.cond(_PRECEDENCE["or"]))
        self.expect(")")
        self.depth -= 1
        return ("call", name, tuple(args))

    def expect(self, tok: str):
        if self.peek() != tok:
            hint = (" (in a YAML { } mapping a comma ends the value: quote an expression that has one)"
                    if tok == ")" and self.peek() is None else
                    " (in a YAML { } or [ ] a bracket ends the value: quote an expression that indexes)"
                    if tok == "]" and self.peek() is None else "")
            raise ExprError(f"missing {tok!r} in {self.text!r}{hint}")
        self.take()


class _Evaluator:
    """One evaluation of a parsed tree in a scope; recursion as deep as the tree (at
    most one level per token of a 256-character text)."""

    def __init__(self, scope, text: str):
        self.scope, self.text = scope, text

    def value(self, node):
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "name":
            name = node[1]
            if name not in self.scope:
                if name in _BOOLS:
                    return _BOOLS[name]
                raise ExprError(_unknown(name, self.scope))
            return self.scope[name]
        if kind == "op":
            op = node[1]
            if op == "and" or op == "or":
                left = self.truth(node[2], op)
                if left is (op == "or"):        # short-circuit, as Python
                    return left
                return self.truth(node[3], op)
            if op in _COMPARE:
                return self.compare(op, node[2], node[3])
            return self.arith(op, self.number(node[2]), self.number(node[3]))
        if kind == "neg":
            value = self.number(node[1])
            return -value if node[2] % 2 else value
        if kind == "not":
            value = self.truth(node[1], "not")
            return not value if node[2] % 2 else value
        if kind == "index":
            return self.index(node[1], node[2])
        fn = FUNCTIONS[node[1]]
        return _check(fn(*[self.value(a) for a in node[2]]))

    def number(self, node):
        value = self.value(node)
        if type(value) is int or type(value) is float:
            return value
        return number(value, repr(node[1]) if node[0] == "name" else "value")

    def truth(self, node, op: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            what = repr(node[1]) if node[0] == "name" else "a value"
            raise ExprError(f"'{op}' takes true or false; {what} is {_show(value)} in {self.text!r} "
                            "(compare it, e.g. x == 1)")
        return value

    def compare(self, op: str, a, b) -> bool:
        if op == "==" or op == "!=":
            x, y = self.value(a), self.value(b)
            same = type(x) is type(y) or (_is_number(x) and _is_number(y))
            return (same and x == y) is (op == "==")
        x, y = self.number(a), self.number(b)
        return x < y if op == "<" else x <= y if op == "<=" else x > y if op == ">" else x >= y

    def arith(self, op: str, value, rhs):
        if op == "+":
            return _check(value + rhs)
        if op == "-":
            return _check(value - rhs)
        if op == "*":
            return _check(value * rhs)
        if rhs == 0:
            raise ExprError(f"division by zero in {self.text!r}")
        if op == "/":
            ints = isinstance(value, int) and isinstance(rhs, int)
            return _check(value // rhs if ints and value % rhs == 0 else value / rhs)
        if op == "//":
            return _check(value // rhs)
        if isinstance(value, float) or isinstance(rhs, float):
            raise ExprError(f"% needs integers in {self.text!r}")
        return value % rhs

    def index(self, node, at):
        seq = self.value(node)
        what = repr(node[1]) if node[0] == "name" else "the value"
        if not isinstance(seq, list):
            raise ExprError(f"{what} is {_show(seq)}, not a list: only a list takes [index] in {self.text!r}")
        i = self.value(at)
        if type(i) is not int:
            raise ExprError(f"a list index is an integer, got {_show(i)} in {self.text!r}")
        if not -len(seq) <= i < len(seq):
            raise ExprError(f"index {i} is out of range: {what} has {len(seq)} value"
                            f"{'s' if len(seq) != 1 else ''} (0 to {len(seq) - 1}) in {self.text!r}"
                            if seq else f"index {i} is out of range: {what} is empty in {self.text!r}")
        return seq[i]


def _is_number(x) -> bool:
    return type(x) is int or type(x) is float


def _check(value):
    if type(value) is bool or not _is_number(value):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError(f"{value} in expression: not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError("value beyond ±10^18 in expression")
    return value
