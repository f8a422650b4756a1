"""Losses: comparing predictions with labels, for two classes and for K classes.

`log_loss(p, y)` takes probabilities, clipped to [eps, 1−eps] of their dtype as
scikit-learn's log_loss does, so the cost and its gradient stay finite.
`log_loss_with_logits(z, y)` takes the sigmoid's input instead and fuses the two: it is
finite for any z and its gradient is exactly σ(z) − y, even where σ(z) rounds to 0 or 1.
`softmax_cross_entropy(z, labels)` is the K-class cost, fused the same way: its gradient
is exactly (softmax(z) − onehot)/m. `l2_penalty(weights, λ)` is the regularisation term
λ/2·Σ‖W‖² to add to a cost.
"""

import math
import numbers

import numpy as np

from .node import Node, apply, as_node
from .activations import AlongAxis, Sigmoid, log_softmax_of, softmax_of, stable_sigmoid
from .checks import first_bad
from . import worked
from .ops import ALL, Op


class SameShape(Op):
    """An op on predictions and labels, which must match exactly.

    Broadcasting a (1, m) row against (m,) labels would silently make an (m, m) matrix.
    """

    elementwise = True
    can_overflow = False  # log_loss clips, and the fused form is finite for any finite z

    def check_shapes(self, prediction, labels):
        if np.shape(prediction) != np.shape(labels):
            return (
                f"predictions {np.shape(prediction)} and labels {np.shape(labels)} must have "
                f"the same shape (reshape the labels to {np.shape(prediction)})"
            )
        return None

    def check_domain(self, prediction, labels):
        bad = (labels < 0) | (labels > 1)
        return f"labels must lie in [0, 1]: {first_bad(bad, labels)}" if bad.any() else None


# np.finfo(dtype).eps costs more than the clipping it is for; the dtypes of a replay loop.
EPSILON = {np.dtype(np.float64): np.finfo(np.float64).eps, np.dtype(np.float32): np.finfo(np.float32).eps}


class LogLoss(SameShape):
    name = "log_loss"
    role = "loss"
    element_formula = "−({y}·ln {p} + (1 − {y})·ln(1 − {p}))"
    formula = "L = −(y·ln p + (1−y)·ln(1−p));  ∂L/∂p = (p−y)/(p·(1−p));  ∂L/∂y = ln(1−p) − ln p"
    derivatives = ("({p}−{y})/({p}·(1−{p}))", "ln(1−{p}) − ln {p}")

    def check_domain(self, p, y):
        bad = (p < 0) | (p > 1)
        if bad.any():
            return f"probabilities must lie in [0, 1]: {first_bad(bad, p)}"
        return super().check_domain(p, y)

    @staticmethod
    def clipped(p):
        """p kept inside [eps, 1−eps] of its dtype, as scikit-learn's log_loss does."""
        eps = EPSILON.get(p.dtype) or np.finfo(p.dtype).eps
        return np.minimum(np.maximum(p, eps), 1 - eps)  # np.clip, without its wrapper's cost

    # After a sigmoid, the chain (p−y)/(p(1−p)) · p(1−p) is just p − y, as the course's
    # hand-written loop computes it: Graph.backward(fuse=True) takes that shortcut.
    fuses_after = Sigmoid

    @staticmethod
    def fused_backward(grad, p, y):
        return grad * (p - y)

    def forward(self, p, y):
        p = self.clipped(p)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    def backward(self, grad, out, p, y, needs=ALL):
        # Taken at the clipped p, so a confidently wrong prediction still gets a finite push.
        p = self.clipped(p)
        grad_p = grad * (p - y) / (p * (1 - p)) if needs[0] else None
        grad_y = grad * (np.log(1 - p) - np.log(p)) if needs[1] else None
        return grad_p, grad_y


_LOG_LOSS = LogLoss()


def log_loss(p, y, name=None):
    """Binary cross-entropy per element, from probabilities p and labels y in [0, 1].

    p is clipped to [ε, 1−ε] of its dtype (ε = 2.2e-16 in float64, 1.2e-7 in float32).
    After a sigmoid, p = σ(z), the chained gradient (p−y)/(p(1−p))·σ(z)(1−σ(z)) equals the
    fused log_loss_with_logits's σ(z) − y except at the two ends (measured over z in steps
    of 0.01): for z above about 36.7 (float64) or 16.6 (float32) σ(z) rounds to exactly 1,
    σ'(z) is 0 and so is the plain gradient, where with y = 0 it should be about 1; for z
    below ln ε, −36.04 (float64) or −15.94 (float32), σ(z) is under the clip and the plain
    gradient is σ(z)/ε·(ε − y)/(1 − ε), shrinking toward 0, where with y = 1 it should be
    about −1. Use log_loss_with_logits, or backward(fuse=True), where z can go that far.
    """
    p = as_node(p)
    return apply(_LOG_LOSS, p, as_node(y, like=p, name="y"), name=name)


class LogLossWithLogits(SameShape):
    name = "log_loss_with_logits"
    role = "loss"
    element_formula = "max({z}, 0) − {z}·{y} + ln(1 + e^−|{z}|)"
    formula = "L = max(z,0) − z·y + ln(1+e^−|z|);  ∂L/∂z = σ(z) − y;  ∂L/∂y = −z"
    derivatives = ("σ({z}) − {y}", "−{z}")

    def forward(self, z, y):
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))

    def backward(self, grad, out, z, y, needs=ALL):
        grad_z = grad * (stable_sigmoid(z) - y) if needs[0] else None
        grad_y = -grad * z if needs[1] else None
        return grad_z, grad_y


_LOG_LOSS_WITH_LOGITS = LogLossWithLogits()


def log_loss_with_logits(z, y, name=None):
    """log_loss(sigmoid(z), y) fused: finite for any z, gradient exactly σ(z) − y."""
    z = as_node(z)
    return apply(_LOG_LOSS_WITH_LOGITS, z, as_node(y, like=z, name="y"), name=name)


class SoftmaxCrossEntropy(AlongAxis):
    """The mean over samples of −log softmax(z)[label], fused so it is stable and its
    gradient is exactly (p − onehot)/m. Labels are data: no gradient flows to them."""

    name = "softmax_cross_entropy"
    role = "loss"
    formula = "L = −(1/m)·Σ log softmax(z)[label];  ∂L/∂z = (p − onehot)/m"

    def check_shapes(self, z, labels):
        problem = super().check_shapes(z)
        if problem:
            return problem
        indices = z.shape[: self.axis % z.ndim] + z.shape[self.axis % z.ndim + 1:]
        if labels.shape not in (indices, z.shape):
            return (
                f"labels must be class indices of shape {indices} or one-hot of shape {z.shape} "
                f"(classes along axis {self.axis}), got {labels.shape}"
            )
        return None

    def check_domain(self, z, labels):
        if z.size == 0:
            return f"there are no samples in logits of shape {z.shape}"
        classes = z.shape[self.axis]
        if labels.shape == z.shape:
            not_binary = (labels != 0) & (labels != 1)
            if not_binary.any():
                return f"one-hot labels must be 0 or 1: {first_bad(not_binary, labels)}"
            ones = np.add.reduce(labels, axis=self.axis)
            wrong = ones != 1
            if wrong.any():
                sample = tuple(int(i) for i in np.argwhere(wrong)[0])
                return (
                    f"one-hot labels need exactly one 1 per sample along axis {self.axis}: "
                    f"sample {sample} has {int(ones[sample])}"
                )
            return None
        not_whole = labels != np.floor(labels)
        if not_whole.any():
            return f"class labels must be whole numbers: {first_bad(not_whole, labels)}"
        outside = (labels < 0) | (labels >= classes)
        if outside.any():
            return (
                f"class labels must lie in 0..{classes - 1} ({classes} classes along axis "
                f"{self.axis}): {first_bad(outside, labels)}"
            )
        return None

    def label_indices(self, z, labels):
        """Each sample's class as an index array along the class axis, from either form."""
        if labels.shape == z.shape:
            return np.argmax(labels, axis=self.axis, keepdims=True)
        return np.expand_dims(labels.astype(np.intp), self.axis)

    def worked_forward(self, labels, out, z, classes):
        Z, Y, O = labels
        axis, position, e, lines = self.exp_sum_lines(Z, z)
        p = e / e.sum()
        indices = self.label_indices(z, classes)
        label = int(np.ravel(indices[worked.along(position, axis, 1)])[0])
        onehot = np.zeros_like(p)
        onehot[label] = 1
        each = -np.ravel(np.take_along_axis(log_softmax_of(z, axis), indices, axis))
        m = each.size
        return lines + [
            f"p = e^z / Σ = {worked.row(p)}; its label is {label} (one-hot {worked.row(onehot)}), so its "
            f"loss is −ln p[{label}] = −ln {worked.number(p[label])} = {worked.number(each[-1])}",
            f"{O} = (1/m)·Σ −ln p[label] over the m = {m} samples = ({worked.addition(each)}) / {m} "
            f"= {worked.number(out)}",
        ]

    def worked_backward(self, labels, grad, out, z, classes):
        Z, Y, O = labels
        axis, position, picked = self.worked_place(z)
        p = softmax_of(z, axis)[picked]
        label = int(np.ravel(self.label_indices(z, classes)[worked.along(position, axis, 1)])[0])
        onehot = np.zeros_like(p)
        onehot[label] = 1
        m = z.size // z.shape[axis]
        sent = self.backward(grad, out, z, classes)[0][picked]
        where = worked.slice_name(Z, position, axis, z.ndim)
        factor = "" if float(grad) == 1 else f"{worked.operand(grad)}·"
        return [f"to {where}: g·(p − onehot)/m = {factor}({worked.row(p)} − {worked.row(onehot)}) / {m} "
                f"= {worked.row(sent)}"]

    def forward(self, z, labels):
        picked = np.take_along_axis(log_softmax_of(z, self.axis), self.label_indices(z, labels), self.axis)
        return np.asarray(-np.add.reduce(picked, axis=None) / picked.size)

    def backward(self, grad, out, z, labels):
        indices = self.label_indices(z, labels)
        p = softmax_of(z, self.axis)
        # p − onehot, by subtracting 1 at each sample's label.
        np.put_along_axis(p, indices, np.take_along_axis(p, indices, self.axis) - 1, self.axis)
        return grad * p / indices.size, None


def softmax_cross_entropy(logits, labels, axis=0, name=None):
    """The cost of a K-class classifier: the mean over the m samples of −log softmax(logits)
    [label], fused and stable, so its gradient is exactly (softmax(logits) − onehot)/m.

    logits are (K, m) class scores (classes along `axis`); labels are class indices of shape
    (m,) (ints, or floats holding whole numbers) or one-hot (K, m). Labels are data, so
    they take no gradient.
    """
    logits = as_node(logits)
    labels = as_node(labels, like=logits, name="labels")
    if labels.requires_grad:
        raise TypeError(
            f"softmax_cross_entropy: the labels {labels.label!r} are data and take no gradient; "
            f"pass an array or a constant, not a parameter or a node computed from one"
        )
    return apply(SoftmaxCrossEntropy(axis), logits, labels, name=name)


class L2Penalty(Op):
    """λ/2 times the sum of squares of every input: weight decay written into the cost."""

    name = "l2_penalty"
    formula = "L = λ/2·Σ‖W‖²;  ∂L/∂W = λ·W"
    complex_safe = True

    def __init__(self, lam):
        self.lam = lam

    def __str__(self):
        return f"l2_penalty λ={self.lam:g}"

    def expression(self, *labels):
        return f"l2_penalty([{', '.join(labels)}], lam={self.lam:g})"

    def forward(self, *weights):
        total = sum(np.add.reduce(w * w, axis=None) for w in weights)
        return np.asarray(self.lam / 2 * total, dtype=np.result_type(*weights))

    def backward(self, grad, out, *weights):
        return tuple(grad * self.lam * w for w in weights)

    def worked_forward(self, labels, out, *weights):
        names = labels[:-1]
        squares = [f"Σ {name}² = {worked.number(np.add.reduce(w * w, axis=None))}" for name, w in zip(names, weights)]
        total = sum(np.add.reduce(w * w, axis=None) for w in weights)
        return [f"{'; '.join(squares)}; {labels[-1]} = λ/2 · {worked.number(total)} = "
                f"{worked.number(self.lam)}/2 · {worked.number(total)} = {worked.number(out)}"]

    def worked_backward(self, labels, grad, out, *weights):
        lines = []
        for name, w in zip(labels[:-1], weights):
            position = worked.last(w.shape)
            lines.append(f"to {worked.at(name, position)}: g·λ·{worked.at(name, position)} = {worked.operand(grad)}·"
                         f"{worked.operand(self.lam)}·{worked.operand(w[position])} = "
                         f"{worked.number(grad * self.lam * w[position])}")
        return lines


def l2_penalty(parameters, lam, name="l2_penalty"):
    """λ/2·Σ‖W‖² over `parameters`, to add to a cost: its gradient adds λ·W to each W.

    The course's regularised cost adds λ/(2m)·Σ‖W‖²: pass lam=λ/m. Usually only the
    weights are penalised, not the biases.
    """
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not 0 <= lam < math.inf:
        raise ValueError(f"l2_penalty: lam must be a number ≥ 0, got {lam!r}")
    nodes = [parameters] if isinstance(parameters, Node) else list(parameters)
    if not nodes:
        raise ValueError("l2_penalty: no parameters to penalise")
    for position, node in enumerate(nodes):
        if not isinstance(node, Node):
            raise TypeError(f"l2_penalty: item {position} is a {type(node).__name__}, not a node")
    return apply(L2Penalty(float(lam)), *nodes, name=name)
