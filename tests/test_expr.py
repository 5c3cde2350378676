import pytest

from netc.expr import ExprError, evaluate

SCOPE = {"width": 64, "t": 6, "act": "relu", "flag": True}


@pytest.mark.parametrize("text, value", [
    ("width * 4", 256), ("width*4+1", 257), ("(width + 2) // 3", 22), ("width / 4", 16),
    ("-width + 1", -63), ("width % 5", 4), ("2 * (3 + t)", 18), ("act", "relu"), ("flag", True),
    ("  width  ", 64), ("1 - 2 - 3", -4), ("100 // 7 // 2", 7),
])
def test_evaluates(text, value):
    assert evaluate(text, SCOPE) == value


@pytest.mark.parametrize("text, words", [
    ("width / 3", "not a whole number"), ("wdth * 2", "did you mean 'width'"),
    ("width // 0", "division by zero"), ("2 * (3", "missing '\\)'"), ("act * 2", "not an integer"),
    ("__import__('os')", "unexpected character"), ("__import__", "unknown name"), ("width ** 2", "unexpected"), ("width.real", "unexpected"),
    ("9" * 30, "beyond"), ("x" * 300, "longer than"), ("", "empty"), ("3 +", "incomplete"),
    ("lambda: 1", "unexpected character"),
])
def test_rejects(text, words):
    with pytest.raises(ExprError, match=words):
        evaluate(text, SCOPE)


def test_growth_is_bounded():
    with pytest.raises(ExprError, match="beyond"):
        evaluate("*".join(["999999"] * 20), {})
