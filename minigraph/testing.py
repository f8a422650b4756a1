"""Hypothesis strategies for testing ops and graphs, minigraph's own and yours, and one big
graph to test drawings and players on (`scalar_mlp`, micrograd's network one node a number).

    from hypothesis import given
    from minigraph.testing import float_arrays, broadcastable_pair
    import minigraph as mg

    @given(broadcastable_pair())
    def test_my_op(pair):
        mg.check_gradients(lambda a, b: my_op(a, b), *pair)

Values are bounded and float64, so central differences are accurate; strategies that feed
ops with kinks or domain edges keep their values away from them. Hypothesis is one of
minigraph's dependencies, imported by this module only: `import minigraph` does not load it.
"""

import contextlib
import dataclasses

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigraph as mg

MAX_SIDE = 5


def shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE):
    """Array shapes with small sides (1 included, so broadcasting gets exercised)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def float_arrays(shape=None, low=-3.0, high=3.0, away_from=None, margin=0.1):
    """float64 arrays in [low, high]; with `away_from=c`, no element within `margin` of c."""
    shape = shapes() if shape is None else shape
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from is not None:
        elements = elements.filter(lambda v: abs(v - away_from) >= margin)
    return hnp.arrays(np.float64, shape, elements=elements)


def positive_arrays(shape=None, low=0.2, high=3.0):
    """Arrays safely inside the domain of log, division and fractional powers."""
    return float_arrays(shape, low, high)


def probabilities(shape=None, margin=0.05):
    """Probabilities in [margin, 1 − margin], away from where log_loss saturates."""
    return float_arrays(shape, margin, 1 - margin)


def binary_labels(shape=None):
    """Arrays of 0.0 and 1.0."""
    shape = shapes() if shape is None else shape
    return hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]))


@st.composite
def broadcastable_pair(draw, low=-3.0, high=3.0):
    """Two arrays whose shapes broadcast together (sides of 1 and missing leading axes)."""
    input_shapes, _ = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    return tuple(draw(float_arrays(shape, low, high)) for shape in input_shapes)


@st.composite
def matmul_pair(draw, low=-3.0, high=3.0):
    """Arrays a (n, k) and b (k, p), with an optional shared leading batch axis."""
    n, k, p = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,)]))
    a = draw(float_arrays(batch + (n, k), low, high))
    b = draw(float_arrays(batch + (k, p), low, high))
    return a, b


@st.composite
def logistic_regression_data(draw):
    """x (features, m), y (1, m) of 0/1 labels, w (features, 1) and a scalar b."""
    features = draw(st.integers(1, 6))
    samples = draw(st.integers(1, 8))
    x = draw(float_arrays((features, samples), 0.0, 1.0))
    y = draw(binary_labels((1, samples)))
    w = draw(float_arrays((features, 1), -1.0, 1.0))
    b = draw(float_arrays((), -1.0, 1.0))
    return x, y, w, b


@dataclasses.dataclass
class Expression:
    """A random graph: `build(*nodes)` makes it from leaves holding `inputs`."""

    inputs: list
    steps: list

    def build(self, *leaves):
        pool = list(leaves)
        for name, first, second in self.steps:
            pool.append(EXPRESSION_OPS[name](pool[first], pool[second]))
        return mg.sum(pool[-1])

    def __repr__(self):
        return f"Expression(shapes={[a.shape for a in self.inputs]}, steps={self.steps})"


# Each keeps values bounded and away from kinks and domain edges whatever its operands are,
# so a random stack of them stays smooth where central differences are taken.
EXPRESSION_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * mg.tanh(b),
    "div": lambda a, b: a / (1.5 + mg.tanh(b)),
    "square": lambda a, b: a**2,
    "tanh": lambda a, b: mg.tanh(a),
    "sigmoid": lambda a, b: mg.sigmoid(a),
    "exp": lambda a, b: mg.exp(mg.tanh(a)),
    "log": lambda a, b: mg.log(1 + a * a),
    "mean": lambda a, b: mg.mean(a, axis=0, keepdims=True) * b,
    "relu": lambda a, b: mg.relu(1.5 + mg.tanh(a)) * b,
}


@st.composite
def expressions(draw, max_inputs=3, max_steps=8):
    """Random expression DAGs over one shared shape, from the op set in EXPRESSION_OPS.

    Any earlier node may be picked again as an operand, so nodes used twice (and `x * x`)
    appear often.
    """
    shape = draw(shapes(min_dims=1, max_dims=2, max_side=3))
    count = draw(st.integers(1, max_inputs))
    inputs = [draw(float_arrays(shape, -2.0, 2.0)) for _ in range(count)]
    steps = []
    for step in range(draw(st.integers(1, max_steps))):
        available = count + step
        steps.append(
            (
                draw(st.sampled_from(sorted(EXPRESSION_OPS))),
                draw(st.integers(0, available - 1)),
                draw(st.integers(0, available - 1)),
            )
        )
    return Expression(inputs, steps)


@st.composite
def classification(draw, max_classes=5, max_samples=6, low=-10.0, high=10.0):
    """Logits (K, m), classes along axis 0 as in a network's output, and class labels (m,)."""
    classes = draw(st.integers(1, max_classes))
    samples = draw(st.integers(1, max_samples))
    logits = draw(float_arrays((classes, samples), low, high))
    labels = draw(hnp.arrays(np.int64, (samples,), elements=st.integers(0, classes - 1)))
    return logits, labels


@st.composite
def reshapes(draw):
    """An array and a new shape for it with the same number of elements, maybe with a -1."""
    array = draw(float_arrays(shapes(min_dims=1, max_dims=3, max_side=4)))
    sides, left = [], array.size
    while left > 1:  # factor the size into sides, one divisor at a time
        side = draw(st.sampled_from([d for d in range(2, left + 1) if left % d == 0]))
        sides.append(side)
        left //= side
    sides = draw(st.permutations(sides + [1] * draw(st.integers(0, 1))))
    if sides and draw(st.booleans()):
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return array, tuple(sides)


@st.composite
def untied_pair(draw):
    """Two broadcastable arrays whose elements never come within 0.1 of each other.

    a's elements lie in [2k, 2k + 0.9] and b's in [2k + 1, 2k + 1.9] for k in −2..1, so
    either may be the larger, and `maximum` is away from its kink at a = b.
    """
    input_shapes, _ = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    lower = st.builds(lambda k, u: 2.0 * k + u, st.integers(-2, 1), st.floats(0, 0.9))
    upper = lower.map(lambda v: v + 1)
    return (draw(hnp.arrays(np.float64, input_shapes[0], elements=lower)),
            draw(hnp.arrays(np.float64, input_shapes[1], elements=upper)))


def scalar_mlp(sizes, samples, scoped=False, seed=0):
    """The cost node of micrograd's network on scalars (one node per number): neurons
    tanh(Σ wᵢ·xᵢ + b) in layers of `sizes`, a mean squared error over `samples` random
    inputs with targets ±1. With `scoped`, each neuron's weights and work are inside
    mg.scope('layerL') and mg.scope('neuronK'), as a Neuron class would make them.
    (3, 12, 12, 1) on 4 samples is about 2,000 nodes; (5, 16, 16, 1) on 6 about 5,000."""
    rng = np.random.default_rng(seed)

    def scope(layer, neuron):
        stack = contextlib.ExitStack()
        if scoped:
            stack.enter_context(mg.scope(f"layer{layer}"))
            stack.enter_context(mg.scope(f"neuron{neuron}"))
        return stack

    layers = []
    for number, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layer = []
        for k in range(n_out):
            with scope(number, k):
                layer.append(([mg.parameter(rng.uniform(-1, 1), name=f"w{i}") for i in range(n_in)],
                              mg.parameter(0.0, name="b")))
        layers.append(layer)
    loss = None
    for _ in range(samples):
        h = [mg.constant(v, name="x") for v in rng.uniform(-1, 1, sizes[0])]
        for number, layer in enumerate(layers, start=1):
            out = []
            for k, (ws, b) in enumerate(layer):
                with scope(number, k):
                    total = b
                    for w, x in zip(ws, h):
                        total = total + w * x
                    out.append(mg.tanh(total))
            h = out
        error = (h[0] - float(rng.choice([-1.0, 1.0]))) ** 2
        loss = error if loss is None else loss + error
    return loss * (1.0 / samples)
