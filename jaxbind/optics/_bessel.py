"""Cylindrical Bessel functions J_0 … J_3 of real argument, as J_m(u)/u^m, for the
rotationally symmetric Richards–Wolf integrals (``optics.focused``).

The regular combinations Λ_m(u) = J_m(u)/u^m (finite at u = 0, Λ_m(0) = 1/(2^m m!)) are what
the focal-field sums need: J_m(u) e^{imφ} = Λ_m(u) (u e^{iφ})^m, a polynomial in x ± iy that
is smooth at the beam axis.

* u < 2.5: the power series J_m(u) = Σ_k (−1)^k (u/2)^{2k+m} / (k! (k+m)!), 14 terms
  (truncation < 1e-19 there).
* u ≥ 2.5: J_0 and J_1 from the rational and Hankel-asymptotic approximations of the Cephes
  Math Library (S. L. Moshier, release 2.8, j0.c / j1.c; absolute error ≤ 4e-16 on [0, 30]
  and the Hankel form is uniformly accurate beyond), J_2 and J_3 by the upward recurrence
  J_{m+1} = (2m/u) J_m − J_{m−1}, stable for u ≥ m (absolute error ≲ 3 ε).

Everything is ``jnp`` arithmetic on the input dtype (float32-safe; the branches are
``where``-selected with safe arguments so gradients stay finite).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

_SERIES_MAX = 2.5
_N_SERIES = 14

# Cephes j0.c
_J0_PP = (7.96936729297347051624e-4, 8.28352392107440799803e-2, 1.23953371646414299388e0,
          5.44725003058768775090e0, 8.74716500199817011941e0, 5.30324038235394892183e0,
          9.99999999999999997821e-1)
_J0_PQ = (9.24408810558863637013e-4, 8.56288474354474431428e-2, 1.25352743901058953537e0,
          5.47097740330417105182e0, 8.76190883237069594232e0, 5.30605288235394617618e0,
          1.00000000000000000218e0)
_J0_QP = (-1.13663838898469149931e-2, -1.28252718670509318512e0, -1.95539544257735972385e1,
          -9.32060152123768231369e1, -1.77681167980488050595e2, -1.47077505154951170175e2,
          -5.14105326766599330220e1, -6.05014350600728481186e0)
_J0_QQ = (1.0, 6.43178256118178023184e1, 8.56430025976980587198e2, 3.88240183605401609683e3,
          7.24046774195652478189e3, 5.93072701187316984827e3, 2.06209331660327847417e3,
          2.42005740240291393179e2)
_J0_RP = (-4.79443220978201773821e9, 1.95617491946556577543e12, -2.49248344360967716204e14,
          9.70862251047306323952e15)
_J0_RQ = (1.0, 4.99563147152651017219e2, 1.73785401676374683123e5, 4.84409658339962045305e7,
          1.11855537045356834862e10, 2.11277520115489217587e12, 3.10518229857422583814e14,
          3.18121955943204943306e16, 1.71086294081043136091e18)
_J0_DR1 = 5.78318596294678452118e0
_J0_DR2 = 3.04712623436620863991e1

# Cephes j1.c
_J1_RP = (-8.99971225705559398224e8, 4.52228297998194034323e11, -7.27494245221818276015e13,
          3.68295732863852883286e15)
_J1_RQ = (1.0, 6.20836478118054335476e2, 2.56987256757748830383e5, 8.35146791431949253037e7,
          2.21511595479792499675e10, 4.74914122079991414898e12, 7.84369607876235854894e14,
          8.95222336184627338078e16, 5.32278620332680085395e18)
_J1_PP = (7.62125616208173112003e-4, 7.31397056940917570436e-2, 1.12719608129684925192e0,
          5.11207951146807644818e0, 8.42404590141772420927e0, 5.21451598682361504063e0,
          1.00000000000000000254e0)
_J1_PQ = (5.71323128072548699714e-4, 6.88455908754495404082e-2, 1.10514232634061696926e0,
          5.07386386128601488557e0, 8.39985554327604159757e0, 5.20982848682361821619e0,
          9.99999999999999997461e-1)
_J1_QP = (5.10862594750176621635e-2, 4.98213872951233449420e0, 7.58238284132545283818e1,
          3.66779609360150777800e2, 7.10856304998926107277e2, 5.97489612400613639965e2,
          2.11688757100572135698e2, 2.52070205858023719784e1)
_J1_QQ = (1.0, 7.42373277035675149943e1, 1.05644886038262816351e3, 4.98641058337653607651e3,
          9.56231892404756170795e3, 7.99704160447350683650e3, 2.82619278517639096600e3,
          3.36093607810698293419e2)
_J1_Z1 = 1.46819706421238932572e1
_J1_Z2 = 4.92184563216946036703e1

_SQ2OPI = float(np.sqrt(2.0 / np.pi))
_PIO4 = float(np.pi / 4)


def _polevl(x, coeffs):
    acc = jnp.zeros_like(x) + coeffs[0]
    for c in coeffs[1:]:
        acc = acc * x + c
    return acc


def _j0_j1_large(u):
    """Cephes J_0, J_1 for u > 0 (rational form on (0, 5], Hankel form beyond)."""
    small = u <= 5.0
    us = jnp.where(small, u, 1.0)
    z = us * us
    j0_s = (z - _J0_DR1) * (z - _J0_DR2) * _polevl(z, _J0_RP) / _polevl(z, _J0_RQ)
    j1_s = _polevl(z, _J1_RP) / _polevl(z, _J1_RQ) * us * (z - _J1_Z1) * (z - _J1_Z2)

    ul = jnp.where(small, 10.0, u)
    w = 5.0 / ul
    q = w * w
    amp = _SQ2OPI / jnp.sqrt(ul)
    p0 = _polevl(q, _J0_PP) / _polevl(q, _J0_PQ)
    q0 = _polevl(q, _J0_QP) / _polevl(q, _J0_QQ)
    x0 = ul - _PIO4
    j0_l = (p0 * jnp.cos(x0) - w * q0 * jnp.sin(x0)) * amp
    p1 = _polevl(q, _J1_PP) / _polevl(q, _J1_PQ)
    q1 = _polevl(q, _J1_QP) / _polevl(q, _J1_QQ)
    x1 = ul - 3.0 * _PIO4
    j1_l = (p1 * jnp.cos(x1) - w * q1 * jnp.sin(x1)) * amp
    return jnp.where(small, j0_s, j0_l), jnp.where(small, j1_s, j1_l)


def _series_lambda(u, m):
    """Λ_m(u) = J_m(u)/u^m from the power series (accurate for u ≲ 3)."""
    h = 0.25 * u * u  # (u/2)²; Λ_m = Σ_k c_k h^k with c_k = (−1)^k / (2^m k! (k+m)!)
    fact = lambda n: float(np.prod(np.arange(1, n + 1)))  # noqa: E731
    coeffs = [(-1.0) ** k / (2.0**m * fact(k) * fact(k + m)) for k in range(_N_SERIES)]
    acc = jnp.zeros_like(u)
    for c in reversed(coeffs):
        acc = acc * h + c
    return acc


def bessel_lambdas(u):
    """(Λ_0, Λ_1, Λ_2, Λ_3)(u), Λ_m = J_m(u)/u^m, stacked on a new leading axis (u ≥ 0)."""
    small = u < _SERIES_MAX
    us = jnp.where(small, u, 0.0)
    series = [_series_lambda(us, m) for m in range(4)]
    ul = jnp.where(small, _SERIES_MAX, u)
    j0, j1 = _j0_j1_large(ul)
    inv = 1.0 / ul
    j2 = 2.0 * inv * j1 - j0
    j3 = 4.0 * inv * j2 - j1
    large = [j0, j1 * inv, j2 * inv * inv, j3 * inv * inv * inv]
    return jnp.stack([jnp.where(small, s, lg) for s, lg in zip(series, large)])
