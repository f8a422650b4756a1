"""Topological order, backward, accumulation, replay and no_grad."""

import numpy as np
import pytest
from hypothesis import given

import minigraph as mg
from minigraph.testing import expressions, logistic_regression_data
from minigraph.models import logistic_regression_graph


def test_order_puts_every_node_after_its_inputs_and_keeps_repeated_edges():
    x = mg.parameter(3.0, name="x")
    y = x * x
    z = y + x
    order = mg.topological_order(z)
    assert order[-1] is z and len(order) == 3
    position = {id(n): i for i, n in enumerate(order)}
    assert all(position[id(i)] < position[id(n)] for n in order for i in n.inputs)
    assert y.inputs == (x, x)


def test_node_used_twice_gets_both_contributions():
    x = mg.parameter(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    a = mg.parameter(2.0)
    b = a * 3.0
    (b * a + b).backward()  # d/da (3a² + 3a) = 6a + 3
    assert a.grad == 15.0


def test_chain_of_100000_nodes_backpropagates_without_recursion():
    x = mg.parameter(np.array([1.0, 2.0]))
    node = x
    for _ in range(100_000):
        node = node * 1.0
    mg.sum(node).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    assert len(mg.Graph(node)) == 100_001 + 100_000  # the 1.0 constants are nodes too


def test_backward_accumulates_into_leaves_but_not_into_op_nodes():
    w = mg.parameter([1.0, 2.0])
    h = w * 2.0
    cost = mg.sum(h)
    cost.backward()
    cost.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 4.0])  # leaves add up, like PyTorch
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])  # op nodes hold this pass's gradient
    cost.zero_grad()
    assert w.grad is None and h.grad is None
    cost.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_non_scalar_backward_needs_a_seed_of_its_shape():
    out = mg.parameter(np.ones((2, 3)), name="h") * 2.0
    with pytest.raises(mg.SeedError, match=r"'mul' of shape \(2, 3\) needs a seed"):
        out.backward()
    with pytest.raises(mg.SeedError, match=r"seed has shape \(3,\)"):
        out.backward(np.ones(3))
    out.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(out.inputs[0].grad, np.full((2, 3), 2.0))


def test_constants_get_no_gradient():
    x = mg.constant(np.ones((3, 2)), name="x")
    w = mg.parameter(np.ones((1, 3)))
    mg.sum(w @ x).backward()
    assert x.grad is None and w.grad is not None


def test_no_grad_records_no_edges():
    w = mg.parameter(2.0)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        out = w * 3.0
    assert mg.is_grad_enabled()
    assert out.op is None and out.inputs == () and not out.requires_grad
    assert out.value == 6.0


def test_graph_lists_parameters_in_order():
    x = mg.constant(np.ones((2, 4)), name="x")
    y = mg.constant(np.zeros((1, 4)), name="y")
    w, b = mg.parameter(np.ones((2, 1)), name="w"), mg.parameter(0.0, name="b")
    graph = mg.Graph(logistic_regression_graph(x, y, w, b))
    assert [p.name for p in graph.parameters] == ["w", "b"]
    assert graph.nodes[-1] is graph.output


@given(logistic_regression_data())
def test_replay_gives_the_same_values_and_gradients_as_rebuilding(data):
    x, y, w, b = data
    W, B = mg.parameter(w), mg.parameter(b)
    graph = mg.Graph(logistic_regression_graph(mg.constant(x), mg.constant(y), W, B))
    graph.backward()
    W.value -= 0.5 * W.grad
    B.value -= 0.5 * B.grad
    graph.zero_grad()
    graph.forward()
    graph.backward()

    W2, B2 = mg.parameter(W.value), mg.parameter(B.value)
    rebuilt = logistic_regression_graph(mg.constant(x), mg.constant(y), W2, B2)
    rebuilt.backward()
    assert graph.output.value == rebuilt.value
    np.testing.assert_array_equal(W.grad, W2.grad)
    np.testing.assert_array_equal(B.grad, B2.grad)


@given(expressions())
def test_replay_of_random_graphs_matches_rebuilding(expression):
    leaves = [mg.parameter(x) for x in expression.inputs]
    graph = mg.Graph(expression.build(*leaves))
    for leaf in leaves:
        leaf.value = leaf.value * 0.5
    replayed = graph.forward()
    rebuilt = expression.build(*[mg.parameter(leaf.value) for leaf in leaves])
    np.testing.assert_array_equal(replayed, rebuilt.value)


def test_replay_that_turns_nan_names_the_node_instead_of_returning_nan():
    x = mg.parameter([1.0, 2.0], name="x")
    cost = mg.sum(mg.log(x, name="log x"))
    graph = mg.Graph(cost)
    x.value[:] = [-1.0, 2.0]
    with np.errstate(invalid="ignore"), pytest.raises(mg.NonFiniteError, match=r"log 'log x' produced NaN or inf from 'x' in \[-1, 2\]"):
        graph.forward()
