"""A small convolutional network for images, trained on minibatches through one minigraph graph.

The network (`cnn_network`) is lesson 4's: for each entry of `channels`, a 3×3 convolution,
ReLU and 2×2 max-pooling, each block in its own scope ("conv1", "conv2", ...); then the
one `Flatten` step from images (N×C×H×W, samples along axis 0, as torch.nn has them) to
the course's columns (features × samples); then a dense ReLU layer ("dense") with dropout,
and K class scores ("output"). The cost is the fused softmax cross-entropy.

Images come as rows of pixels, as the loaders give them (reshaped to `image_shape`, or to a
square when the row's length is a perfect square), or as 2-D images (n_samples, H, W).
Pixels are standardised with the mean and standard deviation of all the training pixels.
Training can shift each image by a random number of pixels, a new shift every time the
image is seen (`max_shift`), which teaches the network that a hand moved a little is the
same digit.

As in `mlp`, the graph is built once and fed one batch after another by replay.
"""

import math
from numbers import Integral, Real

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

import minigraph as mg
from minigraph.layers import Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential
from minigraph.stochastic import as_generator

from .classifiers import EPOCH_CONSTRAINTS, MinibatchGraphClassifier, class_probabilities

# Prediction runs this many images at a time: the windows of a 64×64 batch take megabytes.
PREDICT_BATCH = 256


def cnn_network(image_shape, channels, kernel_size, pool_size, hidden_units, n_classes, dropout=0.0,
                rng=None, dtype=np.float64):
    """Lesson 4's network as a Sequential, for images of `image_shape` (H, W) with one channel.

    One generator (`rng`) draws the weights in order (conv1's W first, the output layer's
    last; He initialisation, biases 0) and then the dropout masks.
    """
    rng = as_generator(rng)
    height, width = image_shape
    layers, depth = [], 1
    for number, width_out in enumerate(channels, start=1):
        name = f"conv{number}"
        height, width = height - kernel_size + 1, width - kernel_size + 1
        if min(height, width) < pool_size:
            raise ValueError(
                f"images of {image_shape[0]}×{image_shape[1]} pixels are too small for {len(channels)} "
                f"blocks of {kernel_size}×{kernel_size} convolutions and {pool_size}×{pool_size} "
                f"pooling: block {number} would pool a {max(height, 0)}×{max(width, 0)} map "
                f"(give image_shape, fewer channels or smaller kernels)"
            )
        height, width = height // pool_size, width // pool_size
        layers += [Conv2d(depth, width_out, kernel_size, rng=rng, name=name, dtype=dtype),
                   ReLU(name=name), MaxPool2d(pool_size, name=name)]
        depth = width_out
    layers += [Flatten(), Linear(depth * height * width, hidden_units, init="he", rng=rng, name="dense", dtype=dtype),
               ReLU(name="dense")]
    if dropout:
        layers.append(Dropout(dropout, rng, name="dense"))
    layers.append(Linear(hidden_units, n_classes, init="he", rng=rng, name="output", dtype=dtype))
    return Sequential(*layers)


def tiny_conv_example():
    """Lesson 4's step player: a 10×10 picture of a cross, two 3×3 edge kernels (vertical and
    horizontal: the lesson's first kernel and its transpose), ReLU, 2×2 max-pooling and the
    mean of the squares; x is big enough to be drawn as a picture, so each conv step frames
    its window on it. Returns the cost node."""
    image = np.zeros((10, 10))
    image[1:9, 5:8] = 1.0
    image[2:4, 3:9] = 1.0
    x = mg.constant(image[np.newaxis, np.newaxis], name="x")
    w = mg.parameter([[[[-1.0, 0.0, 1.0]] * 3], [[[-1.0] * 3, [0.0] * 3, [1.0] * 3]]], name="w")
    b = mg.parameter([0.5, -0.5], name="b")
    z = mg.conv2d(x, w, b, name="z")
    pooled = mg.max_pool2d(mg.relu(z, name="a"), 2, name="pooled")
    return mg.mean(pooled * pooled, name="cost")


def shifted(images, max_shift, rng):
    """Each image (n, H, W) moved by its own random whole number of pixels, up to max_shift
    down/up and left/right (drawn as rows, then columns); the edge pixels fill the gap."""
    n, height, width = images.shape
    moves = rng.integers(-max_shift, max_shift + 1, size=(2, n))
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)), mode="edge")
    windows = sliding_window_view(padded, (height, width), axis=(1, 2))
    return windows[np.arange(n), max_shift - moves[0], max_shift - moves[1]]


class CNNClassifier(MinibatchGraphClassifier, ClassifierMixin, BaseEstimator):
    """A convolutional network for K classes of images: conv blocks, a dense layer, softmax.

    X is (n_samples, n_pixels), each row an image of `image_shape` (None: a square), or
    (n_samples, H, W). `channels` gives each conv block's number of filters (kernel_size ×
    kernel_size kernels, no padding, then ReLU and pool_size × pool_size max-pooling);
    `hidden_units` the dense ReLU layer after the Flatten step, followed by `dropout`.
    Each of the `epochs` epochs shuffles the training set, feeds it in batches of
    `batch_size` (shifted by up to `max_shift` pixels when max_shift > 0) and takes one
    Adam step per batch at `learning_rate`. Pixels are standardised with the training
    pixels' mean and standard deviation (`standardize=True`).

    `dtype` is the network's: "float32" by default, as PyTorch's, which halves the time of
    every matmul and reaches the same accuracy here; "float64" is the rest of the course's.

    `loss_curve_` holds each epoch's mean cost; with `early_stopping=True`, as in
    MLPClassifier, `validation_fraction` of the training set is held out, its accuracy
    recorded after every epoch in `validation_scores_`, and training stops once it has not
    improved by more than `tol` for `n_iter_no_change` epochs (the best epoch's weights
    are kept). `random_state` seeds one generator that draws, in order: the validation
    split, the weights layer by layer, then each epoch's shuffle and, for each batch, the
    shifts and the dropout mask.

    After fit, `network_` is the trained Sequential (in eval mode: no dropout) and `graph_`
    the training graph on the last batch; a pickle leaves `graph_` out.
    """

    _parameter_constraints = {
        "image_shape": [tuple, list, None],
        "channels": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "standardize": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        **EPOCH_CONSTRAINTS,
    }

    def __init__(self, image_shape=None, channels=(16, 32, 32), kernel_size=3, pool_size=2, hidden_units=64,
                 dropout=0.3, learning_rate=1e-3, batch_size=64, epochs=40, max_shift=4, standardize=True,
                 dtype="float32", early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 random_state=None, progress=None):
        self.image_shape = image_shape
        self.channels = channels
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_shift = max_shift
        self.standardize = standardize
        self.dtype = dtype
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.progress = progress

    def _images(self, X, y=None, reset=False):
        """X validated, as standardised images (n, 1, H, W) of the network's dtype (and y
        validated, when fitting)."""
        shape = None
        if getattr(X, "ndim", None) == 3:  # 2-D images: their shape is the image shape
            shape = X.shape[1:]
            X = X.reshape(len(X), -1)
        if reset:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
        else:
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if reset:
            self.image_shape_ = self._image_shape(shape, X.shape[1])
            self.pixel_mean_, self.pixel_scale_ = (X.mean(), X.std()) if self.standardize else (0.0, 1.0)
            if self.pixel_scale_ == 0:
                self.pixel_scale_ = 1.0  # every pixel the same: nothing to scale
        elif shape is not None and tuple(shape) != self.image_shape_:
            raise ValueError(f"{type(self).__name__} was fitted on images of {self.image_shape_}, got {tuple(shape)}")
        images = ((X - self.pixel_mean_) / self.pixel_scale_).astype(self.dtype)
        images = images.reshape(len(X), 1, *self.image_shape_)
        return (images, y) if reset else images

    def _image_shape(self, given, n_features):
        shape = given if given is not None else self.image_shape
        if shape is None:
            side = math.isqrt(n_features)
            return (side, side) if side * side == n_features else (1, n_features)
        shape = tuple(shape)
        if len(shape) != 2 or any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in shape):
            raise ValueError(f"image_shape must be (height, width) in whole pixels, got {self.image_shape!r}")
        if shape[0] * shape[1] != n_features:
            raise ValueError(f"image_shape {shape} holds {shape[0] * shape[1]} pixels, but X has {n_features} per row")
        return shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, validation_data=None):
        """Train on images X (rows of pixels, or 2-D images) and their labels y.

        With validation_data=(X_val, y_val), `curves_` records the cost and accuracy on the
        training and the validation images after every epoch (as MLPClassifier's does)."""
        channels = [int(c) for c in np.atleast_1d(np.asarray(self.channels, dtype=object))]
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"channels must be whole numbers ≥ 1, got {self.channels!r}")
        images, y = self._images(X, y, reset=True)
        rng = as_generator(self.random_state)
        images, labels, images_valid, labels_valid = self._classes_and_hold_out(images, y, rng)
        n = len(images)
        batch_size = min(self.batch_size, n)
        network = cnn_network(self.image_shape_, channels, self.kernel_size, self.pool_size, self.hidden_units,
                              len(self.classes_), self.dropout, rng, np.dtype(self.dtype))
        x = mg.constant(images[:batch_size], name="X")
        y_batch = mg.constant(labels[:batch_size], name="y")
        graph = mg.Graph(mg.softmax_cross_entropy(network(x), y_batch, name="cost"))
        optimizer = mg.Adam(network.parameters, self.learning_rate)

        if validation_data is not None:
            validation_data = (self._images(validation_data[0]), validation_data[1])
        record = self._tracker(lambda data: self._scores(network, data), images, labels, validation_data)

        def feed(batch):
            batch_images = images[batch]
            if self.max_shift:
                batch_images = shifted(batch_images[:, 0], self.max_shift, rng)[:, np.newaxis]
            x.value, y_batch.value = batch_images, labels[batch]

        stopping = self._train_epochs(
            graph, optimizer, n, batch_size, rng, feed, record,
            snapshot=lambda: [node.value.copy() for node in network.parameters],
            validation_score=lambda _: float(
                np.mean(np.argmax(self._scores(network, images_valid), axis=0) == labels_valid)),
        )
        if self.early_stopping:
            self.best_validation_score_ = stopping.best_score
            for node, value in zip(network.parameters, stopping.best_parameters):
                node.value = value
        # Leave the graph consistent with the final parameters, for drawing and stepping.
        graph.forward()
        graph.backward()
        self._keep_graph(graph)
        self.network_ = network.eval()
        return self

    @staticmethod
    def _scores(network, images):
        """The class scores (K, n) of standardised images (n, 1, H, W), without dropout."""
        training = [layer.training for layer in network if hasattr(layer, "training")]
        network.eval()
        try:
            with mg.no_grad():
                return np.concatenate([network(mg.constant(images[start:start + PREDICT_BATCH])).value
                                       for start in range(0, len(images), PREDICT_BATCH)], axis=1)
        finally:
            for layer, mode in zip([layer for layer in network if hasattr(layer, "training")], training):
                layer.training = mode

    def predict_proba(self, X):
        """One row per image, one column per class of classes_: softmax of the scores."""
        check_is_fitted(self)
        return class_probabilities(self._scores(self.network_, self._images(X)))

    def predict(self, X):
        proba = self.predict_proba(X)  # first: it checks that the model is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
