"""Logistic regression as a minigraph graph, trained by full-batch gradient descent.

The graph is the first lesson of every deep-learning course, with x one column per sample:

    cost = mean(log_loss(sigmoid(wᵀ @ x + b), y))

`LogisticRegression` builds it once per `fit`, then trains by replaying it forward and
backward, and is a scikit-learn classifier (fit, predict, predict_proba, score).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import minigraph as mg

from .classifiers import BinaryGraphClassifier, refuse_features_too_large


def logistic_regression_graph(x, y, w, b, fused=False):
    """The lesson's graph from x (features, m), y (1, m), w (features, 1) and b.

    With fused=True, sigmoid and log_loss become one `log_loss_with_logits` node, whose
    gradient σ(z) − y survives where σ(z) rounds to exactly 0 or 1. Returns the cost node;
    `mg.Graph(cost)` holds every node in it.
    """
    z = mg.add(mg.matmul(mg.transpose(w, name="wᵀ"), x), b, name="z")
    if fused:
        loss = mg.log_loss_with_logits(z, y, name="loss")
    else:
        loss = mg.log_loss(mg.sigmoid(z, name="ŷ"), y, name="loss")
    return mg.mean(loss, name="cost")


def tiny_example():
    """The lesson's graph on 2 features × 3 samples, small enough to follow every number.

    Weights start at 0.01 and the bias at 0, as in the lesson. Returns the cost node.
    """
    x = mg.constant([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]], name="x")
    y = mg.constant([[0.0, 1.0, 1.0]], name="y")
    w = mg.parameter([[0.01], [0.01]], name="w")
    b = mg.parameter(0.0, name="b")
    return logistic_regression_graph(x, y, w, b)


class LogisticRegression(BinaryGraphClassifier, ClassifierMixin, BaseEstimator):
    """Binary logistic regression trained by gradient descent through a minigraph graph.

    Weights start at `initial_weight` (0.01 in the classic lesson) and the bias at 0; each
    of the `iterations` steps runs forward, backward and one SGD update on the whole
    training set, recording the cost in `cost_history_` (the cost before that step's
    update). After fit, `graph_` is the trained graph, its values and gradients computed
    at the final parameters, ready to draw or step through.

    `graph_` holds the whole training set (its x and y constants), so it lives only in
    memory: a pickled or copied model leaves it out and keeps what prediction needs
    (`coef_`, `intercept_`, `classes_`, ...). Loaded, it predicts exactly as before;
    fit it again to draw its graph.

    `loss`: "log_loss" is the lesson's graph, sigmoid then log_loss; "log_loss_with_logits"
    fuses the two into one op; "auto" (the default) takes the lesson's graph for float64
    data and the fused op for float32, whose cost stays exact where σ(z) rounds to 1
    (float32 does once z > 17; log_loss then clips). Either way training backpropagates
    with `backward(fuse=True)`: the gradient reaching z is σ(z) − y, as in the course's
    loop, where the chained (p−y)/(p(1−p)) · σ(1−σ) would be 0 and training would stall.

    Parameters are checked when `fit` starts, as scikit-learn's own estimators check
    theirs: a wrong type or value raises scikit-learn's `InvalidParameterError`.
    """

    # scikit-learn's declarative checks, run by `_fit_context` before fit reads any data.
    _parameter_constraints = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "initial_weight": [Interval(Real, None, None, closed="neither")],
        "loss": [StrOptions({"auto", "log_loss", "log_loss_with_logits"})],
        "progress": [callable, None],
    }

    def __init__(self, learning_rate=0.01, iterations=150, initial_weight=0.01, loss="auto",
                 progress=None):
        self.learning_rate = learning_rate
        self.iterations = iterations
        self.initial_weight = initial_weight
        self.loss = loss
        self.progress = progress

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on X (n_samples, n_features) and y with exactly two classes."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
        refuse_features_too_large(self, X)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            count = len(self.classes_)
            raise ValueError(
                f"Only binary classification is supported. LogisticRegression needs y with "
                f"exactly two classes; got {count} class{'es' if count != 1 else ''}: "
                f"{self.classes_[:10].tolist()}"
            )
        fused = self.loss == "log_loss_with_logits" or (self.loss == "auto" and X.dtype == np.float32)
        labels = (y == self.classes_[1]).astype(X.dtype)

        x = mg.constant(X.T, name="x")
        y_row = mg.constant(labels[np.newaxis, :], name="y")
        w = mg.parameter(np.full((X.shape[1], 1), self.initial_weight, dtype=X.dtype), name="w")
        b = mg.parameter(np.zeros((), dtype=X.dtype), name="b")
        graph = mg.Graph(logistic_regression_graph(x, y_row, w, b, fused=fused))
        optimizer = mg.SGD(graph.parameters, self.learning_rate)

        self._descend(graph, optimizer)

        self._keep_graph(graph)
        self.coef_ = w.value.T.copy()
        self.intercept_ = np.atleast_1d(b.value).copy()
        self.n_iter_ = self.iterations
        return self

    def decision_function(self, X):
        """wᵀx + b for each sample: positive means the second class."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        with mg.no_grad():
            z = mg.constant(X) @ mg.constant(self.coef_.T) + mg.constant(self.intercept_)
        return z.value.ravel().copy()  # the caller's own array, writable like scikit-learn's
