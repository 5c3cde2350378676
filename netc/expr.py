"""A small evaluator for the arithmetic allowed in block parameters.

Grammar (integers only; no calls, attributes or anything else)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//' | '/' | '%') unary)*
    unary  := '-' unary | atom
    atom   := INT | NAME | '(' expr ')'

``a / b`` must divide exactly (netc never rounds silently); ``//`` floors.
A lone NAME may stand for any value (a string, a bool); arithmetic needs integers.
"""

from __future__ import annotations

import re

MAX_LENGTH = 256
MAX_MAGNITUDE = 10**18

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/%()]))")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ExprError(ValueError):
    """A malformed expression or one that cannot be evaluated."""


def evaluate(text: str, scope: dict[str, object]):
    """Evaluate ``text`` with the names in ``scope``."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    tokens = _tokenize(text)
    if NAME.match(text.strip()):
        name = text.strip()
        if name not in scope:
            raise ExprError(_unknown(name, scope))
        return scope[name]
    parser = _Parser(tokens, scope, text)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise ExprError(f"unexpected {tokens[parser.pos][1]!r} in {text!r}")
    return value


def _unknown(name: str, scope) -> str:
    import difflib

    msg = f"unknown name {name!r}"
    close = difflib.get_close_matches(name, list(scope), n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    elif scope:
        msg += f" (parameters here: {', '.join(sorted(scope))})"
    else:
        msg += " (no parameters are in scope outside a block)"
    return msg


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ExprError(f"unexpected character {stripped[pos:].lstrip()[:1]!r} in {text!r}")
        number, name, op = m.groups()
        tokens.append(("int", number) if number else ("name", name) if name else ("op", op))
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
            value = _check(value + self.term() if op == "+" else value - self.term())
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
            if op == "/" and value % rhs:
                raise ExprError(f"{value} / {rhs} is not a whole number in {self.text!r}; "
                                "use // to round down")
            value = value % rhs if op == "%" else value // rhs
        return value

    def unary(self):
        if self.peek() == "-" and self.tokens[self.pos][0] == "op":
            self.take()
            return -self.unary()
        return self.atom()

    def atom(self):
        kind, text = self.take()
        if kind == "int":
            return _check(int(text))
        if kind == "name":
            if text not in self.scope:
                raise ExprError(_unknown(text, self.scope))
            value = self.scope[text]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExprError(f"{text!r} is {value!r}, not an integer, in {self.text!r}")
            return value
        if text == "(":
            value = self.expr()
            if self.peek() != ")":
                raise ExprError(f"missing ')' in {self.text!r}")
            self.take()
            return value
        raise ExprError(f"unexpected {text!r} in {self.text!r}")


def _check(value: int) -> int:
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError(f"value beyond ±10^18 in expression")
    return value
