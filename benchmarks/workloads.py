"""The lesson written three ways: by hand in numpy, as a minigraph graph, and by the peers.

Each `*_lesson(x, y, iterations)` trains logistic regression from weights 0.01 and bias 0
at learning rate 0.01 on x (features, m) and y (1, m) and returns the final cost, so the
benchmarks can time them and check they agree.
"""

import pathlib

import numpy as np

import minigraph as mg

LEARNING_RATE = 0.01
SIGN_LANGUAGE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sign-language-digits"


def sign_language_split(dtype=np.float64):
    """The classic lesson's split of ../shared's Sign Language Digits, or None without it."""
    if not (SIGN_LANGUAGE / "X.npy").is_file():
        return None
    from minigraph.models.datasets import lesson_split

    return lesson_split(SIGN_LANGUAGE, dtype=dtype)[1]


def synthetic_lesson_data(features=4096, samples=348, dtype=np.float64, seed=0):
    """Pixels in [0, 1) and 0/1 labels, the shape of the classic lesson's training set."""
    rng = np.random.default_rng(seed)
    x = rng.random((features, samples)).astype(dtype)
    y = (rng.random((1, samples)) > 0.5).astype(dtype)
    return x, y


def hand_lesson(x, y, iterations, on_step=None):
    """The course's numpy loop with the closed-form gradient: the baseline.

    `on_step(step)`, if given, is called after every step (the memory benchmark samples
    RSS there).
    """
    w = np.full((x.shape[0], 1), 0.01, dtype=x.dtype)
    b = x.dtype.type(0.0)
    m = x.shape[1]
    for step in range(iterations):
        a = 1 / (1 + np.exp(-(w.T @ x + b)))
        cost = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / m
        dz = a - y
        w -= LEARNING_RATE * (x @ dz.T) / m
        b -= LEARNING_RATE * np.sum(dz) / m
        if on_step is not None:
            on_step(step)
    return float(cost)


def lesson_graph(x, y):
    """cost = mean(log_loss(sigmoid(wᵀx + b), y)) and its parameters."""
    w = mg.parameter(np.full((x.shape[0], 1), 0.01, dtype=x.dtype), name="w")
    b = mg.parameter(np.zeros((), dtype=x.dtype), name="b")
    cost = mg.mean(mg.log_loss(mg.sigmoid(w.T @ x + b), y))
    return cost, w, b


def replay_lesson(x, y, iterations, on_step=None):
    """Build once, then replay forward and backward every iteration (how models train)."""
    x, y = mg.constant(x, name="x"), mg.constant(y, name="y")
    cost, w, b = lesson_graph(x, y)
    graph = mg.Graph(cost)
    optimizer = mg.SGD(graph.parameters, LEARNING_RATE)
    for step in range(iterations):
        if step:
            graph.forward()
        optimizer.zero_grad()
        graph.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step)
    return float(cost.value)


def rebuild_lesson(x, y, iterations):
    """Build the graph afresh every iteration, as an eager framework does."""
    x, y = mg.constant(x, name="x"), mg.constant(y, name="y")
    cost, w, b = lesson_graph(x, y)
    optimizer = mg.SGD([w, b], LEARNING_RATE)
    for step in range(iterations):
        if step:
            cost = mg.mean(mg.log_loss(mg.sigmoid(w.T @ x + b), y))
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
    return float(cost.value)


def torch_lesson(torch):
    def lesson(x, y, iterations):
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        w = torch.full((x.shape[0], 1), 0.01, dtype=x.dtype, requires_grad=True)
        b = torch.zeros((), dtype=x.dtype, requires_grad=True)
        for _ in range(iterations):
            cost = torch.nn.functional.binary_cross_entropy(torch.sigmoid(w.T @ x + b), y)
            w.grad = b.grad = None
            cost.backward()
            with torch.no_grad():
                w -= LEARNING_RATE * w.grad
                b -= LEARNING_RATE * b.grad
        return float(cost.detach())
    return lesson


def autograd_lesson(autograd):
    anp = autograd.numpy

    def cost_of(params, x, y):
        w, b = params
        a = 1 / (1 + anp.exp(-(anp.dot(w.T, x) + b)))
        return -anp.mean(y * anp.log(a) + (1 - y) * anp.log(1 - a))

    gradient = autograd.value_and_grad(cost_of)

    def lesson(x, y, iterations):
        w, b = np.full((x.shape[0], 1), 0.01, dtype=x.dtype), 0.0
        for _ in range(iterations):
            cost, (dw, db) = gradient((w, b), x, y)
            w, b = w - LEARNING_RATE * dw, b - LEARNING_RATE * db
        return float(cost)
    return lesson
