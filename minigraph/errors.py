"""The exceptions minigraph raises for input a user can fix."""


class ShapeError(ValueError):
    """Inputs whose shapes an op cannot combine; the message names the op, nodes and shapes."""


class DomainError(ValueError):
    """Inputs outside an op's domain (log of a non-positive number, division by zero), or a
    result that overflowed; the message names the node and the first bad value."""


class NonFiniteError(ValueError):
    """A replayed forward pass or a backward pass produced NaN or inf, or an optimizer step
    would; the message names the first node or parameter where it happened."""


class SeedError(ValueError):
    """backward() on a non-scalar output without a seed gradient of its shape, or a seed
    that is not a finite number."""


class StaleGraphError(ValueError):
    """backward() on values computed from leaves that have changed since: run forward()
    (replay) or rebuild the graph first."""


class OpContractError(TypeError):
    """An op's backward returned something other than one gradient per input."""


class DataError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the fault."""


class DotNotFoundError(RuntimeError):
    """Graphviz's `dot` program is needed to render but is not installed."""
