"""A multi-layer perceptron for K classes, trained on minibatches through one minigraph graph.

Samples are columns: X is (n_features, m). The network is `minigraph.layers.mlp`: Linear
layers with ReLU or tanh between them, each layer in its own scope ("layer1", "layer2",
...), and K class scores at the end. The cost is the fused, stable softmax cross-entropy,
plus the course's L2 term when alpha > 0:

    cost = mean over the batch of −log softmax(Z_L)[label]  +  α/(2m)·Σ_l ‖W_l‖²

The graph is built once; every minibatch is fed to it by giving its leaves new values and
replaying it, the last, smaller batch of an epoch included.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

import minigraph as mg
from minigraph.layers import Linear, mlp
from minigraph.stochastic import as_generator

from .classifiers import EPOCH_CONSTRAINTS, MinibatchGraphClassifier, class_probabilities, refuse_features_too_large

OPTIMIZERS = {
    "sgd": lambda parameters, model: mg.SGD(parameters, model.learning_rate),
    "momentum": lambda parameters, model: mg.SGD(parameters, model.learning_rate, momentum=model.momentum),
    "adam": lambda parameters, model: mg.Adam(parameters, model.learning_rate),
}
HIDDEN_FUNCTIONS = {"relu": mg.relu, "tanh": mg.tanh}


def mlp_cost(network, x, labels, alpha=0.0):
    """The cost node of `network` (a Sequential) on x (n_features, m) and class indices (m,).

    With alpha > 0 the cost adds α/(2m)·Σ‖W‖² over the Linear layers' weights (not the
    biases), where m is a constant leaf named "m" that a training loop sets to each batch's size.
    """
    scores = network(x)
    if alpha == 0:
        return mg.softmax_cross_entropy(scores, labels, name="cost")
    cross_entropy = mg.softmax_cross_entropy(scores, labels, name="cross_entropy")
    weights = [layer.W for layer in network if isinstance(layer, Linear)]
    m = mg.constant(np.asarray(x.shape[1], dtype=x.dtype), name="m")
    return mg.add(cross_entropy, mg.l2_penalty(weights, alpha, name="L2") / m, name="cost")


def tiny_mlp_example():
    """Lesson 3's worked example: 3 features × 4 samples, 3 hidden ReLU units, 3 classes.

    He-initialised weights from `np.random.default_rng(0)`, no L2. Returns the cost node.
    """
    network = mlp([3, 3, 3], hidden="relu", rng=0)
    X = mg.constant([[0.2, 0.9, 0.4, 0.6], [0.7, 0.1, 0.5, 0.3], [0.5, 0.8, 0.1, 0.9]], name="X")
    y = mg.constant([0.0, 2.0, 1.0, 2.0], name="y")
    return mlp_cost(network, X, y)


class MLPClassifier(MinibatchGraphClassifier, ClassifierMixin, BaseEstimator):
    """A K-class network: hidden layers of ReLU or tanh units, softmax output, minibatches.

    Each of the `epochs` epochs shuffles the training set (`shuffle=True`), feeds it in
    batches of `batch_size` ("auto": min(200, n_samples); the last batch may be smaller)
    and takes one optimizer step per batch: "sgd", "momentum" (SGD with `momentum`) or
    "adam", at `learning_rate`. `alpha` is the L2 strength as in scikit-learn's
    MLPClassifier: the cost adds α/(2m)·Σ‖W‖² on each batch of m samples. `dropout` drops
    that fraction of each hidden layer's units while training (inverted dropout; nothing
    is dropped at prediction). `init` is the weights' initialisation ("course", "xavier",
    "he"; None: He for ReLU, Xavier for tanh).

    `loss_curve_` holds the mean cost of each epoch (each batch's cost weighted by its
    size), as scikit-learn's does. With `early_stopping=True`, `validation_fraction` of the
    training set (stratified) is held out, its accuracy recorded after every epoch in
    `validation_scores_`, and training stops once it has not improved by more than `tol`
    for `n_iter_no_change` epochs; the parameters of the best epoch are kept. Without it,
    every epoch runs (scikit-learn would also stop when the training loss stalls).

    `random_state` seeds one generator that draws, in order: the validation split, the
    weights layer by layer (W1 first), then each epoch's shuffle and the dropout masks.

    After fit, `parameters_` is the course's dictionary {"W1", "b1", ..., "WL", "bL"} (W_l
    is (units out, units in)) and `graph_` the training graph on the last batch, its
    values and gradients computed at the parameters kept in `parameters_` (with
    early_stopping, the best epoch's, not the last one's). `graph_` holds training data, so
    a pickled or copied model leaves it out. `progress`, if given, wraps the epochs (e.g.
    tqdm) to show a progress bar.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_FUNCTIONS))],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "init": [StrOptions({"course", "xavier", "he"}), None],
        "shuffle": ["boolean"],
        **EPOCH_CONSTRAINTS,
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", learning_rate=1e-3,
                 momentum=0.9, alpha=1e-4, batch_size="auto", epochs=200, dropout=0.0, init=None, shuffle=True,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 random_state=None, progress=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.alpha = alpha
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.init = init
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, validation_data=None):
        """Train on X (n_samples, n_features) and y with two or more classes.

        With validation_data=(X_val, y_val), `curves_` records the cost (cross-entropy,
        without L2) and accuracy on the training and the validation set after every
        epoch, to see how well the model generalises."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
        refuse_features_too_large(self, X)
        hidden = self._hidden_sizes()
        rng = as_generator(self.random_state)
        X, labels, X_valid, labels_valid = self._classes_and_hold_out(X, y, rng)
        n = len(X)
        batch_size = min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)

        sizes = [X.shape[1], *hidden, len(self.classes_)]
        network = mlp(sizes, hidden=self.activation, init=self.init, rng=rng, dropout=self.dropout, dtype=X.dtype)
        x = mg.constant(X[:batch_size].T, name="X")
        y_batch = mg.constant(labels[:batch_size], name="y")
        graph = mg.Graph(mlp_cost(network, x, y_batch, self.alpha))
        m = next((leaf for leaf in graph.leaves if leaf.name == "m"), None)
        optimizer = OPTIMIZERS[self.optimizer](network.parameters, self)

        record = self._tracker(lambda data: self._scores(data, self._parameters(network)), X, labels,
                               validation_data)

        def feed(batch):
            x.value, y_batch.value = X[batch].T, labels[batch]
            if m is not None:
                m.value = len(batch)

        stopping = self._train_epochs(
            graph, optimizer, n, batch_size, rng, feed, record, shuffle=self.shuffle,
            snapshot=lambda: self._parameters(network),
            validation_score=lambda parameters: float(
                np.mean(np.argmax(self._scores(X_valid, parameters), axis=0) == labels_valid)),
        )
        self.t_ = self.n_iter_ * n
        if self.early_stopping:
            self.best_validation_score_, self.parameters_ = stopping.best_score, stopping.best_parameters
            # The network takes the kept parameters back, so graph_ shows the model that predicts.
            linear = [layer for layer in network if isinstance(layer, Linear)]
            for number, layer in enumerate(linear, start=1):
                layer.W.value, layer.b.value = self.parameters_[f"W{number}"], self.parameters_[f"b{number}"]
        else:
            self.best_validation_score_ = None
            self.parameters_ = self._parameters(network)
        # Leave the graph consistent with the final parameters, for drawing and stepping.
        graph.forward()
        graph.backward()
        self._keep_graph(graph)
        self.n_layers_ = len(sizes)
        self.n_outputs_ = len(self.classes_)
        return self

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes, dtype=object)).tolist()
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
                raise ValueError(f"hidden_layer_sizes must be whole numbers ≥ 1, got {self.hidden_layer_sizes!r}")
        return [int(size) for size in sizes]

    @staticmethod
    def _parameters(network):
        """The course's dictionary of the network's current weights and biases, copied."""
        linear = [layer for layer in network if isinstance(layer, Linear)]
        parameters = {}
        for number, layer in enumerate(linear, start=1):
            parameters[f"W{number}"] = layer.W.value.copy()
            parameters[f"b{number}"] = layer.b.value.copy()
        return parameters

    def _scores(self, X, parameters):
        """The class scores Z_L (K, m) of X (m, n_features) through `parameters`."""
        layers = len(parameters) // 2
        hidden = HIDDEN_FUNCTIONS[self.activation]
        with mg.no_grad():
            a = mg.constant(X.T)
            for number in range(1, layers + 1):
                a = mg.constant(parameters[f"W{number}"]) @ a + mg.constant(parameters[f"b{number}"])
                if number < layers:
                    a = hidden(a)
        return a.value

    def predict_proba(self, X):
        """One row per sample, one column per class of classes_: softmax of the scores."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return class_probabilities(self._scores(X, self.parameters_))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
