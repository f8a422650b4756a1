"""Topological order, backward, accumulation, replay and no_grad."""

import numpy as np
import pytest
from hypothesis import given

import minigraph as mg
from minigraph.assistant import StalledGradientWarning
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


def test_backward_gives_one_pass_gradients_unless_asked_to_accumulate():
    w = mg.parameter([1.0, 2.0])
    h = w * 2.0
    cost = mg.sum(h)
    cost.backward()
    cost.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])  # one pass, one answer
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    cost.backward(accumulate=True)
    np.testing.assert_array_equal(w.grad, [4.0, 4.0])  # leaves add up, as in PyTorch
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])  # op nodes hold this pass's gradient
    cost.zero_grad()
    assert w.grad is None and h.grad is None


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
    W.value = W.value - 0.5 * W.grad
    B.value = B.value - 0.5 * B.grad
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


def test_replay_after_a_new_leaf_value_checks_every_op_as_building_does():
    x = mg.parameter([1.0, 2.0], name="x")
    graph = mg.Graph(mg.sum(mg.log(x, name="log x")))
    x.value = [-1.0, 2.0]
    with pytest.raises(mg.DomainError, match=r"log 'log x': log of a value <= 0: -1.0 at index \(0,\)"):
        graph.forward()


def test_replay_that_turns_nan_names_the_node_instead_of_returning_nan(recwarn):
    x = mg.parameter([1.0, 2.0], name="x")
    graph = mg.Graph(mg.sum(mg.log(x, name="log x")))
    graph.forward()  # a graph's first replay checks every op; later ones only after new leaf values
    x.grad = np.array([2.0, 0.0])
    mg.SGD([x], learning_rate=1.0).step()  # an optimizer's step: no checks on replay, only NaN/inf
    with pytest.raises(mg.NonFiniteError, match=r"log 'log x' produced NaN or inf from 'x' in \[-1, 2\]"):
        graph.forward()
    assert not recwarn.list  # numpy's RuntimeWarning does not leak


# Graphs pickled, copied, and extended in another process

PICKLE_AND_EXTEND = r"""
import pickle, sys
import numpy as np
import minigraph as mg

def extend(w, b, cost):
    # New nodes built on the loaded ones: they must sort after them.
    return cost + mg.sum(w * w, name="l2") * 0.5 + b * b

if sys.argv[1] == "save":
    for _ in range(5000):  # numbers many nodes in this process, so serials here are large
        mg.constant(0.0)
    w, b = mg.parameter([[0.3], [-0.2]], name="w"), mg.parameter(0.1, name="b")
    x = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]], name="x")
    cost = mg.mean(mg.log_loss(mg.sigmoid(w.T @ x + b), [[0.0, 1.0, 1.0]]), name="cost")
    pickle.dump((w, b, cost), open(sys.argv[2], "wb"))
else:
    w, b, cost = pickle.load(open(sys.argv[2], "rb"))
    total = extend(w, b, cost)
    total.backward()
    fresh_w, fresh_b = mg.parameter([[0.3], [-0.2]]), mg.parameter(0.1)
    x = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
    fresh = extend(fresh_w, fresh_b, mg.mean(mg.log_loss(mg.sigmoid(fresh_w.T @ x + fresh_b), [[0.0, 1.0, 1.0]])))
    fresh.backward()
    assert total.value == fresh.value, (total.value, fresh.value)
    np.testing.assert_array_equal(w.grad, fresh_w.grad)
    np.testing.assert_array_equal(b.grad, fresh_b.grad)
    print("same gradients", w.grad.ravel().tolist(), float(b.grad))
"""


def test_a_graph_pickled_in_one_process_and_extended_in_another_backpropagates_fully(tmp_path):
    import subprocess
    import sys

    script, saved = tmp_path / "extend.py", tmp_path / "graph.pickle"
    script.write_text(PICKLE_AND_EXTEND)
    for step in ("save", "load"):
        result = subprocess.run([sys.executable, str(script), step, str(saved)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("same gradients")


def test_pickling_and_deep_copying_a_100000_node_chain_keeps_it_whole():
    import copy
    import pickle

    x = mg.parameter([1.0, 2.0], name="x")
    node = x
    for _ in range(50_000):
        node = node * 1.0
    out = mg.sum(node)
    for copied_x, copied_out in [pickle.loads(pickle.dumps((x, out))), copy.deepcopy((x, out))]:
        graph = mg.Graph(copied_out)
        assert len(graph) == len(mg.Graph(out)) and graph.nodes[0] is copied_x
        copied_out.backward()
        np.testing.assert_array_equal(copied_x.grad, [1.0, 1.0])
        assert not copied_x.value.flags.writeable  # still guarded against edits in place
    # Nothing is left marked on the original: pickling it again still works the same way.
    assert pickle.loads(pickle.dumps(out)).value == out.value


def test_copies_of_a_graph_sort_correctly_when_extended():
    import copy

    w = mg.parameter(2.0, name="w")
    cost = w * w
    copied = copy.deepcopy(cost)
    extended = copied + copied.inputs[0] * 3.0  # d/dw (w² + 3w) = 2w + 3
    extended.backward()
    assert copied.inputs[0].grad == 7.0 and w.grad is None


# Replay checks what building checks

def lesson(m):
    x = mg.constant(np.linspace(0, 1, 12).reshape(2, 6)[:, :m], name="x")
    y = mg.constant((np.arange(m) % 2).reshape(1, m).astype(float), name="y")
    w, b = mg.parameter([[0.1], [-0.2]], name="w"), mg.parameter(0.0, name="b")
    return x, y, w, b, logistic_regression_graph(x, y, w, b)


def test_replay_takes_a_batch_of_another_size_and_matches_rebuilding():
    x, y, w, b, cost = lesson(6)
    graph = mg.Graph(cost)
    x.value, y.value = x.value[:, :4], y.value[:, :4]  # a last, smaller batch
    graph.forward()
    graph.backward()
    *_, fresh = lesson(4)
    fresh.backward()
    assert graph.output.value == fresh.value
    np.testing.assert_array_equal(w.grad, mg.Graph(fresh).parameters[0].grad)


def test_replay_refuses_a_new_value_whose_shape_does_not_fit_naming_the_node():
    x, y, w, b, cost = lesson(6)
    graph = mg.Graph(cost)
    y.value = np.zeros((1, 5))  # labels for 5 samples, predictions for 6
    with pytest.raises(mg.ShapeError, match=r"log_loss 'loss': predictions \(1, 6\) and labels \(1, 5\)"):
        graph.forward()
    y.value = np.zeros((6, 1))  # would broadcast silently to (6, 6) without the check
    with pytest.raises(mg.ShapeError, match=r"predictions \(1, 6\) and labels \(6, 1\)"):
        graph.forward()


def test_replay_reports_a_nan_leaf_by_name():
    x, y, w, b, cost = lesson(3)
    graph = mg.Graph(cost)
    x.value = np.array([[0.1, np.nan, 0.3], [0.4, 0.5, 0.6]])
    with pytest.raises(mg.NonFiniteError, match=r"the constant 'x' holds NaN or inf \(nan at index \(0, 1\)\)"):
        graph.forward()


def test_backward_names_the_node_whose_gradient_turned_nan_or_inf(recwarn):
    x = mg.parameter([4.0, 1.0], name="x")
    root = mg.power(x, 0.5, name="root")
    graph = mg.Graph(mg.sum(root))
    graph.forward()
    x.grad = np.array([0.0, 1.0])
    mg.SGD([x], learning_rate=1.0).step()  # x = [4, 0]: √0 is fine, its gradient is not
    graph.forward()
    with pytest.raises(mg.NonFiniteError, match=r"gradient of 'x' holds NaN or inf \(inf at index \(1,\)\): "
                                               r"power 0.5 'root' sent it from a finite gradient"):
        graph.backward()
    assert not recwarn.list


# Values changed behind the graph's back

def test_backward_refuses_values_computed_from_an_older_leaf():
    x, y, w, b, cost = lesson(3)
    w.value = [[0.5], [0.5]]
    with pytest.raises(mg.StaleGraphError, match=r"transpose 'wᵀ' was computed from an earlier value of 'w'.*forward\(\)"):
        cost.backward()
    graph = mg.Graph(cost)
    graph.forward()
    graph.backward()  # replayed: fine
    mg.SGD(graph.parameters, 0.1).step()
    with pytest.raises(mg.StaleGraphError, match="earlier value of 'w'"):
        graph.backward()
    graph.forward()
    graph.backward()


@pytest.mark.parametrize("seed, message", [
    (np.array([1.0, np.nan]), r"seed for 'h' holds nan at index \(1,\); a seed must be finite"),
    ("abc", r"seed for 'h' is not numeric: 'abc'"),
    (np.array([np.inf, 1.0]), "holds inf"),
])
def test_bad_seeds_are_refused(seed, message):
    h = mg.mul(mg.parameter([1.0, 2.0]), 2.0, name="h")
    with pytest.raises(mg.SeedError, match=message):
        h.backward(seed)


# A custom op's backward that breaks the contract is named, with its input

class BareArray(mg.Op):
    name = "bare"

    def forward(self, a):
        return a * 2

    def backward(self, grad, out, a):
        return grad * 2  # should be a tuple


class TooMany(BareArray):
    def backward(self, grad, out, a):
        return grad * 2, grad


class WrongShape(BareArray):
    def backward(self, grad, out, a):
        return (np.ones((3, 3)),)


class NoneForNeeded(BareArray):
    def backward(self, grad, out, a):
        return (None,)


@pytest.mark.parametrize("op, error, message", [
    (BareArray(), mg.OpContractError, r"BareArray.backward \(node 'b'\) returned a ndarray; it must return a tuple"),
    (TooMany(), mg.OpContractError, r"TooMany.backward \(node 'b'\) returned 2 gradient\(s\) for 1 input"),
    (WrongShape(), mg.ShapeError, r"WrongShape.backward \(node 'b'\): the gradient for input 0 \('w'\) has shape \(3, 3\)"),
    (NoneForNeeded(), mg.OpContractError, r"returned None for input 0 \('w'\), which needs a gradient"),
])
def test_custom_op_backward_contract_errors_name_the_op_class_and_input(op, error, message):
    w = mg.parameter([[1.0, 2.0]], name="w")
    with pytest.raises(error, match=message):
        mg.sum(mg.apply(op, w, name="b")).backward()


def test_graph_labels_are_short_unique_and_scoped():
    with mg.scope("layer1"):
        W = mg.parameter(np.ones((2, 2)), name="W")
        z = mg.matmul(W, np.ones((2, 1)), name="z")
    w = mg.parameter(np.ones((2, 1)))
    out = mg.sum(2 * (mg.matmul(w.T, z) + mg.matmul(w.T, z)))
    graph = mg.Graph(out)
    labels = [graph.label(n) for n in graph.nodes]
    assert labels == ["layer1.W", "layer1.constant", "layer1.z", "parameter", "parameterᵀ₁", "matmul₁",
                      "parameterᵀ₂", "matmul₂", "z", "2", "mul", "sum"]
    assert z.scope == ("layer1",) and out.scope == ()
    with pytest.raises(ValueError, match="contains '/'"), mg.scope("a/b"):
        pass


@pytest.mark.parametrize("call", [mg.Graph, mg.explain, mg.to_dot, mg.forward_steps, lambda x: list(mg.backward_steps(x))])
@pytest.mark.parametrize("target", [3, "cost", [1.0], None])
def test_what_is_not_a_node_or_graph_is_refused_by_name(call, target):
    with pytest.raises(TypeError, match=f"from a minigraph Node .* not {type(target).__name__}"):
        result = call(target)
        list(result) if hasattr(result, "__next__") else None


# Execution may fuse (backward(fuse=True)), display never does

@given(logistic_regression_data())
def test_fused_backward_gives_the_parameters_the_unfused_gradients(data):
    x, y, w, b = data
    W, B = mg.parameter(w, name="w"), mg.parameter(b, name="b")
    graph = mg.Graph(logistic_regression_graph(mg.constant(x), mg.constant(y), W, B))
    graph.backward()
    plain = W.grad, B.grad
    graph.backward(fuse=True)
    np.testing.assert_allclose(W.grad, plain[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(B.grad, plain[1], rtol=1e-12, atol=1e-15)


def test_fusion_skips_only_the_node_in_between_and_pictures_come_from_a_plain_pass():
    x, y, w, b, cost = lesson(3)
    graph = mg.Graph(cost)
    y_hat = next(n for n in graph.nodes if n.name == "ŷ")
    graph.backward()
    picture, story = mg.to_dot(graph), [str(step) for step in mg.backward_steps(graph)]
    graph.backward(fuse=True)
    assert y_hat.grad is None and all(n.grad is not None for n in graph.nodes if n.requires_grad and n is not y_hat)
    assert [str(step) for step in mg.backward_steps(graph)] == story
    graph.backward()
    assert mg.to_dot(graph) == picture and y_hat.grad is not None


def test_fusion_does_not_apply_where_the_sigmoid_feeds_something_else():
    z = mg.parameter([[0.3, -1.2]], name="z")
    p = mg.sigmoid(z, name="p")
    cost = mg.sum(mg.log_loss(p, [[1.0, 0.0]])) + mg.sum(p * 2.0)
    graph = mg.Graph(cost)
    graph.backward()
    plain = z.grad
    graph.backward(fuse=True)
    np.testing.assert_array_equal(z.grad, plain)
    assert p.grad is not None


def test_where_the_sigmoid_rounds_to_one_the_fused_gradient_does_not_vanish():
    z = mg.parameter([[40.0]], name="z")
    cost = mg.sum(mg.log_loss(mg.sigmoid(z), [[0.0]]))
    graph = mg.Graph(cost)
    with pytest.warns(StalledGradientWarning, match="use log_loss_with_logits"):  # and says so
        graph.backward()
    assert z.grad[0, 0] == 0.0  # σ(40) is exactly 1 in float64, so σ(1−σ) is 0
    graph.backward(fuse=True)
    assert z.grad[0, 0] == 1.0  # σ(z) − y


def test_fusion_does_not_apply_where_the_labels_need_a_gradient_too():
    z = mg.parameter([[0.3, -1.2]], name="z")
    y = mg.parameter([[0.9, 0.2]], name="soft labels")
    p = mg.sigmoid(z, name="p")
    graph = mg.Graph(mg.sum(mg.log_loss(p, y)))
    graph.backward()
    plain = z.grad, y.grad
    graph.backward(fuse=True)
    np.testing.assert_array_equal(z.grad, plain[0])
    np.testing.assert_array_equal(y.grad, plain[1])
    assert p.grad is not None


def test_every_leaf_owns_its_gradient_array():
    a, b = mg.parameter([1.0, 2.0], name="a"), mg.parameter([3.0, 4.0], name="b")
    mg.sum(a + b).backward()  # add sends the same gradient to both inputs
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad *= 0.5  # gradient scaling, as training code does, touches a alone
    np.testing.assert_array_equal(a.grad, [0.5, 0.5])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    p = mg.parameter(2.0, name="p")
    p.backward()  # the output itself is the leaf: it must not hold the graph's unit seed
    p.grad *= 3.0
    p.backward()
    assert p.grad == 1.0


def test_backward_copies_the_callers_seed():
    p = mg.parameter([1.0, 2.0, 3.0], name="p")
    seed = np.ones(3)
    (p + 1).backward(seed)
    seed[:] = 100
    np.testing.assert_array_equal(p.grad, [1.0, 1.0, 1.0])
    p.backward(seed)  # p is the output and the leaf
    seed[:] = 7
    np.testing.assert_array_equal(p.grad, [100.0, 100.0, 100.0])


def test_accumulated_gradient_of_a_scalar_parameter_stays_a_0d_array():
    w = mg.parameter(3.0, name="w")
    cost = w * 2.0
    cost.backward()
    cost.backward(accumulate=True)
    assert type(w.grad) is np.ndarray and w.grad.shape == () and w.grad == 4.0


def test_all_finite_is_not_fooled_by_a_sum_that_overflows():
    from minigraph.graph import all_finite
    from minigraph.quiet import quiet

    for dtype in (np.float64, np.float32):
        big = np.finfo(dtype).max
        for size in (2, 40):  # summed by Python, then by numpy
            with_inf = np.full(size, big, dtype)
            with_inf[-1] = np.inf
            with quiet():  # as its callers call it: numpy's own sum may overflow
                assert all_finite(np.full(size, big, dtype)) and not all_finite(with_inf)
