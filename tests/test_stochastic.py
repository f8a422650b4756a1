"""Dropout (minigraph.stochastic): its mask is an input of the graph, reused on replay and redrawn on request."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigraph as mg
from minigraph.stochastic import as_generator
from minigraph.testing import float_arrays, shapes


def mask_of(node):
    """The mask input of a dropout node."""
    assert node.op.name == "dropout"
    return node.inputs[1]


@given(float_arrays(shapes(min_dims=1)), st.floats(0.0, 0.9))
def test_dropout_multiplies_by_its_mask_and_sends_the_mask_back_as_the_gradient(x, rate):
    a = mg.parameter(x)
    out = mg.dropout(a, rate, rng=0)
    mask = mask_of(out).value
    scale = np.float64(1) / (1 - rate)
    assert np.isin(mask, [0.0, scale]).all()
    np.testing.assert_array_equal(out.value, x * mask)
    g = np.random.default_rng(1).standard_normal(x.shape)
    out.backward(g)
    np.testing.assert_array_equal(a.grad, g * mask)
    mg.check_gradients(lambda a: mg.dropout(a, rate, rng=0), x)


def test_dropout_drops_about_rate_of_the_units_and_keeps_the_mean():
    rate, n = 0.3, 200_000
    out = mg.dropout(np.ones(n), rate, rng=np.random.default_rng(5))
    dropped = np.mean(out.value == 0)
    # The dropped fraction is binomial: within 5 standard deviations of the rate.
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    assert out.value.mean() == pytest.approx(1.0, abs=5 * np.sqrt(rate / (1 - rate) / n))


def test_the_mask_is_a_named_constant_of_the_graph_that_replay_reuses():
    a = mg.parameter(np.arange(1.0, 9.0), name="a")
    with mg.scope("layer1"):
        out = mg.dropout(a, 0.5, rng=3)
    cost = mg.sum(out * out)
    graph = mg.Graph(cost)
    mask = mask_of(out)
    assert mask in graph.leaves and mask.kind == "constant" and graph.label(mask) == "layer1.mask"
    first = graph.forward()
    a.value = a.value * 2
    np.testing.assert_allclose(graph.forward(), 4 * first)  # the same units dropped


def test_the_same_seed_draws_the_same_mask_and_float32_stays_float32():
    x = np.ones((4, 5), dtype=np.float32)
    first, second = mg.dropout(x, 0.5, rng=9), mg.dropout(x, 0.5, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(mask_of(first).value, mask_of(second).value)
    assert first.dtype == mask_of(first).dtype == np.float32
    np.testing.assert_array_equal(mg.dropout(x, 0.0, rng=0).value, x)


def test_resample_dropout_draws_new_masks_for_a_batch_of_another_size():
    rng = np.random.default_rng(0)
    x = mg.constant(rng.standard_normal((3, 8)), name="x")
    y = mg.constant(rng.integers(0, 2, 8), name="y")
    net = mg.layers.mlp([3, 50, 2], rng=1, dropout=0.5)
    graph = mg.Graph(mg.softmax_cross_entropy(net(x), y))
    dropouts = [node for node in graph.nodes if node.op is not None and node.op.name == "dropout"]
    old_mask = mask_of(dropouts[0]).value

    mg.resample_dropout(graph, rng)
    assert not np.array_equal(mask_of(dropouts[0]).value, old_mask)
    graph.backward()  # the values are fresh: no StaleGraphError

    x.value, y.value = rng.standard_normal((3, 5)), rng.integers(0, 2, 5)
    with pytest.raises(mg.ShapeError, match=r"dropout 0.5: the mask has shape \(50, 8\) but the input has \(50, 5\).*resample_dropout"):
        graph.forward()
    cost = mg.resample_dropout(graph, rng)
    assert mask_of(dropouts[0]).shape == (50, 5)
    assert cost == graph.output.value
    graph.backward()
    assert net[0].W.grad.shape == (50, 3)


def test_resample_dropout_reaches_a_dropout_applied_to_a_leaf_and_accepts_a_node():
    x = mg.parameter(np.ones(1000), name="x")
    out = mg.sum(mg.dropout(x, 0.5, rng=0))
    before = out.value
    after = mg.resample_dropout(out, 1)
    assert after != before  # 1000 coin flips came out differently
    assert after == np.sum(mask_of(out.inputs[0]).value)


def test_a_graph_without_dropout_is_simply_replayed():
    w = mg.parameter([1.0, 2.0])
    cost = mg.sum(w * w)
    assert mg.resample_dropout(cost, 0) == 5.0


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.5", None, True])
def test_dropout_refuses_a_rate_outside_zero_to_one(rate):
    with pytest.raises(ValueError, match=r"dropout: rate \(the fraction of units dropped\) must be a number in \[0, 1\)"):
        mg.dropout(np.ones(3), rate, rng=0)


def test_dropout_refuses_something_that_is_not_a_generator_or_a_seed():
    with pytest.raises(TypeError, match=r"rng must be a numpy Generator .* got RandomState"):
        mg.dropout(np.ones(3), 0.5, rng=np.random.RandomState(0))


def test_as_generator_passes_a_generator_through_and_seeds_from_an_int():
    rng = np.random.default_rng(3)
    assert as_generator(rng) is rng
    assert as_generator(3).random() == np.random.default_rng(3).random()
    assert isinstance(as_generator(None), np.random.Generator)
