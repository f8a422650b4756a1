"""Checking analytic gradients against numerical ones: central differences and complex step.

`check_gradients(fn, *arrays)` builds `fn`'s graph once on float64 copies of the arrays, runs
backward, then nudges one element at a time and replays the graph forward to measure the
same derivative numerically. How far the two may differ follows from how accurate that
numerical derivative is, estimated from the values the check evaluated. When they disagree,
each op node's local gradient is checked on its own, so the report can say which op's
backward is wrong.
"""

import dataclasses
import inspect
import math
import numbers
import warnings

import numpy as np

from .errors import DomainError, NonFiniteError
from .graph import Graph, local_gradients, unbroadcast
from .node import Node, parameter

EPS = np.finfo(np.float64).eps
# Rounding puts a float64 within EPS·|v| of v, or within this of it among the subnormals.
SMALLEST = np.finfo(np.float64).smallest_subnormal
# Central differences: truncation error grows with h², rounding error with 1/h; a step of
# ε^(1/3) (scaled to the element's size) balances the two for float64.
CENTRAL_STEP = EPS ** (1 / 3)
# Complex step has no subtraction, so no rounding error: the step can be tiny. At 1e-150 its
# h² error term is negligible even where the gradient is 0, and h·f' stays a normal float
# for any derivative above about 1e-158.
COMPLEX_STEP = 1e-150
# The derived atol is this many times the estimated error of the comparison: the estimates
# are orders of magnitude, not bounds, and a false alarm costs more than missing a mistake
# only a few times larger than what the method can resolve.
SAFETY = 10
# rtol=None: a floor for what the error model leaves out (rounding amplified inside the
# graph, truncation beyond the h² term), still 100× below a 1e-4 relative mistake.
DEFAULT_RTOL = {"central": 1e-6, "complex": 1e-10}


class GradientCheckError(AssertionError):
    """Analytic and numerical gradients disagree; `.report` holds the details."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report


@dataclasses.dataclass
class InputCheck:
    """How one input's analytic gradient compared with the numerical one.

    The worst element is the one closest to failing (largest error / tolerance). Its
    tolerance is atol + rtol·|numeric|, where atol was "derived" from the error model or
    "given" by the caller.
    """

    index: int
    name: str
    ok: bool
    worst_index: tuple
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    tolerance: float
    atol: float
    rtol: float
    atol_source: str

    def __str__(self):
        verdict = "ok" if self.ok else "MISMATCH"
        return (
            f"input {self.index} ({self.name}): {verdict}; worst element {self.worst_index}: "
            f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}, "
            f"abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g}; "
            f"tolerance {self.tolerance:.3g} = atol {self.atol:.3g} ({self.atol_source}) "
            f"+ rtol {self.rtol:.3g}·|numeric|"
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
    fn, *arrays, mode="central", atol=None, rtol=None, seed=0, raise_on_failure=True, step=CENTRAL_STEP
):
    """Check backward's gradients of `fn(*nodes)` against numerical derivatives.

    fn takes one parameter node per array and returns a node. A non-scalar output is
    reduced to the scalar f = sum(output · r) with a fixed random r, which checks the whole
    vector-Jacobian product. mode="central" uses central differences with a step of
    h = step·(1+|x|) per element, step = ε^(1/3) unless given; mode="complex" uses the
    complex step Im f(x+ih)/h, exact to rounding, for graphs whose ops are all
    complex-analytic (`Op.complex_safe`). The arrays must hold real numbers.

    Near the edge of an op's domain (log at 1e-7) a probe x − h may fall outside it: the
    error then says so, with the value that was probed, and names a smaller `step` that
    keeps every probe of that element inside.

    An element passes when |analytic − numeric| ≤ atol + rtol·|numeric|. With atol=None
    (the default) each element gets its own atol: SAFETY (10) times the estimated error of
    the comparison, from the values the check computed:

    - rounding in f: every node's value v is rounded to about ε·|v|, which moves f by
      ε·|v|·|∂f/∂v| (∂f/∂v is the node's grad from the backward pass). Summed over the
      nodes, S = Σ sum|v·∂f/∂v|; for the output node alone it is sum|output · r|, the size
      of the terms summed into f. Central differences subtract f(x−h) from f(x+h), each
      off by about ε·S (S taken at that point), and divide by 2h. The complex step takes
      Im f directly, so only imaginary parts count: ε·Σ sum|Im v · ∂f/∂v|/h. (Among the
      subnormal numbers rounding is absolute: up to the smallest float, not ε·|v|.)
    - truncation, central only: h²·|f'''|/6, with f''' from a third difference of f at
      x − h, x, x + h and x + 2h (one more evaluation per element). The complex step's
      h² is 1e-300: nothing left to measure.
    - rounding in the analytic gradient: a sum of contributions that cancel (x − x beside
      a tiny term) keeps an error of ε·Σ|contribution|; a second backward pass that adds
      up sizes instead of signed values gives that sum. Inside one op's backward values
      can cancel too (softmax's p·(g − Σp·g) is small where its terms are not), which no
      size pass sees, so the check also measures the rounding: backward again with the
      cotangent times 3 (not a power of two, so it rounds differently), divided by 3;
      the difference from the first pass is added.

    A number given as atol replaces the derived one (0 turns it off). rtol=None means
    DEFAULT_RTOL for the mode (1e-6 central, 1e-10 complex); a number given replaces it.
    So a gradient wrong by 1e-4 relative is caught at any scale, wherever the numerical
    derivative itself is that accurate; each input's report shows the tolerance used.

    Returns a `GradientReport`; raises `GradientCheckError` with it on a mismatch unless
    raise_on_failure is False.
    """
    if mode not in ("central", "complex"):
        raise ValueError(f"check_gradients: mode must be 'central' or 'complex', got {mode!r}")
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step <= 0.1:
        raise ValueError(f"check_gradients: step must be a number in (0, 0.1], got {step!r}")
    names = _argument_names(fn, len(arrays))
    inputs = [_as_float64(array, f"input {index} ({name})") for index, (array, name) in enumerate(zip(arrays, names))]
    leaves = [parameter(array, name=name) for name, array in zip(names, inputs)]
    output = fn(*leaves)
    if not isinstance(output, Node):
        raise TypeError(f"check_gradients: fn must return a Node, got {type(output).__name__}")
    cotangent = np.random.default_rng(seed).standard_normal(output.shape)
    graph = Graph(output)
    graph.backward(cotangent)
    with_grad = [node for node in graph.nodes if node.grad is not None]
    # Copies: the backward passes below may reuse a leaf's gradient array.
    analytic = [np.zeros_like(x) if leaf.grad is None else leaf.grad.copy() for x, leaf in zip(inputs, leaves)]
    sizes = _contribution_sizes(graph, cotangent)
    graph.backward(3.0 * cotangent)
    measured = [0.0 if leaf.grad is None else np.abs(leaf.grad / 3.0 - a) for leaf, a in zip(leaves, analytic)]
    graph.backward(cotangent)  # the gradients the report compares, left in the leaves
    analytic_rounding = [EPS * sizes.get(id(leaf), np.zeros_like(x)) + noise
                         for leaf, x, noise in zip(leaves, inputs, measured)]

    if mode == "complex":
        unsafe = sorted({str(n.op) for n in graph.nodes if n.op is not None and not n.op.complex_safe})
        if unsafe:
            raise ValueError(
                f"check_gradients: mode='complex' needs complex-analytic ops; this graph has "
                f"{', '.join(unsafe)} (use mode='central')"
            )
        numeric = _complex_step(graph, leaves, inputs, cotangent, with_grad)
    else:
        numeric = _central_differences_of_graph(graph, leaves, inputs, cotangent, with_grad, float(step))
    graph.forward()  # leave the checked graph's values as they were

    checks = [
        _compare(i, leaf.name, a, derivative, error + rounding, atol, _rtol(rtol, mode))
        for i, (leaf, a, (derivative, error), rounding)
        in enumerate(zip(leaves, analytic, numeric, analytic_rounding))
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


def check_local_gradient(node, atol=None, rtol=None, seed=0):
    """Check one op node's backward on its own current input values.

    Compares with central differences of the op's forward, atol and rtol meaning what they
    mean in `check_gradients`. Returns a sentence for each input whose local gradient
    disagrees, or an empty list.
    """
    # np.real: after a complex-step check, leaves keep a complex dtype (imaginary parts 0).
    values = [np.asarray(np.real(inp.value), dtype=np.float64) for inp in node.inputs]
    out = node.op.forward(*values)
    cotangent = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = node.op.backward(cotangent, out, *values)
    sizes = node.op.backward(np.abs(cotangent), out, *values)
    suspects = []
    for index, (inp, grad, size) in enumerate(zip(node.inputs, grads, sizes)):
        if not inp.requires_grad or grad is None:
            continue
        grad = unbroadcast(np.asarray(grad), values[index].shape)
        analytic_rounding = EPS * unbroadcast(np.abs(size), values[index].shape)

        def objective(probe, index=index):
            probed = list(values)
            probed[index] = probe
            out = node.op.forward(*probed)
            return np.sum(out * cotangent), [out, probe]

        rounding_over = _rounding_over_step([cotangent, grad])
        numeric, error = _central_differences(objective, values[index], rounding_over)
        check = _compare(
            index, inp.label, grad, numeric, error + analytic_rounding, atol, _rtol(rtol, "central")
        )
        if not check.ok:
            suspects.append(f"{node.op} {node.label!r}, gradient for its {check}")
    return suspects


def _rtol(rtol, mode):
    return DEFAULT_RTOL[mode] if rtol is None else rtol


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


def _as_float64(array, what):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        # Not cast: float64 would drop an imaginary part and check another function.
        raise TypeError(
            f"check_gradients: {what} holds {array.dtype} values; it checks real inputs "
            f"(mode='complex' makes its own complex steps from them)"
        )
    if array.dtype == np.float32:
        warnings.warn(
            f"check_gradients: {what.split(' (')[0]} is float32; it is checked in float64, where "
            f"finite differences are accurate enough to judge a gradient",
            stacklevel=3,
        )
    return array.astype(np.float64)


def _contribution_sizes(graph, cotangent):
    """Per node needing a gradient, Σ|contribution| over every path from the output to it.

    Backward again, but each op gets the size of its output's gradient and what it sends
    is taken as a size: exact for elementwise ops, smaller where an op or a sum over a
    broadcast axis mixes signs (matmul).
    """
    sizes = {id(graph.output): np.abs(cotangent)}
    for node in reversed(graph.nodes):
        if node.op is None or id(node) not in sizes:
            continue
        for inp, sent in zip(node.inputs, local_gradients(node, sizes[id(node)])):
            if sent is not None:
                sizes[id(inp)] = np.abs(sent) + sizes.get(id(inp), 0.0)
    return sizes


def _rounding_over_step(grads):
    """rounding_over(values, step): how far rounding the nodes' values v moves f, over a
    step: Σ sum((ε·|v| + SMALLEST)/step · |∂f/∂v|), with grads holding each ∂f/∂v."""
    sizes = [np.abs(grad).ravel() for grad in grads]
    total = sum(float(size.sum()) for size in sizes)

    def rounding_over(values, step):
        # Divided by the step before the products, which could otherwise underflow to 0.
        scaled = sum(float((np.abs(value).ravel() / step) @ size) for value, size in zip(values, sizes))
        return EPS * scaled + SMALLEST / step * total

    return rounding_over


def _probe(x, index, value):
    """A new array: x with the element at index set to value (x itself is left alone)."""
    probe = x.astype(np.result_type(x, value))
    probe[index] = value
    return probe


def _central_differences(objective, x, rounding_over, step=CENTRAL_STEP, what="the input"):
    """Central differences of objective(x) -> (f, its nodes' values), one element at a time.

    Returns the derivatives and the estimated error of each: the rounding errors of
    f(x+h) and f(x−h) over 2h, plus the truncation error (see `check_gradients`).
    """
    numeric = np.zeros_like(x)
    error = np.zeros_like(x)
    f_here, _ = objective(x)
    for index in np.ndindex(x.shape):
        h = step * (1 + abs(x[index]))
        above, below = x[index] + h, x[index] - h
        width = above - below  # the step actually taken: x ± h are rounded to floats
        # Each rounding is taken before the next replay, which may reuse the nodes' arrays.
        probes = _Probes(objective, x, index, h, what)
        f_above, values = probes.at(above, "x + h")
        rounding = rounding_over(values, width)
        f_below, values = probes.at(below, "x − h")
        rounding += rounding_over(values, width)
        f_beyond, _ = probes.at(x[index] + 2 * h, "x + 2h")
        numeric[index] = (f_above - f_below) / width
        # h²·|f'''|/6, with h³·f''' from the third difference over x − h, x, x + h, x + 2h.
        truncation = abs(f_beyond - 3 * f_above + 3 * f_here - f_below) / (6 * h)
        error[index] = rounding + truncation
    return numeric, error


class _Probes:
    """f at x with one element moved to x ± h: an error outside the op's domain is one about
    the step, naming the element, the probed value and a step that stays inside."""

    def __init__(self, objective, x, index, h, what):
        self.objective, self.x, self.index, self.h, self.what = objective, x, index, h, what

    def at(self, value, where):
        try:
            return self.objective(_probe(self.x, self.index, value))
        except (DomainError, NonFiniteError) as error:
            raise DomainError(self._outside(value, where, error)) from error

    def _outside(self, value, where, error):
        x = self.x[self.index]
        message = (
            f"check_gradients: {self.what} element {self.index} = {x:.6g}: the finite-difference "
            f"step h = {self.h:.3g} crossed the edge of a domain: at {where} = {value:.3g}, {error}. "
        )
        fitting = self._fitting_step()
        if fitting is None:
            return message + "No step keeps every probe inside: the point itself is on the edge."
        # So close to the edge the function curves fast: a thousandth of the widest step
        # that fits keeps the truncation error of the difference small.
        suggested = _round_down(fitting / 1000)
        return message + (
            f"x − h, x + h and x + 2h stay inside with a step up to about {_round_down(fitting):g}; a "
            f"thousandth of that keeps the edge's curvature out of the difference: "
            f"check_gradients(..., step={suggested:g}), or move the point off the edge."
        )

    def _fitting_step(self):
        """The step (h/(1+|x|)), halved from the one that failed until every probe of this
        element works; None when none down to ε does."""
        x = self.x[self.index]
        step = self.h / (1 + abs(x))
        while step > EPS:
            step /= 2
            h = step * (1 + abs(x))
            try:
                for value in (x + h, x - h, x + 2 * h):
                    self.objective(_probe(self.x, self.index, value))
            except (DomainError, NonFiniteError):
                continue
            return step
        return None


def _round_down(number):
    """A positive number rounded down to one significant digit (9.7e-8 → 9e-8)."""
    unit = 10.0 ** math.floor(math.log10(number))
    return math.floor(number / unit) * unit


def _central_differences_of_graph(graph, leaves, inputs, cotangent, with_grad, step):
    """(derivatives, errors) per input, replaying the graph forward for every probe."""
    rounding_over = _rounding_over_step([node.grad for node in with_grad])
    results = []
    for number, (leaf, x) in enumerate(zip(leaves, inputs)):
        def objective(probe, leaf=leaf):
            leaf.value = probe
            f = np.sum(graph.forward() * cotangent)
            return f, [node.value for node in with_grad]

        try:
            results.append(_central_differences(objective, x, rounding_over, step, f"input {number} ({leaf.name})"))
        finally:
            leaf.value = x
    return results


def _complex_step(graph, leaves, inputs, cotangent, with_grad):
    """(derivatives, errors) per input: Im f(x + ih)/h, and the rounding in it."""
    rounding_over = _rounding_over_step([node.grad for node in with_grad])
    results = []
    for leaf, x in zip(leaves, inputs):
        numeric = np.zeros_like(x)
        error = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            leaf.value = _probe(x, index, x[index] + 1j * COMPLEX_STEP)
            numeric[index] = np.sum(graph.forward().imag * cotangent) / COMPLEX_STEP
            error[index] = rounding_over([node.value.imag for node in with_grad], COMPLEX_STEP)
        leaf.value = x
        results.append((numeric, error))
    return results


def _compare(index, name, analytic, numeric, error, atol, rtol):
    """Check every element: |analytic − numeric| ≤ atol + rtol·|numeric|.

    atol=None takes SAFETY × the comparison's estimated `error`, element by element.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    atol_source = "derived" if atol is None else "given"
    atol = np.broadcast_to(SAFETY * error if atol is None else float(atol), numeric.shape)
    difference = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    # NaN compares false, so a NaN anywhere fails the check instead of passing silently.
    ok = bool(np.all(difference <= allowed))
    if difference.size == 0:
        return InputCheck(index, name, ok, (), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, rtol, atol_source)
    # How close each element came to failing; any error where nothing is allowed is worst.
    closeness = np.full(difference.shape, np.inf)
    np.divide(difference, allowed, out=closeness, where=allowed > 0)
    closeness[difference == 0] = 0.0
    closeness[np.isnan(difference)] = np.inf
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(closeness)), closeness.shape))
    abs_error = float(difference[worst])
    numeric_at = float(numeric[worst])
    return InputCheck(
        index=index,
        name=name,
        ok=ok,
        worst_index=worst,
        analytic=float(analytic[worst]),
        numeric=numeric_at,
        abs_error=abs_error,
        rel_error=abs_error / max(abs(numeric_at), float(np.finfo(np.float64).tiny)),
        tolerance=float(allowed[worst]),
        atol=float(atol[worst]),
        rtol=rtol,
        atol_source=atol_source,
    )
