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
    reshapes,
    shapes,
    untied_pair,
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
    mg.check_gradients(fn, data.draw(strategy), mode="complex")


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
    mg.check_gradients(fn, a, b, mode="complex")


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
        (lambda: mg.exp(mg.constant([800.0], name="big")), r"exp: the result is inf at index \(0,\), from 'big' = 800.0: it overflows float64"),
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


# Axes: negative, tuples, out of range (issue: a negative transpose axis gave a wrong gradient)

def _transpose_vjp_reference(r, axes, shape):
    """The gradient of sum(r · aᵀ) with respect to a, by writing r through numpy's own view."""
    grad = np.zeros(shape)
    np.transpose(grad, axes)[...] = r
    return grad


@given(float_arrays(shapes(min_dims=1, max_dims=4, max_side=3)), st.data())
def test_transpose_gradient_with_negative_axes_matches_a_reference(x, data):
    permutation = data.draw(st.permutations(range(x.ndim)))
    # Each axis written as given or as its negative twin: both mean the same axis.
    axes = tuple(a - x.ndim if data.draw(st.booleans()) else a for a in permutation)
    a = mg.parameter(x)
    out = mg.transpose(a, axes)
    np.testing.assert_array_equal(out.value, np.transpose(x, axes))
    r = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(r)
    np.testing.assert_array_equal(a.grad, _transpose_vjp_reference(r, axes, x.shape))


@given(float_arrays(shapes(min_dims=1, max_dims=4, max_side=3)), st.data())
def test_sum_and_mean_gradients_with_tuples_of_negative_axes_match_a_reference(x, data):
    chosen = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
    axis = tuple(a - x.ndim if data.draw(st.booleans()) else a for a in chosen)
    keepdims = data.draw(st.booleans())
    count = int(np.prod([x.shape[a] for a in axis]))
    for reduce, scale in ((mg.sum, 1.0), (mg.mean, 1.0 / count)):
        a = mg.parameter(x)
        out = reduce(a, axis=axis, keepdims=keepdims)
        r = np.random.default_rng(1).standard_normal(out.shape)
        out.backward(r)
        kept = r.reshape(np.sum(x, axis=axis, keepdims=True).shape)
        np.testing.assert_allclose(a.grad, np.broadcast_to(kept, x.shape) * scale, rtol=1e-15)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda a: mg.transpose(a, (0, 3, 1)), r"transpose axes \(0, 3, 1\) is out of range"),
        (lambda a: mg.transpose(a, (0, -3, 1)), r"transpose axes \(0, -3, 1\) names the same axis twice"),
        (lambda a: mg.transpose(a, (0, 1)), r"must name each of the 3 axes of \(2, 3, 4\) once"),
        (lambda a: mg.transpose(a, (0, 1.5, 2)), r"transpose axes must be whole numbers"),
        (lambda a: mg.sum(a, axis=1.5), r"axis must be whole numbers, got 1.5"),
        (lambda a: mg.mean(a, axis=(0, -3)), r"axis \(0, -3\) names the same axis twice"),
        (lambda a: mg.mean(a, axis=-4), r"axis -4 is out of range for an array of 3 dimension"),
        (lambda a: mg.sum(a, axis=True), r"axis must be whole numbers, got True"),
    ],
)
def test_bad_axes_are_refused_naming_the_node(build, message):
    a = mg.parameter(np.ones((2, 3, 4)), name="a")
    with pytest.raises(mg.ShapeError, match=message + r".*'a' \(2, 3, 4\)"):
        build(a)


# One op object, applied many times

def test_one_op_object_applied_twice_gives_each_node_its_own_gradient_needs():
    op = mg.ops.Mul()
    w, c, v = mg.parameter(2.0, name="w"), mg.constant(3.0, name="c"), mg.parameter(5.0, name="v")
    first = mg.apply(op, w, c)   # w needs a gradient, c does not
    second = mg.apply(op, c, v)  # now the other way round
    mg.add(first, second).backward()
    assert w.grad == 3.0 and v.grad == 3.0 and c.grad is None


class _Scale(mg.Op):
    """A custom op kept as one module-level object and applied everywhere."""

    name = "scale"
    formula = "∂(a·b)/∂a = b;  ∂(a·b)/∂b = a"

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        return grad * b, grad * a


SCALE = _Scale()


@given(float_arrays(shapes(max_dims=2)), float_arrays(shapes(max_dims=2)))
def test_a_module_level_custom_op_is_reusable(x, y):
    a, b = mg.parameter(x), mg.constant(y)
    mg.sum(mg.apply(SCALE, b, mg.apply(SCALE, a, b)) if x.shape == y.shape else mg.apply(SCALE, a, a)).backward()
    expected = 2 * x if x.shape != y.shape else y * y
    np.testing.assert_allclose(a.grad, expected)
    assert b.grad is None


# Overflow and the other ways a NaN or inf could appear while building

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "build, message",
    [
        (lambda big, dtype: big * big, r"mul: the result is inf at index \(1,\), from 'big' = .*, 'big' = "),
        (lambda big, dtype: big / mg.constant(np.array([1.0, 1e-30], dtype=dtype), name="small"),
         r"div: the result is inf at index \(1,\)"),
        (lambda big, dtype: big**3, r"power 3: the result is inf at index \(1,\)"),
        (lambda big, dtype: mg.exp(big), r"exp: the result is inf at index \(1,\)"),
        (lambda big, dtype: mg.sum(mg.constant(np.full(3, np.finfo(dtype).max / 2, dtype=dtype), name="halves")),
         r"sum: the result is inf at index \(\), from 'halves' = values in"),
    ],
)
def test_overflow_at_build_is_a_domain_error_naming_the_node_without_warnings(build, message, dtype, recwarn):
    big = mg.parameter(np.array([1.0, np.finfo(dtype).max / 2], dtype=dtype), name="big")
    with pytest.raises(mg.DomainError, match=message):
        build(big, dtype)
    assert not recwarn.list


def test_mean_of_no_values_is_refused():
    with pytest.raises(mg.DomainError, match=r"mean axis=0 'm': the mean of no values \(shape \(0, 3\), axis 0\)"):
        mg.mean(mg.parameter(np.ones((0, 3))), axis=0, name="m")
    assert mg.mean(np.ones((0, 3)), axis=1).shape == (0,)  # no element is a mean of nothing


def test_log_of_a_subnormal_is_refused_because_its_gradient_would_be_inf():
    with pytest.raises(mg.DomainError, match=r"its gradient 1/a is inf: 1e-310 at index \(1,\)"):
        mg.log(mg.parameter([1.0, 1e-310]))


@pytest.mark.parametrize("exponent, message", [
    (float("nan"), "must be finite, got nan"), (float("inf"), "must be finite, got inf"),
    (10**400, "is too large for a float"),
], ids=["nan", "inf", "10**400"])
def test_power_needs_a_finite_exponent(exponent, message):
    with pytest.raises(ValueError, match=message):
        mg.parameter(2.0) ** exponent


def test_a_python_number_too_big_for_float32_is_refused_naming_the_node():
    x = mg.parameter(np.ones(2, dtype=np.float32), name="x")
    with pytest.raises(mg.DomainError, match=r"1e\+300 does not fit in float32 \(largest 3.403e\+38\), the dtype of 'x'"):
        x * 1e300
    assert (x * 1e30).dtype == np.float32


# reshape

@given(reshapes())
def test_reshape_gradient_is_the_upstream_gradient_reshaped_back(case):
    x, shape = case
    out = mg.reshape(mg.parameter(x), shape)
    np.testing.assert_array_equal(out.value, x.reshape(shape))
    mg.check_gradients(lambda a: mg.reshape(a, shape), x, mode="complex")
    a = mg.parameter(x)
    r = np.random.default_rng(0).standard_normal(out.shape)
    mg.reshape(a, shape).backward(r)
    np.testing.assert_array_equal(a.grad, r.reshape(x.shape))


def test_reshape_with_minus_one_follows_a_new_batch_on_replay():
    x = mg.constant(np.arange(12.0).reshape(3, 4), name="x")
    w = mg.parameter(np.ones((1, 4)), name="w")
    cost = mg.sum(w @ mg.reshape(x, (4, -1)))
    graph = mg.Graph(cost)
    x.value = np.arange(8.0).reshape(2, 4)  # 8 elements: the -1 becomes 2
    assert graph.forward() == np.arange(8.0).sum()
    x.value = np.arange(6.0).reshape(2, 3)  # 6 elements do not fill 4 rows
    with pytest.raises(mg.ShapeError, match=r"reshape \(4, -1\): cannot reshape \(2, 3\) \(6 elements\) into \(4, -1\).*'x' \(2, 3\)"):
        graph.forward()


@pytest.mark.parametrize("shape, error, message", [
    ((4, 2), mg.ShapeError, r"reshape \(4, 2\) 'r': cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\) \(8 elements\).*'a' \(2, 3\)"),
    ((-1, -1), mg.ShapeError, r"reshape 'a': the sides of \(-1, -1\) must be sizes ≥ 0, with at most one -1"),
    ((3, -2), mg.ShapeError, r"must be sizes ≥ 0"),
    ((0, -1), mg.ShapeError, r"no whole size fits the -1"),
    ((2.0, 3), TypeError, r"reshape 'a': the shape must be whole numbers, got \(2.0, 3\)"),
    ("6", TypeError, r"the shape must be whole numbers"),
])
def test_reshape_refuses_shapes_that_do_not_fit_naming_the_node(shape, error, message):
    with pytest.raises(error, match=message):
        mg.reshape(mg.parameter(np.ones((2, 3)), name="a"), shape, name="r")


# softmax and log_softmax

def _explicit_softmax_vjp(p, g, axis):
    """Gᵀ J with the Jacobian J = diag(p) − p pᵀ of each slice written out in full."""
    p, g = np.moveaxis(p, axis, -1), np.moveaxis(g, axis, -1)
    jacobian = np.einsum("...i,ij->...ij", p, np.eye(p.shape[-1])) - np.einsum("...i,...j->...ij", p, p)
    return np.moveaxis(np.einsum("...ij,...i->...j", jacobian, g), -1, axis)


@given(float_arrays(shapes(min_dims=1, max_dims=3), -10, 10), st.data())
def test_softmax_and_log_softmax_match_scipy_finite_differences_and_the_explicit_jacobian(z, data):
    from scipy.special import log_softmax as scipy_log_softmax, softmax as scipy_softmax

    axis = data.draw(st.integers(-z.ndim, z.ndim - 1))
    p = scipy_softmax(z, axis=axis)
    np.testing.assert_allclose(mg.softmax(z, axis).value, p, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(mg.log_softmax(z, axis).value, scipy_log_softmax(z, axis=axis), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.sum(mg.softmax(z, axis).value, axis=axis), 1.0, rtol=1e-12)
    for fn in (mg.softmax, mg.log_softmax):
        mg.check_gradients(lambda z: fn(z, axis), z)
    mg.check_gradients(lambda z: mg.log_softmax(z, axis), z, mode="complex")
    g = np.random.default_rng(2).standard_normal(z.shape)
    Z = mg.parameter(z)
    mg.softmax(Z, axis).backward(g)
    np.testing.assert_allclose(Z.grad, _explicit_softmax_vjp(p, g, axis), rtol=1e-9, atol=1e-14)
    # log p's Jacobian is I − 1 pᵀ: the gradient is G − p·ΣG.
    mg.log_softmax(Z, axis).backward(g)
    np.testing.assert_allclose(Z.grad, g - p * np.sum(g, axis=axis, keepdims=True), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_logits_of_plus_minus_1e4_is_finite_without_warnings(dtype, recwarn):
    z = mg.parameter(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 0.0]], dtype=dtype), name="z")
    p, log_p = mg.softmax(z), mg.log_softmax(z)
    assert p.dtype == log_p.dtype == dtype
    np.testing.assert_array_equal(p.value[:, :2], np.array([[1, 0], [0, 1], [0, 0]], dtype=dtype))
    np.testing.assert_allclose(p.value[:, 2], 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(log_p.value[:, 0], [0.0, -2e4, -1e4], rtol=1e-6)
    for out in (p, log_p):
        out.backward(np.ones(out.shape, dtype))
        assert np.isfinite(z.grad).all()
    assert not recwarn.list


@pytest.mark.parametrize("axis, message", [
    (2, r"axis 2 is out of range for an array of 2 dimension"),
    (1.0, r"axis must be one whole number, got 1.0"),
    ((0, 1), r"axis must be one whole number, got \(0, 1\)"),
])
def test_softmax_refuses_a_bad_axis_naming_the_node(axis, message):
    for fn in (mg.softmax, mg.log_softmax):
        with pytest.raises(mg.ShapeError, match=message + r".*'z' \(2, 3\)"):
            fn(mg.parameter(np.ones((2, 3)), name="z"), axis)


def test_softmax_over_an_empty_axis_is_refused():
    with pytest.raises(mg.ShapeError, match=r"nothing to normalise over: axis 0 of \(0, 3\) is empty"):
        mg.softmax(np.ones((0, 3)))


# maximum and leaky_relu

@given(untied_pair())
def test_maximum_sends_the_gradient_to_the_larger_input(pair):
    a, b = pair
    mg.check_gradients(mg.maximum, a, b)
    A, B = mg.parameter(a), mg.parameter(b)
    out = mg.maximum(A, B)
    np.testing.assert_array_equal(out.value, np.maximum(a, b))
    out.backward(np.ones(out.shape))
    full = out.shape
    np.testing.assert_array_equal(A.grad, mg.unbroadcast(np.broadcast_to(a > b, full).astype(float), a.shape))
    np.testing.assert_array_equal(B.grad, mg.unbroadcast(np.broadcast_to(b > a, full).astype(float), b.shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maximum_splits_a_tie_evenly_so_maximum_of_x_and_x_has_gradient_one(dtype):
    a = mg.parameter(np.array([1.0, 2.0, 3.0], dtype=dtype), name="a")
    b = mg.parameter(np.array([0.0, 2.0, 4.0], dtype=dtype), name="b")
    mg.maximum(a, b).backward(np.full(3, 4.0, dtype))
    np.testing.assert_array_equal(a.grad, [4.0, 2.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 2.0, 4.0])
    assert a.grad.dtype == b.grad.dtype == dtype
    mg.sum(mg.maximum(a, a)).backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 1.0])


def test_maximum_with_a_number_and_shapes_that_do_not_broadcast():
    x = mg.parameter(np.array([-1.0, 2.0], dtype=np.float32), name="x")
    assert mg.maximum(x, 0).dtype == np.float32
    with pytest.raises(mg.ShapeError, match=r"maximum: shapes \(2,\) and \(3,\) do not broadcast"):
        mg.maximum(x, np.ones(3))


@given(float_arrays(away_from=0.0), st.sampled_from([0.0, 0.01, 0.2, 1.0]))
def test_leaky_relu_gradient_is_one_or_the_slope(x, slope):
    mg.check_gradients(lambda a: mg.leaky_relu(a, slope), x)
    a = mg.parameter(x)
    out = mg.leaky_relu(a, slope)
    np.testing.assert_array_equal(out.value, np.where(x > 0, x, slope * x))
    mg.sum(out).backward()
    np.testing.assert_array_equal(a.grad, np.where(x > 0, 1.0, slope))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_at_zero_takes_the_slope_and_keeps_the_dtype(dtype):
    a = mg.parameter(np.array([-2.0, 0.0, 3.0], dtype=dtype))
    out = mg.leaky_relu(a, 0.1)
    mg.sum(out).backward()
    assert out.dtype == a.grad.dtype == dtype
    np.testing.assert_allclose(a.grad, [0.1, 0.1, 1.0], rtol=1e-7)
    assert str(out.op) == "leaky_relu 0.1"


@pytest.mark.parametrize("slope", [-0.1, 1.5, "0.1", True, float("nan")])
def test_leaky_relu_refuses_a_slope_outside_zero_to_one(slope):
    with pytest.raises(ValueError, match=r"leaky_relu: slope must be a number in \[0, 1\]"):
        mg.leaky_relu(mg.parameter([1.0]), slope)
