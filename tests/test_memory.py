"""Training and inference memory (§6.2) and the largest batch that fits."""

import pytest

import netc
from conftest import EXAMPLES
from netc.memory import OPTIMIZER_STATE, parse_bytes


@pytest.fixture(scope="module")
def fig7():
    return netc.load(EXAMPLES / "murphy-fig7.yaml")


P = 66_970_728                                   # Figure 7's parameters, checked in test_paper
ACTS = 357_216 + 215_296 + 64_896 + 9_600 + 9_600 + 4_096 + 4_096 + 1_000 + 1_000
INPUT = 3 * 125 * 125


def test_activation_total(fig7):
    assert fig7.totals.activations == ACTS


@pytest.mark.parametrize("optimizer, copies", [("sgd", 0), ("momentum", 1), ("nesterov", 1),
                                               ("adagrad", 1), ("rmsprop", 1), ("adam", 2)])
def test_training_memory(fig7, optimizer, copies):
    m = fig7.memory(batch=32, dtype="float32", optimizer=optimizer)
    assert m.parameters == m.gradients == 4 * P
    assert m.optimizer_state == copies * 4 * P
    assert m.saved_activations == 32 * 4 * (INPUT + ACTS)
    # the widest backward step: conv2's output gradient and its input's (conv1's output)
    assert m.backward_working == 32 * 4 * (215_296 + 357_216)
    assert m.training == (2 + copies) * 4 * P + 32 * 4 * (INPUT + ACTS + 215_296 + 357_216)
    assert OPTIMIZER_STATE[optimizer] == copies


def test_inference_peak_is_live_tensors_not_the_sum(fig7):
    m = fig7.memory(batch=2, dtype="float16")
    # running conv2 needs conv1's output and its own: the largest live pair
    assert m.inference_activations == 2 * 2 * (357_216 + 215_296)
    assert m.inference == 2 * P + m.inference_activations


def test_inference_peak_keeps_branches_alive():
    net = netc.loads("""netc: 1
input: {shape: [1, 10, 10]}
layers:
  - conv: {name: a, filters: 4, kernel: 1}
  - conv: {name: b, filters: 2, kernel: 1}
  - conv: {name: c, filters: 2, kernel: 1}
  - concat: {from: [a, c]}
""", "m.yaml")
    # input 100 is freed after a; while c runs, a (kept for the concat), b and c are live:
    # 400 + 200 + 200; then b is freed and the concat holds a, c and its own 600: the peak.
    assert net.memory().inference_activations == 4 * (400 + 200 + 600)
    assert net.memory(batch=3).inference_activations == 3 * 4 * 1200


def test_largest_batch(fig7):
    m = fig7.memory(optimizer="adam")
    device = 8 * 10**9
    train, infer = m.max_batch(device)
    per_train = 4 * (INPUT + ACTS + 215_296 + 357_216)
    assert train == (device - 4 * 4 * P) // per_train
    assert m.training_fixed + train * per_train <= device < m.training_fixed + (train + 1) * per_train
    assert infer == (device - 4 * P) // (4 * (357_216 + 215_296))
    assert m.max_batch(100) == (0, 0)
    assert m.max_batch(device).training == train and m.max_batch(device).inference == infer


def test_a_memory_size_without_its_unit_is_refused():
    """'--device-memory 8' meant 8 bytes, silently; now it names the missing unit."""
    for text in ("8", "16", " 8 "):
        with pytest.raises(ValueError, match="needs its unit"):
            parse_bytes(text)


@pytest.mark.parametrize("text, value", [("8GB", 8 * 10**9), ("16GiB", 16 * 2**30), ("512MB", 512 * 10**6),
                                         ("1.5GB", 1_500_000_000), ("100B", 100), ("2 gib", 2 * 2**30)])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "GB", "8XB", "-1GB", "0", "0.5B", "1e9"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError):
        parse_bytes(text)
