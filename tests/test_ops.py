"""Every op's gradient against finite differences, complex step and its closed form."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigraph as mg
from minigraph.testing import (
    broadcastable_pair,
    float_arrays,
    matmul_pair,
    positive_arrays,
    shapes,
)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name: (function of a node, strategy for its input, closed-form derivative)
UNARY = {
    "neg": (lambda a: -a, float_arrays(), lambda x: -np.ones_like(x)),
    "exp": (mg.exp, float_arrays(), np.exp),
    "log": (mg.log, positive_arrays(), lambda x: 1 / x),
    "tanh": (mg.tanh, float_arrays(), lambda x: 1 - np.tanh(x) ** 2),
    "relu": (mg.relu, float_arrays(away_from=0.0), lambda x: (x > 0).astype(float)),
    "sigmoid": (mg.sigmoid, float_arrays(), lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "square": (lambda a: a**2, float_arrays(), lambda x: 2 * x),
    "cube": (lambda a: a**3, float_arrays(), lambda x: 3 * x**2),
    "sqrt": (lambda a: a**0.5, positive_arrays(), lambda x: 0.5 / np.sqrt(x)),
    "reciprocal": (lambda a: a**-1, positive_arrays(), lambda x: -1 / x**2),
    "transpose": (lambda a: a.T, float_arrays(), np.ones_like),
    "sum": (mg.sum, float_arrays(), np.ones_like),
    "mean": (mg.mean, float_arrays(), lambda x: np.full_like(x, 1 / x.size)),
}
COMPLEX_SAFE = {"neg", "exp", "log", "tanh", "square", "cube", "reciprocal", "transpose", "sum", "mean"}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_gradient_matches_finite_differences_and_closed_form(name, data):
    fn, strategy, derivative = UNARY[name]
    x = data.draw(strategy)
    mg.check_gradients(fn, x)
    node = mg.parameter(x)
    mg.sum(fn(node)).backward()
    np.testing.assert_allclose(node.grad, derivative(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(COMPLEX_SAFE))
@given(data=st.data())
def test_unary_gradient_matches_complex_step(name, data):
    fn, strategy, _ = UNARY[name]
    mg.check_gradients(fn, data.draw(strategy), mode="complex", atol=1e-12, rtol=1e-10)


BINARY = {
    "add": (lambda a, b: a + b, broadcastable_pair()),
    "sub": (lambda a, b: a - b, broadcastable_pair()),
    "mul": (lambda a, b: a * b, broadcastable_pair()),
    "div": (lambda a, b: a / b, broadcastable_pair().map(lambda p: (p[0], 1.5 + np.abs(p[1])))),
    "matmul": (lambda a, b: a @ b, matmul_pair()),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_gradient_with_broadcasting(name, data):
    fn, strategy = BINARY[name]
    a, b = data.draw(strategy)
    mg.check_gradients(fn, a, b)
    mg.check_gradients(fn, a, b, mode="complex", atol=1e-12, rtol=1e-10)


@given(matmul_pair())
def test_matmul_gradient_closed_form(pair):
    a, b = pair
    A, B = mg.parameter(a), mg.parameter(b)
    G = np.random.default_rng(0).standard_normal(np.matmul(a, b).shape)
    (A @ B).backward(G)
    np.testing.assert_allclose(A.grad, G @ np.swapaxes(b, -1, -2))
    np.testing.assert_allclose(B.grad, np.swapaxes(a, -1, -2) @ G)


@given(broadcastable_pair())
def test_broadcast_gradient_is_summed_back_to_each_input_shape(pair):
    a, b = pair
    A, B = mg.parameter(a), mg.parameter(b)
    mg.sum(A * B).backward()
    assert A.grad.shape == a.shape and B.grad.shape == b.shape
    full = np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(A.grad, mg.unbroadcast(np.broadcast_to(b, full), a.shape))


@given(float_arrays(shapes(min_dims=2, max_dims=3)), st.data())
def test_sum_and_mean_over_axes(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdims = data.draw(st.booleans())
    for reduce in (mg.sum, mg.mean):
        mg.check_gradients(lambda a: reduce(a, axis=axis, keepdims=keepdims), x)


@given(float_arrays(shapes(min_dims=3, max_dims=3)), st.permutations([0, 1, 2]))
def test_transpose_with_axes(x, axes):
    mg.check_gradients(lambda a: mg.transpose(a, axes), x, mode="complex")


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: mg.constant(np.ones((1, 3)), name="w") @ mg.constant(np.ones((4, 2)), name="x"),
         r"matmul: cannot multiply \(1, 3\) by \(4, 2\).*'w' \(1, 3\), 'x' \(4, 2\)"),
        (lambda: mg.constant(np.ones((2, 3)), name="a") + mg.constant(np.ones((4, 3)), name="b"),
         r"add: shapes \(2, 3\) and \(4, 3\) do not broadcast.*'a' \(2, 3\), 'b' \(4, 3\)"),
        (lambda: mg.log_loss(mg.constant(np.full((1, 3), 0.5), name="p"), np.ones(3)),
         r"log_loss: predictions \(1, 3\) and labels \(3,\) must have the same shape"),
        (lambda: mg.sum(np.ones((2, 2)), axis=2), r"axis 2 is out of range"),
    ],
)
def test_shape_errors_name_the_op_nodes_and_shapes(build, message):
    with pytest.raises(mg.ShapeError, match=message):
        build()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: mg.log(mg.constant([1.0, -2.0], name="v")), r"log: log of a value <= 0: -2.0 at index \(1,\).*'v' \(2,\)"),
        (lambda: mg.constant([1.0]) / mg.constant([0.0], name="d"), r"division by zero"),
        (lambda: mg.constant([-1.0]) ** 0.5, r"fractional power"),
        (lambda: mg.exp(mg.constant([800.0])), r"exp overflows"),
        (lambda: mg.log_loss([0.5, 1.5], [0.0, 1.0]), r"probabilities must lie in \[0, 1\]"),
        (lambda: mg.log_loss([0.5, 0.5], [0.0, 2.0]), r"labels must lie in \[0, 1\]"),
    ],
)
def test_values_outside_an_ops_domain_are_refused_not_turned_into_nan(build, message):
    with pytest.raises(mg.DomainError, match=message):
        build()


def test_power_needs_a_number_exponent():
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        mg.parameter(2.0) ** mg.parameter(3.0)
