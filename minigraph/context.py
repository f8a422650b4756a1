"""How new nodes are recorded: whether gradients are tracked (`no_grad`) and under which
name scope (`scope`).

Both are context variables, so they apply to the code inside a `with` block, in this thread
or task only, and are restored when the block ends, even on an exception. Both also
decorate a function, which then runs inside them on every call.

Generators: a `with` block around a `yield` stays open while the generator is paused, so
its caller builds nodes under it too until the generator resumes and leaves the block
(Python gives a context manager no say when a generator pauses; torch.no_grad behaves the
same). Decorate the generator function instead (`@mg.no_grad()`, `@mg.scope("loader")`):
then each of its resumptions runs inside, and its caller, between them, does not.
"""

import contextlib
import contextvars
import functools
import inspect

_grad_enabled = contextvars.ContextVar("minigraph_grad_enabled", default=True)
_scope = contextvars.ContextVar("minigraph_scope", default=())


def is_grad_enabled():
    """False inside `no_grad()`: ops then return plain constants and record no edges."""
    return _grad_enabled.get()


def current_scope():
    """The names of the scopes open here, outermost first: () outside any scope."""
    return _scope.get()


class _Setting(contextlib.ContextDecorator):
    """A context variable changed for a `with` block, or for each call of a function it
    decorates (each resumption, for a generator function)."""

    def __init__(self, variable, change):
        self._variable, self._change, self._token = variable, change, None

    def __enter__(self):
        self._token = self._variable.set(self._change(self._variable.get()))

    def __exit__(self, *exc_info):
        self._variable.reset(self._token)

    def _recreate_cm(self):
        # A decorated function may run in several threads or recursively at once: each
        # call gets its own token.
        return type(self)(self._variable, self._change)

    def __call__(self, function):
        if not inspect.isgeneratorfunction(function):
            return super().__call__(function)

        @functools.wraps(function)
        def generator(*args, **kwargs):
            with self._recreate_cm():
                inner = function(*args, **kwargs)
            resume = functools.partial(inner.send, None)
            while True:
                try:
                    with self._recreate_cm():
                        item = resume()
                except StopIteration as stop:
                    return stop.value
                try:
                    sent = yield item
                except GeneratorExit:
                    with self._recreate_cm():
                        inner.close()
                    raise
                except BaseException as error:  # the caller's throw(), passed on inside
                    resume = functools.partial(inner.throw, error)
                else:
                    resume = functools.partial(inner.send, sent)

        return generator


def no_grad():
    """Build values without recording the graph (prediction, evaluation).

    `with mg.no_grad():` around code, or `@mg.no_grad()` on a function. Around a `yield`,
    a `with` block stays open for the generator's caller while it is paused; decorate a
    generator function to keep its caller out (see this module's docstring).
    """
    return _Setting(_grad_enabled, lambda enabled: False)


def scope(name):
    """Group the nodes built inside under `name`, e.g. one layer of a network.

    Scopes nest, and labels join their names with dots (`layer1.z`), so a scope's name is
    one level: it may contain neither '.' nor '/', the separator other tools use (nest two
    scopes instead). A node's own name may: naming a
    parameter "layer1.W" by hand reads as PyTorch's named_parameters would print it. Drawings
    show a scope as a box around its nodes, which can be collapsed to one; the step player
    can run a whole scope as one step. `with mg.scope(name):` or
    `@mg.scope(name)` on a function. Around a `yield`, a `with` block stays open for the
    generator's caller while it is paused; decorate a generator function to keep its
    caller out (see this module's docstring).
    """
    if not isinstance(name, str):
        raise TypeError(f"scope: the name must be a non-empty string, got {name!r}")
    if not name.strip():
        raise ValueError(f"scope: the name must be a non-empty string, got {name!r}")
    for separator in "./":
        if separator in name:  # scope("a.b") would read as scope b inside scope a, and fold as neither
            nested = " ".join(f"with mg.scope({part!r}):" for part in name.split(separator) if part.strip())
            raise ValueError(f"scope: {name!r} contains {separator!r}, but a scope's name is one level "
                             f"(labels join nested scopes with dots: layer1.z); nest scopes instead ({nested} ...)")
    return _Setting(_scope, lambda names: names + (name,))
