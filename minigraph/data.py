"""Minibatches: which samples each training step sees.

A graph is built once and fed one batch after another by giving its leaves new values
and replaying it; the last batch may be smaller, and replay checks every shape again:

    x = mg.constant(X[:, :64], name="x")             # samples are columns
    y = mg.constant(labels[:64], name="y")
    graph = mg.Graph(mg.softmax_cross_entropy(net(x), y))
    for epoch in range(epochs):
        for batch in minibatches(X.shape[1], 64, rng):
            x.value, y.value = X[:, batch], labels[batch]
            graph.forward()                          # mg.resample_dropout(graph, rng) with dropout
            graph.backward()
            optimizer.step()
"""

import numbers

import numpy as np

from .stochastic import as_generator


def minibatches(n, batch_size, rng=None, shuffle=True):
    """An iterator of index arrays that split the samples 0..n−1 into batches of
    `batch_size`, the last one smaller when batch_size does not divide n: in an order
    shuffled by `rng` (a numpy Generator, an int seed, or None for an unseeded one), or in
    order with shuffle=False. The sizes are checked at the call.
    """
    for what, value, least in (("n", n, 0), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"minibatches: {what} must be a whole number ≥ {least}, got {value!r}")
    order = as_generator(rng).permutation(n) if shuffle else np.arange(n)
    return (order[start:start + batch_size] for start in range(0, n, batch_size))
