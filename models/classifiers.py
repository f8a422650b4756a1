"""What the models' scikit-learn classifiers share, beyond how each builds its graph.

`GraphClassifier`: a fitted model keeps its training graph as `graph_` for drawing and
stepping, but a pickle leaves it out, since the graph holds the training data and a pickle
is shared and stored. `BinaryGraphClassifier` adds, for a model whose
`decision_function` gives one score per sample (positive: the second class), the course's
full-batch training loop, the probabilities through a sigmoid, the prediction and
scikit-learn's binary-only tag.
"""

import warnings

import numpy as np

import minigraph as mg
from minigraph.assistant import StalledGradientWarning, diagnose


class GraphClassifier:
    """Mixin for a classifier trained through a minigraph graph kept as `graph_`, with what
    the teaching assistant noticed in it after training as `diagnosis_` (sentences; empty
    when all is well: see minigraph.assistant)."""

    # Binary models train with backward(fuse=True): a stall of the plain chain is no stall of theirs.
    _trains_fused = False

    def _keep_graph(self, graph):
        self.graph_ = graph
        self.diagnosis_ = [finding.sentence for finding in diagnose(graph)
                           if not (self._trains_fused and finding.fusion_cures)]

    def __getstate__(self):
        # A copy: object.__getstate__ hands back the instance's own __dict__.
        state = dict(super().__getstate__())
        state.pop("graph_", None)
        return state


class BinaryGraphClassifier(GraphClassifier):
    """Mixin for a two-class GraphClassifier with a one-score `decision_function`."""

    _trains_fused = True

    def _descend(self, graph, optimizer):
        """`iterations` steps of full-batch gradient descent by replay, recording
        `cost_history_`; the graph is left holding the final parameters' values and one
        plain pass's gradients."""
        steps = range(self.iterations)
        if self.progress is not None:
            steps = self.progress(steps)
        self.cost_history_ = []
        for step in steps:
            if step > 0:
                graph.forward()
            self.cost_history_.append(float(graph.output.value))
            graph.backward(fuse=True)  # dz = ŷ − y into the output layer, as the course computes it
            optimizer.step()
        # Consistent with the final parameters, for drawing and stepping: a plain pass, so
        # every node of the graph as written holds its gradient. Training ran fused, so a
        # plain-chain stall here is not the model's (see minigraph.assistant).
        graph.forward()
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
