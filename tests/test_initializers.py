"""netc.initializers.sample against the formulas of its table (§5.3)."""

import math

import numpy as np
import pytest

from netc.initializers import sample

FAN_IN, FAN_OUT = 300, 500
# name -> (uniform bound or None, standard deviation), from the published formulas
EXPECTED = {
    "xavier_uniform": (math.sqrt(6 / (FAN_IN + FAN_OUT)), None),
    "xavier_normal": (None, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "caffe_xavier": (math.sqrt(3 / FAN_IN), None),
    "he_normal": (None, math.sqrt(2 / FAN_IN)),
    "he_uniform": (math.sqrt(6 / FAN_IN), None),
    "lecun_normal": (None, math.sqrt(1 / FAN_IN)),
    "lecun_uniform": (math.sqrt(3 / FAN_IN), None),
    "glorot_uniform": (math.sqrt(6 / (FAN_IN + FAN_OUT)), None),
    "glorot_normal": (None, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "kaiming_normal": (None, math.sqrt(2 / FAN_IN)),
    "kaiming_uniform": (math.sqrt(6 / FAN_IN), None),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_sample_matches_the_formula(name):
    bound, std = EXPECTED[name]
    w = sample(name, (400, 500), FAN_IN, FAN_OUT, np.random.default_rng(0))
    assert w.dtype == np.float32 and w.shape == (400, 500)
    if bound is not None:
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
        std = bound / math.sqrt(3)
    assert w.std() == pytest.approx(std, rel=0.01)


def test_constants():
    rng = np.random.default_rng(0)
    assert (sample("zeros", (3,), 1, 1, rng) == 0).all()
    assert (sample("ones", (3,), 1, 1, rng) == 1).all()
    assert (sample({"constant": 0.5}, (2, 2), 1, 1, rng) == 0.5).all()
