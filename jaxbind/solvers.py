"""Solver objects: how a kernel solves, with its settings on the object (lineax/diffrax style).

Linear systems (coupled dipoles, Fock steady states):

* :class:`Direct` — dense LU of the assembled matrix (``lineax.LU``);
* :class:`Born` — ``order`` scattering events (coupled dipoles only);
* :class:`GMRES` — matrix-free restarted GMRES (``lineax.GMRES``);
* :class:`BlockGMRES` — GMRES on the charge-sector block structure (Fock steady states);
* any ``lineax.AbstractLinearSolver`` is accepted where a linear solve is done: ``lineax.LU``
  and other dense solvers act like :class:`Direct`, ``lineax.GMRES``/``lineax.BiCGStab`` like
  :class:`GMRES` (matrix-free).

Lyapunov equations (Gaussian steady states, ``A X + X Aᵀ + D = 0``):

* :class:`Kron` — the vectorised (Kronecker) linear system, exact, O(n⁶); the default for
  n ≤ 8 quadratures;
* :class:`Sign` — the matrix-sign-function (Newton) iteration, O(n³) per step, for larger n.

Passing ``solver=None`` picks the documented default of each kernel. The old string forms
(``method="direct"`` …) still work for one release and warn (``DeprecationWarning``).
"""

from __future__ import annotations

import warnings

import equinox as eqx
import lineax as lx

__all__ = [
    "Direct",
    "Born",
    "GMRES",
    "BlockGMRES",
    "Kron",
    "Sign",
    "deprecated_method",
]


def _check_int(name: str, value, lo: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an int ≥ {lo}{' or None' if optional else ''}, got {value!r}")


def _check_tol(name: str, value) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not v >= 0.0 or v == float("inf"):
        raise ValueError(f"{name} must be finite and ≥ 0, got {value!r}")


class Direct(eqx.Module):
    """Dense LU solve of the assembled system (``lineax.LU``): exact up to rounding, O(n³)."""


class Born(eqx.Module):
    """Born series with ``order`` scattering events (0 = isolated particles; paper 003's
    "one iteration of eq. 4" is ``Born(1)``)."""

    order: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        _check_int("Born.order", self.order, 0)


class _KrylovSettings(eqx.Module):
    """Settings shared by the GMRES solvers (fields and checks written once)."""

    rtol: float = eqx.field(static=True, default=1e-10)
    atol: float = eqx.field(static=True, default=1e-12)
    max_steps: int | None = eqx.field(static=True, default=None)
    restart: int = eqx.field(static=True, default=30)

    def __check_init__(self):
        name = type(self).__name__
        _check_tol(f"{name}.rtol", self.rtol)
        _check_tol(f"{name}.atol", self.atol)
        _check_int(f"{name}.max_steps", self.max_steps, 1, optional=True)
        _check_int(f"{name}.restart", self.restart, 1)

    def lineax(self, size: int) -> lx.GMRES:
        """The ``lineax.GMRES`` for a system of ``size`` unknowns."""
        steps = 10 * size if self.max_steps is None else self.max_steps
        return lx.GMRES(rtol=self.rtol, atol=self.atol, max_steps=steps, restart=self.restart)


class GMRES(_KrylovSettings):
    """Matrix-free restarted GMRES (``lineax.GMRES``).

    Attributes:
        rtol, atol: relative and absolute residual tolerances.
        max_steps: maximum number of iterations (``None``: 10 × the system size).
        restart: Krylov subspace length before a restart.
    """


class BlockGMRES(_KrylovSettings):
    """GMRES on the block (charge-sector) structure of a Fock Liouvillian, matrix-free.

    Attributes: as :class:`GMRES`. In ``jaxbind.quantum.fock.steady_state`` (the
    preconditioned block solver of ``jaxbind.quantum.fock_iterative``) ``max_steps=None``
    means 400 iterations per solve (the preconditioned system needs tens), ``rtol`` is
    floored at 10 × the steady-state tolerance (what the dtype can reach), and ``atol``
    applies to the first solve (Newton corrections use 1e-6 × their rtol).
    """


class Kron(eqx.Module):
    """Lyapunov solve as one vectorised (Kronecker) linear system, exact, O(n⁶) flops.

    Attributes:
        linear_solver: dense solver of the n(n+1)/2 × n(n+1)/2 symmetric-Kronecker system
            (and of the mean, −A⁻¹b). ``None`` (default) chooses by backend: on CPU the
            batch-vectorised LU ``jaxbind.quantum.batched_lu.SmallLU`` (one vectorised
            elimination for a whole ``vmap`` batch; ``benchmarks/bench_gaussian.py`` measures
            it against ``lineax.LU``), on GPU/TPU ``lineax.LU`` (batched LAPACK/cuSOLVER).
            Any ``lineax.AbstractLinearSolver`` for square dense systems may be given.
    """

    linear_solver: lx.AbstractLinearSolver | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.linear_solver is not None and not isinstance(self.linear_solver,
                                                             lx.AbstractLinearSolver):
            raise TypeError("Kron.linear_solver must be None or a lineax.AbstractLinearSolver, "
                            f"got {type(self.linear_solver).__name__}")


class Sign(eqx.Module):
    """Lyapunov solve by the matrix-sign-function Newton iteration (O(n³) per step).

    Attributes:
        max_steps: maximum number of Newton steps.
    """

    max_steps: int = eqx.field(static=True, default=64)

    def __check_init__(self):
        _check_int("Sign.max_steps", self.max_steps, 1)


def deprecated_method(fn: str, method: str, replacement: str) -> None:
    """Warn that a string ``method=`` is deprecated in favour of a solver object."""
    warnings.warn(
        f"{fn}(method={method!r}) is deprecated; pass solver={replacement} instead "
        "(the string form will be removed in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )
