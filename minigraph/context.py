"""How new nodes are recorded: whether gradients are tracked (`no_grad`) and under which
name scope (`scope`).

Both are context variables, so they apply to the code inside a `with` block, in this thread
or task only, and are restored when the block ends, even on an exception.
"""

import contextlib
import contextvars

_grad_enabled = contextvars.ContextVar("minigraph_grad_enabled", default=True)
_scope = contextvars.ContextVar("minigraph_scope", default=())


def is_grad_enabled():
    """False inside `no_grad()`: ops then return plain constants and record no edges."""
    return _grad_enabled.get()


@contextlib.contextmanager
def no_grad():
    """Build values without recording the graph (prediction, evaluation)."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def current_scope():
    """The names of the scopes open here, outermost first: () outside any scope."""
    return _scope.get()


@contextlib.contextmanager
def scope(name):
    """Group the nodes built inside under `name`, e.g. one layer of a network.

    Scopes nest (`layer1/linear`). Drawings show a scope as a box around its nodes, which
    can be collapsed to one; the step player can run a whole scope as one step.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"scope: the name must be a non-empty string, got {name!r}")
    if "/" in name:
        raise ValueError(f"scope: {name!r} contains '/', which separates nested scopes; nest two scopes instead")
    token = _scope.set(_scope.get() + (name,))
    try:
        yield
    finally:
        _scope.reset(token)
