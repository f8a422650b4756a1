"""Checking analytic gradients against numerical ones: central differences and complex step.

`check_gradients(fn, *arrays)` builds `fn`'s graph once on float64 copies of the arrays, runs
backward, then nudges one element at a time and replays the graph forward to measure the
same derivative numerically. When they disagree, each op node's local gradient is checked
on its own, so the report can say which op's backward is wrong.
"""

import dataclasses
import inspect
import warnings

import numpy as np

from .graph import Graph, unbroadcast
from .node import Node, parameter

# Central differences: truncation error grows with h², rounding error with 1/h; a step of
# ε^(1/3) (scaled to the element's size) balances the two for float64.
CENTRAL_STEP = np.finfo(np.float64).eps ** (1 / 3)
# Complex step has no subtraction, so no rounding error: the step can be tiny.
COMPLEX_STEP = 1e-20


class GradientCheckError(AssertionError):
    """Analytic and numerical gradients disagree; `.report` holds the details."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report


@dataclasses.dataclass
class InputCheck:
    """How one input's analytic gradient compared with the numerical one."""

    index: int
    name: str
    ok: bool
    worst_index: tuple
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float

    def __str__(self):
        verdict = "ok" if self.ok else "MISMATCH"
        return (
            f"input {self.index} ({self.name}): {verdict}; worst element {self.worst_index}: "
            f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}, "
            f"abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g}"
        )


@dataclasses.dataclass
class GradientReport:
    """The result of `check_gradients`: one `InputCheck` per input, and the suspects."""

    mode: str
    inputs: list
    blamed: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return all(check.ok for check in self.inputs)

    def __bool__(self):
        return self.ok

    def __str__(self):
        lines = [f"gradient check ({self.mode}): {'passed' if self.ok else 'FAILED'}"]
        lines += [f"  {check}" for check in self.inputs]
        if self.blamed:
            lines.append("  local gradients that disagree with their own finite differences:")
            lines += [f"    {suspect}" for suspect in self.blamed]
        elif not self.ok:
            lines.append("  every op's local gradient passed on its own: look at how they connect")
        return "\n".join(lines)


def check_gradients(
    fn, *arrays, mode="central", atol=1e-6, rtol=1e-5, seed=0, raise_on_failure=True
):
    """Check backward's gradients of `fn(*nodes)` against numerical derivatives.

    fn takes one parameter node per array and returns a node. A non-scalar output is
    reduced to the scalar sum(output · r) with a fixed random r, which checks the whole
    vector-Jacobian product. mode="central" uses central differences with a step of
    ε^(1/3)·(1+|x|) per element; mode="complex" uses the complex step Im f(x+ih)/h, exact to
    rounding, for graphs whose ops are all complex-analytic (`Op.complex_safe`). An
    element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.

    Returns a `GradientReport`; raises `GradientCheckError` with it on a mismatch unless
    raise_on_failure is False.
    """
    if mode not in ("central", "complex"):
        raise ValueError(f"check_gradients: mode must be 'central' or 'complex', got {mode!r}")
    inputs = [_as_float64(array, index) for index, array in enumerate(arrays)]
    names = _argument_names(fn, len(inputs))
    leaves = [parameter(array, name=name) for name, array in zip(names, inputs)]
    output = fn(*leaves)
    if not isinstance(output, Node):
        raise TypeError(f"check_gradients: fn must return a Node, got {type(output).__name__}")
    cotangent = np.random.default_rng(seed).standard_normal(output.shape)
    graph = Graph(output)
    graph.backward(cotangent)
    analytic = [np.zeros_like(x) if leaf.grad is None else leaf.grad for x, leaf in zip(inputs, leaves)]

    if mode == "complex":
        unsafe = sorted({str(n.op) for n in graph.nodes if n.op is not None and not n.op.complex_safe})
        if unsafe:
            raise ValueError(
                f"check_gradients: mode='complex' needs complex-analytic ops; this graph has "
                f"{', '.join(unsafe)} (use mode='central')"
            )
        numeric = _complex_step(graph, leaves, inputs, cotangent)
    else:
        numeric = _central_differences(graph, leaves, inputs, cotangent)
    graph.forward()  # leave the checked graph's values as they were

    checks = [
        _compare(i, leaf.name, a, n, atol, rtol)
        for i, (leaf, a, n) in enumerate(zip(leaves, analytic, numeric))
    ]
    report = GradientReport(mode, checks)
    if not report.ok:
        report.blamed = [
            suspect for node in graph.nodes if node.op is not None
            for suspect in check_local_gradient(node, atol, rtol, seed)
        ]
        if raise_on_failure:
            raise GradientCheckError(report)
    return report


def check_local_gradient(node, atol=1e-6, rtol=1e-5, seed=0):
    """Check one op node's backward on its own current input values.

    Returns a sentence for each input whose local gradient disagrees with central
    differences of the op's forward, or an empty list.
    """
    # np.real: after a complex-step check, leaves keep a complex dtype (imaginary parts 0).
    values = [np.asarray(np.real(inp.value), dtype=np.float64) for inp in node.inputs]
    out = node.op.forward(*values)
    cotangent = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = node.op.backward(cotangent, out, *values)
    suspects = []
    for index, (inp, grad) in enumerate(zip(node.inputs, grads)):
        if not inp.requires_grad or grad is None:
            continue
        grad = unbroadcast(np.asarray(grad), values[index].shape)

        def objective(probe, index=index):
            probed = list(values)
            probed[index] = probe
            return np.sum(node.op.forward(*probed) * cotangent)

        numeric = _differentiate(objective, values[index])
        check = _compare(index, inp.label, grad, numeric, atol, rtol)
        if not check.ok:
            suspects.append(f"{node.op} {node.label!r}, gradient for its {check}")
    return suspects


def _argument_names(fn, count):
    """fn's own parameter names ('w', 'b'), so reports say which input; else 'input i'."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins and some callables have no signature
        parameters = []
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count:
        return positional[:count]
    return [f"input {i}" for i in range(count)]


def _as_float64(array, index):
    array = np.asarray(array)
    if array.dtype == np.float32:
        warnings.warn(
            f"check_gradients: input {index} is float32; it is checked in float64, where "
            f"finite differences are accurate enough to judge a gradient",
            stacklevel=3,
        )
    return array.astype(np.float64)


def _differentiate(objective, x):
    """Central differences of a scalar function of the array x, one element at a time."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        h = CENTRAL_STEP * (1 + abs(x[index]))
        above = objective(_probe(x, index, x[index] + h))
        below = objective(_probe(x, index, x[index] - h))
        grad[index] = (above - below) / (2 * h)
    return grad


def _probe(x, index, value):
    """A new array: x with the element at index set to value (x itself is left alone)."""
    probe = x.astype(np.result_type(x, value))
    probe[index] = value
    return probe


def _replayed(graph, cotangent):
    """The scalar the check differentiates, recomputed by replaying the graph forward."""
    return np.sum(graph.forward() * cotangent)


def _central_differences(graph, leaves, inputs, cotangent):
    numeric = []
    for leaf, x in zip(leaves, inputs):
        def objective(probe, leaf=leaf):
            leaf.value = probe
            return _replayed(graph, cotangent)

        numeric.append(_differentiate(objective, x))
        leaf.value = x
    return numeric


def _complex_step(graph, leaves, inputs, cotangent):
    numeric = []
    for leaf, x in zip(leaves, inputs):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            leaf.value = _probe(x, index, x[index] + 1j * COMPLEX_STEP)
            grad[index] = _replayed(graph, cotangent).imag / COMPLEX_STEP
        leaf.value = x
        numeric.append(grad)
    return numeric


def _compare(index, name, analytic, numeric, atol, rtol):
    analytic = np.asarray(analytic, dtype=np.float64)
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    # NaN compares false, so a NaN anywhere fails the check instead of passing silently.
    ok = bool(np.all(error <= allowed))
    # How close each element came to failing; any error where nothing is allowed is worst.
    score = np.full(error.shape, np.inf)
    np.divide(error, allowed, out=score, where=allowed > 0)
    score[error == 0] = 0.0
    score[np.isnan(error)] = np.inf
    worst = np.unravel_index(int(np.argmax(score)), score.shape) if score.size else ()
    worst = tuple(int(i) for i in worst)
    abs_error = float(error[worst]) if score.size else 0.0
    numeric_at = float(numeric[worst]) if score.size else 0.0
    return InputCheck(
        index=index,
        name=name,
        ok=ok,
        worst_index=worst,
        analytic=float(analytic[worst]) if score.size else 0.0,
        numeric=numeric_at,
        abs_error=abs_error,
        rel_error=abs_error / max(abs(numeric_at), float(np.finfo(np.float64).tiny)),
    )
