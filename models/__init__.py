"""Models written with minigraph, and the data loaders their lessons use."""

from .logistic_regression import LogisticRegression, logistic_regression_graph, tiny_example

__all__ = ["LogisticRegression", "logistic_regression_graph", "tiny_example"]
