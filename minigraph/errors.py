"""The exceptions minigraph raises for input a user can fix."""


class ShapeError(ValueError):
    """Inputs whose shapes an op cannot combine; the message names the op, nodes and shapes."""


class DomainError(ValueError):
    """Inputs outside an op's domain (log of a non-positive number, division by zero)."""


class NonFiniteError(ValueError):
    """A replayed forward pass produced NaN or inf; the message names the node."""


class SeedError(ValueError):
    """backward() on a non-scalar output without a seed gradient of its shape."""


class DotNotFoundError(RuntimeError):
    """Graphviz's `dot` program is needed to render but is not installed."""
