"""The course's two-layer network as a minigraph graph: tanh hidden units, a sigmoid output.

Samples are columns, as in the course: X is (n_x, m), and the graph is

    layer1:  Z1 = W1 @ X + b1,   A1 = tanh(Z1)          W1 (n_h, n_x), b1 (n_h, 1)
    layer2:  Z2 = W2 @ A1 + b2,  A2 = sigmoid(Z2)       W2 (1, n_h),   b2 (1, 1)
    cost  = mean(log_loss(A2, Y))

built from the library's layers, each inside its own scope, so it draws as two boxes.
`TwoLayerNetwork` builds it once per `fit`, trains it by full-batch gradient descent
(replaying it forward and backward), and is a scikit-learn binary classifier.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import minigraph as mg
from minigraph.layers import Linear, Sigmoid, Tanh
from minigraph.stochastic import as_generator

from .classifiers import BinaryGraphClassifier, refuse_features_too_large


def two_layer_network_graph(x, y, layer1, layer2, fused=False):
    """The cost node of the network from x (n_x, m), labels y (1, m) and two Linear layers.

    The hidden layer's tanh sits in layer1's scope and the output's sigmoid in layer2's.
    With fused=True the sigmoid and the loss are one `log_loss_with_logits` node (as in
    LogisticRegression; the float32 default).
    """
    a1 = Tanh(name=layer1.name)(layer1(x))
    z2 = layer2(a1)
    if fused:
        loss = mg.log_loss_with_logits(z2, y, name="loss")
    else:
        loss = mg.log_loss(Sigmoid(name=layer2.name)(z2), y, name="loss")
    return mg.mean(loss, name="cost")


def tiny_two_layer_example():
    """Lesson 2's worked example: the network on 2 features × 3 samples, 2 hidden units.

    X and Y are the first lesson's; the weights are the course's 0.01 × standard normal
    from `np.random.default_rng(1)`, W1 drawn first. Returns the cost node.
    """
    rng = np.random.default_rng(1)
    layer1 = Linear(2, 2, init="course", rng=rng, name="layer1")
    layer2 = Linear(2, 1, init="course", rng=rng, name="layer2")
    X = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]], name="X")
    Y = mg.constant([[0.0, 1.0, 1.0]], name="Y")
    return two_layer_network_graph(X, Y, layer1, layer2)


class TwoLayerNetwork(BinaryGraphClassifier, ClassifierMixin, BaseEstimator):
    """A binary classifier with one hidden layer of tanh units, trained through a graph.

    Each of the `iterations` steps runs forward, backward and one gradient-descent update on
    the whole training set; `cost_history_` records the cost before each update. Weights
    start as in the course, 0.01 × a standard normal draw (`init="course"`; "xavier" and
    "he" are the other choices), biases at 0, drawn from `np.random.default_rng(random_state)`:
    W1 first, then W2.

    After fit, `parameters_` is the course's dictionary {"W1", "b1", "W2", "b2"} (samples are
    columns: W1 is (hidden_units, n_features)) and `graph_` the trained graph, its values and
    gradients computed at the final parameters, ready to draw or step through. `graph_` holds
    the training set, so it lives only in memory: a pickled or copied model leaves it out
    and keeps what prediction needs. With `warm_start=True`, fit starts from the previous
    fit's parameters instead of drawing new ones.

    `loss`: "log_loss" is the course's graph, sigmoid then log_loss; "log_loss_with_logits"
    fuses the two; "auto" takes the first for float64 data and the fused one for float32,
    where σ(z) rounds to exactly 0 or 1 and the chained gradient would vanish.
    `progress`, if given, wraps the iterations (e.g. tqdm) to show a progress bar.
    """

    _parameter_constraints = {
        "hidden_units": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"course", "xavier", "he"})],
        "loss": [StrOptions({"auto", "log_loss", "log_loss_with_logits"})],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
        "warm_start": ["boolean"],
        "progress": [callable, None],
    }

    def __init__(self, hidden_units=4, learning_rate=0.01, iterations=1000, init="course", loss="auto",
                 random_state=None, warm_start=False, progress=None):
        self.hidden_units = hidden_units
        self.learning_rate = learning_rate
        self.iterations = iterations
        self.init = init
        self.loss = loss
        self.random_state = random_state
        self.warm_start = warm_start
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, validation_data=None):
        """Train on X (n_samples, n_features) and y with exactly two classes.

        With validation_data=(X_val, y_val), `curves_` records the cost and accuracy on the
        training and the validation set at every iteration's parameters (before its
        update, as cost_history_) and at the final ones, to see how well the model
        generalises."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=not self._warm(), y_numeric=False)
        refuse_features_too_large(self, X)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(
                f"Only binary classification is supported: TwoLayerNetwork needs y with exactly "
                f"two classes; got {len(classes)} class{'es' if len(classes) != 1 else ''}: "
                f"{classes[:10].tolist()}"
            )
        if self._warm() and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start: y has the classes {classes.tolist()} but the previous fit had "
                f"{self.classes_.tolist()}"
            )
        self.classes_ = classes
        layer1, layer2 = self._layers(X.shape[1], X.dtype)
        fused = self.loss == "log_loss_with_logits" or (self.loss == "auto" and X.dtype == np.float32)
        labels = (y == classes[1]).astype(X.dtype)[np.newaxis, :]
        graph = mg.Graph(two_layer_network_graph(
            mg.constant(X.T, name="X"), mg.constant(labels, name="Y"), layer1, layer2, fused=fused,
        ))
        optimizer = mg.SGD(layer1.parameters + layer2.parameters, self.learning_rate)

        def scores_of(data):  # z2 at the current parameters, as decision_function computes it
            a1 = np.tanh(layer1.W.value @ data.T + layer1.b.value)
            return (layer2.W.value @ a1 + layer2.b.value).ravel()

        self._descend(graph, optimizer, self._tracker(scores_of, X, labels, validation_data))

        self._keep_graph(graph)
        self.parameters_ = {
            "W1": layer1.W.value.copy(), "b1": layer1.b.value.copy(),
            "W2": layer2.W.value.copy(), "b2": layer2.b.value.copy(),
        }
        self.n_iter_ = self.iterations
        return self

    def _warm(self):
        return self.warm_start and hasattr(self, "parameters_")

    def _layers(self, n_features, dtype):
        """layer1 and layer2: freshly drawn, or holding the previous fit's parameters."""
        rng = as_generator(self.random_state)  # one stream: W1 is drawn first, then W2
        layer1 = Linear(n_features, self.hidden_units, init=self.init, rng=rng, name="layer1", dtype=dtype)
        layer2 = Linear(self.hidden_units, 1, init=self.init, rng=rng, name="layer2", dtype=dtype)
        if self._warm():
            for layer, number in ((layer1, 1), (layer2, 2)):
                weights, bias = self.parameters_[f"W{number}"], self.parameters_[f"b{number}"]
                if weights.shape != layer.W.shape:
                    raise ValueError(
                        f"warm_start: the previous fit's W{number} is {weights.shape}, this one "
                        f"needs {layer.W.shape}; set warm_start=False to start afresh"
                    )
                layer.W.value, layer.b.value = weights, bias
        return layer1, layer2

    def decision_function(self, X):
        """Z2 for each sample: positive means the second class."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        p = {name: mg.constant(value) for name, value in self.parameters_.items()}
        with mg.no_grad():
            a1 = mg.tanh(p["W1"] @ mg.constant(X.T) + p["b1"])
            z2 = p["W2"] @ a1 + p["b2"]
        return z2.value.ravel().copy()  # the caller's own array, writable like scikit-learn's
