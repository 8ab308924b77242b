"""Functions a TOML config may sweep (``jaxbind sweep CONFIG.toml``), by name.

Each entry is ONE line in :data:`REGISTRY`: ``name → "module:function"``. The function is a
pure JAX function of scalar keyword parameters (one parameter point, see
:mod:`jaxbind.workflows.sweep`); its signature is the config's schema: parameters without a
default must be swept or fixed, parameters with a default may be. Its docstring's first
paragraph is shown by ``jaxbind sweep --list``. Modules are imported only when an entry is
used, so an entry whose physics module is missing fails with a clear message, never at import.

Every adapter also declares, as function attributes (set by :func:`declare`), what figures,
summaries and result stores need to present its numbers:

* ``fn.units`` — ``{name: unit}`` for every parameter and output, SI base units (``"m"``,
  ``"N"``, ``"W/m²"``, ``"rad"``; ``"1"`` for dimensionless, the CF convention); figures pick
  a display prefix from the data (µm, kHz, fN, …), stores keep SI;
* ``fn.labels`` — ``{name: human-readable label}`` (no unit: figures append it);
* ``fn.headline`` — the output plotted when a config names none, in the ``[output] plot``
  form (``"qext"``, ``"g[0, 0]"``);
* ``fn.dims`` — ``{output: (dim names)}`` for outputs with per-point dimensions;
* ``fn.categories`` — ``{output: (name of code 0, name of code 1, …)}`` for categorical
  outputs (integer codes), drawn with a discrete legend rather than a colour scale.

The adapters below wrap jaxbind kernels into that scalar-keyword form (scaled units where
the kernel is dimensionless, SI otherwise, as each docstring says).
"""

from __future__ import annotations

import importlib
import inspect
import math
import textwrap

REGISTRY = {
    "green_tensor": "jaxbind.workflows.sweep.registry:green_scan",
    "regime_map": "jaxbind.workflows.sweep.registry:regime_map_point",
    "mie_efficiencies": "jaxbind.workflows.sweep.registry:mie_efficiency_point",
    "nonreciprocity_pair": "jaxbind.workflows.sweep.registry:nonreciprocity_pair",
    "sympathetic_cooling": "jaxbind.workflows.sweep.registry:sympathetic_cooling_point",
    "focused_trap": "jaxbind.workflows.sweep.registry:focused_trap_point",
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


def summary_line(fn) -> str:
    """The first paragraph of ``fn``'s docstring, as one line (never cut mid-sentence)."""
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def describe(name: str, width: int | None = 100) -> str:
    """``name(signature)``, then the function's summary paragraph, its outputs (headline
    first) and the units of its dimensional parameters, wrapped to ``width`` columns
    (``None``: no wrapping; words are never split)."""
    fn = resolve(name)
    units = getattr(fn, "units", {})
    params = list(inspect.signature(fn).parameters)
    lines = [summary_line(fn)]
    outs = [k for k in units if k not in params]
    head_out = getattr(fn, "headline", None)
    if outs:
        first = head_out.split("[")[0] if head_out else None
        lines.append("outputs: " + ", ".join(
            _with_unit(o, units) + ("" if o != first else " (plotted by default)" if o == head_out
                                    else f" (plotted by default as {head_out})")
            for o in sorted(outs, key=lambda o: o != first)))
    dimful = [p for p in params if units.get(p, "1") != "1"]
    if dimful:
        lines.append("parameter units: " + ", ".join(_with_unit(p, units) for p in dimful)
                     + "; the others are dimensionless")
    head = f"{name}{inspect.signature(fn)}"
    if width is None:
        return head + "\n" + "\n".join("    " + ln for ln in lines)
    body = [textwrap.fill(ln, width, initial_indent="    ", subsequent_indent="      ",
                          break_on_hyphens=False, break_long_words=False) for ln in lines]
    return head + "\n" + "\n".join(body).replace("\u00a0", " ")


def _with_unit(name, units):
    u = units.get(name, "1")
    return name if u == "1" else f"{name}\u00a0[{u}]"  # no line break inside "name [unit]"


def declare(fn, *, headline: str, units: dict, labels: dict, dims: dict | None = None,
            categories: dict | None = None):
    """Attach the presentation metadata (module docstring) to a registry function."""
    fn.headline, fn.units, fn.labels = headline, dict(units), dict(labels)
    fn.dims, fn.categories = dict(dims or {}), dict(categories or {})
    return fn


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
    import jax.numpy as jnp

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
    import jax.numpy as jnp

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
    """Steady-state phonon numbers n_a, n_b of non-reciprocal sympathetic cooling versus the
    non-reciprocity K_g (paper 004 eqs. 13–15, Fig. 2).

    g1 = g2 (K_g + 1)/(K_g − 1); rates in units of the trap frequency ω. Returns the
    steady state's ``result`` (a :data:`jaxbind.RESULTS` item): the sweep stores its code in
    ``status`` (decoded by the store's code table) and failed points read NaN.
    """
    from jaxbind.quantum.cooling import CoolingParams, steady_state_occupations

    p = CoolingParams.from_kg(kg, g2, g, gamma=gamma, delta=delta, omega=omega, kappa_a=kappa_a,
                              kappa_b=kappa_b, nbar_a=nbar_a, nbar_b=nbar_b)
    s = steady_state_occupations(p, throw=False)
    return {"n_a": s.n_a, "n_b": s.n_b, "result": s.result}


def regime_map_point(phase, kd, delta_omega=0.0):
    """Regime of optical binding (reciprocal, directional, antireciprocal, noise-dominated)
    of two tweezer-trapped particles, with the rates g_r, g_a, D12 and the PT growth rate, at
    one (φ, kd) point (paper 000 Fig. 3).

    ``phase`` φ = φ_1 − φ_2 (rad), ``kd`` = k·d, ``delta_omega`` δω in units of G (paper 000
    eq. A7). Returns g_r, g_a (units of G), Re/Im D12, ``regime`` (0 none, 1 reciprocal,
    2 directional, 3 antireciprocal, 4 noise-correlation dominated) and ``growth`` = max Im ω_±
    of eq. 12 (> 0 where generalized PT symmetry is broken).
    """
    import jax.numpy as jnp

    from jaxbind.mechanics.rates import coupling_rates
    from jaxbind.mechanics.regimes import regime_point

    g_r, g_a, d12 = coupling_rates(phase, kd)
    code, growth = regime_point(phase, kd, delta_omega)
    return {"g_r": g_r, "g_a": g_a, "re_D12": jnp.real(d12), "im_D12": jnp.imag(d12),
            "regime": code.astype(jnp.int32), "growth": growth}


def focused_trap_point(NA, power, radius=75e-9, filling=1.0, wavelength=1064e-9, index=1.45,
                       density=2200.0):
    """Trap frequencies ω_x, ω_y, ω_z and the scattering force of a sphere at the focus of a
    vectorial (Richards–Wolf) focused beam, x-polarized, in vacuum.

    ``NA`` numerical aperture, ``power`` input power P (W; P × (1 − e^{−2/f0²}) reaches the
    focus), ``filling`` f0 = input waist / aperture radius, ``wavelength`` λ (m); the sphere
    (``radius`` m, real ``index``, ``density`` kg/m³) is a MieDipole.  ω = √(κ/m) from the
    autodiff stiffness −∂F/∂r at the focus (``jaxbind.mechanics.trapping``), rad/s, NaN on an
    untrapped axis; ``fz`` the axial (scattering) force at the focus in N.
    """
    import jax.numpy as jnp

    from jaxbind.mechanics.trapping import trap_frequencies
    from jaxbind.optics.focused import FocusedBeam
    from jaxbind.optics.forces import optical_forces
    from jaxbind.optics.particles import Particles

    beam = FocusedBeam(power, wavelength, NA, filling=filling, order=40,
                       extent=2.0 * wavelength)
    ps = Particles(jnp.zeros((1, 3), jnp.result_type(NA, float)), radius, index=index,
                   density=density)
    w = trap_frequencies(ps, beam, throw=False)[0]
    fz = optical_forces(ps, beam, throw=False)[0, 2]
    return {"omega_x": w[0], "omega_y": w[1], "omega_z": w[2], "fz": fz}


# --- presentation metadata (module docstring) -------------------------------------------------

_XYZ = "xyz"

declare(
    green_scan, headline="g[0, 0]",
    units={"kr": "1", "theta": "rad", "phi": "rad", "g": "1"},
    labels={"kr": "separation kr", "theta": "polar angle θ of r", "phi": "azimuth φ of r",
            "g": "Green tensor g = 4πḠ/k³", "g[0, 0]": "|g_xx| = 4π|Ḡ_xx|/k³"},
    dims={"g": ("i", "j")},
)
declare(
    mie_efficiency_point, headline="qext",
    units={"m_real": "1", "m_imag": "1", "x": "1", "n_max": "1", "qext": "1", "qsca": "1",
           "qabs": "1", "qback": "1", "qfwd": "1", "g": "1"},
    labels={"m_real": "refractive index Re m", "m_imag": "refractive index Im m",
            "x": "size parameter x = ka", "n_max": "number of Mie orders",
            "qext": "extinction efficiency Q_ext", "qsca": "scattering efficiency Q_sca",
            "qabs": "absorption efficiency Q_abs", "qback": "backscattering efficiency Q_back",
            "qfwd": "forward-scattering efficiency Q_fwd", "g": "asymmetry parameter ⟨cos θ⟩"},
)
declare(
    nonreciprocity_pair, headline="nrf0[0]",
    units={"distance": "m", "wavelength": "m", "intensity": "W/m²", "radius": "m",
           "index_real": "1", "index_imag": "1", "kerker": "1", "nrf0": "1", "nrf1": "1",
           "f": "N"},
    labels={"distance": "distance L", "wavelength": "wavelength λ", "intensity": "intensity I",
            "radius": "particle radius a", "index_real": "refractive index Re n",
            "index_imag": "refractive index Im n", "kerker": "Kerker condition",
            "nrf0": "zeroth-order non-reciprocity factor NRF⁽⁰⁾",
            "nrf1": "first-order non-reciprocity factor NRF⁽¹⁾", "f": "interparticle force f",
            **{f"nrf0[{i}]": f"non-reciprocity factor NRF⁽⁰⁾_{c}" for i, c in enumerate(_XYZ)},
            **{f"f[{p}, {i}]": f"force f_{P},{c} on particle {P}"
               for p, P in enumerate("AB") for i, c in enumerate(_XYZ)}},
    dims={"nrf0": ("axis",), "nrf1": ("particle", "v", "w"), "f": ("particle", "axis")},
)
declare(
    sympathetic_cooling_point, headline="n_b",
    units={k: "1" for k in ("kg", "g", "g2", "gamma", "delta", "omega", "kappa_a", "kappa_b",
                            "nbar_a", "nbar_b", "n_a", "n_b")},
    labels={"kg": "non-reciprocity K_g", "g": "cavity coupling g / ω", "g2": "coupling g2 / ω",
            "gamma": "cavity decay γ / ω", "delta": "cavity detuning Δ / ω",
            "omega": "trap frequency ω", "kappa_a": "damping κ_A / ω", "kappa_b": "damping κ_B / ω",
            "nbar_a": "bath occupation n̄_A", "nbar_b": "bath occupation n̄_B",
            "n_a": "phonon number n_A (cooled particle)",
            "n_b": "phonon number n_B (target particle)"},
)
declare(
    regime_map_point, headline="regime",
    units={"phase": "rad", "kd": "1", "delta_omega": "1", "g_r": "1", "g_a": "1",
           "re_D12": "1", "im_D12": "1", "regime": "1", "growth": "1"},
    labels={"phase": "relative tweezer phase φ", "kd": "distance kd",
            "delta_omega": "detuning δω / G", "g_r": "reciprocal rate g_r / G",
            "g_a": "antireciprocal rate g_a / G", "re_D12": "Re D₁₂ / G", "im_D12": "Im D₁₂ / G",
            "regime": "regime", "growth": "PT growth rate max Im ω± / G"},
    # the names of jaxbind.mechanics.regimes.REGIME_NAMES (a test checks they agree)
    categories={"regime": ("none", "reciprocal", "directional", "antireciprocal",
                           "noise-correlation")},
)
declare(
    focused_trap_point, headline="omega_x",
    units={"NA": "1", "power": "W", "radius": "m", "filling": "1", "wavelength": "m",
           "index": "1", "density": "kg/m³", "omega_x": "rad/s", "omega_y": "rad/s",
           "omega_z": "rad/s", "fz": "N"},
    labels={"NA": "numerical aperture NA", "power": "input power P",
            "radius": "particle radius a", "filling": "filling factor f0",
            "wavelength": "wavelength λ", "index": "refractive index n",
            "density": "particle density ρ", "omega_x": "trap frequency ω_x",
            "omega_y": "trap frequency ω_y", "omega_z": "trap frequency ω_z",
            "fz": "scattering force F_z at the focus"},
)
