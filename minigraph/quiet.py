"""numpy's floating-point warnings switched off, cheaply, where minigraph reports NaN and
inf itself (naming the node) or where an overflow gives the right answer (sigmoid at −1000).

`np.errstate(all="ignore")` builds its settings on every use, about a microsecond, and the
hot loops enter it once per node or per pass. `quiet()` sets numpy's own context variable
(the one np.errstate sets) to settings built once. A numpy without that variable gets
np.errstate itself.
"""

import numpy as np

try:
    from numpy._core.umath import _extobj_contextvar, _make_extobj
except ImportError:  # numpy < 2: no context variable to set directly
    _extobj_contextvar = None
    _IGNORE_ALL = None
else:
    _IGNORE_ALL = _make_extobj(all="ignore")


class quiet:  # noqa: N801 (used like np.errstate: `with quiet():`)
    """`with quiet():` is `with np.errstate(all="ignore"):`, at a third of the cost."""

    __slots__ = ("_token", "_errstate")

    def __enter__(self):
        if _extobj_contextvar is None:
            self._errstate = np.errstate(all="ignore")
            self._errstate.__enter__()
        else:
            self._token = _extobj_contextvar.set(_IGNORE_ALL)

    def __exit__(self, *exc_info):
        if _extobj_contextvar is None:
            self._errstate.__exit__(*exc_info)
        else:
            _extobj_contextvar.reset(self._token)
