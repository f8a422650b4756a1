"""check_gradients: its reports, and proof that it catches wrong gradients."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import minigraph as mg
from minigraph.testing import Expression, broadcastable_pair, expressions, float_arrays, shapes


class SigmoidMissingFactor(mg.activations.Sigmoid):
    """The classic mistake: σ(z) instead of σ(z)·(1−σ(z))."""

    def backward(self, grad, out, z):
        return (grad * out,)


class MatMulTransposedGradient(mg.ops.MatMul):
    """G·B instead of G·Bᵀ: the shapes fit for square matrices, the values do not."""

    def backward(self, grad, out, a, b):
        return grad @ b, np.swapaxes(a, -1, -2) @ grad


class AddMissingBroadcastSum(mg.ops.Add):
    """Returns only the first row of the gradient instead of summing over the stretched axis."""

    def backward(self, grad, out, a, b):
        return grad, grad[:1] if grad.shape[0] != np.shape(b)[0] else grad


class ExpOffBy1e4(mg.activations.Exp):
    """eᵃ·(1 + 10⁻⁴) instead of eᵃ: a small slip, like a constant rounded to four digits."""

    def backward(self, grad, out, a):
        return (grad * out * (1 + 1e-4),)


class ExpRecordingItsInputs(mg.activations.Exp):
    """Exp that keeps every input array it is given, with a copy taken at that moment."""

    def __init__(self, seen):
        self.seen = seen

    def forward(self, a):
        self.seen.append((a, a.copy()))
        return super().forward(a)


# Random graphs over the ops that complex step can differentiate (sigmoid and relu cannot).
complex_safe_expressions = expressions().filter(
    lambda expression: all(name not in ("sigmoid", "relu") for name, _, _ in expression.steps)
)

# Graphs on which a tolerance derived too simply raised false alarms (Hypothesis found them):
# log(1 + x⁴) at x = 2⁻⁷, whose rounding happens in 1 + x⁴, not in the small output;
PRECISION_LOST_INSIDE = Expression(
    [np.array([2.0**-7]), np.zeros(1)], [("add", 0, 0), ("mean", 0, 0), ("log", 3, 0)]
)
# (b + (x − x)) / (1.5 + tanh x) with b tiny: the analytic ∂/∂x adds ⅔, −⅔ and −2e-134 into 0;
CANCELLING_CONTRIBUTIONS = Expression(
    [np.zeros(1), np.array([5.4e-134])], [("sub", 0, 0), ("add", 0, 0), ("add", 1, 2), ("div", 4, 0)]
)
# x²·tanh x at 0: the gradient is 0 but the third derivative is 6, so central differences
# are off by h²;
STATIONARY_POINT = Expression([np.zeros(1)], [("square", 0, 0), ("mul", 1, 0)])
# x² at a subnormal x: f underflows to 0 at x but not at x ± h.
SUBNORMAL_INPUT = Expression([np.array([2.2e-313])], [("mean", 0, 0)])


def test_report_names_input_worst_element_and_values():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    report = mg.check_gradients(lambda a: mg.sum(mg.tanh(a)), x)
    assert report.ok and bool(report)
    assert [c.name for c in report.inputs] == ["a"]  # the function's own argument name
    assert "input 0 (a): ok" in str(report)
    with pytest.raises(mg.GradientCheckError) as caught:
        mg.check_gradients(lambda a: mg.apply(SigmoidMissingFactor(), a), x)
    check = caught.value.report.inputs[0]
    assert not check.ok and check.worst_index in {(0, 0), (0, 1), (1, 0), (1, 1)}
    text = str(caught.value)
    assert "MISMATCH" in text and "worst element" in text and "rel error" in text
    # The tolerance at the worst element, and how it was made, so a verdict can be judged.
    assert check.atol_source == "derived" and check.rtol == 1e-6
    assert check.tolerance == pytest.approx(check.atol + check.rtol * abs(check.numeric))
    assert check.abs_error > check.tolerance
    assert f"tolerance {check.tolerance:.3g} = atol {check.atol:.3g} (derived) + rtol 1e-06·|numeric|" in text


@given(
    float_arrays(shapes(max_side=3), low=-1, high=1),
    st.sampled_from([1e-8, 1e-4, 1.0, 1e4]),
    st.sampled_from(["central", "complex"]),
)
def test_a_gradient_wrong_by_1e4_relative_is_caught_at_every_scale(x, scale, mode):
    # f = scale · Σ r·eˣ: every gradient element is about `scale` in size.
    report = mg.check_gradients(
        lambda a: mg.apply(ExpOffBy1e4(), a) * scale, x, mode=mode, raise_on_failure=False
    )
    assert not report.ok
    check = report.inputs[0]
    assert check.rel_error == pytest.approx(1e-4, rel=1e-3)
    assert check.abs_error > check.tolerance
    # The same function with the right gradient passes: the tolerance sits between the two.
    assert mg.check_gradients(lambda a: mg.exp(a) * scale, x, mode=mode, raise_on_failure=False).ok


def test_an_atol_or_rtol_given_replaces_the_derived_one():
    x = np.array([0.3, -0.5, 1.0])

    def tiny_and_wrong(a):
        return mg.apply(ExpOffBy1e4(), a) * 1e-8

    assert not mg.check_gradients(tiny_and_wrong, x, raise_on_failure=False).ok
    # atol 1e-6 (the old default) dwarfs gradients of 1e-8, so the mistake goes unseen.
    report = mg.check_gradients(tiny_and_wrong, x, atol=1e-6, raise_on_failure=False)
    assert report.ok
    check = report.inputs[0]
    assert (check.atol, check.atol_source, check.rtol) == (1e-6, "given", 1e-6)
    assert "atol 1e-06 (given) + rtol 1e-06·|numeric|" in str(report)
    # An rtol looser than the mistake lets it through; a tighter one does not.
    wrong = lambda a: mg.apply(ExpOffBy1e4(), a)  # noqa: E731
    assert mg.check_gradients(wrong, x, rtol=1e-3, raise_on_failure=False).ok
    assert not mg.check_gradients(wrong, x, atol=0, rtol=1e-5, raise_on_failure=False).ok


@given(float_arrays(low=-3, high=3))
def test_catches_sigmoid_without_its_one_minus_sigma_factor(x):
    report = mg.check_gradients(lambda a: mg.apply(SigmoidMissingFactor(), a), x, raise_on_failure=False)
    assert not report.ok


@given(st.integers(2, 4).flatmap(lambda n: st.tuples(float_arrays((n, n)), float_arrays((n, n)))))
def test_catches_a_transposed_matmul_gradient(pair):
    a, b = pair
    assume(np.abs(b - b.T).max() > 0.5)  # for a symmetric b the mistake is invisible
    report = mg.check_gradients(
        lambda p, q: mg.apply(MatMulTransposedGradient(), p, q), a, b, raise_on_failure=False
    )
    assert not report.inputs[0].ok


def test_catches_a_missing_broadcast_sum():
    a, b = np.ones((3, 2)), np.ones((1, 2))
    report = mg.check_gradients(lambda p, q: mg.apply(AddMissingBroadcastSum(), p, q) * p, a, b, raise_on_failure=False)
    assert not report.ok
    assert not report.inputs[1].ok


def test_blames_the_op_whose_local_gradient_is_wrong():
    x = np.array([[0.3, -0.7, 1.2]])

    def graph(a):
        hidden = mg.tanh(a) * 2.0
        return mg.mean(mg.apply(SigmoidMissingFactor(), hidden) + mg.exp(a))

    report = mg.check_gradients(graph, x, raise_on_failure=False)
    assert not report.ok
    assert len(report.blamed) == 1 and report.blamed[0].startswith("sigmoid")
    assert "local gradients that disagree" in str(report)


def test_blame_after_a_complex_step_check_warns_about_nothing():
    x = np.array([0.3, -0.7, 1.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning included
        report = mg.check_gradients(
            lambda a: mg.sum(mg.apply(ExpOffBy1e4(), a) * a), x, mode="complex", raise_on_failure=False
        )
    assert not report.ok
    assert len(report.blamed) == 1 and report.blamed[0].startswith("exp")


def test_every_probe_is_a_new_array_never_one_changed_in_place():
    for mode in ("central", "complex"):
        seen = []
        mg.check_gradients(lambda a: mg.sum(mg.apply(ExpRecordingItsInputs(seen), a)), np.ones((2, 2)), mode=mode)
        assert len(seen) > 4
        assert all(np.array_equal(array, copy) for array, copy in seen)


def test_nothing_allowed_and_nothing_wrong_passes_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ranking the elements by error / tolerance did 0/0
        report = mg.check_gradients(lambda a: a * 0.0, np.ones(3), atol=0, rtol=0)
    assert report.ok and report.inputs[0].tolerance == 0


def test_complex_step_is_exact_and_refuses_non_analytic_ops():
    x = np.array([0.1, 0.7, -1.3])
    report = mg.check_gradients(lambda a: mg.sum(mg.exp(a) * a), x, mode="complex", atol=0, rtol=1e-14)
    assert report.ok
    with pytest.raises(ValueError, match="complex-analytic ops; this graph has relu"):
        mg.check_gradients(mg.relu, x, mode="complex")


def test_float32_inputs_warn_and_are_checked_in_float64():
    with pytest.warns(UserWarning, match="input 0 is float32; it is checked in float64"):
        report = mg.check_gradients(mg.tanh, np.array([0.5, 1.0], dtype=np.float32))
    assert report.ok


def test_fn_must_return_a_node():
    with pytest.raises(TypeError, match="must return a Node"):
        mg.check_gradients(lambda a: a.value, np.ones(2))


@given(expressions(), st.sampled_from([1e-8, 1.0, 1e6]), st.sampled_from([0.0, 1e6]))
@example(PRECISION_LOST_INSIDE, 1.0, 0.0)
@example(CANCELLING_CONTRIBUTIONS, 1.0, 0.0)
@example(STATIONARY_POINT, 1.0, 0.0)
@example(SUBNORMAL_INPUT, 1e-8, 0.0)
def test_random_graphs_match_finite_differences_at_any_scale(expression, scale, offset):
    mg.check_gradients(lambda *leaves: expression.build(*leaves) * scale + offset, *expression.inputs)


@given(complex_safe_expressions, st.sampled_from([1e-8, 1.0, 1e6]))
@example(CANCELLING_CONTRIBUTIONS, 1.0)
@example(STATIONARY_POINT, 1e-8)
def test_random_graphs_match_the_complex_step_at_any_scale(expression, scale):
    mg.check_gradients(lambda *leaves: expression.build(*leaves) * scale, *expression.inputs, mode="complex")


@given(broadcastable_pair(), st.sampled_from([(1.0, 1e6), (1e6, 1e12), (1e-12, 0.0)]))
@example((np.zeros(()), np.array(4e-308)), (1e-12, 0.0))  # f(x ± h) underflow to 0
def test_no_false_alarm_on_large_or_tiny_values(pair, scale_and_offset):
    # Near |f| = 1e6 or 1e12, f(x ± h) keep only part of their change over h: rounding
    # error in the numerical derivative of about 1e-5 or 1e-4 of the gradient.
    scale, offset = scale_and_offset
    mg.check_gradients(lambda a, b: mg.sum(mg.tanh(a) * b) * scale + offset, *pair)


@given(broadcastable_pair())
def test_local_gradient_check_passes_for_correct_ops(pair):
    a, b = (mg.parameter(v) for v in pair)
    assert mg.gradcheck.check_local_gradient(a * b) == []


def test_a_step_that_crosses_the_domains_edge_says_so_and_which_step_fits():
    # The probe: log at 1e-7 reported "log of -5.96e-06", a value nobody passed.
    with pytest.raises(mg.DomainError) as refused:
        mg.check_gradients(mg.log, np.array([2.0, 1e-7]))
    message = str(refused.value)
    h = mg.gradcheck.CENTRAL_STEP * (1 + 1e-7)
    assert message.startswith(
        f"check_gradients: input 0 (a) element (1,) = 1e-07: the finite-difference step "
        f"h = {h:.3g} crossed the edge of a domain: at x − h = {1e-7 - h:.3g}, log: log of a value <= 0"
    )
    suggested = float(re.search(r"step=([0-9.e+-]+)\)", message).group(1))
    assert 0 < suggested * (1 + 1e-7) < 1e-7  # x − h stays positive
    report = mg.check_gradients(mg.log, np.array([2.0, 1e-7]), step=suggested)
    assert report.ok and report.inputs[0].rel_error < 1e-5


@pytest.mark.parametrize("step", [0, -1e-6, 0.5, float("nan"), "1e-6"])
def test_a_step_that_is_not_a_small_positive_number_is_refused(step):
    with pytest.raises(ValueError, match=r"check_gradients: step must be a number in \(0, 0.1\]"):
        mg.check_gradients(mg.tanh, np.array([0.5]), step=step)


@pytest.mark.parametrize("array, what", [
    (np.array([1.0 + 2.0j]), "complex128"),
    ([1.0, 2.0j], "complex128"),
    (np.array(["a"]), "<U1"),
    (np.array([object()]), "object"),
])
def test_an_input_that_is_not_real_numbers_is_refused_not_cast(array, what):
    # numpy's astype(float64) would drop the imaginary part (with a ComplexWarning) and check
    # some other function's gradient.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match=rf"check_gradients: input 1 \(v\) holds {re.escape(what)} values; "
                                            r"it checks real inputs"):
            mg.check_gradients(lambda w, v: mg.sum(w * v), np.ones(1), array)
