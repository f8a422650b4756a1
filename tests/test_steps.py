"""Forward and backward steps as data, and the narration built from them."""

import io

import numpy as np
from hypothesis import given

import minigraph as mg
from minigraph.testing import expressions, logistic_regression_data
from minigraph.models import logistic_regression_graph, tiny_example


def lesson_graph(data):
    x, y, w, b = data
    W, B = mg.parameter(w, name="w"), mg.parameter(b, name="b")
    return logistic_regression_graph(mg.constant(x, name="x"), mg.constant(y, name="y"), W, B), W, B


@given(logistic_regression_data())
def test_contributions_recorded_for_each_parameter_add_up_to_its_gradient(data):
    cost, W, B = lesson_graph(data)
    steps = list(mg.backward_steps(cost))
    for parameter in (W, B):
        sent = [c.sent for s in steps for c in s.contributions if c.to is parameter]
        np.testing.assert_array_equal(np.sum(sent, axis=0), parameter.grad)
    expected, W2, B2 = lesson_graph(data)
    expected.backward()
    np.testing.assert_array_equal(W.grad, W2.grad)
    np.testing.assert_array_equal(B.grad, B2.grad)


@given(expressions())
def test_backward_steps_come_in_reverse_topological_order(expression):
    output = expression.build(*[mg.parameter(x) for x in expression.inputs])
    steps = list(mg.backward_steps(output))
    position = {id(s.node): i for i, s in enumerate(steps)}
    assert steps[0].node is output
    for step in steps:
        for inp in step.node.inputs:
            if id(inp) in position:  # an op input is stepped after the op that uses it
                assert position[id(inp)] > position[id(step.node)]


def test_a_node_used_twice_shows_two_contributions_that_add_up():
    x = mg.parameter(3.0, name="x")
    (step,) = mg.backward_steps(x * x)
    first, second = step.contributions
    assert (first.to, second.to) == (x, x)
    assert not first.added and second.added
    assert first.sent == 3.0 and second.before == 3.0 and second.total == 6.0 == x.grad


def test_forward_steps_recompute_from_the_current_leaves():
    cost = tiny_example()
    w = mg.Graph(cost).parameters[0]
    w.value = np.ones_like(w.value)
    steps = list(mg.forward_steps(cost))
    assert [s.number for s in steps] == list(range(1, 11))
    matmul_step = next(s for s in steps if s.node.label == "matmul")
    np.testing.assert_allclose(matmul_step.value, [[0.9, 1.0, 0.9]])
    assert steps[-1].node is cost and steps[-1].value == cost.value


def test_steps_carry_the_op_formula_and_local_derivative():
    cost = tiny_example()
    steps = {s.node.label: s for s in mg.backward_steps(cost)}
    sigmoid = steps["ŷ"]
    assert sigmoid.formula == mg.activations.Sigmoid.formula
    (to_z,) = sigmoid.contributions
    y_hat = sigmoid.node.value
    np.testing.assert_allclose(to_z.local, y_hat * (1 - y_hat))
    np.testing.assert_allclose(to_z.sent, sigmoid.upstream * y_hat * (1 - y_hat))
    assert steps["matmul"].contributions[0].local is None  # not elementwise: formula only


def test_explain_narrates_both_passes_with_real_numbers_for_a_tiny_graph():
    out = io.StringIO()
    mg.explain(tiny_example(), file=out)
    text = out.getvalue()
    assert "Forward pass: 10 nodes" in text and "Backward pass" in text
    assert "  8. ŷ = sigmoid(z)" in text
    assert "out: ŷ = [[0.5022 0.5025 0.5022]]" in text
    assert "local ∂ŷ/∂z = [[0.25 0.25 0.25]]" in text
    assert "summed back to b (scalar) = -0.1643" in text
    assert "∂cost/∂w = [[-0.1821] [0.01765]]" in text


def test_explain_summarises_big_arrays():
    x = mg.constant(np.linspace(0, 1, 4096 * 3).reshape(4096, 3), name="x")
    w = mg.parameter(np.full((4096, 1), 0.01), name="w")
    out = io.StringIO()
    mg.explain(mg.mean(w.T @ x), file=out)
    assert "w is a parameter (4096×1): mean 0.01, min 0.01, max 0.01" in out.getvalue()
