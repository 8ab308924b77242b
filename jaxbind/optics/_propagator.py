"""The free-space dipole propagator, once: radial functions, their derivatives, evaluators.

Every kernel of jaxbind that needs the field of a point dipole (Green tensors, the coupled
dipole matrices, matrix-free scattered fields, forces, the closed-form pair kernel, the exact
linearization) takes its radial functions from here. In the scaled units of
:mod:`jaxbind.constants` (u = k r, complex u allowed) the electric and cross propagators of
:mod:`jaxbind.optics.green` are

    g(u)  = f1(u) 1 + f2(u) n⊗n,      gc(u) v = h(u) n × v,
    f1 = e^{iu}(u² + iu − 1)/u³,  f2 = e^{iu}(3 − 3iu − u²)/u³,  h = e^{iu}(u² + iu)/u³

(paper 001 eq. 57 and paper 003 eq. 5; Ḡ = k³ g/(4π), Ḡc = k³ gc/(4π)). Each radial function
is a :class:`Radial`: e^{iu} P(u)/u^p with a polynomial P of complex coefficients. Derivatives
follow by one rule, d/du[e^{iu} P/u^p] = e^{iu}[(iP + P')u − pP]/u^{p+1} (:func:`derivative`),
so no derivative is typed by hand. The force kernels need, with a prime for d/du,

    f1',  b1 = f2' − 2 f2/u,  f2/u,  h1 = h' − h/u,  h/u,  g∥ = f1 + f2  (axial), g∥', h'

(∇_d[u·g(d) b] and ∇_d[u·gc(d) b], see :mod:`jaxbind.optics.forces`).

Written with the separation vector d = u n instead (g = A 1 + B d⊗d, gc v = C d × v with
A = f1, B = f2/u², C = h/u), every derivative of the tensors in d follows from the radial
operator D f = f'/u (∂_c f(u) = (D f) d_c), applied once and twice (:func:`over_u_derivative`):

    A1 = D f1,  A2 = D² f1,   B1 = D(f2/u²),  B2 = D²(f2/u²),   C1 = D(h/u),  C2 = D²(h/u)

(the closed-form pair derivatives K, J, H of :func:`jaxbind.optics.green.dipole_field_derivatives_scaled`,
used by the exact linearization of :mod:`jaxbind.mechanics`).

Evaluation (the same table, three forms):

* :func:`evaluate` — e^{iu} P(u)/u^p, complex, for real or complex u > 0;
* :func:`evaluate_unscaled` — e^{iu} P(u) (no 1/u^p), finite at u = 0 (k = 0 electrostatics
  and complex k in the SI tensors of :mod:`jaxbind.optics.green`, which divide by r^p
  themselves);
* :func:`evaluate_parts` — (Re, Im) from given cos u, sin u and 1/u, in real arithmetic
  (vectorises on CPU; used by the O(N²) matrix assembly and the pair kernel, which may pass
  a faster sin/cos).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Radial",
    "derivative",
    "evaluate",
    "evaluate_parts",
    "evaluate_unscaled",
    "F1",
    "F2",
    "H",
    "GL",
    "DF1",
    "B1",
    "F2R",
    "H1",
    "HR",
    "DGL",
    "DH",
    "F2D",
    "HD",
    "over_u_derivative",
    "evaluate_many",
    "DA1",
    "DA2",
    "DB1",
    "DB2",
    "DC1",
    "DC2",
]


class Radial(NamedTuple):
    """e^{iu} Σ_k coeffs[k] u^k / u^power (coefficients lowest order first, complex)."""

    coeffs: tuple
    power: int

    def __add__(self, other: "Radial") -> "Radial":  # type: ignore[override]
        p = max(self.power, other.power)
        a = _shift(self.coeffs, p - self.power)
        b = _shift(other.coeffs, p - other.power)
        n = max(len(a), len(b))
        a = a + (0,) * (n - len(a))
        b = b + (0,) * (n - len(b))
        return Radial(_trim(tuple(x + y for x, y in zip(a, b))), p)

    def scale(self, c: complex) -> "Radial":
        return Radial(tuple(c * x for x in self.coeffs), self.power)

    def over_u(self, n: int = 1) -> "Radial":
        """This function divided by uⁿ."""
        return Radial(self.coeffs, self.power + n)


def _shift(coeffs, n):
    """Multiply the polynomial by uⁿ."""
    return (0,) * n + tuple(coeffs)


def _trim(coeffs):
    c = list(coeffs)
    while len(c) > 1 and c[-1] == 0:
        c.pop()
    return tuple(c)


def derivative(f: Radial) -> Radial:
    """d/du of e^{iu} P(u)/u^p = e^{iu}[(iP + P')u − pP]/u^{p+1}."""
    P = list(f.coeffs)
    dP = [k * P[k] for k in range(1, len(P))] + [0]
    iP_dP = [1j * a + b for a, b in zip(P, dP)]
    num = [0] + iP_dP  # × u
    for k, c in enumerate(P):
        num[k] -= f.power * c
    return Radial(_trim(tuple(num)), f.power + 1)


# radial functions of g = f1 1 + f2 n⊗n and gc v = h n × v (module docstring)
F1 = Radial((-1, 1j, 1), 3)
F2 = Radial((3, -3j, -1), 3)
H = Radial((0, 1j, 1), 3)
GL = F1 + F2  # axial: g n = (f1 + f2) n = 2 e^{iu}(1 − iu)/u³
# force kernels: ∇_d[u·g(d) b] and ∇_d[u·gc(d) b]
DF1 = derivative(F1)
F2R = F2.over_u()
B1 = derivative(F2) + F2R.scale(-2)
DH = derivative(H)
HR = H.over_u()
H1 = DH + HR.scale(-1)
DGL = derivative(GL)
# the n⊗n and n× terms written with d = u n (matrix assembly): f2/u², h/u
F2D = F2.over_u(2)
HD = H.over_u()


def over_u_derivative(f: Radial) -> Radial:
    """D f = (1/u) df/du, so that ∂_c f(|d|) = (D f)(u) d_c for the vector d (u = |d|):
    e^{iu}[(iP + P')u − pP]/u^{p+2} (:func:`derivative` divided by u)."""
    return derivative(f).over_u()


# the d-form of g = A 1 + B d⊗d, gc v = C d × v (A = f1, B = F2D, C = HD) and its derivative
# orders D, D² (module docstring): the closed-form first and second pair derivatives
DA1 = over_u_derivative(F1)
DA2 = over_u_derivative(DA1)
DB1 = over_u_derivative(F2D)
DB2 = over_u_derivative(DB1)
DC1 = over_u_derivative(HD)
DC2 = over_u_derivative(DC1)


def _split(coeffs):
    re = tuple(float(complex(c).real) for c in coeffs)
    im = tuple(float(complex(c).imag) for c in coeffs)
    return re, im


def _horner(coeffs, x):
    """Σ_k coeffs[k] x^k for Python-number coefficients (zero terms skipped), or None if 0."""
    acc = None
    for c in reversed(coeffs):
        if acc is None:
            acc = None if c == 0 else c + 0 * x
        else:
            acc = acc * x
            if c != 0:
                acc = acc + c
    return acc


def _in_t(f: Radial):
    """Coefficients of the same function as a polynomial in t = 1/u: Σ_j d_j t^j."""
    d = [0] * (f.power + 1)
    for k, c in enumerate(f.coeffs):
        j = f.power - k
        if j < 0:
            raise ValueError("radial function grows faster than e^{iu}: no polynomial in 1/u")
        d[j] = c
    return tuple(d)


def evaluate(f: Radial, u):
    """e^{iu} P(u)/u^p (complex), u > 0 real or complex (array)."""
    t = 1.0 / u
    return jnp.exp(1j * u) * _horner(_in_t(f), t)


def evaluate_many(fs, u):
    """[e^{iu} P(u)/u^p for f in fs] (complex), u > 0 real: every polynomial in t = 1/u at
    once, as the powers (1, t, …, t^m) times one real coefficient matrix per real and
    imaginary part (two small matrix products instead of one Horner chain per function: a
    smaller program to compile), times one shared e^{iu}."""
    t = 1.0 / u
    cols = [_in_t(f) for f in fs]
    m = max(len(c) for c in cols)
    coef = np.zeros((2, m, len(fs)))
    for j, c in enumerate(cols):
        coef[0, :len(c), j] = [complex(x).real for x in c]
        coef[1, :len(c), j] = [complex(x).imag for x in c]
    powers = jnp.cumprod(jnp.broadcast_to(t[..., None], t.shape + (m - 1,)), axis=-1)
    powers = jnp.concatenate([jnp.ones_like(t)[..., None], powers], axis=-1)
    coef = jnp.asarray(coef, t.dtype)
    re, im = (jnp.matmul(powers, coef[i], precision=jax.lax.Precision.HIGHEST) for i in (0, 1))
    val = jnp.exp(1j * u)[..., None] * jax.lax.complex(re, im)
    return [val[..., j] for j in range(len(fs))]


def evaluate_unscaled(f: Radial, u):
    """e^{iu} P(u) (complex), finite at u = 0: the caller divides by r^p."""
    return jnp.exp(1j * u) * _horner(f.coeffs, u)


def evaluate_parts(f: Radial, cos, sin, t):
    """(Re, Im) of e^{iu} P(u)/u^p for real u, from cos u, sin u and t = 1/u (real arrays)."""
    re_c, im_c = _split(_in_t(f))
    pr = _horner(re_c, t)
    pi = _horner(im_c, t)
    zero = 0.0 * t
    pr = zero if pr is None else pr
    pi = zero if pi is None else pi
    return cos * pr - sin * pi, sin * pr + cos * pi


#: 1/(4π), the factor between Ḡ r³ and the dimensionless polynomials.
INV_4PI = 1.0 / (4.0 * math.pi)
