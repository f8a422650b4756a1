"""numpy's floating-point warnings switched off, cheaply, where minigraph reports NaN and
inf itself (naming the node) or where an overflow gives the right answer (sigmoid at −1000).

`np.errstate(all="ignore")` builds its settings on every use, about a microsecond, and the
hot loops enter it once per node or per pass. `quiet()` sets numpy's own context variable
(the one np.errstate sets) to settings built once; the per-node paths call `silence()` and
`restore(token)` themselves, which spares the `with` statement's two method calls. A numpy
without that variable gets np.errstate itself.
"""

import functools

import numpy as np

try:
    from numpy._core.umath import _extobj_contextvar, _make_extobj
except ImportError:  # numpy < 2: no context variable to set directly
    _extobj_contextvar = None

if _extobj_contextvar is not None:
    silence = functools.partial(_extobj_contextvar.set, _make_extobj(all="ignore"))
    silence.__doc__ = "Switch numpy's warnings off here; give what it returns to `restore`."
    restore = _extobj_contextvar.reset
else:
    def silence():
        """Switch numpy's warnings off here; give what it returns to `restore`."""
        errstate = np.errstate(all="ignore")
        errstate.__enter__()
        return errstate

    def restore(errstate):
        errstate.__exit__(None, None, None)


class quiet:  # noqa: N801 (used like np.errstate: `with quiet():`)
    """`with quiet():` is `with np.errstate(all="ignore"):`, at a third of the cost."""

    __slots__ = ("_token",)

    def __enter__(self):
        self._token = silence()

    def __exit__(self, *exc_info):
        restore(self._token)
