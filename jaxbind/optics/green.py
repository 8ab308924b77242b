"""Free-space dyadic Green tensors (paper 000 after eq. 1; paper 001 eqs. 1, 57; paper 003 eq. 5).

Conventions: time dependence e^{−iωt}; r is field point minus source point; k the wavenumber.

Electric field of an electric dipole p (paper 000 after eq. 1, paper 001 eq. 57):

    E(r) = Ḡ(r) p / ε0,
    Ḡ(r) = e^{ikr}/(4π) [ (1 − ikr)(3 r⊗r − r² 1)/r⁵ + k² (r² 1 − r⊗r)/r³ ]        (1/m³)
         = 1/(4π r³) [ α(kr) 1 + β(kr) n⊗n ],
    α(u) = e^{iu}(u² + iu − 1),   β(u) = e^{iu}(3 − 3iu − u²),   n = r/r.

Relation to paper 002 eq. (C1): that paper's G is the Green tensor of its eq. (A1),
(∇×∇× − k²) G = δ 1, so E = μ0 ω² G p = (k²/ε0) G p and Ḡ = k² G.  Eq. (C1) as printed,
e^{ikr}/(4πk²r³){f 1 − h e_r⊗e_r}, has the opposite overall sign of the solution of (A1)
(its far field would be −e^{ikr}(1 − e_r⊗e_r)/(4πr) and Im G(r→0) = −k/(6π), contradicting the
same paper's Im G_free(r_i, r_i) = k/(6π) below eq. (20) and its eq. (30)). Hence

    Ḡ = k² G_(A1) = −k² G_(C1 as printed).

Cross propagator (paper 003 eq. 5, ψ is its scalar form). From H = ∇×E/(iωμ0) applied to
the field above (only the k² e^{ikr}/(4πr) p part has a curl):

    Z0 H(r) = Ḡc(r) p / ε0                 (magnetic field of an electric dipole)
    E(r)    = −Z0 Ḡc(r) m                  (electric field of a magnetic dipole, by duality)
    H(r)    = Ḡ(r) m                       (magnetic field of a magnetic dipole)
    Ḡc(r) v = k³/(4π) e^{iρ}(1/ρ + i/ρ²) (n × v) = 1/(4πr³) e^{iu}(u² + iu) (n × v).

Scaled units (jaxbind.constants): ρ = k r, g = 4π Ḡ/k³, gc = 4π Ḡc/k³, so that

    Ẽ = g(ρ) p̃ − gc(ρ) m̃,   H̃ = gc(ρ) p̃ + g(ρ) m̃,
    g(ρ)  = e^{iρ}[(1 − iρ)(3 n⊗n − 1)/ρ³ + (1 − n⊗n)/ρ],
    gc(ρ) v = e^{iρ}(1/ρ + i/ρ²)(n × v).

Paper 003 eq. 4 writes these with scalars φ = Ḡ_⊥/ε0 and ψ = c Ḡc: its signs follow from the
tensors above for particle B at +L x̂ from A, p ∥ ŝ_E and m ∥ ŝ_H = x̂ × ŝ_E.

Internally every tensor is a dimensionless polynomial in u = k r (complex k allowed, e.g. the
imaginary wavenumber k = iξ/c of Matsubara sums) divided by 4π r³, so k = 0 gives the
electrostatic tensor of paper 001 eq. (1) and float32 agrees with float64.

Errors: r = 0 (coincident points, where the tensors are singular) and non-finite input raise
an ``EquinoxRuntimeError`` naming the argument in an eager call (checked on the host); under a
user's ``jit``/``vmap``/``grad`` the same checks give NaN outputs for that point
(:func:`jaxbind._checks.nan_if`: no host callback in the user's program), never a finite
number computed for a substituted input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._checks import check_shape, is_concrete, nan_if
from .._entry import compiled_entry, host_checked
from .._types import Array, ArrayLike, Float, Inexact, Number
from . import _propagator as P

# Levi-Civita tensor: (n × v)_a = Σ_kb ε_akb n_k v_b, so the cross-product matrix is ε·n.
# NumPy, not jnp: a module-level jnp array made while the module is (lazily) first imported
# inside a trace would be a leaked tracer.
_LEVI_CIVITA = np.array(
    [
        [[0, 0, 0], [0, 0, 1], [0, -1, 0]],
        [[0, 0, -1], [0, 0, 0], [1, 0, 0]],
        [[0, 1, 0], [-1, 0, 0], [0, 0, 0]],
    ],
    dtype=np.int8,
)


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _real_vec3(x, name: str):
    x = jnp.asarray(x)
    check_shape(name, x, (3,))
    if jnp.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _host_separation(r, name: str, fn: str):
    """The value checks of :func:`_checked_separation` on a concrete r, on the host (the same
    ``EquinoxRuntimeError`` messages; structural errors are left to the trace)."""
    v = np.asarray(r)
    if v.shape != (3,) or np.iscomplexobj(v):
        return
    if not np.issubdtype(v.dtype, np.floating):
        v = v.astype(np.result_type(float))
    if not np.all(np.isfinite(v)):
        raise eqx.EquinoxRuntimeError(f"{fn}: {name} contains non-finite values")
    if np.sum(v * v) == 0:
        raise eqx.EquinoxRuntimeError(f"{fn}: {name} = 0 (coincident points) is singular")


def _checked_separation(r, name: str, fn: str):
    """Validate a separation vector; returns (r, |r|, n) with gradient-safe norm.

    r = 0 and non-finite entries are value errors (checked on the host for an eager call,
    :func:`_pair_entry`; NaN under a user's transform, :func:`~jaxbind._checks.nan_if`); the
    norm is computed from a substituted value there so that no NaN can reach a gradient.
    """
    r = _real_vec3(r, name)
    r2 = jnp.sum(r * r)
    if not host_checked():
        r = nan_if(r, ~jnp.all(jnp.isfinite(r)), f"{fn}: {name} contains non-finite values")
        r = nan_if(r, r2 == 0, f"{fn}: {name} = 0 (coincident points) is singular")
    safe = r2 > 0
    rn = jnp.sqrt(jnp.where(safe, r2, 1.0))
    return r, rn, r / rn


def _complex_k(k, rdtype, fn: str, name: str = "k"):
    """Wavenumber as a complex scalar of the precision of r (Python scalars stay weak)."""
    k_arr = jnp.asarray(k)
    if k_arr.ndim != 0:
        raise ValueError(f"{fn}: {name} must be a scalar, got shape {k_arr.shape}")
    ctype = jnp.result_type(rdtype, k, 1j)
    if is_concrete(k_arr):
        _host_k(k_arr, fn, name)
    kc = jnp.asarray(k, dtype=ctype)
    if not host_checked():
        bad = ~jnp.isfinite(kc) | (jnp.real(kc) < 0) | (jnp.imag(kc) < 0)
        kc = nan_if(kc, bad, f"{fn}: {name} must be finite with Re {name} ≥ 0 and Im {name} ≥ 0")
    return kc


def _host_k(k, fn: str, name: str = "k"):
    """Value checks of a concrete scalar wavenumber (``ValueError`` naming it)."""
    v = np.asarray(k)
    if v.ndim != 0:
        return  # the trace raises the shape error
    kv = complex(v)
    if not (np.isfinite(kv.real) and np.isfinite(kv.imag)):
        raise ValueError(f"{fn}: {name} must be finite, got {kv}")
    if kv.real < 0 or kv.imag < 0:
        raise ValueError(f"{fn}: {name} must have Re {name} ≥ 0 and Im {name} ≥ 0 (outgoing, "
                         f"decaying waves; e.g. k = iξ/c at imaginary frequency), got {kv}")


def _pair_entry(fn: str, r: str = "r", k: str | None = "k"):
    """:func:`~jaxbind._entry.compiled_entry` for a single-pair tensor: an eager call checks
    the separation (and wavenumber) on the host and runs one callback-free compiled program;
    a Python-scalar wavenumber is traced, not re-compiled per value (issue 15 §10)."""

    def check(bound):
        _host_separation(bound.arguments[r], r, fn)
        if k is not None:
            _host_k(bound.arguments[k], fn, k)

    return compiled_entry(scalars=() if k is None else (k,), host_check=check)


# --------------------------------------------------------------------------------------
# radial coefficient polynomials (dimensionless, u = k r complex)
# --------------------------------------------------------------------------------------


def _alpha_beta(u):
    """(α, β) with Ḡ = (α 1 + β n⊗n)/(4π r³): u³ f1(u) and u³ f2(u) of the propagator."""
    return P.evaluate_unscaled(P.F1, u), P.evaluate_unscaled(P.F2, u)


def _outer(n):
    return n[:, None] * n[None, :]


def _cross_matrix(n):
    """[n]× with [n]× v = n × v."""
    return jnp.einsum("akb,k->ab", jnp.asarray(_LEVI_CIVITA, n.dtype), n)


# --------------------------------------------------------------------------------------
# single-pair tensors (SI)
# --------------------------------------------------------------------------------------


@_pair_entry("green_tensor")
def green_tensor(r: Float[ArrayLike, "3"], k: Number) -> Inexact[Array, "3 3"]:
    """Free-space electric dyadic Green tensor Ḡ(r) (1/m³), normalized so that E = Ḡ p / ε0.

    Paper 000 (after eq. 1) / paper 001 eq. 57; equals k² times the Green tensor of paper 002
    eq. (A1) and −k² times paper 002 eq. (C1) as printed (see the module docstring).

    Args:
        r: (3,) separation in metres, field point minus source point; r ≠ 0 and finite
            (otherwise an ``EquinoxRuntimeError``).
        k: wavenumber in rad/m, scalar. Real for propagating light; complex allowed, e.g.
            k = iξ/c gives the real, exponentially decaying e^{−ξr/c} tensor of Matsubara sums;
            k = 0 gives the electrostatic tensor :func:`static_green_tensor`.
    Returns:
        (3, 3) complex, 1/m³; symmetric, Ḡ(r) = Ḡ(−r).
    """
    fn = "green_tensor"
    r, rn, n = _checked_separation(r, "r", fn)
    kc = _complex_k(k, r.dtype, fn)
    a, b = _alpha_beta(kc * rn)
    eye = jnp.eye(3, dtype=r.dtype)
    return (a * eye + b * _outer(n)) / (4.0 * math.pi * rn**3)


class GreenParts(NamedTuple):
    """Near (1/r³), intermediate (1/r²) and far (1/r) parts of Ḡ; their sum is Ḡ (1/m³)."""

    near: Inexact[Array, "3 3"]
    intermediate: Inexact[Array, "3 3"]
    far: Inexact[Array, "3 3"]


@_pair_entry("green_tensor_parts")
def green_tensor_parts(r: Float[ArrayLike, "3"], k: Number) -> GreenParts:
    """Split Ḡ(r) into its near, intermediate and far-field parts (each 1/m³).

    Paper 001 eq. 57 term by term, each carrying the retardation phase e^{ikr}:
    near = e^{ikr}(3n⊗n − 1)/(4πr³), intermediate = −ik e^{ikr}(3n⊗n − 1)/(4πr²),
    far = k² e^{ikr}(1 − n⊗n)/(4πr). The far part is transverse (n·far = 0).

    Args:
        r: (3,) separation in metres, r ≠ 0, finite.
        k: wavenumber in rad/m (real or complex scalar).
    Returns:
        :class:`GreenParts` of three (3, 3) complex arrays in 1/m³.
    """
    fn = "green_tensor_parts"
    r, rn, n = _checked_separation(r, "r", fn)
    kc = _complex_k(k, r.dtype, fn)
    u = kc * rn
    ph = jnp.exp(1j * u) / (4.0 * math.pi * rn**3)
    eye = jnp.eye(3, dtype=r.dtype)
    nn = _outer(n)
    long = 3.0 * nn - eye
    return GreenParts(ph * long, (-1j * u) * ph * long, (u * u) * ph * (eye - nn))


@_pair_entry("static_green_tensor", k=None)
def static_green_tensor(r: Float[ArrayLike, "3"]) -> Float[Array, "3 3"]:
    """Electrostatic dipole Green tensor G0(r) = (3 r⊗r − r² 1)/(4π r⁵) (1/m³).

    Paper 001 eq. 1: the instantaneous field of a dipole is E = G0 p / ε0; G0 is the
    k → 0 limit (and the 1/r³ near part) of :func:`green_tensor`.

    Args:
        r: (3,) separation in metres, r ≠ 0, finite.
    Returns:
        (3, 3) real, 1/m³.
    """
    r, rn, n = _checked_separation(r, "r", "static_green_tensor")
    return (3.0 * _outer(n) - jnp.eye(3, dtype=r.dtype)) / (4.0 * math.pi * rn**3)


@_pair_entry("cross_green_tensor")
def cross_green_tensor(r: Float[ArrayLike, "3"], k: Number) -> Inexact[Array, "3 3"]:
    """Cross (electric↔magnetic) propagator Ḡc(r) (1/m³), Ḡc v = k³/(4π) e^{iρ}(1/ρ+i/ρ²) n×v.

    Tensor form of ψ in paper 003 eq. 5 (in vacuum c Ḡc v = ψ(r) n × v), derived from
    H = ∇×E/(iωμ0) with e^{−iωt}: Z0 H = Ḡc p / ε0 is the magnetic field of an electric dipole p
    and E = −Z0 Ḡc m the electric field of a magnetic dipole m (A·m²). Antisymmetric matrix,
    odd in r: Ḡc(−r) = −Ḡc(r).

    Args:
        r: (3,) separation in metres, field point minus source point; r ≠ 0, finite.
        k: wavenumber in rad/m (real or complex scalar).
    Returns:
        (3, 3) complex, 1/m³.
    """
    fn = "cross_green_tensor"
    r, rn, n = _checked_separation(r, "r", fn)
    kc = _complex_k(k, r.dtype, fn)
    c = P.evaluate_unscaled(P.H, kc * rn) / (4.0 * math.pi * rn**3)
    return c * _cross_matrix(n)


@_pair_entry("green_tensor_derivative")
def green_tensor_derivative(r: Float[ArrayLike, "3"], k: Number) -> Inexact[Array, "3 3 3"]:
    """Spatial derivative D[a, b, c] = ∂Ḡ_ab/∂r_c of the Green tensor (1/m⁴), closed form.

    Differentiating Ḡ = (α(kr) 1 + β(kr) n⊗n)/(4πr³) (paper 001 eq. 57) with
    ∂_c n_a = (δ_ac − n_a n_c)/r gives
    4π r⁴ ∂_c Ḡ_ab = a1 n_c δ_ab + b1 n_a n_b n_c + β (δ_ac n_b + δ_bc n_a),
    a1 = e^{iu}(3 − 3iu − 2u² + iu³), b1 = e^{iu}(−15 + 15iu + 6u² − iu³), u = kr.
    Needed for dipole forces (gradients of scattered fields).

    Args:
        r: (3,) separation in metres, r ≠ 0, finite.
        k: wavenumber in rad/m (real or complex scalar).
    Returns:
        (3, 3, 3) complex in 1/m⁴; the last axis is the derivative direction (the layout of
        ``jax.jacfwd(green_tensor)(r, k)``).
    """
    fn = "green_tensor_derivative"
    r, rn, n = _checked_separation(r, "r", fn)
    kc = _complex_k(k, r.dtype, fn)
    u = kc * rn
    a1 = P.evaluate_unscaled(P.DF1, u)  # u⁴ f1'
    b1 = P.evaluate_unscaled(P.B1, u)  # u⁴ (f2' − 2 f2/u)
    beta = P.evaluate_unscaled(P.F2R, u)  # u⁴ f2/u
    eye = jnp.eye(3, dtype=r.dtype)
    nnn = n[:, None, None] * n[None, :, None] * n[None, None, :]
    d_ab_nc = eye[:, :, None] * n[None, None, :]
    d_ac_nb = eye[:, None, :] * n[None, :, None]
    d_bc_na = eye[None, :, :] * n[:, None, None]
    out = a1 * d_ab_nc + b1 * nnn + beta * (d_ac_nb + d_bc_na)
    return out / (4.0 * math.pi * rn**4)


# --------------------------------------------------------------------------------------
# scaled single-pair tensors
# --------------------------------------------------------------------------------------


@_pair_entry("green_scaled", "rho_vec", "kscale")
def green_scaled(rho_vec: Float[ArrayLike, "3"], kscale: Number = 1.0) -> Inexact[Array, "3 3"]:
    """Dimensionless Green tensor g(ρ) = 4π Ḡ/k³ with Ḡ(r) = k³ g(k r)/(4π); Ẽ = g p̃.

    Paper 001 eq. 57 in the scaled units of :mod:`jaxbind.constants`.

    Args:
        rho_vec: (3,) real, ρ = k r (dimensionless separation), ρ ≠ 0, finite.
        kscale: complex factor multiplying |ρ| in the radial functions (1 for real k; 1j gives
            g at imaginary wavenumber, where ρ = |k| r and Ḡ = k³ g/(4π) with k = i|k|).
    Returns:
        (3, 3) complex, dimensionless.
    """
    fn = "green_scaled"
    rho_vec, rho, n = _checked_separation(rho_vec, "rho_vec", fn)
    s = _complex_k(kscale, rho_vec.dtype, fn, "kscale")
    u = s * rho
    eye = jnp.eye(3, dtype=rho_vec.dtype)
    return P.evaluate(P.F1, u) * eye + P.evaluate(P.F2, u) * _outer(n)


@_pair_entry("cross_green_scaled", "rho_vec", None)
def cross_green_scaled(rho_vec: Float[ArrayLike, "3"]) -> Inexact[Array, "3 3"]:
    """Dimensionless cross propagator gc(ρ) v = e^{iρ}(1/ρ + i/ρ²)(n × v).

    Paper 003 eq. 5 (ψ) in scaled units: H̃ = gc p̃ for an electric dipole and Ẽ = −gc m̃ for a
    magnetic dipole (signs derived from Maxwell's equations, see the module docstring).

    Args:
        rho_vec: (3,) real, ρ = k r, ρ ≠ 0, finite.
    Returns:
        (3, 3) complex, dimensionless, antisymmetric.
    """
    rho_vec, rho, n = _checked_separation(rho_vec, "rho_vec", "cross_green_scaled")
    return P.evaluate(P.H, rho) * _cross_matrix(n)


def dipole_field_scaled(d: Float[ArrayLike, "3"], q: Inexact[ArrayLike, "3"]) -> Inexact[Array, "3"]:
    """Scaled field g(d) q of a dipole q̃ at separation d = observer − source (ρ units).

    Paper 001 eq. 57 in scaled units, without the input checks of :func:`green_scaled`: for
    kernels that mask coincident pairs themselves (d ≠ 0 is the caller's responsibility).
    Cheap under nested ``jax.jacfwd`` (elementwise sums, no checks).

    Args:
        d: (3,) real scaled separation, |d| > 0.
        q: (3,) complex scaled dipole moment.
    Returns:
        (3,) complex scaled field.
    """
    r = jnp.sqrt(jnp.sum(d * d))
    nv = d / r
    return P.evaluate(P.F1, r) * q + P.evaluate(P.F2, r) * nv * jnp.sum(nv * q)


def dipole_fields_scaled(d: Float[ArrayLike, "3"], q: Inexact[ArrayLike, "6"]) -> Inexact[Array, "6"]:
    """Scaled fields (Ẽ, H̃) = (g p̃ − gc m̃, gc p̃ + g m̃) of an electric and magnetic dipole
    q = (p̃, m̃) at separation d = observer − source (ρ units).

    Paper 001 eq. 57 and paper 003 eq. 5 in scaled units (module docstring), without input
    checks, like :func:`dipole_field_scaled` (d ≠ 0 is the caller's responsibility). The 6×6
    map q ↦ (Ẽ, H̃) is symmetric (g = gᵀ, gc = −gcᵀ), so the same function also gives
    Σ_b q_b ∂(…)_be for the force Jacobians of :mod:`jaxbind.mechanics.exact`.

    Args:
        d: (3,) real scaled separation, |d| > 0.
        q: (6,) complex scaled moments (p̃, m̃).
    Returns:
        (6,) complex scaled fields (Ẽ, H̃).
    """
    r = jnp.sqrt(jnp.sum(d * d))
    nv = d / r
    p, m = q[:3], q[3:]
    f1, f2, h = (P.evaluate(f, r) for f in (P.F1, P.F2, P.H))
    E = f1 * p + f2 * nv * jnp.sum(nv * p) - h * jnp.cross(nv, m)
    H = f1 * m + f2 * nv * jnp.sum(nv * m) + h * jnp.cross(nv, p)
    return jnp.concatenate([E, H])


def _grad_g(rad, d, w):
    """[a, c] = ∂_c (g(d) w)_a = d_c (A1 w_a + B1 (d·w) d_a) + B ((d·w) δ_ac + d_a w_c)."""
    _, B, _, A1, B1, *_ = rad
    dw = jnp.sum(d * w)
    return ((A1 * w + (B1 * dw) * d)[:, None] * d[None, :]
            + B * (dw * jnp.eye(3, dtype=d.dtype) + d[:, None] * w[None, :]))


def _grad_gc(rad, d, w):
    """[a, c] = ∂_c (gc(d) w)_a = C1 (d × w)_a d_c + C ε_acb w_b (ε_acb w_b: x ↦ x × w)."""
    _, _, C, _, _, C1, *_ = rad
    z = jnp.zeros_like(w[0])
    eps_w = jnp.stack([jnp.stack([z, w[2], -w[1]]), jnp.stack([-w[2], z, w[0]]),
                       jnp.stack([w[1], -w[0], z])])
    return (C1 * jnp.cross(d, w))[:, None] * d[None, :] + C * eps_w


def _hess_g(rad, d, u, w):
    """[c, k] = Σ_ab u_a ∂_c∂_k g_ab(d) w_b (g = A 1 + B d⊗d; bilinear in u, w)."""
    _, B, _, A1, B1, _, A2, B2, _ = rad
    uw, ud, wd = jnp.sum(u * w), jnp.sum(u * d), jnp.sum(w * d)
    dd = d[:, None] * d[None, :]
    eye = jnp.eye(3, dtype=d.dtype)
    a = B1 * (u * wd + w * ud)  # the B1 terms with one free index carried by u or w
    return ((A2 * uw + B2 * ud * wd) * dd + (A1 * uw + B1 * ud * wd) * eye
            + a[:, None] * d[None, :] + d[:, None] * a[None, :]
            + B * (u[:, None] * w[None, :] + w[:, None] * u[None, :]))


def _hess_gc(rad, d, s):
    """[c, k] = ∂_c∂_k [C(d) d·s] = C2 (d·s) d_c d_k + C1 ((d·s) δ_ck + d_c s_k + s_c d_k), i.e.
    Σ_ab u_a ∂_c∂_k gc_ab w_b with s = w × u (u·gc w = C d·(w × u))."""
    *_, C1, _, _, C2 = rad
    ds = jnp.sum(d * s)
    return (C2 * ds * (d[:, None] * d[None, :]) + (C1 * ds) * jnp.eye(3, dtype=d.dtype)
            + C1 * (d[:, None] * s[None, :] + s[:, None] * d[None, :]))


def dipole_field_derivatives_scaled(d: Float[ArrayLike, "3"], u: Inexact[ArrayLike, "q"],
                                    v: Inexact[ArrayLike, "q"]
                                    ) -> tuple[Inexact[Array, "q 3"], Inexact[Array, "q 3"],
                                               Inexact[Array, "3 3"]]:
    """Closed-form first and second derivatives in the separation d of the pair propagator
    𝒢(d) of :func:`dipole_field_scaled` (q = 3: 𝒢 = g) or :func:`dipole_fields_scaled`
    (q = 6: 𝒢 = [[g, −gc], [gc, g]]), contracted with moments u, v:

        K[b, c] = ∂_c (𝒢(d) v)_b,   J[b, c] = ∂_c (𝒢(d) u)_b,   H[c, k] = ∂_c∂_k (u·𝒢(d) v).

    With g = A 1 + B d⊗d and gc w = C d × w (A = f1, B = f2/ρ², C = h/ρ of paper 001 eq. 57
    and paper 003 eq. 5; ρ = |d|) and the radial derivatives A1 = A'/ρ, A2 = A1'/ρ (same for
    B, C; :mod:`jaxbind.optics._propagator`, ``DA1`` …):

        ∂_c (g w)_a    = d_c (A1 w_a + B1 (d·w) d_a) + B ((d·w) δ_ac + d_a w_c),
        ∂_c (gc w)_a   = C1 (d × w)_a d_c + C ε_acb w_b,
        u·∂_c∂_k g w   = (A2 u·w + B2 (u·d)(w·d)) d_c d_k + (A1 u·w + B1 (u·d)(w·d)) δ_ck
                         + B1 [(u_c (w·d) + w_c (u·d)) d_k + d_c (u_k (w·d) + w_k (u·d))]
                         + B (u_c w_k + w_c u_k),
        u·∂_c∂_k gc w  = C2 (d·s) d_c d_k + C1 ((d·s) δ_ck + d_c s_k + s_c d_k),  s = w × u,

    and for q = 6 (u = (u_E, u_H), v = (v_E, v_H)) u·𝒢 v = u_E·g v_E + u_H·g v_H
    + u_H·gc v_E − u_E·gc v_H. These replace nested forward-mode autodiff of the field in the
    exact linearization (:mod:`jaxbind.mechanics.exact`), a program several times smaller to
    compile (issue 15 §10). No input checks (as :func:`dipole_field_scaled`): |d| > 0 is the
    caller's responsibility.

    Args:
        d: (3,) real scaled separation ρ_observer − ρ_source, |d| > 0.
        u, v: (q,) complex scaled moments, q = 3 (p̃) or 6 ((p̃, m̃)).
    Returns:
        (K, J, H): (q, 3), (q, 3) and (3, 3) complex.
    """
    d, u, v = jnp.asarray(d), jnp.asarray(u), jnp.asarray(v)
    r = jnp.sqrt(jnp.sum(d * d))
    fs = (P.F1, P.F2D, P.HD, P.DA1, P.DB1, P.DC1, P.DA2, P.DB2, P.DC2)
    rad = P.evaluate_many(fs, r)
    if u.shape[-1] == 3:
        return _grad_g(rad, d, v), _grad_g(rad, d, u), _hess_g(rad, d, u, v)
    uE, uH, vE, vH = u[:3], u[3:], v[:3], v[3:]

    def grad(wE, wH):
        return jnp.concatenate([_grad_g(rad, d, wE) - _grad_gc(rad, d, wH),
                                _grad_gc(rad, d, wE) + _grad_g(rad, d, wH)], axis=0)

    H = (_hess_g(rad, d, uE, vE) + _hess_g(rad, d, uH, vH)
         + _hess_gc(rad, d, jnp.cross(vE, uH) - jnp.cross(vH, uE)))
    return grad(vE, vH), grad(uE, uH), H


# --------------------------------------------------------------------------------------
# interaction matrices for N dipoles
# --------------------------------------------------------------------------------------


def _checked_positions(rho, name: str, fn: str):
    rho = jnp.asarray(rho)
    check_shape(name, rho, (None, 3))
    if jnp.iscomplexobj(rho):
        raise TypeError(f"{fn}: {name} must be real, got dtype {rho.dtype}")
    if not jnp.issubdtype(rho.dtype, jnp.floating):
        rho = rho.astype(jnp.result_type(float))
    rho = nan_if(rho, ~jnp.all(jnp.isfinite(rho)), f"{fn}: {name} contains non-finite values")
    return rho


def _pair_coefficients(rho, fn: str, name: str, cross: bool):
    """Radial coefficients of every pair, evaluating each unordered pair once.

    The coefficients depend on |ρ_i − ρ_j| only, so they are computed on the "circulant"
    half grid C[i, s] = f(ρ_i, ρ_{(i+s) mod N}), s = 0 … N/2 (every unordered pair occurs
    there, the s = N/2 ones twice for even N), which halves the cos/sin/sqrt work that
    dominates the assembly, and gathered back to the full (N, N) grid.

    Returns (rho, coef) with coef (N, N, m) real: (Re a, Im a, Re b, Im b[, Re c, Im c]) of
    g_ij = a 1 + b d⊗d and gc_ij v = c d × v, d = ρ_i − ρ_j; zero on the diagonal, where a
    substituted distance keeps every gradient finite.
    """
    rho = _checked_positions(rho, name, fn)
    num = rho.shape[0]
    half = num // 2 + 1
    shift = jnp.arange(half)
    partner = (jnp.arange(num)[:, None] + shift[None, :]) % num
    d = rho[:, None, :] - rho[partner]  # (N, half, 3)
    r2 = jnp.sum(d * d, axis=-1)
    off = (shift != 0)[None, :]
    # Coincident distinct points are singular (overlapping particles). The check guards the
    # small (N, 3) input, so no copy of a large array is made for it.
    rho = nan_if(rho, jnp.any((r2 == 0) & off), f"{fn}: two positions in {name} coincide (singular)")
    d = rho[:, None, :] - rho[partner]
    r2 = jnp.where(off, jnp.sum(d * d, axis=-1), jnp.ones((), rho.dtype))
    r = jnp.sqrt(r2)
    t = 1.0 / r
    cos, sin = jnp.cos(r), jnp.sin(r)
    # f1 and f2/ρ² (the n⊗n term written with d⊗d), and h/ρ (n × v written with d × v)
    coefs = [*P.evaluate_parts(P.F1, cos, sin, t), *P.evaluate_parts(P.F2D, cos, sin, t)]
    if cross:
        coefs += [*P.evaluate_parts(P.HD, cos, sin, t)]
    zero = jnp.zeros((), rho.dtype)
    circ = jnp.stack([jnp.where(off, c, zero) for c in coefs], axis=-1)  # (N, half, m)
    # back to the full grid: pair (i, j) sits at [i, s] if s = (j − i) mod N ≤ N/2, else at
    # [j, N − s]
    ii = jnp.arange(num)[:, None]
    jj = jnp.arange(num)[None, :]
    s = (jj - ii) % num
    upper = s <= num // 2
    coef = circ[jnp.where(upper, ii, jj), jnp.where(upper, s, num - s)]
    return rho, coef


def _green_blocks(rho, coef):
    """(N,3,N,3) real and imaginary parts of the g blocks from the pair coefficients."""
    da = rho[:, :, None, None] - rho.T[None, :, :, None]  # d_a(i, j)
    db = rho[:, None, None, :] - rho[None, None, :, :]  # d_b(i, j)
    dd = da * db
    eye = jnp.eye(3, dtype=rho.dtype)[None, :, None, :]
    c = coef[:, None, :, None, :]
    return c[..., 0] * eye + c[..., 2] * dd, c[..., 1] * eye + c[..., 3] * dd


def _host_positions(x, name: str, fn: str, *, coincide_fn: str | None = None,
                    coincide_name: str | None = None):
    """The value checks of :func:`_checked_positions` and of the coincidence check in
    :func:`_pair_coefficients` on concrete positions, on the host (the same
    ``EquinoxRuntimeError`` messages; structural errors are left to the trace)."""
    v = np.asarray(x)
    if v.ndim != 2 or v.shape[-1] != 3 or np.iscomplexobj(v):
        return
    if not np.issubdtype(v.dtype, np.floating):
        v = v.astype(np.result_type(float))
    if not np.all(np.isfinite(v)):
        raise eqx.EquinoxRuntimeError(f"{fn}: {name} contains non-finite values")
    d2 = np.sum((v[:, None, :] - v[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(d2, 1.0)
    if np.any(d2 == 0):
        raise eqx.EquinoxRuntimeError(f"{coincide_fn or fn}: two positions in "
                                      f"{coincide_name or name} coincide (singular)")


def _matrix_entry(fn: str):
    """:func:`~jaxbind._entry.compiled_entry` for an interaction matrix of scaled positions
    ``rho``: an eager call checks them on the host and runs one compiled program (not op by
    op); under a user's transform the kernel is traced inline."""
    return compiled_entry(host_check=lambda bound: _host_positions(bound.arguments["rho"], "rho", fn))


@_matrix_entry("green_matrix_scaled")
def green_matrix_scaled(rho: Float[ArrayLike, "n 3"]) -> Inexact[Array, "3*n 3*n"]:
    """Dimensionless dipole–dipole interaction matrix, block (i, j) = g(ρ_i − ρ_j), diagonal 0.

    Paper 001 eq. 57 (scaled): the scattered fields at every dipole are Ẽ_scat = M p̃ with
    p̃ = (p̃_1x, p̃_1y, p̃_1z, p̃_2x, …). Each unordered pair's radial functions are evaluated
    once, and the blocks are written by one fused broadcast directly in the (N,3,N,3) layout
    (the reshape to (3N,3N) is free), so the only large array is the output. The diagonal
    blocks are built from a substituted distance, so gradients stay finite.

    Args:
        rho: (N, 3) real, k·positions (dimensionless); distinct points, finite.
    Returns:
        (3N, 3N) complex (complex64 for float32 input), dimensionless; symmetric.
    """
    rho, coef = _pair_coefficients(rho, "green_matrix_scaled", "rho", cross=False)
    num = rho.shape[0]
    re, im = _green_blocks(rho, coef)
    return lax.complex(re, im).reshape(3 * num, 3 * num)


@_matrix_entry("coupled_green_matrix_scaled")
def coupled_green_matrix_scaled(rho: Float[ArrayLike, "n 3"]) -> Inexact[Array, "6*n 6*n"]:
    """Interaction matrix of N electric + magnetic dipoles, (Ẽ_scat, H̃_scat) = M (p̃, m̃).

    Paper 003 eqs. 4–5 generalized to N particles and full tensors, scaled units: unknowns
    ordered [p̃_1 … p̃_N, m̃_1 … m̃_N] (3 components each), M = [[G, −C], [C, G]] with G from
    :func:`green_matrix_scaled` and C the block matrix of gc(ρ_i − ρ_j) (zero diagonal), so
    Ẽ_i = Σ_j g p̃_j − gc m̃_j and H̃_i = Σ_j gc p̃_j + g m̃_j.

    Args:
        rho: (N, 3) real, k·positions; distinct points, finite.
    Returns:
        (6N, 6N) complex, dimensionless.
    """
    rho, coef = _pair_coefficients(rho, "coupled_green_matrix_scaled", "rho", cross=True)
    num = rho.shape[0]
    g_re, g_im = _green_blocks(rho, coef)
    # [d]×_ab = Σ_k ε_akb d_k with d = ρ_i − ρ_j
    eps = jnp.asarray(_LEVI_CIVITA, rho.dtype)
    dk = rho[:, None, None, None, :] - rho[None, None, :, None, :]  # (N,1,N,1,3)
    dx = jnp.sum(eps.transpose(0, 2, 1)[None, :, None, :, :] * dk, axis=-1)  # (N,3,N,3)
    c = coef[:, None, :, None, :]
    c_re, c_im = c[..., 4] * dx, c[..., 5] * dx
    delta = jnp.eye(2, dtype=rho.dtype)[:, None, None, :, None, None]
    sigma = jnp.array([[0.0, -1.0], [1.0, 0.0]], dtype=rho.dtype)[:, None, None, :, None, None]
    re = delta * g_re[None, :, :, None] + sigma * c_re[None, :, :, None]
    im = delta * g_im[None, :, :, None] + sigma * c_im[None, :, :, None]
    return lax.complex(re, im).reshape(6 * num, 6 * num)


def _green_matrix_host_check(bound) -> None:
    positions, k = bound.arguments["positions"], bound.arguments["k"]
    v = np.asarray(positions)
    if v.ndim == 2 and v.shape[-1] == 3 and not np.iscomplexobj(v) and not np.all(np.isfinite(v)):
        raise eqx.EquinoxRuntimeError("green_matrix: positions contains non-finite values")
    kv = np.asarray(k)
    if kv.ndim == 0 and not np.iscomplexobj(kv) and not (np.isfinite(kv) and kv > 0):
        raise eqx.EquinoxRuntimeError("green_matrix: k must be finite and positive")
    _host_positions(positions, "positions", "green_matrix", coincide_fn="green_matrix_scaled",
                    coincide_name="rho")


@compiled_entry(scalars=("k",), host_check=_green_matrix_host_check)
def green_matrix(positions: Float[ArrayLike, "n 3"], k: Number) -> Inexact[Array, "3*n 3*n"]:
    """SI dipole interaction matrix, block (i, j) = Ḡ(r_i − r_j) (1/m³), zero diagonal blocks.

    Paper 001 eq. 57; E_scat = M p / ε0 with p stacked (p_1x, p_1y, p_1z, p_2x, …). Computed
    as k³/(4π) :func:`green_matrix_scaled` (k·positions).

    Args:
        positions: (N, 3) real, metres; distinct, finite.
        k: real positive wavenumber, rad/m.
    Returns:
        (3N, 3N) complex, 1/m³.
    """
    positions = _checked_positions(positions, "positions", "green_matrix")
    if jnp.iscomplexobj(jnp.asarray(k)):
        raise TypeError("green_matrix: k must be real (use green_tensor for complex k)")
    k = jnp.asarray(k, dtype=jnp.result_type(positions.dtype, k))
    if jnp.ndim(k) != 0:
        raise ValueError(f"green_matrix: k must be a scalar, got shape {jnp.shape(k)}")
    k = nan_if(k, ~(jnp.isfinite(k) & (k > 0)), "green_matrix: k must be finite and positive")
    return (k**3 / (4.0 * math.pi)) * green_matrix_scaled(positions * k)
