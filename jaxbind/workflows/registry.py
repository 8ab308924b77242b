"""Functions a TOML config may sweep (``jaxbind sweep CONFIG.toml``), by name.

Each entry is ONE line in :data:`REGISTRY`: ``name → "module:function"``. The function is a
pure JAX function of scalar keyword parameters (one parameter point, see
:mod:`jaxbind.workflows.sweep`); its signature is the config's schema: parameters without a
default must be swept or fixed, parameters with a default may be. Its docstring's first
line is shown by ``jaxbind sweep --list``. Modules are imported only when an entry is used,
so an entry whose physics module is missing fails with a clear message, never at import.

The adapters below wrap jaxbind kernels into that scalar-keyword form (scaled units where
the kernel is dimensionless, SI otherwise, as each docstring says).
"""

from __future__ import annotations

import importlib
import inspect
import math

import jax.numpy as jnp

REGISTRY = {
    "green_tensor": "jaxbind.workflows.registry:green_scan",
    "regime_map": "jaxbind.workflows.registry:regime_map_point",
    "mie_efficiencies": "jaxbind.workflows.registry:mie_efficiency_point",
    "nonreciprocity_pair": "jaxbind.workflows.registry:nonreciprocity_pair",
    "sympathetic_cooling": "jaxbind.workflows.registry:sympathetic_cooling_point",
}



def resolve(name: str):
    """The function registered as ``name`` (imports its module now)."""
    if name not in REGISTRY:
        raise KeyError(name)
    mod, attr = REGISTRY[name].split(":")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"sweep function {name!r} ({REGISTRY[name]}) is not available in this "
                          f"installation: {err}") from err


def describe(name: str) -> str:
    fn = resolve(name)
    doc = (inspect.getdoc(fn) or "").splitlines()
    return f"{name}{inspect.signature(fn)}: {doc[0] if doc else ''}"


def grid_defaults(name: str, ranges: dict) -> dict:
    """Fixed arguments an entry derives from the grid (e.g. Mie n_max from the largest x)."""
    hook = getattr(resolve(name), "grid_defaults", None)
    return hook(ranges) if hook else {}


# --- adapters ----------------------------------------------------------------------------------


def green_scan(kr, theta=math.pi / 2, phi=0.0):
    """Dimensionless free-space Green tensor g = 4πḠ/k³ at kr along the direction (θ, φ).

    Paper 000 after eq. 1 / paper 001 eq. 57, via :func:`jaxbind.optics.green.green_tensor`
    with k = 1. kr = 0 is singular: it raises, so in a sweep it gets status −2.
    Returns ``{"g": (3, 3) complex}``.
    """
    from jaxbind.optics.green import green_tensor

    n = jnp.stack([jnp.sin(theta) * jnp.cos(phi), jnp.sin(theta) * jnp.sin(phi), jnp.cos(theta)])
    return {"g": 4.0 * jnp.pi * green_tensor(kr * n, jnp.ones((), jnp.result_type(kr)))}


def mie_efficiency_point(m_real, x, m_imag=0.0, n_max=60):
    """Mie efficiencies Q_ext, Q_sca, Q_abs, Q_back, Q_fwd, g of a sphere (B&H §4.4–4.5).

    m = m_real + i m_imag relative refractive index, x = k a size parameter; ``n_max``
    (static) defaults in configs to Wiscombe's criterion for the largest x of the grid.
    """
    from jaxbind.optics.mie import mie_efficiencies

    return mie_efficiencies(m_real + 1j * m_imag, x, int(n_max))


def _mie_grid_defaults(ranges):
    if "x" not in ranges:
        return {}
    from jaxbind.optics.mie import wiscombe_n_max

    return {"n_max": int(wiscombe_n_max(float(ranges["x"][1])))}


mie_efficiency_point.grid_defaults = _mie_grid_defaults


def nonreciprocity_pair(distance, wavelength=420e-9, intensity=1.3e9, radius=45e-9,
                        index_real=5.1, index_imag=0.2, kerker=2):
    """Non-reciprocity factors of two identical particles on the x axis (paper 003 eqs. 1–2).

    Paper 003 Fig. 2(d)/3: A at the origin, B at x = distance (m), a y-polarized plane wave
    along +x (``wavelength`` m, ``intensity`` W/m²), α_e the radiatively corrected Rayleigh
    polarizability of a sphere (``radius`` m, index ``index_real + i index_imag``); with
    ``kerker`` 1 or 2 each particle also gets the ideal Kerker α_m = ±α_e/ε0, with 0 none.
    Returns zeroth (3,), first (2, 3, 3) NRFs, forces f (2, 3) in N, jacobian in N/m.
    """
    from jaxbind.optics.beams import PlaneWave
    from jaxbind.optics.forces import nonreciprocity_factors
    from jaxbind.optics.materials import clausius_mossotti
    from jaxbind.optics.mie import kerker_polarizabilities
    from jaxbind.optics.particles import Particles

    k = 2.0 * jnp.pi / wavelength
    n = index_real + 1j * index_imag
    ae = clausius_mossotti(n**2, radius, k)
    am = None if int(kerker) == 0 else kerker_polarizabilities(ae, int(kerker), units="si").alpha_m
    z = jnp.zeros_like(distance)
    pos = jnp.stack([jnp.stack([z, z, z]), jnp.stack([distance, z, z])])
    ps = Particles(pos, radius, alpha_e=jnp.stack([ae, ae]),
                   alpha_m=None if am is None else jnp.stack([am, am]))
    beam = PlaneWave(wavelength, intensity, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
    r = nonreciprocity_factors(ps, beam)
    return {"nrf0": r.zeroth, "nrf1": r.first, "f": r.f}


def sympathetic_cooling_point(kg, g, g2=0.1, gamma=1.0, delta=1.0, omega=1.0, kappa_a=1e-4,
                              kappa_b=1e-4, nbar_a=20.0, nbar_b=20.0):
    """Steady-state phonon numbers n_a, n_b of non-reciprocal sympathetic cooling (paper 004
    eqs. 13–15, Fig. 2) with g1 = g2 (K_g + 1)/(K_g − 1); returns a ``status`` leaf
    (jaxbind.quantum.cooling.STATUS_*), so failed points are labelled, not NaN.
    """
    from jaxbind.quantum.cooling import CoolingParams, steady_state_occupations

    p = CoolingParams.from_kg(kg, g2, g, gamma=gamma, delta=delta, omega=omega, kappa_a=kappa_a,
                              kappa_b=kappa_b, nbar_a=nbar_a, nbar_b=nbar_b)
    s = steady_state_occupations(p, throw=False)
    return {"n_a": s.n_a, "n_b": s.n_b, "status": s.status}


def regime_map_point(phase, kd, delta_omega=0.0):
    """Paper 000 Fig. 3: rates g_r, g_a, D12, regime code and PT growth at one (φ, kd) point.

    ``phase`` φ = φ_1 − φ_2 (rad), ``kd`` = k·d, ``delta_omega`` δω in units of G (paper 000
    eq. A7). Returns g_r, g_a (units of G), Re/Im D12, ``regime`` (0 none, 1 reciprocal,
    2 directional, 3 antireciprocal, 4 noise-correlation dominated) and ``growth`` = max Im ω_±
    of eq. 12 (> 0 where generalized PT symmetry is broken).
    """
    from jaxbind.mechanics.rates import coupling_rates
    from jaxbind.mechanics.regimes import regime_point

    g_r, g_a, d12 = coupling_rates(phase, kd)
    code, growth = regime_point(phase, kd, delta_omega)
    return {"g_r": g_r, "g_a": g_a, "re_D12": jnp.real(d12), "im_D12": jnp.imag(d12),
            "regime": code.astype(jnp.int32), "growth": growth}
