"""Normal modes of the linearized array: dynamical matrices, eigenfrequencies, Petermann
factors, exceptional points and the PT phase (paper 000 eqs. 10–12, Fig. 3b; paper 001
eqs. 80, 86, Fig. 3b).

Two descriptions of the same Langevin equations (paper 001 eq. 80):

* full: z̈ = −Ω² z with Ω²_μν = S_μν/m_μ, S = diag(mω² + K) − C (rad²/s²); eigenvalues
  ω_n² (paper 001 eq. 86 for two particles);
* RWA: ȧ = −i H a in the frame rotating at ω_ref (paper 000 eq. 11 generalised to N
  particles and unequal masses),

      H_μμ = ω_μ − ω_ref + K_μ/(2 m_μ ω_ref),   H_μν = −C_μν/(2 ω_ref √(m_μ m_ν))   (rad/s).

  For two equal particles with ω_1,2 = ω_m ∓ δω/2 and ω_ref = ω_m this is paper 000's H_NH
  plus g_r·1 (paper 000 rotates at ω + g_r).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from .._entry import compiled_entry
from .._types import Array, ArrayLike, Complex, Float, Inexact, Int, Real
from ..results import RESULTS, code
from .array import LinearizedArray

__all__ = [
    "dynamical_matrix",
    "drift_matrix",
    "nonhermitian_hamiltonian",
    "eigenfrequencies",
    "two_mode_eigenfrequencies",
    "Modes",
    "modes",
    "petermann_factors",
    "ExceptionalPoints",
    "exceptional_points",
    "pt_phase",
    "localization",
]

_DEPRECATED = {"EP_SUCCESS": "successful", "EP_NOT_CONVERGED": "nonlinear_max_steps_reached"}


def __getattr__(name):
    # one release: the integer EP statuses are RESULTS items now
    if name in _DEPRECATED:
        import warnings

        warnings.warn(f"jaxbind.mechanics.modes.{name} is deprecated; test "
                      f"ExceptionalPoints.result against jaxbind.results.RESULTS",
                      DeprecationWarning, stacklevel=2)
        return int(code(getattr(RESULTS, _DEPRECATED[name])))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_lin(lin):
    if not isinstance(lin, LinearizedArray):
        raise TypeError(f"lin must be a LinearizedArray (from linearize), got {type(lin).__name__}")


def dynamical_matrix(lin: LinearizedArray) -> Float[Array, "m m"]:
    """Ω² (M, M) in rad²/s² with z̈ = −Ω² z (paper 001 eq. 80 without noise and damping)."""
    _check_lin(lin)
    return lin.stiffness / lin.mass[:, None]


def drift_matrix(lin: LinearizedArray) -> Float[Array, "n n"]:
    """Drift matrix A (2M, 2M) of d⟨x⟩/dt = A⟨x⟩ + b for x = (z_1, p_1, z_2, p_2, …) in SI
    units (m, kg·m/s), including gas damping ṗ = −γ p (paper 001 eq. 80)."""
    _check_lin(lin)
    M = lin.n_dof
    S = lin.stiffness
    A = jnp.zeros((2 * M, 2 * M), S.dtype)
    idx = jnp.arange(M)
    A = A.at[2 * idx, 2 * idx + 1].set(1.0 / lin.mass)
    A = A.at[2 * idx[:, None] + 1, 2 * idx[None, :]].set(-S)
    A = A.at[2 * idx + 1, 2 * idx + 1].set(-lin.gamma)
    return A


def nonhermitian_hamiltonian(lin: LinearizedArray,
                             omega_ref: Real | None = None) -> Complex[Array, "m m"]:
    """RWA dynamical matrix H (M, M) complex, rad/s, frame rotating at ``omega_ref`` (default
    mean ω) — paper 000 eq. 11 generalised (module docstring)."""
    _check_lin(lin)
    w = jnp.mean(lin.omega) if omega_ref is None else jnp.asarray(omega_ref)
    sm = jnp.sqrt(lin.mass)
    H = -lin.C / (2.0 * w * sm[:, None] * sm[None, :])
    H = H + jnp.diag(lin.omega - w + lin.K / (2.0 * lin.mass * w))
    return H.astype(jnp.promote_types(H.dtype, jnp.complex64))


def _sort(vals, *vecs):
    order = jnp.argsort(jnp.real(vals))
    return (vals[order],) + tuple(v[:, order] for v in vecs)


def eigenfrequencies(lin: LinearizedArray, *, rwa: bool = False,
                     omega_ref: Real | None = None) -> Complex[Array, " m"]:
    """Complex normal-mode frequencies (M,) in rad/s, sorted by real part.

    full (``rwa=False``): ω_n = √(eig Ω²) with Re ω_n ≥ 0 (paper 001 eq. 86 for N = 2);
    RWA: ω_ref + eig H (paper 000 eq. 12 for N = 2). A mode with Im ω_n > 0 grows
    (time dependence e^{−iωt}); Im ω_n < 0 decays.
    """
    if rwa:
        w = jnp.mean(lin.omega) if omega_ref is None else jnp.asarray(omega_ref)
        vals = jnp.linalg.eigvals(nonhermitian_hamiltonian(lin, w)) + w
    else:
        O2 = dynamical_matrix(lin)
        vals = jnp.sqrt(jnp.linalg.eigvals(O2.astype(jnp.promote_types(O2.dtype, jnp.complex64))))
    return jnp.sort_complex(vals)


def two_mode_eigenfrequencies(g_r: Float[ArrayLike, "*#b"], g_a: Float[ArrayLike, "*#b"],
                              delta_omega: Float[ArrayLike, "*#b"],
                              omega_m: Float[ArrayLike, "*#b"] | None = None
                              ) -> Complex[Array, "2 *batch"]:
    """Closed-form eigenfrequencies of two coupled particles (ω_−, ω_+).

    RWA (``omega_m`` None): ω_± = ±½ √(δω² − 4 g_a δω + 4 g_r²) (paper 000 eq. 12), relative
    to the frame rotating at ω_m + g_r. Full: ω_±² = ω_m² + δω²/4 + 2ω_m g_r ±
    ω_m √(δω² − 4δω g_a + 4g_r²) (paper 001 eq. 86), ω_± = √(ω_±²) with Re ≥ 0.
    All in rad/s (any common rate unit for the RWA form); complex.
    """
    g_r, g_a, dw = (jnp.asarray(x) for x in (g_r, g_a, delta_omega))
    cdt = jnp.promote_types(jnp.result_type(g_r, g_a, dw), jnp.complex64)
    disc = (dw**2 - 4.0 * g_a * dw + 4.0 * g_r**2).astype(cdt)
    root = jnp.sqrt(disc)
    if omega_m is None:
        return jnp.stack([-0.5 * root, 0.5 * root])
    wm = jnp.asarray(omega_m)
    base = wm**2 + dw**2 / 4.0 + 2.0 * wm * g_r
    return jnp.stack([jnp.sqrt(base - wm * root), jnp.sqrt(base + wm * root)])


class Modes(eqx.Module):
    """Eigen-decomposition of a (non-Hermitian) dynamical matrix.

    Attributes:
        values: (M,) complex eigenvalues sorted by real part.
        right: (M, M) right eigenvectors (columns, unit norm).
        left: (M, M) left eigenvectors (columns, L[:, n]† H = λ_n L[:, n]†), normalised so
            that L†R = 1 (biorthogonal).
        petermann: (M,) Petermann factors K_n = ‖L_n‖²‖R_n‖² ≥ 1 (= 1 for normal matrices,
            → ∞ at an exceptional point).
    """

    values: Complex[Array, " m"]
    right: Complex[Array, "m m"]
    left: Complex[Array, "m m"]
    petermann: Float[Array, " m"]


def modes(H: Inexact[ArrayLike, "m m"]) -> Modes:
    """Eigenvalues, right/left eigenvectors and Petermann factors of a square matrix ``H``
    (e.g. :func:`nonhermitian_hamiltonian` or :func:`dynamical_matrix`)."""
    H = jnp.asarray(H)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {H.shape}")
    H = H.astype(jnp.promote_types(H.dtype, jnp.complex64))
    vals, R = jnp.linalg.eig(H)
    R = R / jnp.linalg.norm(R, axis=0, keepdims=True)
    Linv = jnp.linalg.inv(R)  # rows: left eigenvectors with L†R = 1
    L = jnp.conj(Linv).T
    vals, R, L = _sort(vals, R, L)
    pet = jnp.sum(jnp.abs(L) ** 2, axis=0) * jnp.sum(jnp.abs(R) ** 2, axis=0)
    return Modes(vals, R, L, pet)


def petermann_factors(H: Inexact[ArrayLike, "m m"]) -> Float[Array, " m"]:
    """(M,) Petermann factors of ``H`` (see :class:`Modes`)."""
    return modes(H).petermann


# --------------------------------------------------------------------------------------
# exceptional points and PT phase (two particles)
# --------------------------------------------------------------------------------------


class ExceptionalPoints(eqx.Module):
    """The two detunings δω at which the two-mode spectrum is degenerate.

    Attributes:
        delta_omega: (2,) δω (rate unit of the inputs), lower then upper (failed searches
            last); NaN unless ``result`` is successful (no number for a failed search).
        result: (2,) :data:`jaxbind.results.RESULTS` items: ``successful``; the promoted
            optimistix result of a failed Newton search (e.g. |g_a| ≤ |g_r|, the PT-unbroken
            case without EPs); ``nonlinear_divergence`` when Newton stopped at a point that
            is not a root; ``nonfinite`` for non-finite input.
        residual: (2,) |discriminant| at the returned points (relative to g²).
    ``status`` (deprecated, one release) is the integer code of ``result``.
    """

    delta_omega: Float[Array, "2"]
    result: RESULTS
    residual: Float[Array, "2"]

    @property
    def status(self) -> Int[Array, "*batch 2"]:
        """Integer codes of ``result`` (0 = successful)."""
        return code(self.result)


def _two_mode_matrix(g_r, g_a, dw, omega_m):
    """The 2×2 matrix whose degeneracy defines the EP: RWA H_NH (paper 000 eq. 11) or, with
    ``omega_m``, the full Ω² of paper 001 eq. 80 (both particles of equal mass)."""
    if omega_m is None:
        return jnp.array([[-dw / 2 + g_a, -g_r - g_a], [-g_r + g_a, dw / 2 - g_a]])
    w1, w2 = omega_m - dw / 2, omega_m + dw / 2
    c12, c21 = 2 * omega_m * (g_r + g_a), 2 * omega_m * (g_r - g_a)
    return jnp.array([[w1**2 + c12, -c12], [-c21, w2**2 + c21]])


# An eager call is one compiled program (the root finds and their bookkeeping), not ~40
# op-by-op dispatches; g_r, g_a, omega_m as Python floats are traced (no re-trace per value).
@compiled_entry(scalars=("g_r", "g_a", "omega_m"))
def exceptional_points(g_r: Real, g_a: Real, *,
                       omega_m: Real | None = None, rtol: float = 1e-10,
                       atol: float = 1e-12, max_steps: int = 64) -> ExceptionalPoints:
    """Exceptional points in the detuning δω by Newton root finding (optimistix).

    Solves disc(δω) = (M_11 − M_22)² + 4 M_12 M_21 = 0 for the numerically assembled
    two-mode matrix M (RWA H_NH of paper 000 eq. 11, or the full Ω² of paper 001 eq. 80 if
    ``omega_m`` is given), from the two starting points 2g_a ± 2|g_a|. The closed form is
    δω = 2g_a ± 2√(g_a² − g_r²) (paper 000 after eq. 12, paper 001 after eq. 87); it exists
    only for |g_a| > |g_r|, otherwise the search reports a failed ``result``.

    Args:
        g_r, g_a: reciprocal and antireciprocal rates (any common rate unit).
        omega_m: optional mean trap frequency (same unit) for the full (non-RWA) matrix.
    Returns:
        :class:`ExceptionalPoints`.
    """
    g_r = jnp.asarray(g_r)
    g_a = jnp.asarray(g_a)
    dt = jnp.result_type(g_r, g_a, float)
    g_r, g_a = g_r.astype(dt), g_a.astype(dt)
    scale = jnp.maximum(jnp.abs(g_r) + jnp.abs(g_a), jnp.finfo(dt).tiny)
    wm = None if omega_m is None else jnp.asarray(omega_m, dt) / scale

    # work in units of the coupling scale so tolerances are relative
    def disc(x, args):
        gr, ga = args
        M = _two_mode_matrix(gr, ga, x, wm)
        d = (M[0, 0] - M[1, 1]) ** 2 + 4.0 * M[0, 1] * M[1, 0]
        return d if wm is None else d / wm**2

    args = (g_r / scale, g_a / scale)
    # The full matrix holds ω_m² ≫ g²: its entries cancel to a noise floor ~ eps·(ω_m/g)²,
    # below which Newton's step criterion cannot go.
    floor = 0.0 if wm is None else 100.0 * float(jnp.finfo(dt).eps) * (1.0 + wm**2)
    solver = optx.Newton(rtol=rtol, atol=atol + floor)
    res_tol = 1e3 * (jnp.sqrt(atol) + floor)

    def one(x0):
        sol = optx.root_find(disc, solver, x0, args=args, max_steps=max_steps, throw=False)
        res = jnp.abs(disc(sol.value, args))
        finite = jnp.isfinite(sol.value) & jnp.isfinite(res)
        result = RESULTS.where(
            sol.result != optx.RESULTS.successful, RESULTS.promote(sol.result),
            RESULTS.where(~finite, RESULTS.nonfinite,
                          RESULTS.where(res < res_tol, RESULTS.successful,
                                        RESULTS.nonlinear_divergence)))
        return sol.value, result, res

    ga_s = args[1]
    x0 = jnp.stack([2 * ga_s - 2 * jnp.abs(ga_s) - 0.1, 2 * ga_s + 2 * jnp.abs(ga_s) + 0.1])
    vals, result, res = jax.vmap(one)(x0)
    ok = result == RESULTS.successful
    vals = jnp.where(ok, vals * scale, jnp.nan)
    order = jnp.argsort(vals)  # ascending, NaN (failed) last; result and residual follow
    result = jax.tree_util.tree_map(lambda v: v[order], result)
    return ExceptionalPoints(vals[order], result, res[order])


def pt_phase(g_r: Float[ArrayLike, "*#b"], g_a: Float[ArrayLike, "*#b"],
             delta_omega: Float[ArrayLike, "*#b"]) -> Int[Array, "*batch"]:
    """Phase of the generalized PT (time-reversal) symmetry, paper 000/001 Fig. 3b.

    Returns int32: 0 unbroken with |g_r| ≥ |g_a| (blue), 1 unbroken with |g_a| > |g_r|
    (green/light), 2 broken: δω² − 4g_aδω + 4g_r² < 0, i.e. |g_a| > |g_r| and
    |δω − 2g_a| < 2√(g_a² − g_r²) (the eigenfrequencies form a complex-conjugate pair).
    """
    g_r, g_a, dw = (jnp.asarray(x) for x in (g_r, g_a, delta_omega))
    disc = dw**2 - 4.0 * g_a * dw + 4.0 * g_r**2
    return jnp.where(disc < 0, 2, jnp.where(jnp.abs(g_a) > jnp.abs(g_r), 1, 0)).astype(jnp.int32)


def localization(vectors: Inexact[ArrayLike, "m k"], coordinates: Float[ArrayLike, " m"] | None = None
                 ) -> tuple[Float[Array, " k"], Float[Array, " k"]]:
    """Skin-effect indicators of eigenvectors (columns of ``vectors`` (M, M)).

    Returns:
        (ipr, centre): inverse participation ratios Σ|v_i|⁴/(Σ|v_i|²)² (M,) — 1/M for an
        extended mode, 1 for a single site — and weight centres Σ x_i|v_i|²/Σ|v_i|² (M,)
        with x_i = ``coordinates`` (default: site index scaled to [−1, 1]); a non-Hermitian
        skin effect shows as centres piling up at one edge (±1).
    """
    v = jnp.abs(jnp.asarray(vectors)) ** 2
    M = v.shape[0]
    x = jnp.linspace(-1.0, 1.0, M) if coordinates is None else jnp.asarray(coordinates)
    w = v / jnp.sum(v, axis=0, keepdims=True)
    return jnp.sum(w**2, axis=0), jnp.sum(x[:, None] * w, axis=0)
