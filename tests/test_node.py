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


def test_parameter_and_constant_copy_the_callers_data():
    data = np.ones(3)
    p, c = mg.parameter(data), mg.constant(data)
    p.value = p.value + 1
    assert data[0] == 1.0 and p.value[0] == 2.0
    assert not np.shares_memory(c.value, data) and data.flags.writeable  # as torch.tensor copies


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


def test_float16_is_refused_with_a_reason():
    with pytest.raises(TypeError, match=r"float16 is not supported; use float32 or float64"):
        mg.parameter(np.ones(2, dtype=np.float16), name="w")
    with pytest.raises(TypeError, match="float16 is not supported"):
        mg.constant([1.0], dtype=np.float16)


def test_leaf_values_are_read_only_and_assignment_makes_a_new_version():
    w = mg.parameter([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match="read-only"):
        w.value[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        w.value -= 1.0
    w.value = [3.0, 4.0]
    assert w.version == 1 and w.value.tolist() == [3.0, 4.0] and not w.value.flags.writeable
    with pytest.raises(TypeError, match=r"'mul' is computed by mul; give its leaves new values"):
        (w * 2.0).value = [0.0, 0.0]


def test_node_names_must_be_strings_and_control_characters_are_shown_as_escapes():
    with pytest.raises(TypeError, match="a node's name must be a string or None, got int 3"):
        mg.parameter(1.0, name=3)
    node = mg.parameter(1.0, name="w\x00\u202ex")
    assert node.label == "w\\x00\\u202ex"


def test_nodes_have_the_methods_micrograd_and_pytorch_users_reach_for():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    a = mg.parameter(x)
    for method, reference in [("sigmoid", 1 / (1 + np.exp(-x))), ("tanh", np.tanh(x)), ("relu", np.maximum(x, 0)),
                              ("exp", np.exp(x))]:
        np.testing.assert_allclose(getattr(a, method)().value, reference)
    np.testing.assert_allclose(mg.parameter(np.abs(x)).log().value, np.log(np.abs(x)))
    assert a.sum().value == x.sum() and a.mean(axis=0).value.tolist() == x.mean(axis=0).tolist()
    assert a.sum(axis=1, keepdims=True).shape == (2, 1)


def test_a_leaf_that_held_complex_values_takes_real_ones_back_as_real():
    w = mg.parameter([1.0, 2.0])
    w.value = np.array([1.0 + 1e-20j, 2.0])
    assert w.dtype == np.complex128
    w.value = np.array([1.0, 2.0])
    assert w.dtype == np.float64
    f32 = mg.parameter(np.ones(2, dtype=np.float32))
    f32.value = [3.0, 4.0]
    assert f32.dtype == np.float32  # a real leaf keeps its float dtype


def test_replayed_scalar_values_stay_arrays():
    x = mg.parameter(0.5)
    out = mg.exp(mg.tanh(x) * 2.0)
    graph = mg.Graph(out)
    graph.forward()
    assert all(type(node.value) is np.ndarray for node in graph.nodes)


def test_a_constant_does_not_follow_later_edits_of_the_callers_array():
    arr = np.array([1.0, 2.0])
    w = mg.parameter([1.0, 1.0], name="w")
    k = mg.constant(arr, name="k")
    cost = mg.sum(w * k)
    arr[0] = 100.0
    cost.backward()
    assert cost.value == 3.0
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])  # the value and its gradient agree
    k.value = arr  # assignment copies too
    arr[1] = -5.0
    assert k.value.tolist() == [100.0, 2.0]


def test_a_constant_borrows_an_array_nobody_can_write_to():
    data = np.ones((2, 3))
    data.flags.writeable = False
    assert np.shares_memory(mg.constant(data).value, data)  # no copy of read-only data
    writeable = np.arange(6.0)
    view = writeable[:]
    view.flags.writeable = False  # read-only, but its base can still be written
    assert not np.shares_memory(mg.constant(view).value, writeable)
