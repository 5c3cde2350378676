"""Command-line overrides of a file: ``--set NAME=VALUE`` for its ``params:``,
``--input C,H,W`` for its input shape. A value is read as an unquoted YAML
scalar would be (``0.75`` a number, ``true`` a boolean, ``hardswish`` a word,
``ceil(2 * depth)`` an expression, ``[6, 12, 18]`` a list of them), so ``--set`` means what writing the value in
the file would mean."""

from __future__ import annotations

from .source import plain_scalar

MAX_SIDE = 1 << 20


class OverrideError(ValueError):
    """An override that does not fit the file or cannot be read: a usage error (exit 2).

    ``param``: the ``params:`` entry it overrides. ``str(e)`` names it as ``netc.load``'s
    caller wrote it (``params['width']: ...``); ``e.cli_message`` as the command line did
    (``--set width: ...``)."""

    def __init__(self, message: str, param: str | None = None):
        self.message, self.param = message, param
        super().__init__(message if param is None else f"params[{param!r}]: {message}")

    @property
    def cli_message(self) -> str:
        return self.message if self.param is None else f"--set {self.param}: {self.message}"


def parse_set(text: str) -> tuple[str, object]:
    """'width=0.75' -> ('width', 0.75)."""
    from .expr import NAME

    name, eq, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not eq or not NAME.match(name) or not value:
        raise OverrideError(f"--set {text!r}: expected NAME=VALUE, e.g. --set width=0.75")
    if value.startswith("[") and value.endswith("]"):      # a list: --set rates=[6,12,18]
        items = [v.strip() for v in value[1:-1].split(",")] if value[1:-1].strip() else []
        if any(not v or v[0] in "[]{" or "]" in v for v in items):
            raise OverrideError(f"--set {text!r}: a list is written [a, b, c], of numbers, words or "
                                f"expressions without commas")
        return name, [plain_scalar(v) for v in items]
    return name, plain_scalar(value)


def parse_sets(items) -> dict[str, object]:
    out: dict[str, object] = {}
    for text in items or ():
        name, value = parse_set(text)
        out[name] = value
    return out


def parse_input(text: str) -> tuple[int, ...]:
    """'3,512,512' -> (3, 512, 512): one to three sides, each 1 to 2^20."""
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise OverrideError(f"--input {text!r}: expected C,H,W or FEATURES, e.g. --input 3,224,224")
    return check_input(tuple(int(p) for p in parts))


def parse_overrides(sets, input_shape: str | None) -> dict:
    """``--set`` items and ``--input`` text as the keyword arguments of ``netc.load``."""
    return {"params": parse_sets(sets),
            "input_shape": parse_input(input_shape) if input_shape is not None else None}


def check_input(shape) -> tuple[int, ...]:
    shape = tuple(shape)
    if not 1 <= len(shape) <= 4 or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_SIDE
                                       for d in shape):
        raise OverrideError(f"input shape {shape!r}: expected one to four sides (features; channels and "
                            f"1 to 3 spatial sizes), each from 1 to {MAX_SIDE:,}")
    return shape
