"""Checking an op's inputs before it runs and its result after, at build time and on replay.

A mistake is reported where the user can act on it: as a ShapeError or DomainError that
names the op, the node and the inputs, not as a numpy traceback or a NaN found much later.
"""

import numpy as np

from .errors import DomainError, ShapeError


def check_inputs(op, inputs, values, name):
    """Raise ShapeError or DomainError if the op refuses these input values (each check
    only where the op defines it: see Op.checks_shapes)."""
    problem = op.check_shapes(*values) if op.checks_shapes else None
    if problem:
        raise ShapeError(describe(op, inputs, name, problem))
    problem = op.check_domain(*values) if op.checks_domain else None
    if problem:
        raise DomainError(describe(op, inputs, name, problem))


def check_result(op, inputs, values, name, value):
    """Raise DomainError if the op's finite inputs gave a NaN or inf (an overflow)."""
    if np.isfinite(value).all():  # (apply calls this only after a quicker check failed)
        return
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
    found = np.asarray(value)[index].item()
    limit = np.finfo(value.dtype).max if value.dtype.kind in "fc" else None
    where = ", ".join(f"{inp.label!r} = {_at(v, index, value.shape)}" for inp, v in zip(inputs, values))
    raise DomainError(describe(
        op, inputs, name,
        f"the result is {found!r} at index {index}, from {where}: it overflows "
        f"{value.dtype}" + (f" (largest {limit:.4g})" if limit is not None else ""),
    ))


def _at(value, index, shape):
    """The input element that fed output element `index`, broadcasting taken into account."""
    value = np.asarray(value)
    try:
        return repr(np.broadcast_to(value, shape)[index].item())
    except ValueError:  # not elementwise (matmul, sum): show the input's range instead
        return f"values in [{value.min():.4g}, {value.max():.4g}]"


def describe(op, inputs, name, problem):
    """'matmul 'z': <problem> (inputs: 'w' (1, 3), 'x' (4, 2))', the op as drawings title it."""
    names = ", ".join(f"{node.label!r} {node.shape}" for node in inputs)
    return f"{op}{'' if name is None else f' {name!r}'}: {problem} (inputs: {names})"


def first_bad(mask, values):
    """'-1.5 at index (0, 2)': the first value where mask is True, for error messages."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"{np.asarray(values)[index].item()!r} at index {index}"
