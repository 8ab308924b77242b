"""One result enumeration for every jaxbind kernel.

``RESULTS`` extends :class:`optimistix.RESULTS` (which extends :class:`lineax.RESULTS`), as
diffrax does, so the result of a lineax or optimistix solve inside a jaxbind kernel is
*promoted* (``RESULTS.promote(sol.result)``), never collapsed to a boolean. Every result type
carries a ``result`` field (an item of :data:`RESULTS`); ``result == RESULTS.successful`` is
the test for a good point.

Rules (the same in every module):

* a bad point in a batch gives NaN outputs plus its result code — never a finite number
  computed for a substituted input;
* ``throw=True`` (single-point calls) raises an ``EquinoxRuntimeError`` carrying the message
  of the code; ``throw=False`` (inside ``vmap`` / sweeps) returns the code.

Integer codes are what :func:`code` returns and what ``sweep`` stores in the ``status``
variable; :func:`code_table` is the table written into a store's attributes so a saved code
can be decoded by anyone who opens it. Codes are assigned in the order the items are
declared (lineax's first, then optimistix's, then these); decode stored codes with the
store's own table, not with a newer jaxbind.
"""

from __future__ import annotations

from equinox._enum import EnumerationItem  # not re-exported by equinox
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Int, Shaped

__all__ = ["RESULTS", "code", "code_table", "index", "message", "where_nonfinite"]


class RESULTS(optx.RESULTS):  # pyright: ignore[reportGeneralTypeIssues]
    """Result codes of jaxbind (lineax's and optimistix's first, then the physics ones)."""

    overlap = "two particles overlap (centre distance ≤ sum of radii) or two points coincide"
    unstable = "no steady state: the drift matrix is not Hurwitz (an eigenvalue has Re λ ≥ 0)"
    not_physical = (
        "the Gaussian model is not physical: D + (i/2)(AΩ + ΩAᵀ) is not positive semi-definite "
        "(e.g. non-reciprocal coupling without its correlated noise)"
    )
    fock_truncation = "population in the top Fock level above tolerance: increase dims"
    not_positive = "density matrix not positive semi-definite"
    trace_not_preserved = "trace not preserved"
    no_cooling = "no steady state: optical anti-damping beats intrinsic damping (κ'_a ≤ 0)"
    no_physical_root = "no root with non-negative occupations (or a non-finite result)"
    invalid_input = "an input parameter is outside its valid range (see the docstring)"
    nonconservative = "the forces are not conservative: no potential exists"
    bad_temperature = "the temperature must be positive and finite"
    kernel_error = "the kernel raised when this point was evaluated alone"
    not_computed = "not computed yet (unfinished sweep store)"
    not_trapped = "a particle is not trapped (non-positive isolated stiffness)"
    kernel_status = "the kernel reported a failure in its own integer `status` output (see kernel_status)"
    finite_time_divergence = (
        "no steady state: the trace-normalised non-Hermitian (paper 004 eq. 3) Gaussian state "
        "diverges at a finite time (Riccati blow-up)"
    )
    trajectory_nonfinite = (
        "the stochastic trajectory became non-finite during integration (time step too large "
        "for the trap, or a particle left its trap)"
    )
    particle_escaped = (
        "a particle left its trap during the stochastic integration (a displacement beyond the "
        "model's escape distance)"
    )
    not_stabilizable = (
        "no optimal (LQG) feedback: the feedback cannot stabilise an unstable mode or the "
        "measurement cannot detect it (the algebraic Riccati equation has no stabilising solution)"
    )
    no_limit_cycle = (
        "no limit cycle found: the periodic-orbit (shooting) solve did not converge, or it "
        "converged onto the equilibrium (no growing mode, or the guess was too far from the cycle)"
    )


def code(result: EnumerationItem) -> Int[Array, "*batch"] | Int[np.ndarray, "*batch"]:
    """The int32 code of an item of :data:`RESULTS` (any batch shape)."""
    if isinstance(result, EnumerationItem):
        v = result._value
        if isinstance(v, (np.ndarray, np.integer, int)):
            # a concrete item (e.g. RESULTS.overlap): NumPy, so int(code(...)) also works in
            # a module first imported inside a trace (no staged jnp op)
            return np.asarray(v, np.int32)
        return jnp.asarray(v, jnp.int32)
    raise TypeError(f"result must be a RESULTS item, got {type(result).__name__}")


def index(result: EnumerationItem) -> int:
    """The integer code of a concrete item of :data:`RESULTS` as a Python int (pure NumPy, so
    safe in module-level constants even when a module is first imported inside a trace)."""
    if isinstance(result, EnumerationItem):
        return int(np.asarray(result._value))
    raise TypeError(f"result must be a RESULTS item, got {type(result).__name__}")


def code_table() -> dict[int, str]:
    """{code: message} for every item of :data:`RESULTS` ("" for ``successful``)."""
    return {i: msg for i, msg in enumerate(RESULTS._index_to_message)}


def message(c: int) -> str:
    """Message of an integer code (``"successful"`` for 0)."""
    table = RESULTS._index_to_message
    c = int(c)
    if not 0 <= c < len(table):
        raise ValueError(f"code must be in [0, {len(table)}), got {c}")
    return table[c] or "successful"


def where_nonfinite(result: EnumerationItem, *arrays: Shaped[ArrayLike, "..."] | None
                    ) -> EnumerationItem:
    """``result`` unless it is successful and some array is non-finite: then ``nonfinite``."""
    ok = jnp.asarray(True)
    for a in arrays:
        if a is not None:
            ok = ok & jnp.all(jnp.isfinite(a))
    return RESULTS.where((result == RESULTS.successful) & ~ok, RESULTS.nonfinite, result)
