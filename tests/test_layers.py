"""Layers: Linear and its initialisations, activation layers, Sequential and mlp, conv layers."""

import numpy as np
import pytest

import minigraph as mg
from minigraph.layers import (
    Conv2d, Dropout, Flatten, LeakyReLU, Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Softmax, Tanh, mlp,
)


def test_linear_computes_w_x_plus_b_with_samples_as_columns_inside_its_scope():
    layer = Linear(3, 2, rng=0, name="layer1")
    assert layer.W.shape == (2, 3) and layer.b.shape == (2, 1)
    assert layer.parameters == [layer.W, layer.b]
    x = np.random.default_rng(1).standard_normal((3, 5))
    z = layer(x)
    np.testing.assert_allclose(z.value, layer.W.value @ x + layer.b.value, rtol=1e-15)
    graph = mg.Graph(z)
    labels = {graph.label(node) for node in graph.nodes}
    assert labels == {"layer1.W", "layer1.b", "layer1.matmul", "layer1.z", "constant"}
    assert all(node.scope == ("layer1",) for node in graph.nodes if node.op is not None or node.requires_grad)


def test_linear_reports_an_input_of_the_wrong_size_naming_its_weights():
    with pytest.raises(mg.ShapeError, match=r"cannot multiply \(2, 3\) by \(4, 5\).*'W' \(2, 3\), 'x' \(4, 5\)"):
        Linear(3, 2, rng=0)(mg.constant(np.ones((4, 5)), name="x"))


# Each initialisation's weights have the spread it promises: std 0.01 for the course's,
# √(2/(in+out)) for Xavier/Glorot, √(2/in) for He. With 200,000 weights the sample std is
# within 1% of the true one with overwhelming probability (its relative error is about
# 1/√(2n) = 0.16%), and the mean within 5 standard errors of 0.
@pytest.mark.parametrize("init, expected_std", [
    ("course", lambda fan_in, fan_out: 0.01),
    ("xavier", lambda fan_in, fan_out: np.sqrt(2 / (fan_in + fan_out))),
    ("he", lambda fan_in, fan_out: np.sqrt(2 / fan_in)),
])
def test_initialisations_have_the_documented_statistics(init, expected_std):
    fan_in, fan_out = 800, 250
    layer = Linear(fan_in, fan_out, init=init, rng=np.random.default_rng(42))
    weights = layer.W.value
    std = expected_std(fan_in, fan_out)
    assert weights.std() == pytest.approx(std, rel=0.01)
    assert abs(weights.mean()) < 5 * std / np.sqrt(weights.size)
    np.testing.assert_array_equal(layer.b.value, np.zeros((fan_out, 1)))


def test_initialisation_is_reproducible_from_a_seed_and_the_same_in_float32_rounded():
    a = Linear(5, 4, init="he", rng=7)
    b = Linear(5, 4, init="he", rng=np.random.default_rng(7))
    c = Linear(5, 4, init="he", rng=7, dtype=np.float32)
    np.testing.assert_array_equal(a.W.value, b.W.value)
    assert c.W.dtype == c.b.dtype == np.float32
    np.testing.assert_array_equal(c.W.value, a.W.value.astype(np.float32))
    assert not np.array_equal(Linear(5, 4, rng=8).W.value, Linear(5, 4, rng=7).W.value)


def test_layers_sharing_a_generator_draw_different_weights():
    rng = np.random.default_rng(0)
    assert not np.array_equal(Linear(3, 3, rng=rng).W.value, Linear(3, 3, rng=rng).W.value)


@pytest.mark.parametrize("build, error, message", [
    (lambda: Linear(0, 2), ValueError, r"Linear 'linear': in_features must be a whole number ≥ 1, got 0"),
    (lambda: Linear(3, 2.5), ValueError, r"out_features must be a whole number ≥ 1, got 2.5"),
    (lambda: Linear(3, True), ValueError, r"out_features must be a whole number ≥ 1, got True"),
    (lambda: Linear(3, 2, init="glorot"), ValueError, r"init must be one of 'course', 'xavier', 'he', got 'glorot'"),
    (lambda: Linear(3, 2, rng="seed"), TypeError, r"rng must be a numpy Generator .* got str"),
    (lambda: Linear(3, 2, dtype=np.float16), TypeError, r"float16 is not supported"),
])
def test_linear_refuses_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("layer, function", [
    (Tanh(), np.tanh),
    (ReLU(), lambda z: np.maximum(z, 0)),
    (Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
    (Softmax(), lambda z: np.exp(z) / np.exp(z).sum(axis=0)),
])
def test_activation_layers_apply_their_function_inside_their_own_scope(layer, function):
    z = np.random.default_rng(0).standard_normal((3, 4))
    out = layer(mg.parameter(z))
    np.testing.assert_allclose(out.value, function(z), rtol=1e-14)
    assert out.scope == (layer.name,) and out.op.name == layer.name


def test_sequential_applies_its_layers_in_order_and_lists_their_parameters():
    first, second = Linear(3, 4, rng=0, name="a"), Linear(4, 2, rng=1, name="b")
    net = Sequential(first, Tanh(), second)
    assert net.parameters == [first.W, first.b, second.W, second.b]
    assert len(net) == 3 and net[1].name == "tanh" and list(net)[2] is second
    x = np.random.default_rng(2).standard_normal((3, 5))
    expected = second.W.value @ np.tanh(first.W.value @ x + first.b.value) + second.b.value
    np.testing.assert_allclose(net(x).value, expected, rtol=1e-14)
    with pytest.raises(TypeError, match=r"Sequential: layer 1 \(3\) is not a callable layer"):
        Sequential(first, 3)


def test_mlp_puts_each_linear_and_its_activation_in_one_scope_per_layer():
    net = mlp([4, 6, 5, 3], hidden="tanh", output="softmax", rng=0)
    assert [type(layer).__name__ for layer in net] == ["Linear", "Tanh", "Linear", "Tanh", "Linear", "Softmax"]
    assert [layer.name for layer in net] == ["layer1", "layer1", "layer2", "layer2", "layer3", "layer3"]
    out = net(mg.constant(np.ones((4, 2)), name="x"))
    graph = mg.Graph(out)
    scopes = [node.scope for node in graph.nodes if node.name != "x"]
    assert sorted(set(scopes)) == [("layer1",), ("layer2",), ("layer3",)]
    np.testing.assert_allclose(out.value.sum(axis=0), 1.0)
    assert len(net.parameters) == 6


@pytest.mark.parametrize("hidden, init", [("relu", "he"), ("tanh", "xavier"), ("sigmoid", "xavier")])
def test_mlp_initialises_for_its_hidden_activation_unless_told(hidden, init):
    assert all(layer.init == init for layer in mlp([3, 4, 2], hidden=hidden)[::2])
    assert all(layer.init == "course" for layer in mlp([3, 4, 2], hidden=hidden, init="course")[::2])


def test_mlp_draws_the_same_weights_from_the_same_seed():
    for a, b in zip(mlp([3, 4, 2], rng=5).parameters, mlp([3, 4, 2], rng=5).parameters):
        np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"sizes": [3]}, r"sizes must list at least the input and output sizes, got \[3\]"),
    ({"sizes": [3, 2], "hidden": "gelu"}, r"hidden must be one of 'relu', 'leaky_relu', 'tanh', 'sigmoid'"),
    ({"sizes": [3, 2], "output": "linear"}, r"output must be one of None, 'softmax', 'relu'"),
])
def test_mlp_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mlp(**kwargs)


def test_mlp_gradients_match_backpropagation_written_out_in_numpy():
    # The course's equations for a tanh hidden layer and a softmax output, by hand.
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((3, 7)), rng.integers(0, 4, 7)
    net = mlp([3, 5, 4], hidden="tanh", rng=1)
    mg.softmax_cross_entropy(net(x), labels).backward()
    W1, b1, W2, b2 = (p.value for p in net.parameters)
    m = x.shape[1]
    A1 = np.tanh(W1 @ x + b1)
    Z2 = W2 @ A1 + b2
    A2 = np.exp(Z2) / np.exp(Z2).sum(axis=0)
    dZ2 = A2 - np.eye(4)[:, labels]
    dW2, db2 = dZ2 @ A1.T / m, dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = W2.T @ dZ2 * (1 - A1**2)
    dW1, db1 = dZ1 @ x.T / m, dZ1.sum(axis=1, keepdims=True) / m
    for node, expected in zip(net.parameters, (dW1, db1, dW2, db2)):
        np.testing.assert_allclose(node.grad, expected, rtol=1e-12, atol=1e-15)


def test_leaky_relu_layer_and_mlp_with_leaky_relu_hidden_layers():
    z = np.array([[-2.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.1)(z).value, [[-0.2, 3.0]])
    net = mlp([3, 4, 2], hidden="leaky_relu", rng=0)
    assert isinstance(net[1], LeakyReLU) and net[0].init == "he"


def test_dropout_layers_drop_while_training_and_pass_through_in_eval():
    net = mlp([3, 40, 2], hidden="tanh", rng=0, dropout=0.5)
    assert [type(layer).__name__ for layer in net] == ["Linear", "Tanh", "Dropout", "Linear"]
    assert net[2].name == "layer1" and net.parameters == net[0].parameters + net[3].parameters
    x = np.random.default_rng(1).standard_normal((3, 6))
    training = mg.Graph(net(x))
    masks = [node for node in training.leaves if node.name == "mask"]
    assert len(masks) == 1 and masks[0].scope == ("layer1",) and (masks[0].value == 0).any()
    assert net.eval() is net and not net[2].training
    predicting = mg.Graph(net(x))
    assert not any(node.name == "mask" for node in predicting.nodes)
    first, second = net[0], net[3]
    np.testing.assert_allclose(
        predicting.output.value, second.W.value @ np.tanh(first.W.value @ x + first.b.value) + second.b.value
    )
    assert net.train()[2].training


def test_dropout_layer_draws_a_new_mask_each_time_it_builds():
    layer = Dropout(0.5, rng=0)
    first, second = layer(np.ones(100)), layer(np.ones(100))
    assert not np.array_equal(first.value, second.value)
    with pytest.raises(ValueError, match=r"rate .* must be a number in \[0, 1\), got 1"):
        Dropout(1)
    with pytest.raises(ValueError, match=r"must be a number in \[0, 1\), got 2"):
        mlp([2, 3, 1], dropout=2)


# Convolutional layers: images N×C×H×W, then Flatten to the dense layers' columns. ------------


def test_conv2d_layer_computes_the_convolution_inside_its_scope_with_he_weights():
    layer = Conv2d(3, 40, 5, stride=2, padding=1, rng=0, name="conv1")
    assert layer.W.shape == (40, 3, 5, 5) and layer.b.shape == (40,)
    assert layer.parameters == [layer.W, layer.b]
    # He: std √(2 / fan_in), fan_in = 3·5·5 = 75 (3,000 weights: the sample std within ~5 %).
    assert layer.W.value.std() == pytest.approx(np.sqrt(2 / 75), rel=0.05)
    assert not layer.b.value.any()
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 9))
    z = layer(x)
    expected = mg.conv2d(x, layer.W.value, layer.b.value, stride=2, padding=1).value
    np.testing.assert_array_equal(z.value, expected)
    assert z.name == "z" and z.scope == ("conv1",) and layer.W.scope == ("conv1",)


def test_conv_layers_compose_with_dense_ones_through_one_flatten_step():
    net = Sequential(Conv2d(1, 4, 3, rng=0, name="conv1"), ReLU(name="conv1"), MaxPool2d(2, name="conv1"),
                     Flatten(), Linear(4 * 3 * 3, 5, init="he", rng=0, name="dense"))
    x = np.random.default_rng(2).standard_normal((7, 1, 8, 8))
    scores = net(x)
    assert scores.shape == (5, 7)  # one column per sample, as the course's dense layers want
    graph = mg.Graph(scores)
    flattens = [node for node in graph.nodes if node.op is not None and node.op.name == "flatten"]
    assert len(flattens) == 1 and flattens[0].name == "flatten" and flattens[0].scope == ()
    assert "flatten" in mg.to_dot(scores)
    assert len(net.parameters) == 4
    # The same numbers written out: conv, ReLU, 2×2 max, columns, W @ x + b.
    conv = mg.conv2d(x, net[0].W.value, net[0].b.value).value
    pooled = np.maximum(conv, 0).reshape(7, 4, 3, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_allclose(scores.value, net[4].W.value @ pooled.reshape(7, -1).T + net[4].b.value, rtol=1e-12)


@pytest.mark.parametrize("build, message", [
    (lambda: Conv2d(0, 4, 3), "in_channels must be a whole number ≥ 1, got 0"),
    (lambda: Conv2d(1, 4, 2.5), "kernel_size must be a whole number ≥ 1, got 2.5"),
    (lambda: Conv2d(1, 4, 3, padding=-1), "padding must be a whole number ≥ 0"),
    (lambda: Conv2d(1, 4, 3, init="lecun"), "init must be one of"),
    (lambda: MaxPool2d(0), "size must be a whole number ≥ 1, got 0"),
])
def test_conv_layers_refuse_bad_arguments_naming_the_layer(build, message):
    with pytest.raises(ValueError, match=message):
        build()
