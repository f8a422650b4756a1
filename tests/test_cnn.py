"""CNNClassifier (lesson 4) against a training loop written out in numpy, and as an estimator.

The reference loop here convolves by looping over the kernel's offsets (not by im2col, as
conv2d does) and is written from the equations, on purpose not imported from the package.
"""

import pickle

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import minigraph as mg
from minigraph.models import CNNClassifier


def conv_forward(x, w, b):
    """Σ over kernel offsets (p, q) of w[:, :, p, q] applied to x shifted by (p, q)."""
    _, _, kh, kw = w.shape
    rows, cols = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((x.shape[0], w.shape[0], rows, cols)) + b[:, None, None]
    for p in range(kh):
        for q in range(kw):
            out += np.einsum("fc,nchw->nfhw", w[:, :, p, q], x[:, :, p:p + rows, q:q + cols])
    return out


def conv_backward(grad, x, w):
    _, _, kh, kw = w.shape
    rows, cols = grad.shape[2:]
    grad_x, grad_w = np.zeros_like(x), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            grad_w[:, :, p, q] = np.einsum("nfhw,nchw->fc", grad, x[:, :, p:p + rows, q:q + cols])
            grad_x[:, :, p:p + rows, q:q + cols] += np.einsum("nfhw,fc->nchw", grad, w[:, :, p, q])
    return grad_x, grad_w, grad.sum(axis=(0, 2, 3))


def pool_forward(x):
    """2×2 max-pooling; `first[p][q]` marks the windows whose first maximum is at (p, q)."""
    rows, cols = x.shape[2] // 2, x.shape[3] // 2
    corners = [[x[:, :, p:2 * rows:2, q:2 * cols:2] for q in range(2)] for p in range(2)]
    out = np.max([c for row in corners for c in row], axis=0)
    unsent, first = np.ones(out.shape, bool), [[None, None], [None, None]]
    for p in range(2):
        for q in range(2):
            first[p][q] = unsent & (corners[p][q] == out)
            unsent &= ~first[p][q]
    return out, first


def pool_backward(grad, x, first):
    grad_x = np.zeros_like(x)
    rows, cols = grad.shape[2:]
    for p in range(2):
        for q in range(2):
            grad_x[:, :, p:2 * rows:2, q:2 * cols:2] = grad * first[p][q]
    return grad_x


def shift(images, moves, most):
    out = np.empty_like(images)
    for k, image in enumerate(images):
        padded = np.pad(image, most, mode="edge")
        top, left = most - moves[0][k], most - moves[1][k]
        out[k] = padded[top:top + image.shape[0], left:left + image.shape[1]]
    return out


def hand_cnn(X, labels, channels, hidden, classes, batch_size, steps, max_shift, rate, seed):
    """Adam on conv(3×3)-ReLU-pool(2×2) blocks, flatten, a ReLU layer with dropout and a
    softmax output, drawing what CNNClassifier draws in its order: the weights, the first
    dropout mask (when the graph is built), each epoch's order, each batch's shifts and mask.
    Returns the mean cost of the epoch and the parameters after `steps` steps."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(X.shape[1]))
    images = ((X - X.mean()) / X.std()).reshape(len(X), 1, side, side)
    params, depth = [], 1
    for width in channels:
        params += [np.sqrt(2 / (depth * 9)) * rng.standard_normal((width, depth, 3, 3)), np.zeros(width)]
        depth, side = width, (side - 2) // 2
    features = depth * side * side
    params += [np.sqrt(2 / features) * rng.standard_normal((hidden, features)), np.zeros((hidden, 1))]
    params += [np.sqrt(2 / hidden) * rng.standard_normal((classes, hidden)), np.zeros((classes, 1))]
    if rate:
        rng.random((hidden, batch_size))  # the mask the dropout node is built with
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    order, total = rng.permutation(len(X)), 0.0
    for t in range(1, steps + 1):
        batch = order[(t - 1) * batch_size:t * batch_size]
        m = len(batch)
        a = images[batch]
        if max_shift:
            a = shift(a[:, 0], rng.integers(-max_shift, max_shift + 1, size=(2, m)), max_shift)[:, None]
        mask = (rng.random((hidden, m)) >= rate) / (1 - rate) if rate else 1.0
        saved = []
        for block in range(len(channels)):
            w, b = params[2 * block:2 * block + 2]
            z = conv_forward(a, w, b)
            pooled, first = pool_forward(np.maximum(z, 0))
            saved.append((a, z, first))
            a = pooled
        columns = a.reshape(m, -1).T
        W1, b1, W2, b2 = params[-4:]
        h = np.maximum(W1 @ columns + b1, 0)
        dropped = h * mask
        scores = W2 @ dropped + b2
        shifted = scores - scores.max(axis=0)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=0))
        onehot = np.eye(classes)[labels[batch]].T
        total += -np.sum(onehot * log_p)
        d_scores = (np.exp(log_p) - onehot) / m
        grads = [d_scores @ dropped.T, d_scores.sum(axis=1, keepdims=True)]
        d_h = (W2.T @ d_scores) * mask * (h > 0)
        grads = [d_h @ columns.T, d_h.sum(axis=1, keepdims=True)] + grads
        d_a = (W1.T @ d_h).T.reshape(a.shape)
        for block in reversed(range(len(channels))):
            x, z, first = saved[block]
            d_z = pool_backward(d_a, np.maximum(z, 0), first) * (z > 0)
            d_a, d_w, d_b = conv_backward(d_z, x, params[2 * block])
            grads = [d_w, d_b] + grads
        for k, (param, grad) in enumerate(zip(params, grads)):
            first_m, second_m = moments[k]
            first_m = 0.9 * first_m + 0.1 * grad
            second_m = 0.999 * second_m + 0.001 * grad * grad
            moments[k] = (first_m, second_m)
            params[k] = param - 1e-3 * (first_m / (1 - 0.9**t)) / (np.sqrt(second_m / (1 - 0.999**t)) + 1e-8)
    return total / len(X), params


@pytest.mark.parametrize("max_shift, rate", [(0, 0.0), (2, 0.3)])
def test_the_first_three_steps_match_a_training_loop_written_out_in_numpy(max_shift, rate):
    rng = np.random.default_rng(5)
    X, labels = rng.random((12, 14 * 14)), np.arange(12) % 3
    model = CNNClassifier(channels=(3, 4), hidden_units=5, batch_size=4, epochs=1, max_shift=max_shift,
                          dropout=rate, dtype="float64", random_state=7).fit(X, labels)
    cost, params = hand_cnn(X, labels, (3, 4), 5, 3, batch_size=4, steps=3, max_shift=max_shift, rate=rate, seed=7)
    assert model.loss_curve_[0] == pytest.approx(cost, rel=1e-9)
    trained = [node.value for node in model.network_.parameters]
    assert [p.shape for p in trained] == [p.shape for p in params]
    for ours, theirs in zip(trained, params):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def small_cnn(**settings):
    return CNNClassifier(channels=(4,), hidden_units=8, epochs=3, max_shift=1, random_state=0, **settings)


def test_images_as_rows_or_as_2d_images_give_the_same_model():
    rng = np.random.default_rng(1)
    X, y = rng.random((30, 8 * 8)), np.arange(30) % 2
    rows = small_cnn().fit(X, y)
    images = small_cnn().fit(X.reshape(30, 8, 8), y)
    np.testing.assert_array_equal(rows.predict_proba(X), images.predict_proba(X.reshape(30, 8, 8)))
    assert rows.image_shape_ == images.image_shape_ == (8, 8)
    wide = small_cnn(image_shape=(4, 16)).fit(X, y)
    assert wide.network_[0](mg.constant(np.zeros((1, 1, 4, 16)))).shape == (1, 4, 2, 14)
    with pytest.raises(ValueError, match=r"fitted on images of \(8, 8\), got \(4, 16\)"):
        rows.predict(X.reshape(30, 4, 16))


@pytest.mark.parametrize("settings, X_shape, message", [
    ({"image_shape": (8, 9)}, (10, 64), r"image_shape \(8, 9\) holds 72 pixels, but X has 64 per row"),
    ({"image_shape": (8,)}, (10, 64), r"image_shape must be \(height, width\)"),
    ({}, (10, 16), r"images of 4×4 pixels are too small for 3 blocks of 3×3 convolutions and 2×2 pooling"),
    ({"channels": (4, 0)}, (10, 64), "channels must be whole numbers ≥ 1"),
])
def test_shapes_that_do_not_fit_are_refused_with_the_reason(settings, X_shape, message):
    X, y = np.random.default_rng(2).random(X_shape), np.arange(X_shape[0]) % 2
    with pytest.raises(ValueError, match=message):
        CNNClassifier(epochs=1, **settings).fit(X, y)


@pytest.mark.parametrize("settings, name", [
    ({"kernel_size": 0}, "kernel_size"), ({"dropout": 1.0}, "dropout"), ({"max_shift": -1}, "max_shift"),
    ({"dtype": "float16"}, "dtype"), ({"learning_rate": 0}, "learning_rate"), ({"epochs": 0}, "epochs"),
])
def test_bad_settings_are_refused_the_scikit_learn_way(settings, name):
    with pytest.raises(InvalidParameterError, match=name):
        CNNClassifier(**settings).fit(np.ones((4, 64)), [0, 1, 0, 1])


def test_a_pickle_keeps_the_network_and_leaves_the_training_graph_out():
    rng = np.random.default_rng(3)
    X, y = rng.random((40, 8 * 8)), np.arange(40) % 4
    model = small_cnn().fit(X, y)
    data = pickle.dumps(model)
    fed = next(leaf for leaf in model.graph_.leaves if leaf.name == "X").value  # the last batch
    assert not any(image.tobytes() in data for image in fed[:, 0])
    assert len(data) < 20_000  # the weights (2,244 of them) and the settings
    loaded = pickle.loads(data)
    assert not hasattr(loaded, "graph_") and hasattr(model, "graph_")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_probabilities_and_predictions_belong_to_the_caller():
    # As scikit-learn's and the MLP's are: fresh, writable arrays (the engine's are read-only).
    X, y = np.random.default_rng(5).random((20, 8 * 8)), np.arange(20) % 3
    model = small_cnn().fit(X, y)
    before = model.predict_proba(X)
    for output in (model.predict_proba(X), model.predict(X)):
        assert output.flags.writeable
        output[...] = 0
    np.testing.assert_array_equal(model.predict_proba(X), before)
    np.testing.assert_allclose(before.sum(axis=1), 1.0, rtol=1e-6)  # float32 by default


def test_early_stopping_records_the_validation_accuracy_of_each_epoch():
    rng = np.random.default_rng(4)
    X, y = rng.random((60, 8 * 8)), np.arange(60) % 3
    model = small_cnn(early_stopping=True, n_iter_no_change=50, validation_fraction=0.2).fit(X, y)
    assert len(model.validation_scores_) == len(model.loss_curve_) == model.n_iter_ == 3
    assert model.best_validation_score_ == max(model.validation_scores_)


@parametrize_with_checks([CNNClassifier(channels=(2,), kernel_size=1, pool_size=1, hidden_units=16, epochs=30,
                                        max_shift=0, dropout=0.0, learning_rate=0.01, random_state=0)])
def test_cnn_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


# The demo command: `minigraph demo --model cnn` ------------------------------------------------


@pytest.mark.needs_dot
def test_demo_cnn_trains_lesson_4s_network_and_prints_its_accuracy_beside_lesson_3s(tmp_path):
    import subprocess
    import sys

    from minigraph.models.datasets import ten_digits_split

    result = subprocess.run([sys.executable, "-m", "minigraph", "demo", "--no-progress", "--model", "cnn",
                             "--epochs", "2", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    _, (X_train, X_test, y_train, y_test) = ten_digits_split()
    model = CNNClassifier(channels=(16,), max_shift=1, epochs=2, random_state=0).fit(X_train, y_train)
    assert (f"minigraph     train accuracy {100 * model.score(X_train, y_train):6.2f} %   "
            f"test accuracy {100 * model.score(X_test, y_test):6.2f} %") in result.stdout
    assert "lesson 3's MLP" in result.stdout and "one conv block of 16 3×3 filters" in result.stdout
    assert {path.name for path in tmp_path.iterdir()} == {"cost.png", "graph.svg", "backprop.html"}


def test_lesson_4s_player_example_is_a_cross_through_two_edge_kernels():
    from minigraph.models import tiny_conv_example

    cost = tiny_conv_example()
    graph = mg.Graph(cost)
    nodes = {graph.label(node): node for node in graph.nodes}
    image, kernels, bias = nodes["x"].value[0, 0], nodes["w"].value[:, 0], nodes["b"].value
    assert kernels[1].tolist() == kernels[0].T.tolist()  # the horizontal edge is the transpose
    by_loops = np.array([[[(image[i:i + 3, j:j + 3] * kernels[f]).sum() + bias[f] for j in range(8)]
                          for i in range(8)] for f in range(2)])
    pooled = np.maximum(by_loops, 0).reshape(2, 4, 2, 4, 2).max(axis=(2, 4))
    assert cost.value == pytest.approx((pooled ** 2).mean(), rel=1e-12)
