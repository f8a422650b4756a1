"""Forward and backward steps as data, and the narration built from them.

The numbers the narration prints are checked against independent maths in test_teaching.
"""

import io
import re
import warnings

import numpy as np
import pytest
from hypothesis import given

import minigraph as mg
from minigraph.display import format_number
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
    assert (first.index, first.uses, second.index, second.uses) == (1, 2, 2, 2)
    assert first.sent == 3.0 and second.before == 3.0 and second.total == 6.0 == x.grad


@given(expressions())
def test_contributions_to_a_node_are_numbered_within_one_pass(expression):
    output = expression.build(*[mg.parameter(x) for x in expression.inputs])
    output.backward()  # an earlier pass must not count
    received = {}
    for step in mg.backward_steps(output):
        for c in step.contributions:
            received.setdefault(id(c.to), []).append(c)
    for contributions in received.values():
        assert [c.index for c in contributions] == list(range(1, len(contributions) + 1))
        assert {c.uses for c in contributions} == {len(contributions)}
        assert contributions[0].before is None
        np.testing.assert_allclose(contributions[-1].total, np.sum([c.sent for c in contributions], axis=0))


def narration(output, **options):
    text = io.StringIO()
    mg.explain(output, file=text, **options)
    return text.getvalue()


@pytest.mark.parametrize("earlier", [1, 2])
def test_narration_and_gradients_are_one_pass_whatever_ran_before(earlier):
    fresh = tiny_example()
    expected_text = narration(fresh)
    expected = {mg.Graph(fresh).label(p): p.grad for p in mg.Graph(fresh).parameters}
    cost = tiny_example()
    for _ in range(earlier):
        cost.backward()
    assert narration(cost) == expected_text
    for p in mg.Graph(cost).parameters:  # the leaves hold one pass's gradients, not a sum
        np.testing.assert_array_equal(p.grad, expected[mg.Graph(cost).label(p)])
    assert narration(cost) == expected_text  # and explaining again changes nothing


def test_used_more_than_once_only_for_fan_out_inside_the_pass():
    cost = tiny_example()
    cost.backward()
    assert "is used" not in narration(cost) and "contribution" not in narration(cost)
    x = mg.parameter(3.0, name="x")
    text = narration(mg.add(x * x, x, name="f"))
    assert text.count("x is used 3 times in this pass") == 1
    assert "contribution 1 of 3 = ∂f/∂f × ∂f/∂x = 1" in text
    assert "contribution 2 of 3 = ∂f/∂mul × ∂mul/∂x = 3" in text
    assert "the sum so far: ∂f/∂x = 1 + 3 = 4" in text
    assert "contribution 3 of 3 = ∂f/∂mul × ∂mul/∂x = 3" in text
    assert "the sum is now complete: ∂f/∂x = 4 + 3 = 7" in text


def test_formulas_name_the_graphs_own_nodes():
    text = narration(tiny_example())
    assert "to b: local ∂z/∂b = 1\n" in text and "∂(a+b)" not in text
    assert "to z: local ∂ŷ/∂z = ŷ·(1−ŷ) = [[0.25 0.25 0.25]]" in text
    assert "to ŷ: local ∂loss/∂ŷ = (ŷ−y)/(ŷ·(1−ŷ)) = " in text
    assert "to wᵀ: ∂cost/∂wᵀ = ∂cost/∂matmul @ xᵀ\n" in text
    assert "to w: ∂cost/∂w = (∂cost/∂wᵀ)ᵀ\n" in text


def test_a_constant_input_says_it_needs_no_gradient():
    text = narration(tiny_example())
    assert "to x: x is a constant, so it needs no gradient" in text
    assert "to y: y is a constant, so it needs no gradient" in text
    k = mg.constant([1.0, 2.0], name="k")
    v = mg.parameter([3.0, 4.0], name="v")
    assert "to k2: k2 is computed from constants only, so it needs no gradient" in narration(
        mg.sum(v * mg.mul(k, k, name="k2")))


def test_two_unnamed_ops_of_one_kind_get_distinct_labels_in_the_narration():
    a = mg.parameter([[1.0, 2.0]], name="a")
    text = narration(mg.sum(a @ a.T @ a))
    assert "matmul₁ = aᵀ @ a" not in text  # the second matmul uses the first
    assert "matmul₂ = matmul₁ @ a" in text
    assert "to matmul₁: ∂sum/∂matmul₁ = ∂sum/∂matmul₂ @ aᵀ" in text


def test_templates_fill_in_with_labels_and_an_unknown_placeholder_is_named():
    class Twice(mg.Op):
        name = "twice"
        elementwise = True
        derivatives = ("{nope}",)

        def forward(self, a):
            return 2 * a

        def backward(self, grad, out, a):
            return (2 * grad,)

    with pytest.raises(mg.OpContractError, match=r"Twice: the template '\{nope\}' names \{nope\}"):
        narration(mg.sum(mg.apply(Twice(), mg.parameter([1.0]))))


def test_an_op_without_templates_shows_its_formula_and_numbers():
    class Twice(mg.Op):
        name = "twice"
        formula = "∂(2a)/∂a = 2"
        elementwise = True

        def forward(self, a):
            return 2 * a

        def backward(self, grad, out, a):
            return (2 * grad,)

    text = narration(mg.sum(mg.apply(Twice(), mg.parameter([1.0, 5.0], name="a"), name="t")))
    assert "local: ∂(2a)/∂a = 2" in text and "to a: local ∂t/∂a = 2" in text


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
    to_b = steps["z"].contributions[1]
    assert to_b.product.shape == (1, 3) and to_b.sent.shape == ()  # b was broadcast, then summed
    assert steps["matmul"].contributions[0].local is None  # not elementwise: the product instead
    x = next(node for node in mg.Graph(cost).leaves if node.name == "x")
    np.testing.assert_allclose(steps["matmul"].contributions[0].product, steps["matmul"].upstream @ x.value.T)


def test_explain_narrates_both_passes_with_matrices_row_by_row():
    text = narration(tiny_example())
    assert "Forward pass: 10 nodes" in text and "Backward pass" in text
    assert "  8. ŷ = sigmoid(z)" in text
    assert "out: ŷ = [[0.5022 0.5025 0.5022]]" in text
    assert "  1. x is a constant (2×3): [[0.2 0.9 0.4]\n                             [0.7 0.1 0.5]]\n" in text
    assert "b (scalar) was broadcast to 1×3, so the product is summed back:" in text
    assert "    ∂cost/∂w = [[−0.1821 ]\n                [ 0.01765]]\n" in text


def test_explain_says_the_range_of_big_arrays_labelled_and_never_equates_it():
    pixels = np.linspace(0, 1, 4096 * 3).reshape(4096, 3)
    pixels[:5, 0] = 0.0  # a few zeros, which the narration counts
    x = mg.constant(pixels, name="x")
    w = mg.parameter(np.full((4096, 1), 0.01), name="w")
    text = narration(mg.mean(w.T @ x))
    grad = (x.value / 3).sum(axis=1)  # ∂mean/∂wᵀ, by hand: each column's x averaged over the 3 samples

    def number(v):
        return format_number(v).replace("-", "−")

    zeros = int(np.sum(x.value == 0))
    assert (f"x is a constant (4096×3): too big to print: min {number(x.value.min())}, max {number(x.value.max())}; "
            f"{zeros} of its {pixels.size} elements are 0\n") in text
    assert "w is a parameter (4096×1): too big to print: all of its 4096 elements are 0.01\n" in text
    # Too big for the arithmetic: the formula, a worked element and the result's range, after a colon.
    assert (f"∂mean/∂wᵀ = ∂mean/∂matmul @ xᵀ (1×4096): too big to print: min {number(grad.min())}, "
            f"max {number(grad.max())}") in text
    element = pixels[:, 2] @ w.value[:, 0]
    assert ("matmul[0, 2] = row 0 of wᵀ · column 2 of x = 0.01·0.0001628 + 0.01·0.0004069 + … + 0.01·1 "
            f"(4096 terms) = {number(element)}") in text
    assert not re.search(r"mean [−\d]|= too big|[=+] min", text)
    assert "…\n" not in text  # no corners


def test_max_shown_decides_what_is_printed_in_full():
    assert "x is a constant (2×7): too big to print: min 0.1, max 0.9\n" in narration(
        mg.sum(mg.constant(np.tile(tiny_example_x(), (1, 3))[:, :7], name="x") * mg.parameter(1.0)), max_shown=5)
    assert "ŷ = [[0.5022 0.5025 0.5022]]" not in narration(tiny_example(), max_shown=2)
    with pytest.raises(ValueError, match="max_shown must be 0 or more, got -1"):
        narration(tiny_example(), max_shown=-1)
    with pytest.raises(TypeError, match="max_shown must be a whole number"):
        narration(tiny_example(), max_shown=2.5)


def tiny_example_x():
    return np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])


def test_explain_takes_a_seed_for_a_non_scalar_output():
    v = mg.parameter([[1.0, 2.0], [3.0, 4.0]], name="v")
    product = mg.matmul(v.T, v, name="p")
    seed = np.array([[1.0, 0.0], [0.0, 2.0]])
    text = narration(product, seed=seed)
    assert "from the seed ∂L/∂p, where L = Σ seed·p" in text
    expected = v.value @ (seed + seed.T)  # ∂Σ(seed·vᵀv)/∂v, by hand
    np.testing.assert_array_equal(v.grad, expected)
    assert "    ∂L/∂v = [[2  8]\n             [6 16]]\n" in text


@pytest.mark.parametrize("seed, message", [
    (None, "explain: backward\\(\\) from 'p' of shape \\(2, 2\\) needs a seed"),
    (np.ones(3), "seed has shape \\(3,\\) but 'p' has shape \\(2, 2\\)"),
    (np.full((2, 2), np.nan), "a seed must be finite"),
])
def test_a_bad_seed_prints_nothing_and_raises(seed, message):
    v = mg.parameter([[1.0, 2.0], [3.0, 4.0]], name="v")
    text = io.StringIO()
    with pytest.raises(mg.SeedError, match=message):
        mg.explain(mg.matmul(v.T, v, name="p"), seed, file=text)
    assert text.getvalue() == ""


def test_after_accumulated_passes_the_narration_says_it_shows_one():
    cost = tiny_example()
    for _ in range(3):
        cost.backward(accumulate=True)
    w = next(p for p in mg.Graph(cost).parameters if p.name == "w")
    assert w.passes == 3
    text = narration(cost)
    assert text.startswith("Before this narration the parameters held gradients summed over several passes "
                           "(backward(accumulate=True)): w the sum of 3, b the sum of 3. This narrates one pass")
    assert w.passes == 1 and "Before this narration" not in narration(cost)


def test_scopes_fold_to_one_line_a_pass_and_unfold_on_request():
    from minigraph.models import tiny_mlp_example

    folded = narration(tiny_mlp_example(), collapse=True)
    assert "  9. layer1 (5 nodes, folded: collapse=False unfolds it): layer1.a = a 3×4 array\n" in folded
    assert " 18. layer1 (folded): sends nothing further back; its parameters layer1.W, layer1.b get their gradients" in folded
    assert "layer1.matmul =" not in folded
    unfolded = narration(tiny_mlp_example())  # 12 nodes: small enough to unfold by default
    assert "layer1.matmul = layer1.W @ X" in unfolded and "folded" not in unfolded
    with pytest.raises(ValueError, match=r"collapse names no scope \['layer9'\] of this graph; its top-level scopes are: layer1, layer2"):
        narration(tiny_mlp_example(), collapse={"layer9"})


def test_recorded_steps_keep_their_numbers_after_an_update_and_another_pass():
    # A parameter's array moves in place (optimizer.step); a record holds its own copy.
    w = mg.parameter([[0.5], [-1.0]], name="w")
    x = mg.constant([[1.0, 2.0], [3.0, -1.0]], name="x")
    cost = mg.mean(mg.sigmoid(w.T @ x))
    forward = list(mg.forward_steps(cost))
    backward = list(mg.backward_steps(cost))
    numbers = [[s.value, *s.input_values] for s in forward] + [
        [s.upstream, *s.input_values] + [a for c in s.contributions for a in (c.sent, c.total)] for s in backward]
    kept = [[np.array(a, copy=True) for a in arrays] for arrays in numbers]
    w.grad = w.grad * 1e3  # a big step, so every number that depends on w changes
    mg.SGD([w], 1.0).step()
    mg.Graph(cost).forward()
    cost.backward()
    for before, now in zip(kept, numbers):
        for a, b in zip(before, now):
            np.testing.assert_array_equal(a, b)
    assert forward[0].value[0, 0] == 0.5 and w.value[0, 0] != 0.5


def test_a_big_gradient_equal_to_the_upstream_one_is_written_g_and_an_even_array_by_its_value():
    x = mg.parameter(np.arange(100.0).reshape(10, 10), name="x")
    text = narration(mg.mean(mg.add(x, mg.parameter(np.ones((10, 10)), name="y"), name="s")))
    assert "∂mean/∂x = ∂mean/∂s × ∂s/∂x = g × 1 = g\n" in text
    assert "upstream g = ∂mean/∂s (10×10): too big to print: all of its 100 elements are 0.01\n" in text
    assert "x is a parameter (10×10): too big to print: min 0, max 99; 1 of its 100 elements is 0\n" in text


def empty_feature_graphs():
    """Graphs that hold an empty array somewhere (no features: x is 0×3), through the ops
    whose worked element picks an index: transpose, matmul, add, elementwise ops, sums."""
    x = mg.constant(np.zeros((0, 3)), name="x")
    w = mg.parameter(np.zeros((0, 1)), name="w")
    y = mg.constant([[1.0, 0.0, 0.0]], name="y")
    yield mg.mean(mg.log_loss(mg.sigmoid(w.T @ x + 0.5), y), name="cost")
    v = mg.parameter(np.zeros((0, 2)), name="v")
    yield mg.sum(mg.tanh(v) * v + mg.sum(v, axis=0), name="cost") + mg.mean(mg.relu(y))
    images = mg.constant(np.zeros((0, 1, 4, 4)), name="images")
    kernels = mg.parameter(np.ones((2, 1, 3, 3)), name="kernels")
    yield mg.sum(mg.max_pool2d(mg.conv2d(images, kernels), 2), name="cost")


@pytest.mark.parametrize("cost", list(empty_feature_graphs()), ids=["logistic", "sums", "conv"])
def test_a_graph_with_an_empty_array_is_narrated_without_working_out_an_element(cost):
    # The passes run (an empty sum is 0); the narration worked out an element of arrays that
    # have none and stopped with numpy's IndexError from inside an op.
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a numpy warning about the mean of an empty array
        mg.explain(cost, file=out)
    text = out.getvalue()
    assert "Backward pass" in text and "no element to work out" in text
