"""What the models' scikit-learn classifiers share, beyond how each builds its graph.

`refuse_features_too_large`: the check every fit makes that its data can be trained on
at all in its dtype.

`GraphClassifier`: a fitted model keeps its training graph as `graph_` for drawing and
stepping, but a pickle leaves it out, since the graph holds the training data and a pickle
is shared and stored. `BinaryGraphClassifier` adds, for a model whose
`decision_function` gives one score per sample (positive: the second class), the course's
full-batch training loop, the probabilities through a sigmoid, the prediction and
scikit-learn's binary-only tag. `MinibatchGraphClassifier` adds the epochs of minibatches
that MLPClassifier and CNNClassifier train with, dropout and early stopping included
(`EarlyStopping`, scikit-learn's rule).
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets

import minigraph as mg
from minigraph.assistant import StalledGradientWarning, diagnose
from minigraph.data import minibatches


def refuse_features_too_large(estimator, X):
    """A NonFiniteError naming the largest feature when some |x| squared overflows X's dtype.

    Training multiplies features by weights and squares gradients of their size (Adam's v,
    the L2 term), so such data ends in inf or NaN part-way, or, through a saturated tanh,
    in a model that learned nothing; better to say so at the start, with the remedy.
    """
    limit = np.sqrt(np.finfo(X.dtype).max)
    position = np.unravel_index(np.argmax(np.abs(X)), X.shape)
    largest = X[position]
    if abs(largest) > limit:
        sample, feature = (int(i) for i in position)
        raise mg.NonFiniteError(
            f"{type(estimator).__name__}: X holds {largest:.3g} (sample {sample}, feature {feature}); "
            f"features beyond ±{limit:.3g} overflow when squared in training ({X.dtype}): "
            f"standardize X (e.g. sklearn.preprocessing.StandardScaler)"
        )


class GraphClassifier:
    """Mixin for a classifier trained through a minigraph graph kept as `graph_`, with what
    the teaching assistant noticed in it after training as `diagnosis_` (sentences; empty
    when all is well: see minigraph.assistant)."""

    # Binary models train with backward(fuse=True): a stall of the plain chain is no stall of theirs.
    _trains_fused = False

    def _tracker(self, scores_of, X, labels, validation_data):
        """A function that appends, to `curves_`, the cost and accuracy on the training set
        (X, its encoded labels) and on `validation_data` (X_val, y_val) at the parameters
        `scores_of(X)` computes with now; None without validation data (and curves_ None).

        The cost is the model's own (log loss, or softmax cross-entropy), without L2, so the
        two curves compare: the gap between them is what the model does not generalise."""
        if validation_data is None:
            self.curves_ = None
            return None
        X_val, y_val = validation_data
        X_val = np.asarray(X_val, dtype=X.dtype)
        unknown = ~np.isin(y_val, self.classes_)
        if unknown.any():
            raise ValueError(f"validation_data: labels {np.unique(np.asarray(y_val)[unknown])[:5].tolist()} are "
                             f"not among the training classes {self.classes_.tolist()}")
        val_labels = np.searchsorted(self.classes_, y_val)
        self.curves_ = {f"{part}_{what}": [] for part in ("train", "validation") for what in ("cost", "accuracy")}

        def record():
            for part, data, truth in (("train", X, labels), ("validation", X_val, val_labels)):
                cost, accuracy = _cost_and_accuracy(scores_of(data), truth)
                self.curves_[f"{part}_cost"].append(cost)
                self.curves_[f"{part}_accuracy"].append(accuracy)

        return record

    def _keep_graph(self, graph):
        self.graph_ = graph
        self.diagnosis_ = [finding.sentence for finding in diagnose(graph)
                           if not (self._trains_fused and finding.fusion_cures)]

    def __getstate__(self):
        # A copy: object.__getstate__ hands back the instance's own __dict__.
        state = dict(super().__getstate__())
        state.pop("graph_", None)
        return state


class EarlyStopping:
    """scikit-learn's rule: keep the parameters of the best validation score so far; stop
    once `patience` epochs in a row have not beaten it by more than `tol`."""

    def __init__(self, tol, patience):
        self.tol, self.patience = tol, patience
        self.best_score, self.best_parameters, self.stalled = None, None, 0

    def stop_after(self, score, parameters):
        """Record one epoch's validation score; True when training should stop."""
        improved = self.best_score is None or score > self.best_score + self.tol
        self.stalled = 0 if improved else self.stalled + 1
        if self.best_score is None or score > self.best_score:  # any gain is a new best
            self.best_score, self.best_parameters = score, parameters
        return self.stalled >= self.patience


# scikit-learn's constraints on the settings MinibatchGraphClassifier's training reads.
EPOCH_CONSTRAINTS = {
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
    "progress": [callable, None],
}


class MinibatchGraphClassifier(GraphClassifier):
    """Mixin for a K-class GraphClassifier trained by epochs of minibatches through one
    graph, replayed on each batch. The estimator has the settings of EPOCH_CONSTRAINTS, as
    MLPClassifier documents them."""

    def _classes_and_hold_out(self, X, y, rng):
        """Sets classes_ (at least two) and returns X, y as class indices of X's dtype,
        and, with early_stopping, the `validation_fraction` held out of them (stratified,
        split with a seed drawn from rng): (X, labels, X_valid, labels_valid), the last
        two None without early stopping."""
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes in y; "
                             f"got 1 class: {self.classes_.tolist()}")
        labels = labels.astype(X.dtype)
        if not self.early_stopping:
            return X, labels, None, None
        X, X_valid, labels, labels_valid = train_test_split(
            X, labels, test_size=self.validation_fraction, stratify=labels, random_state=int(rng.integers(2**31)),
        )
        return X, labels, X_valid, labels_valid

    def _train_epochs(self, graph, optimizer, n, batch_size, rng, feed, record=None, shuffle=True,
                      snapshot=None, validation_score=None):
        """Each epoch: the n samples in batches (shuffled by rng when `shuffle`); for each,
        `feed(batch)` (an index array) gives the graph's leaves their values, new dropout
        masks are drawn from rng (when the model drops units), the graph is replayed,
        differentiated and `optimizer` steps. Records `loss_curve_` (each epoch's mean cost)
        and, after each epoch, calls `record` (the curves) if given.

        With early_stopping, `snapshot()` copies the parameters as they are and
        `validation_score(parameters)` is the held-out accuracy they reach: recorded in
        `validation_scores_`, and training stops when EarlyStopping says so. Returns the
        EarlyStopping, whose `best_parameters` are the snapshot to keep. Sets `n_iter_`."""
        epochs = range(self.epochs) if self.progress is None else self.progress(range(self.epochs))
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        stopping = EarlyStopping(self.tol, self.n_iter_no_change)
        for _ in epochs:
            total = 0.0
            for batch in minibatches(n, batch_size, rng, shuffle=shuffle):
                feed(batch)
                if self.dropout:
                    mg.resample_dropout(graph, rng)  # new masks for the new batch
                else:
                    graph.forward()
                total += float(graph.output.value) * len(batch)
                graph.backward()
                optimizer.step()
            self.loss_curve_.append(total / n)
            if record is not None:
                record()
            if self.early_stopping:
                parameters = snapshot()
                score = validation_score(parameters)
                self.validation_scores_.append(score)
                if stopping.stop_after(score, parameters):
                    break
        self.n_iter_ = len(self.loss_curve_)
        return stopping


def class_probabilities(scores):
    """Softmax of class scores (K, n): one row per sample, the caller's own writable array
    (the engine's values are read-only)."""
    with mg.no_grad():
        return mg.softmax(mg.constant(scores), axis=0).value.T.copy()


def _cost_and_accuracy(scores, labels):
    """Mean log loss and accuracy of scores: one per sample (binary: the sigmoid's input),
    or K × m class scores (softmax cross-entropy)."""
    labels = np.asarray(labels, dtype=int).ravel()
    if scores.ndim == 1 or scores.shape[0] == 1:
        z = scores.ravel()
        cost = np.mean(np.logaddexp(0, z) - z * labels)  # log_loss(σ(z), y), stable
        return float(cost), float(np.mean((z > 0) == labels))
    shifted = scores - scores.max(axis=0)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0))
    cost = -np.mean(log_p[labels, np.arange(labels.size)])
    return float(cost), float(np.mean(np.argmax(scores, axis=0) == labels))


class BinaryGraphClassifier(GraphClassifier):
    """Mixin for a two-class GraphClassifier with a one-score `decision_function`."""

    _trains_fused = True

    def _descend(self, graph, optimizer, record=None):
        """`iterations` steps of full-batch gradient descent by replay, recording
        `cost_history_` (and, with `record`, the curves at each step's parameters and at
        the final ones); the
        graph is left holding the final parameters' values and one plain pass's gradients."""
        steps = range(self.iterations)
        if self.progress is not None:
            steps = self.progress(steps)
        self.cost_history_ = []
        for step in steps:
            if step > 0:
                graph.forward()
            self.cost_history_.append(float(graph.output.value))
            if record is not None:
                record()
            graph.backward(fuse=True)  # dz = ŷ − y into the output layer, as the course computes it
            optimizer.step()
        # Consistent with the final parameters, for drawing and stepping: a plain pass, so
        # every node of the graph as written holds its gradient. Training ran fused, so a
        # plain-chain stall here is not the model's (see minigraph.assistant).
        graph.forward()
        if record is not None:
            record()  # and the curves end at the final parameters
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StalledGradientWarning)
            graph.backward()

    def predict_proba(self, X):
        """Columns: probability of classes_[0], then of classes_[1]."""
        with mg.no_grad():
            p = mg.sigmoid(mg.constant(self.decision_function(X))).value
        return np.column_stack([1 - p, p])

    def predict(self, X):
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
