"""Leaves, operators with numbers and arrays on either side, dtypes and bad data."""

import numpy as np
import pytest

import minigraph as mg


def test_operators_accept_numbers_and_arrays_on_either_side():
    x = mg.parameter(np.array([1.0, 2.0]))
    a = np.array([3.0, 4.0])
    cases = {
        "x + 1": (x + 1, [2, 3]), "1 + x": (1 + x, [2, 3]),
        "x - a": (x - a, [-2, -2]), "a - x": (a - x, [2, 2]),
        "2 * x": (2 * x, [2, 4]), "x * a": (x * a, [3, 8]),
        "x / 2": (x / 2, [0.5, 1]), "2 / x": (2 / x, [2, 1]),
        "x ** 2": (x**2, [1, 4]), "-x": (-x, [-1, -2]),
    }
    for text, (node, expected) in cases.items():
        assert isinstance(node, mg.Node), text
        np.testing.assert_array_equal(node.value, expected, err_msg=text)
    m = np.ones((1, 2))
    assert (m @ x.value.reshape(2, 1)).shape == (m @ mg.constant(x.value.reshape(2, 1))).shape


def test_parameter_copies_and_constant_does_not():
    data = np.ones(3)
    p, c = mg.parameter(data), mg.constant(data)
    p.value += 1
    assert data[0] == 1.0 and c.value is data


def test_float64_by_default_and_float32_kept_end_to_end():
    assert mg.parameter([1, 2]).dtype == np.float64
    x = mg.parameter(np.ones((2, 2), dtype=np.float32))
    out = mg.mean(mg.log_loss(mg.sigmoid(0.5 * x @ x + 1), np.ones((2, 2), dtype=np.float32)))
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("data", [[1.0, np.nan], [np.inf, 0.0]])
def test_nan_and_inf_data_are_refused_with_their_position(data):
    with pytest.raises(ValueError, match=r"'x' of shape \(2,\) holds 1 NaN/inf value\(s\), the first at index"):
        mg.constant(data, name="x")


@pytest.mark.parametrize("data", [["a", "b"], [object()], {"a": 1}])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="not numeric"):
        mg.parameter(data, name="w")


def test_repr_and_label_say_what_a_node_is():
    w = mg.parameter(np.ones((2, 1)), name="w")
    z = w.T
    assert "'w' parameter shape (2, 1)" in repr(w)
    assert z.label == "transpose" and mg.constant(1.0).label == "constant"
