"""Losses: comparing predictions with labels, for binary classification.

`log_loss(p, y)` takes probabilities, clipped to [eps, 1−eps] of their dtype as
scikit-learn's log_loss does, so the cost and its gradient stay finite.
`log_loss_with_logits(z, y)` takes the sigmoid's input instead and fuses the two: it is
finite for any z and its gradient is exactly σ(z) − y, even where σ(z) rounds to 0 or 1.
"""

import numpy as np

from .node import apply, as_node
from .activations import stable_sigmoid
from .checks import first_bad
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


class LogLoss(SameShape):
    name = "log_loss"
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
        eps = np.finfo(p.dtype).eps
        return np.minimum(np.maximum(p, eps), 1 - eps)  # np.clip, without its wrapper's cost

    def forward(self, p, y):
        p = self.clipped(p)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    def backward(self, grad, out, p, y, needs=ALL):
        # Taken at the clipped p, so a confidently wrong prediction still gets a finite push.
        p = self.clipped(p)
        grad_p = grad * (p - y) / (p * (1 - p)) if needs[0] else None
        grad_y = grad * (np.log(1 - p) - np.log(p)) if needs[1] else None
        return grad_p, grad_y


def log_loss(p, y, name=None):
    """Binary cross-entropy per element, from probabilities p and labels y in [0, 1]."""
    p = as_node(p)
    return apply(LogLoss(), p, as_node(y, like=p), name=name)


class LogLossWithLogits(SameShape):
    name = "log_loss_with_logits"
    formula = "L = max(z,0) − z·y + ln(1+e^−|z|);  ∂L/∂z = σ(z) − y;  ∂L/∂y = −z"
    derivatives = ("σ({z}) − {y}", "−{z}")

    def forward(self, z, y):
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))

    def backward(self, grad, out, z, y, needs=ALL):
        grad_z = grad * (stable_sigmoid(z) - y) if needs[0] else None
        grad_y = -grad * z if needs[1] else None
        return grad_z, grad_y


def log_loss_with_logits(z, y, name=None):
    """log_loss(sigmoid(z), y) fused: finite for any z, gradient exactly σ(z) − y."""
    z = as_node(z)
    return apply(LogLossWithLogits(), z, as_node(y, like=z), name=name)
