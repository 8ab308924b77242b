"""Shared test helpers: pytree comparison, finite-difference JVP checks, SciPy Mie references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def tree_allclose(a, b, *, rtol=1e-7, atol=0.0) -> bool:
    """True when two pytrees have the same structure and all leaves are allclose."""
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    if ta != tb:
        return False
    return all(
        np.shape(x) == np.shape(y) and np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
        for x, y in zip(la, lb)
    )


def assert_tree_allclose(a, b, *, rtol=1e-7, atol=0.0):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb, f"tree structures differ: {ta} vs {tb}"
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def fd_jvp(f, x, v, eps=1e-6):
    """Central finite-difference directional derivative (f(x+εv) − f(x−εv))/(2ε)."""
    x = jnp.asarray(x)
    v = jnp.asarray(v)
    return (f(x + eps * v) - f(x - eps * v)) / (2.0 * eps)


def check_jvp(f, x, *, key=None, eps=1e-6, rtol=1e-5, atol=1e-8, n_dirs=3):
    """Compare ``jax.jvp`` of ``f`` at ``x`` with central finite differences along random
    directions (x64 required). Works for real or complex outputs and real inputs."""
    key = jax.random.PRNGKey(0) if key is None else key
    x = jnp.asarray(x)
    for k in jax.random.split(key, n_dirs):
        v = jax.random.normal(k, x.shape, dtype=x.dtype)
        _, t_ad = jax.jvp(f, (x,), (v,))
        t_fd = fd_jvp(f, x, v, eps)
        np.testing.assert_allclose(np.asarray(t_ad), np.asarray(t_fd), rtol=rtol, atol=atol)


def scipy_mie_a1_b1(m, x):
    """Dipolar Mie coefficients a₁, b₁ (Bohren & Huffman eq. 4.53) from SciPy's spherical
    Bessel functions — an independent reference for jaxbind's Mie code (complex scalars)."""
    from scipy import special

    def psi(z, d=False):
        j, dj = special.spherical_jn(1, z), special.spherical_jn(1, z, True)
        return j + z * dj if d else z * j

    def xi(z, d=False):
        h = special.spherical_jn(1, z) + 1j * special.spherical_yn(1, z)
        dh = special.spherical_jn(1, z, True) + 1j * special.spherical_yn(1, z, True)
        return h + z * dh if d else z * h

    mx = m * x
    a1 = (m * psi(mx) * psi(x, True) - psi(x) * psi(mx, True)) / (
        m * psi(mx) * xi(x, True) - xi(x) * psi(mx, True))
    b1 = (psi(mx) * psi(x, True) - m * psi(x) * psi(mx, True)) / (
        psi(mx) * xi(x, True) - m * xi(x) * psi(mx, True))
    return complex(a1), complex(b1)
