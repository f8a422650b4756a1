"""Layers: the pieces a network is built from, each a small callable that builds nodes.

Samples are columns, as in the course: x is (features, m) and `Linear` computes
W @ x + b with W (out, in) and b (out, 1). Every layer builds its nodes inside
`mg.scope(layer.name)`, so a network draws as one box per layer. `mlp([4, 8, 3])` names
its layers "layer1", "layer2", ... and puts each Linear and its activation in one box.

    net = mlp([4, 8, 3], hidden="relu", rng=0)
    cost = mg.softmax_cross_entropy(net(x), labels)
    optimizer = mg.Adam(net.parameters)

Convolutional layers take images as torch.nn does, N×C×H×W: samples along axis 0.
`Flatten` is the one step between the two layouts: it turns N×C×H×W into the dense layers'
(C·H·W)×N, one column per sample, as a single node named "flatten" in the drawing:

    net = Sequential(Conv2d(1, 8, 3, rng=0), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 3 * 3, 10))
"""

import numbers

import numpy as np

from .activations import leaky_relu, relu, sigmoid, softmax, tanh
from .context import scope
from .conv import conv2d, flatten, max_pool2d
from .node import as_node, parameter
from .ops import add
from .stochastic import as_generator, checked_rate, dropout

# The standard deviation of a weight for each initialisation, from (fan_in, fan_out).
INIT_STD = {
    # The course's: small random weights, so tanh and sigmoid start near their linear part.
    "course": lambda fan_in, fan_out: 0.01,
    # Glorot & Bengio (2010), normal form: keeps the variance of activations and of
    # gradients about the same from layer to layer, for tanh and sigmoid.
    "xavier": lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)),
    # He et al. (2015): ReLU zeroes half its inputs, so the variance is doubled.
    "he": lambda fan_in, fan_out: np.sqrt(2.0 / fan_in),
}


class Layer:
    """A callable that builds its nodes inside `scope(self.name)`; subclasses define `build`."""

    name = "layer"
    parameters = ()

    def __call__(self, x):
        x = as_node(x)  # outside the scope: the data is not part of the layer
        with scope(self.name):
            return self.build(x)

    def build(self, x):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Linear(Layer):
    """z = W @ x + b: W (out_features, in_features), b (out_features, 1), x (in_features, m).

    init: "course" (0.01 × standard normal), "xavier" (std √(2/(in+out))) or "he"
    (std √(2/in)); the bias starts at 0. rng: a numpy Generator, an int seed, or None.
    """

    def __init__(self, in_features, out_features, init="course", rng=None, name="linear", dtype=np.float64):
        for what, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise ValueError(f"Linear {name!r}: {what} must be a whole number ≥ 1, got {size!r}")
        if init not in INIT_STD:
            choices = ", ".join(map(repr, INIT_STD))
            raise ValueError(f"Linear {name!r}: init must be one of {choices}, got {init!r}")
        self.name, self.init = name, init
        self.in_features, self.out_features = int(in_features), int(out_features)
        std = INIT_STD[init](self.in_features, self.out_features)
        # Drawn in float64 whatever the dtype, so a float32 network starts from the same
        # weights rounded.
        weights = std * as_generator(rng).standard_normal((self.out_features, self.in_features))
        with scope(name):
            self.W = parameter(weights, name="W", dtype=dtype)
            self.b = parameter(np.zeros((self.out_features, 1)), name="b", dtype=dtype)
        self.parameters = [self.W, self.b]

    def build(self, x):
        return add(self.W @ x, self.b, name="z")

    def __repr__(self):
        return f"Linear({self.in_features} → {self.out_features}, init={self.init!r}, name={self.name!r})"


def _sizes(owner, **sizes):
    """Each size as an int, or a ValueError naming the layer and the size at fault."""
    for what, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"{owner}: {what} must be a whole number ≥ 1, got {size!r}")
    return [int(size) for size in sizes.values()]


class Conv2d(Layer):
    """z = conv2d(x, W, b, stride, padding): x N×C×H×W, W (out_channels, in_channels,
    kernel_size, kernel_size), b (out_channels,), as torch.nn.Conv2d.

    init: "he" (std √(2/fan_in), fan_in = in_channels·kernel_size², the default: conv
    layers are followed by ReLU), "xavier" or "course"; the bias starts at 0.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, init="he", rng=None,
                 name="conv", dtype=np.float64):
        owner = f"Conv2d {name!r}"
        self.in_channels, self.out_channels, self.kernel_size = _sizes(
            owner, in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size)
        (self.stride,) = _sizes(owner, stride=stride)
        if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"{owner}: padding must be a whole number ≥ 0, got {padding!r}")
        if init not in INIT_STD:
            raise ValueError(f"{owner}: init must be one of {', '.join(map(repr, INIT_STD))}, got {init!r}")
        self.padding, self.init, self.name = int(padding), init, name
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        fan_in, fan_out = self.in_channels * self.kernel_size**2, self.out_channels * self.kernel_size**2
        weights = INIT_STD[init](fan_in, fan_out) * as_generator(rng).standard_normal(shape)
        with scope(name):
            self.W = parameter(weights, name="W", dtype=dtype)
            self.b = parameter(np.zeros(self.out_channels), name="b", dtype=dtype)
        self.parameters = [self.W, self.b]

    def build(self, x):
        return conv2d(x, self.W, self.b, stride=self.stride, padding=self.padding, name="z")

    def __repr__(self):
        return (f"Conv2d({self.in_channels} → {self.out_channels}, {self.kernel_size}×{self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, name={self.name!r})")


class MaxPool2d(Layer):
    """The largest value of each size×size window (N×C×H×W in and out), windows `stride` apart."""

    def __init__(self, size, stride=None, name="pool"):
        (self.size,) = _sizes(f"MaxPool2d {name!r}", size=size)
        (self.stride,) = _sizes(f"MaxPool2d {name!r}", stride=size if stride is None else stride)
        self.name = name

    def build(self, x):
        return max_pool2d(x, self.size, self.stride)

    def __repr__(self):
        return f"MaxPool2d({self.size}, stride={self.stride}, name={self.name!r})"


class Flatten(Layer):
    """From images (N×C×H×W, samples along axis 0) to the dense layers' columns ((C·H·W)×N):
    the one step where the sample axis moves, one node in the drawing."""

    def __init__(self, name="flatten"):
        self.name = name

    def __call__(self, x):
        # One node needs no box of its own: it is drawn between the conv and dense boxes.
        return flatten(x, name=self.name)


class Activation(Layer):
    """A layer that applies one function, elementwise or over the classes."""

    function = None

    def __init__(self, name=None):
        self.name = type(self).__name__.lower() if name is None else name

    def build(self, x):
        return self.function(x)


class Tanh(Activation):
    function = staticmethod(tanh)


class ReLU(Activation):
    function = staticmethod(relu)


class Sigmoid(Activation):
    function = staticmethod(sigmoid)


class LeakyReLU(Layer):
    """a where a > 0, slope·a elsewhere."""

    def __init__(self, slope=0.01, name="leaky_relu"):
        self.slope, self.name = slope, name

    def build(self, x):
        return leaky_relu(x, self.slope)


class Softmax(Layer):
    """Probabilities over the classes (axis 0 when samples are columns)."""

    def __init__(self, axis=0, name="softmax"):
        self.axis, self.name = axis, name

    def build(self, x):
        return softmax(x, self.axis)


class Dropout(Layer):
    """Inverted dropout while `training` is True (see mg.dropout); the identity once it is
    False, so the same layers serve for prediction (`Sequential.eval()`)."""

    def __init__(self, rate, rng=None, name="dropout"):
        self.rate, self.rng, self.name = checked_rate(rate), as_generator(rng), name
        self.training = True

    def build(self, x):
        return dropout(x, self.rate, self.rng) if self.training else x

    def __repr__(self):
        return f"Dropout({self.rate:g}, name={self.name!r})"


class Sequential:
    """Layers applied one after the other: `Sequential(Linear(4, 8), ReLU(), Linear(8, 3))`."""

    def __init__(self, *layers):
        for position, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {position} ({layer!r}) is not a callable layer")
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def parameters(self):
        """Every layer's parameters, in order: what an optimizer updates."""
        return [node for layer in self.layers for node in getattr(layer, "parameters", ())]

    def train(self, mode=True):
        """Build dropout layers as dropout (mode True) or as the identity (False)."""
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = mode
        return self

    def eval(self):
        """Build for prediction: dropout layers pass their input through."""
        return self.train(False)

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  {layer!r}," for layer in self.layers)
        return f"Sequential({inner}\n)"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def mlp(sizes, hidden="relu", output=None, init=None, rng=None, dropout=0.0, dtype=np.float64):
    """A multi-layer perceptron: Linear layers of `sizes` ([n_x, n_h1, ..., n_y]), each but
    the last followed by the `hidden` activation (and by Dropout(dropout) when dropout > 0),
    the last by `output` ("sigmoid", "softmax", ... or None for raw scores, as
    softmax_cross_entropy wants).

    Layer i is built inside scope "layer{i}", its activation and dropout included. init
    defaults to "he" for (leaky) ReLU hidden layers and "xavier" for tanh and sigmoid ones.
    One generator (`rng`: a Generator, an int seed or None) draws every weight and mask.
    """
    outputs = {None: None, "softmax": Softmax, **ACTIVATIONS}
    if hidden not in ACTIVATIONS:
        raise ValueError(f"mlp: hidden must be one of {', '.join(map(repr, ACTIVATIONS))}, got {hidden!r}")
    if output not in outputs:
        raise ValueError(f"mlp: output must be one of {', '.join(map(repr, outputs))}, got {output!r}")
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"mlp: sizes must list at least the input and output sizes, got {sizes!r}")
    init = ("he" if hidden in ("relu", "leaky_relu") else "xavier") if init is None else init
    rate = checked_rate(dropout)
    rng = as_generator(rng)
    layers = []
    for number, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        name = f"layer{number}"
        layers.append(Linear(fan_in, fan_out, init=init, rng=rng, name=name, dtype=dtype))
        hidden_layer = number < len(sizes) - 1
        activation = ACTIVATIONS[hidden] if hidden_layer else outputs[output]
        if activation is not None:
            layers.append(activation(name=name))
        if hidden_layer and rate:
            layers.append(Dropout(rate, rng, name=name))
    return Sequential(*layers)
