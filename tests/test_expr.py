import math

import pytest

from netc.expr import ExprError, evaluate

SCOPE = {"width": 64, "t": 6, "act": "relu", "flag": True, "w": 0.75, "depth": 1.1}


@pytest.mark.parametrize("text, value", [
    ("width * 4", 256), ("width*4+1", 257), ("(width + 2) // 3", 22), ("width / 4", 16),
    ("-width + 1", -63), ("width % 5", 4), ("2 * (3 + t)", 18), ("act", "relu"), ("flag", True),
    ("  width  ", 64), ("1 - 2 - 3", -4), ("100 // 7 // 2", 7),
])
def test_evaluates(text, value):
    assert evaluate(text, SCOPE) == value


@pytest.mark.parametrize("text, words", [
    ("wdth * 2", "did you mean 'width'"),
    ("width // 0", "division by zero"), ("2 * (3", "missing '\\)'"), ("act * 2", "not a number"),
    ("flag + 1", "not a number"), ("__import__('os')", "unexpected character"),
    ("__import__", "unknown name"), ("width ** 2", "unexpected"), ("width.real", "unknown name"),
    ("open(1)", "unknown function 'open'"), ("min(1)", "two or more"), ("ceil(1, 2)", "takes one"),
    ("make_divisible(10)", "make_divisible\\(\\) takes"), ("make_divisible(10, 0.5)", "positive integer"),
    ("width % 0.5", "% needs integers"), ("max(1, 2", "missing"), ("1.5.2", "unexpected"),
    ("min(, 1)", "unexpected ','"), ("10.0 ** 2", "unexpected"), ("1e3", "unexpected"),
    ("9" * 30, "beyond"), ("x" * 300, "longer than"), ("", "empty"), ("3 +", "incomplete"),
    ("lambda: 1", "unexpected character"),
])
def test_rejects(text, words):
    with pytest.raises(ExprError, match=words):
        evaluate(text, SCOPE)


def test_growth_is_bounded():
    with pytest.raises(ExprError, match="beyond"):
        evaluate("*".join(["999999"] * 20), {})


@pytest.mark.parametrize("text, value", [
    ("width / 3", 64 / 3), ("ceil(width / 3)", 22), ("floor(width / 3)", 21), ("width / 4", 16),
    ("64 * w", 48.0), ("round(64 * w)", 48), ("ceil(3 * depth)", 4), ("ceil(2 * depth)", 3),
    ("round(2.5)", 2), ("round(3.5)", 4), ("round(-2.5)", -2),            # half to even, as Python
    ("min(3, t, width)", 3), ("max(1, round(3 * 0.33))", 1), ("max(w, 1)", 1), ("min(w, 1)", 0.75),
    ("width // 0.75", 85.0), ("-ceil(-0.5)", 0), ("10 ** 0" if False else "2 * 3", 6),
    ("make_divisible(32 * w, 8)", 24), ("make_divisible(16 * 0.35, 8)", 8),
    ("make_divisible(90 * 1.4, 4)", 124),                 # 125.99999999999999, as in Python
    ("99999999999999999 * 10", 999999999999999990),       # integers stay exact
])
def test_numbers_follow_python(text, value):
    got = evaluate(text, SCOPE)
    assert got == value and type(got) is type(value)


def test_a_float_stays_a_float_until_rounded():
    """Sizes become integers only through rounding: 64 * 0.75 is 48.0, not 48."""
    assert type(evaluate("64 * w", SCOPE)) is float and type(evaluate("width // 0.5", SCOPE)) is float
    for f in ("ceil", "floor", "round"):
        assert type(evaluate(f"{f}(64 * w)", SCOPE)) is int
    assert type(evaluate("width / 4", SCOPE)) is int           # two integers that divide


def _make_divisible_reference(v, divisor, min_value=None):
    """torchvision.models._utils._make_divisible, copied, in floats."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("multiplier", ["0.25", "0.35", "0.5", "0.75", "1.0", "1.1", "1.2", "1.4",
                                        "1.6", "1.8", "2.0", "1.3"])
def test_make_divisible_agrees_with_torchvision(multiplier):
    # the channel counts of MobileNetV2/V3 and EfficientNet, and every small count
    for channels in list(range(1, 200)) + [240, 320, 480, 672, 960, 1152, 1280]:
        for d in (4, 8, 16):
            want = _make_divisible_reference(channels * float(multiplier), d)
            assert evaluate(f"make_divisible({channels} * m, {d})", {"m": float(multiplier)}) == want, \
                (channels, multiplier, d)


def test_make_divisible_min_value():
    assert evaluate("make_divisible(1, 8, 1)", {}) == 1 == _make_divisible_reference(1, 8, 1)
    assert evaluate("make_divisible(1, 8)", {}) == 8 == _make_divisible_reference(1, 8)
    assert evaluate("make_divisible(3, 8, 2)", {}) == 10 == _make_divisible_reference(3, 8, 2)


def test_depth_rounding_agrees_with_efficientnet():
    # torchvision's EfficientNet: int(math.ceil(num_layers * depth_mult)), for B0..B7
    for depth in (1.0, 1.1, 1.2, 1.4, 1.8, 2.2, 2.6, 3.1):
        for n in (1, 2, 3, 4):
            assert evaluate(f"ceil({n} * d)", {"d": depth}) == int(math.ceil(n * depth)), (n, depth)


# -- lists, comparisons and conditions (issue 18) -------------------------------------------

LISTS = {"rates": [12, 24, 36], "grid": [[1, 2], [4]], "i": 1, "s": 1, "c": 8, "se": True, "no": False,
         "w": 0.5, "act": "relu", "empty": []}


@pytest.mark.parametrize("text, value", [
    ("rates[0]", 12), ("rates[-1]", 36), ("rates[i + 1]", 36), ("2 * rates[i]", 48), ("grid[0][1]", 2),
    ("len(rates)", 3), ("len(grid[1])", 1), ("max(rates)", 36), ("min(rates) // 4", 3),
    ("s == 1", True), ("s != 1", False), ("c >= 8", True), ("c < 8", False), ("w <= 0.5", True),
    ("s == 1 and c == 8", True), ("s == 2 or c == 8", True), ("not se", False), ("not s == 2", True),
    ("se and not no", True), ("no or se and no", False),          # and binds tighter than or
    ("(no or se) and se", True), ("act == act", True), ("act == 1", False), ("rates == rates", True),
    ("s == 1.0", True), ("1 + 2 == 3", True), ("-rates[0]", -12), ("-" * 200 + "s", 1),
    ("no and rates[9] == 1", False), ("se or rates[9] == 1", True),   # short-circuit, as Python
])
def test_lists_comparisons_and_conditions(text, value):
    got = evaluate(text, LISTS)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, words", [
    ("rates[3]", "index 3 is out of range: 'rates' has 3 values \\(0 to 2\\)"),
    ("rates[-4]", "out of range"), ("empty[0]", "'empty' is empty"),
    ("rates[w]", "a list index is an integer, got 0.5"), ("rates[se]", "got true"),
    ("c[0]", "'c' is 8, not a list"), ("rates + 1", "'rates' is the list \\[12, 24, 36\\], not a number"),
    ("se + 1", "'se' is true, not a number"), ("c and se", "'and' takes true or false; 'c' is 8"),
    ("not c", "'not' takes true or false"), ("no or 1", "'or' takes true or false"),
    ("s < 2 < 3", "cannot be chained"), ("act < 1", "'act' is 'relu', not a number"),
    ("rates[0", "missing '\\]'.*quote an expression that indexes"), ("len(c)", "len\\(\\) takes one list"),
    ("max(empty)", "empty list"), ("max(rates, 1)", "not a number"), ("[1, 2]", "unexpected '\\['"),
    ("s ==", "incomplete"), ("and s", "unexpected 'and'"), ("s = 1", "unexpected character '='"),
    ("(" * 33 + "1" + ")" * 33, "nested deeper than 32"), ("rates" + "[0]" * 33, "not a list"),
    ("r" + "[0" * 40 + "]" * 40, "nested deeper than 32"),
])
def test_list_and_condition_errors(text, words):
    with pytest.raises(ExprError, match=words):
        evaluate(text, LISTS)


def test_every_text_of_the_length_limit_parses_within_the_recursion_limit():
    """Brackets nest at most 32 deep and chains are loops, so no text of 256 characters
    reaches Python's recursion limit (a RecursionError would be a crash)."""
    import sys

    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(400)
        for text in ["1" + " + 1" * 63, "-" * 255 + "1", "not " * 60 + "se", "(" * 32 + "1" + ")" * 32,
                     "s == 1 and " * 20 + "se", "max(" * 32 + "1, 2" + ")" * 32]:
            try:
                evaluate(text[:256], LISTS)
            except ExprError:
                pass
    finally:
        sys.setrecursionlimit(limit)
