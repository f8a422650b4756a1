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


def replay_lesson(x, y, iterations, on_step=None, fuse=True):
    """Build once, then replay forward and backward every iteration, with the backward
    fused where it can be (how models train); fuse=False runs the graph as written."""
    x, y = mg.constant(x, name="x"), mg.constant(y, name="y")
    cost, w, b = lesson_graph(x, y)
    graph = mg.Graph(cost)
    optimizer = mg.SGD(graph.parameters, LEARNING_RATE)
    for step in range(iterations):
        if step:
            graph.forward()
        graph.backward(fuse=fuse)
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


# Lessons 2 and 3: the two-layer network and the ten-digit MLP --------------------------------
#
# Each `*_two_layer(X, Y, parameters, iterations, learning_rate)` trains the course's network
# (tanh hidden units, sigmoid output) by full-batch gradient descent from the given weights
# on X (n_x, m) and Y (1, m) and returns the costs; each `*_mlp(X, labels, settings, seed)`
# trains a ReLU network with a softmax output on minibatches with Adam and L2 and returns
# (mean cost per epoch, a function predicting class indices for rows of X).


def sign_language_ten_digits_split(dtype=np.float64):
    """All ten digits of ../shared's Sign Language Digits, split 85/15, or None without it."""
    if not (SIGN_LANGUAGE / "X.npy").is_file():
        return None
    from minigraph.models.datasets import ten_digits_split

    return ten_digits_split(SIGN_LANGUAGE, dtype=dtype)[1]


def course_two_layer_parameters(n_x, n_h, seed):
    """0.01 × standard normal weights, W1 drawn before W2, zero biases: TwoLayerNetwork's start."""
    rng = np.random.default_rng(seed)
    W1 = 0.01 * rng.standard_normal((n_h, n_x))
    W2 = 0.01 * rng.standard_normal((1, n_h))
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((1, 1))}


def hand_two_layer(X, Y, parameters, iterations, learning_rate):
    """The course's loop with the gradients written out: the baseline."""
    W1, b1, W2, b2 = (parameters[name].copy() for name in ("W1", "b1", "W2", "b2"))
    m = X.shape[1]
    costs = []
    for _ in range(iterations):
        A1 = np.tanh(W1 @ X + b1)
        A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
        costs.append(float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m))
        dZ2 = A2 - Y
        dW2 = dZ2 @ A1.T / m
        db2 = np.sum(dZ2, axis=1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1 * A1)
        dW1 = dZ1 @ X.T / m
        db1 = np.sum(dZ1, axis=1, keepdims=True) / m
        W1 -= learning_rate * dW1
        b1 -= learning_rate * db1
        W2 -= learning_rate * dW2
        b2 -= learning_rate * db2
    return costs


def minigraph_two_layer(X, Y, parameters, iterations, learning_rate):
    """models.TwoLayerNetwork's graph, built once from Linear layers and replayed."""
    from minigraph.layers import Linear
    from minigraph.models import two_layer_network_graph

    layer1 = Linear(*parameters["W1"].shape[::-1], name="layer1")
    layer2 = Linear(*parameters["W2"].shape[::-1], name="layer2")
    for layer, number in ((layer1, 1), (layer2, 2)):
        layer.W.value, layer.b.value = parameters[f"W{number}"], parameters[f"b{number}"]
    graph = mg.Graph(two_layer_network_graph(mg.constant(X, name="X"), mg.constant(Y, name="Y"), layer1, layer2))
    optimizer = mg.SGD(layer1.parameters + layer2.parameters, learning_rate)
    costs = []
    for step in range(iterations):
        if step:
            graph.forward()
        costs.append(float(graph.output.value))
        graph.backward(fuse=True)
        optimizer.step()
    return costs


def torch_two_layer(torch):
    def two_layer(X, Y, parameters, iterations, learning_rate):
        X, Y = torch.from_numpy(X), torch.from_numpy(Y)
        W1, b1, W2, b2 = (torch.tensor(parameters[name], requires_grad=True) for name in ("W1", "b1", "W2", "b2"))
        costs = []
        for _ in range(iterations):
            A2 = torch.sigmoid(W2 @ torch.tanh(W1 @ X + b1) + b2)
            cost = torch.nn.functional.binary_cross_entropy(A2, Y)
            costs.append(float(cost.detach()))
            for p in (W1, b1, W2, b2):
                p.grad = None
            cost.backward()
            with torch.no_grad():
                for p in (W1, b1, W2, b2):
                    p -= learning_rate * p.grad
        return costs
    return two_layer


def sklearn_two_layer(X, Y, parameters, iterations, learning_rate):
    """scikit-learn's MLPClassifier with the same layers, trained the same way (full-batch
    gradient descent, no momentum, no L2, every iteration run); its own initialisation."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(parameters["W1"].shape[0],), activation="tanh", solver="sgd",
                          learning_rate_init=learning_rate, momentum=0.0, alpha=0.0, batch_size=X.shape[1],
                          max_iter=iterations, shuffle=False, n_iter_no_change=iterations + 1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X.T, Y.ravel())
    return model.loss_curve_


def he_mlp_parameters(sizes, rng):
    """He-initialised weights layer by layer from `rng`, zero biases: MLPClassifier's start
    for ReLU layers when nothing is held out for validation."""
    return [(np.sqrt(2 / fan_in) * rng.standard_normal((fan_out, fan_in)), np.zeros((fan_out, 1)))
            for fan_in, fan_out in zip(sizes, sizes[1:])]


def hand_mlp(X, labels, settings, seed):
    """Minibatch Adam with L2 on a ReLU network and softmax cross-entropy, in numpy, with the
    course's equations and the draws MLPClassifier makes (weights, then each epoch's order)."""
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], *settings["hidden"], int(labels.max()) + 1]
    layers = [[W, b] for W, b in he_mlp_parameters(sizes, rng)]
    moments = [[(np.zeros_like(p), np.zeros_like(p)) for p in layer] for layer in layers]
    alpha, lr, (beta1, beta2), eps = settings["alpha"], settings["learning_rate"], (0.9, 0.999), 1e-8
    onehot = np.eye(sizes[-1])
    curve, t, n = [], 0, len(X)
    for _ in range(settings["epochs"]):
        order, total = rng.permutation(n), 0.0
        for start in range(0, n, settings["batch_size"]):
            batch = order[start:start + settings["batch_size"]]
            m = len(batch)
            activations, A = [], X[batch].T
            for W, b in layers[:-1]:
                activations.append(A)
                A = np.maximum(W @ A + b, 0)
            activations.append(A)
            Z = layers[-1][0] @ A + layers[-1][1]
            shifted = Z - Z.max(axis=0, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
            Y = onehot[labels[batch].astype(int)].T
            penalty = alpha / (2 * m) * sum(np.sum(W * W) for W, _ in layers)
            total += (-np.sum(Y * log_p) / m + penalty) * m
            dZ = (np.exp(log_p) - Y) / m
            t += 1
            for index in range(len(layers) - 1, -1, -1):
                W, b = layers[index]
                A = activations[index]
                grads = (dZ @ A.T + alpha / m * W, dZ.sum(axis=1, keepdims=True))
                if index:
                    dZ = (W.T @ dZ) * (A > 0)
                for position, grad in enumerate(grads):
                    first, second = moments[index][position]
                    first = beta1 * first + (1 - beta1) * grad
                    second = beta2 * second + (1 - beta2) * grad * grad
                    moments[index][position] = (first, second)
                    step = lr * (first / (1 - beta1**t)) / (np.sqrt(second / (1 - beta2**t)) + eps)
                    layers[index][position] = layers[index][position] - step
        curve.append(total / n)

    def predict(X):
        A = X.T
        for W, b in layers[:-1]:
            A = np.maximum(W @ A + b, 0)
        return np.argmax(layers[-1][0] @ A + layers[-1][1], axis=0)
    return curve, predict


def minigraph_mlp(X, labels, settings, seed):
    from minigraph.models import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=settings["hidden"], learning_rate=settings["learning_rate"],
                          alpha=settings["alpha"], batch_size=settings["batch_size"], epochs=settings["epochs"],
                          random_state=seed).fit(X, labels)
    return model.loss_curve_, model.predict


def sklearn_mlp(X, labels, settings, seed):
    """scikit-learn's MLPClassifier, the same layers, epochs, batch size, Adam and alpha,
    every epoch run (no stopping when the loss stalls); its own initialisation."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=settings["hidden"], learning_rate_init=settings["learning_rate"],
                          alpha=settings["alpha"], batch_size=settings["batch_size"], max_iter=settings["epochs"],
                          n_iter_no_change=settings["epochs"] + 1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, labels)
    return model.loss_curve_, model.predict


def torch_mlp(torch):
    def mlp(X, labels, settings, seed):
        """PyTorch's layers, Adam and cross-entropy, the same L2 term (weights only, α/(2m))
        and the same He initialisation drawn from the same seed."""
        rng = np.random.default_rng(seed)
        sizes = [X.shape[1], *settings["hidden"], int(labels.max()) + 1]
        layers = []
        for W, b in he_mlp_parameters(sizes, rng):
            linear = torch.nn.Linear(*W.shape[::-1], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b.ravel()))
            layers += [linear, torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers[:-1])
        weights = [layer.weight for layer in net if isinstance(layer, torch.nn.Linear)]
        optimizer = torch.optim.Adam(net.parameters(), lr=settings["learning_rate"])
        X_all, y_all = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))
        curve = []
        for _ in range(settings["epochs"]):
            total = 0.0
            for batch in np.array_split(rng.permutation(len(X)), range(settings["batch_size"], len(X), settings["batch_size"])):
                batch = torch.from_numpy(batch)
                m = len(batch)
                cost = torch.nn.functional.cross_entropy(net(X_all[batch]), y_all[batch])
                cost = cost + settings["alpha"] / (2 * m) * sum((W * W).sum() for W in weights)
                optimizer.zero_grad()
                cost.backward()
                optimizer.step()
                total += float(cost.detach()) * m
            curve.append(total / len(X))

        def predict(X):
            with torch.no_grad():
                return net(torch.from_numpy(X)).argmax(dim=1).numpy()
        return curve, predict
    return mlp


# Per-node cost: graphs of many small nodes ----------------------------------------------------
#
# What a learner pays per node when building graphs micrograd-style: a chain of small
# elementwise ops with a Python number in each, and micrograd's own demo (a 2-16-16-1 network
# of scalar neurons on Python floats, max-margin loss), written once and run on any engine
# whose values support +, * and a ReLU.

CHAIN_VALUES = 8
SCALAR_MLP_SIZES = (2, 16, 16, 1)


def hand_chain(links, start=None, shift=0.1):
    """sigmoid(value + shift) `links` times from `start` (8 values of 0.5), then the gradient
    back: the baseline. bench_depth runs it on 4 values with a vector shift."""
    value, outputs = np.full(CHAIN_VALUES, 0.5) if start is None else start, []
    for _ in range(links):
        value = 1 / (1 + np.exp(-(value + shift)))
        outputs.append(value)
    grad = np.ones_like(value)
    for out in reversed(outputs):
        grad = grad * out * (1 - out)  # the add passes the gradient through unchanged
    return grad


def minigraph_chain(links, start=None, shift=0.1):
    """The same chain as a graph: two op nodes a link (add, sigmoid). A number `shift`
    becomes a constant node at every link, as micrograd-style code makes it; an array is
    made a constant once."""
    x = node = mg.parameter(np.full(CHAIN_VALUES, 0.5) if start is None else start, name="x")
    if isinstance(shift, np.ndarray):
        shift = mg.constant(shift)
    for _ in range(links):
        node = mg.sigmoid(node + shift)
    node.backward(np.ones(x.shape))
    return x.grad


def torch_chain(torch):
    def chain(links, start=None, shift=0.1):
        x = node = torch.tensor(np.full(CHAIN_VALUES, 0.5) if start is None else start, requires_grad=True)
        if isinstance(shift, np.ndarray):
            shift = torch.from_numpy(shift)
        for _ in range(links):
            node = torch.sigmoid(node + shift)
        node.backward(torch.ones(x.shape, dtype=torch.float64))
        return x.grad.numpy()
    return chain


def micrograd_chain(links):
    """The chain on 8 scalar Values. micrograd 0.1.0 (PyPI) has no sigmoid, tanh nor exp:
    ReLU stands in (a Python max where sigmoid takes one exp, so micrograd's figure is a
    little low)."""
    import sys

    from micrograd.engine import Value

    # micrograd sorts its graph recursively: a long chain needs a deeper recursion limit.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * links + 1000))
    xs = nodes = [Value(0.5) for _ in range(CHAIN_VALUES)]
    for _ in range(links):
        nodes = [(node + 0.1).relu() for node in nodes]
    for node in nodes:
        node.backward()
    return [x.grad for x in xs]


def scalar_mlp_data(samples=100, seed=0):
    """Points of two Python floats, labels ±1 (the sign of x·y), and each layer's weights as
    rows [w₁, …, wₙ, b] of Python floats drawn uniformly from [−1, 1]."""
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((samples, 2))
    labels = np.where(points[:, 0] * points[:, 1] > 0, 1.0, -1.0).tolist()
    layers = [rng.uniform(-1, 1, (fan_out, fan_in + 1)).tolist()
              for fan_in, fan_out in zip(SCALAR_MLP_SIZES, SCALAR_MLP_SIZES[1:])]
    return points.tolist(), labels, layers


def scalar_mlp_cost(points, labels, layers, relu):
    """micrograd's demo, written once for any engine: `layers` hold each neuron's weights and
    bias as that engine's scalars; ReLU on the hidden layers; the mean max-margin loss.

    A neuron is sum(w·x for each input, starting from b), as micrograd's Neuron computes it,
    so 100 points make 64,401 op nodes: 643 per point, 100 adds summing the losses, one mean.
    """
    scores = []
    for point in points:
        activations = point
        for depth, layer in enumerate(layers):
            sums = [sum((w * a for w, a in zip(neuron[:-1], activations)), neuron[-1]) for neuron in layer]
            activations = sums if depth == len(layers) - 1 else [relu(s) for s in sums]
        scores.append(activations[0])
    losses = [relu(1 + -label * score) for label, score in zip(labels, scores)]
    return sum(losses) * (1.0 / len(losses))


def minigraph_scalar_mlp(data, learning_rate=0.05):
    """One step: the graph built from Python floats, backward, an SGD update of 337 scalars."""
    points, labels, layers = data
    parameters = [[[mg.parameter(w) for w in neuron] for neuron in layer] for layer in layers]
    flat = [p for layer in parameters for neuron in layer for p in neuron]
    return lambda: _scalar_step(points, labels, parameters, mg.relu, lambda cost: cost.backward(),
                                mg.SGD(flat, learning_rate).step)


def micrograd_scalar_mlp(data, learning_rate=0.05):
    from micrograd.engine import Value

    points, labels, layers = data
    parameters = [[[Value(w) for w in neuron] for neuron in layer] for layer in layers]
    flat = [p for layer in parameters for neuron in layer for p in neuron]

    def update():
        for p in flat:
            p.data -= learning_rate * p.grad

    return lambda: _scalar_step(points, labels, parameters, lambda v: v.relu(), lambda cost: cost.backward(), update)


def torch_scalar_mlp(torch):
    def prepare(data, learning_rate=0.05):
        points, labels, layers = data
        parameters = [[[torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in neuron]
                       for neuron in layer] for layer in layers]
        flat = [p for layer in parameters for neuron in layer for p in neuron]

        def update():
            with torch.no_grad():
                for p in flat:
                    p -= learning_rate * p.grad
                    p.grad = None

        return lambda: _scalar_step(points, labels, parameters, torch.relu, lambda cost: cost.backward(), update)
    return prepare


def _scalar_step(points, labels, parameters, relu, backward, update):
    cost = scalar_mlp_cost(points, labels, parameters, relu)
    backward(cost)
    update()
    return cost
