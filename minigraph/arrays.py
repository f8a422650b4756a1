"""Ops on an array's layout, and reductions over its axes: transpose, reshape, sum, mean.

Each is an op class with its forward pass, its local gradient and the formula side by side,
as in `ops`. Axes are checked and made non-negative here, once, so a negative axis means
what it means in numpy, in the forward pass and in the gradient.
"""

import math
import numbers

import numpy as np

from . import worked
from .errors import ShapeError
from .node import apply, as_node
from .ops import Op


def _axes(axis, ndim, what):
    """`axis` (None, an int or a tuple of ints) as a tuple of axes in [0, ndim), or a
    sentence saying what is wrong with it."""
    given = range(ndim) if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in given:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            return f"{what} must be whole numbers, got {axis!r}"
        if not -ndim <= a < ndim:
            return f"{what} {axis!r} is out of range for an array of {ndim} dimension(s)"
    axes = tuple(int(a) % ndim for a in given) if ndim else ()
    if len(set(axes)) != len(axes):
        return f"{what} {axis!r} names the same axis twice"
    return axes


class Transpose(Op):
    name = "transpose"
    formula = "∂(aᵀ)/∂a: Gᵀ (the gradient transposed back)"
    complex_safe = True
    can_overflow = False

    def __init__(self, axes=None):
        self.axes = axes

    def keywords(self):
        return [] if self.axes is None else [f"axes={self.axes!r}"]

    @property
    def sends(self):
        """The gradient flipped back: Gᵀ, or its axes put back in their order."""
        return ("{grad.T}",) if self.axes is None else (f"{{grad}} with the axes {self.axes} put back",)

    def check_shapes(self, a):
        if self.axes is None:
            return None
        axes = _axes(self.axes, a.ndim, "transpose axes")
        if isinstance(axes, str):
            return axes
        if len(axes) != a.ndim:
            return f"transpose axes {self.axes!r} must name each of the {a.ndim} axes of {a.shape} once"
        return None

    def forward(self, a):
        return a.transpose(self.axes)

    def worked_forward(self, labels, out, a):
        A, O = labels
        position = worked.last(out.shape)
        back = self._inverse(position)
        return [f"{worked.at(O, position)} = {worked.at(A, back)} = {worked.number(a[back])} (the axes swapped)"]

    def worked_backward(self, labels, grad, out, a):
        A, _ = labels
        position = worked.last(a.shape)
        there = tuple(position[axis] for axis in (self.axes or range(a.ndim)[::-1]))
        return [f"to {worked.at(A, position)}: g{worked.index(there)} = {worked.number(grad[there])}"]

    def _inverse(self, position):
        """Where element `position` of the output comes from in the input."""
        if self.axes is None:
            return position[::-1]
        source = [0] * len(position)
        for out_axis, in_axis in enumerate(axis % len(position) for axis in self.axes):
            source[in_axis] = position[out_axis]
        return tuple(source)

    def backward(self, grad, out, a):
        if self.axes is None:
            return (grad.transpose(),)
        # The inverse permutation, from the axes made non-negative first.
        inverse = np.argsort([axis % grad.ndim for axis in self.axes])
        return (grad.transpose(inverse),)


def transpose(a, axes=None, name=None):
    return apply(Transpose(axes), as_node(a), name=name)


class Sum(Op):
    name = "sum"
    formula = "∂(Σa)/∂aᵢ = 1"
    sends = ("{grad}, spread to every element summed",)
    complex_safe = True

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims

    def __str__(self):
        return self.name if self.axis is None else f"{self.name} axis={self.axis}"

    def keywords(self):
        return ([] if self.axis is None else [f"axis={self.axis!r}"]) + (["keepdims=True"] if self.keepdims else [])

    def check_shapes(self, a):
        axes = _axes(self.axis, a.ndim, "axis")
        return axes if isinstance(axes, str) else None

    def forward(self, a):
        # np.add.reduce is np.sum without its Python wrapper, a few µs a call.
        return np.asarray(np.add.reduce(a, axis=self.axis, keepdims=self.keepdims))

    def worked_forward(self, labels, out, a):
        A, O = labels
        position, terms = self._summed(out, a)
        what = f"the {terms.size} elements of {A}" if self.axis is None else f"{terms.size} elements of {A}"
        line = f"{worked.at(O, position)} = sum of {what} = {worked.addition(terms)}"
        return [self._finish(line, terms, out[position])]

    def _finish(self, line, terms, result):
        return f"{line} = {worked.number(result)}"

    def worked_backward(self, labels, grad, out, a):
        A, _ = labels
        position = worked.last(a.shape)
        spread = self.backward(grad, out, a)[0]
        return [f"to {worked.at(A, position)}: {self._share(grad, out, a)} = {worked.number(spread[position])}"]

    def _share(self, grad, out, a):
        return "g, as every summed element gets it"

    def _summed(self, out, a):
        """The worked output element and the elements of `a` that made it."""
        position = worked.last(out.shape)
        if self.axis is None:
            return position, np.ravel(a)
        axes = _axes(self.axis, a.ndim, "axis")
        kept = iter(position) if self.keepdims else None
        selector, rest = [], list(position)
        for axis in range(a.ndim):
            if axis in axes:
                selector.append(slice(None))
                if self.keepdims:
                    next(kept)
            else:
                selector.append(next(kept) if self.keepdims else rest.pop(0))
        return position, np.ravel(a[tuple(selector)])

    def backward(self, grad, out, a):
        return (self._spread(grad, a),)

    def _spread(self, grad, a):
        """The output's gradient, repeated over every element that was summed."""
        if self.axis is not None and not self.keepdims:
            grad = np.expand_dims(grad, self.axis)
        return grad * np.ones(a.shape, a.dtype)


def sum(a, axis=None, keepdims=False, name=None):  # noqa: A001 (mirrors numpy's name)
    return apply(Sum(axis, keepdims), as_node(a), name=name)


class Mean(Sum):
    name = "mean"
    formula = "∂(mean a)/∂aᵢ = 1/n"
    sends = ("{grad} / {n} each",)

    def check_domain(self, a):
        if any(a.shape[axis] == 0 for axis in _axes(self.axis, a.ndim, "axis")):
            return f"the mean of no values (shape {a.shape}, axis {self.axis}) is undefined"
        return None

    def forward(self, a):
        total = super().forward(a)
        return total / self.count(a, total)

    def worked_forward(self, labels, out, a):
        A, O = labels
        position, terms = self._summed(out, a)
        what = f"the {terms.size} elements of {A}" if self.axis is None else f"{terms.size} elements of {A}"
        total = np.add.reduce(terms)
        return [f"{worked.at(O, position)} = (sum of {what}) / n = ({worked.addition(terms)}) / {terms.size} "
                f"= {worked.number(total)} / {terms.size} = {worked.number(out[position])}"]

    def _share(self, grad, out, a):
        n = self.count(a, out)
        g = worked.number(np.ravel(grad)[-1])
        return f"g / n = {g} / {n}, as each of the n = {n} averaged elements gets it"

    def backward(self, grad, out, a):
        return (self._spread(grad / self.count(a, out), a),)

    @staticmethod
    def count(a, reduced):
        """How many elements of `a` went into each element of the result."""
        return a.size // max(reduced.size, 1)


def mean(a, axis=None, keepdims=False, name=None):
    return apply(Mean(axis, keepdims), as_node(a), name=name)


class Reshape(Op):
    name = "reshape"
    formula = "∂reshape(a)/∂a: G reshaped back to a's shape"
    complex_safe = True
    can_overflow = False

    def __init__(self, shape):
        self.shape = shape  # a tuple of whole numbers, at most one -1 (checked by `reshape`)

    def __str__(self):
        return f"reshape {self.shape}"

    def keywords(self):
        return [repr(self.shape)]

    def check_shapes(self, a):
        # Checked on every replay with a new batch, so a (features, m) → (-1,) flatten follows m.
        known = math.prod(side for side in self.shape if side != -1)
        if -1 not in self.shape and known != a.size:
            return f"cannot reshape {a.shape} ({a.size} elements) into {self.shape} ({known} elements)"
        if -1 in self.shape and (known == 0 or a.size % known):
            return (f"cannot reshape {a.shape} ({a.size} elements) into {self.shape}: "
                    f"no whole size fits the -1")
        return None

    def forward(self, a):
        return a.reshape(self.shape)

    def worked_forward(self, labels, out, a):
        A, O = labels
        position = worked.last(out.shape)
        source = np.unravel_index(np.ravel_multi_index(position, out.shape), a.shape)
        return [f"the same {a.size} numbers, read in row-major order: {worked.at(O, position)} = "
                f"{worked.at(A, source)} = {worked.number(out[position])}"]

    def worked_backward(self, labels, grad, out, a):
        A, _ = labels
        position = worked.last(a.shape)
        there = np.unravel_index(np.ravel_multi_index(position, a.shape), out.shape)
        return [f"to {worked.at(A, position)}: g{worked.index(there)} (g reshaped back to "
                f"{worked.shape_text(a.shape)}) = {worked.number(grad[there])}"]

    def backward(self, grad, out, a):
        return (grad.reshape(a.shape),)


def reshape(a, shape, name=None):
    """The same values in another shape (numpy's C order); one side may be -1, "the rest"."""
    a = as_node(a)
    sides = (shape,) if isinstance(shape, numbers.Integral) else shape
    if not isinstance(sides, (tuple, list)) or any(
        isinstance(side, bool) or not isinstance(side, numbers.Integral) for side in sides
    ):
        raise TypeError(f"reshape {a.label!r}: the shape must be whole numbers, got {shape!r}")
    sides = tuple(int(side) for side in sides)
    if any(side < -1 for side in sides) or sides.count(-1) > 1:
        raise ShapeError(
            f"reshape {a.label!r}: the sides of {shape!r} must be sizes ≥ 0, with at most one -1"
        )
    return apply(Reshape(sides), a, name=name)
