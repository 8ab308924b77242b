"""``jaxbind demo``: compute and plot what jaxbind can do on the default (CPU) device.

Writes PNG figures and ``summary.json`` into the output directory. Every number in the
summary is computed here, by the library, at run time.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np


def _green_figure(out: Path, n: int):
    import jax

    from jaxbind import plot
    from jaxbind.optics import green

    lam = 1064e-9
    k = 2 * np.pi / lam
    kr = np.logspace(-1.5, 2.0, n)
    r = np.stack([kr / k, np.zeros(n), np.zeros(n)], axis=1)

    @jax.jit
    def tensors(r, k):  # the tensor and its near/intermediate/far parts: one compiled program
        return (jax.vmap(green.green_tensor, in_axes=(0, None))(r, k),
                jax.vmap(green.green_tensor_parts, in_axes=(0, None))(r, k))

    G, P = jax.tree.map(np.asarray, tensors(r, k))
    unit = k**3 / (4 * np.pi)
    parts = {
        "|G_xx| (longitudinal)": np.abs(G[:, 0, 0]) / unit,
        "|G_yy| (transverse)": np.abs(G[:, 1, 1]) / unit,
    }
    for name, comp in zip(("near 1/r³", "intermediate 1/r²", "far 1/r"), P):
        parts[f"{name}, yy"] = np.abs(comp[:, 1, 1]) / unit
    fig = plot.green_components(
        kr, parts, wavelength=lam,
        note="two points on the x axis (r ∥ x̂): |G_xx| is the longitudinal, |G_yy| the transverse "
             "component; dashed: the near (1/r³), intermediate (1/r²) and far-field (1/r) parts "
             "of G_yy; units k³/4π, so the curves hold for any wavelength")
    plot.save(fig, out / "green_tensor.png")
    i1 = int(np.argmin(np.abs(kr - 1.0)))
    return {
        "kr": float(kr[i1]),
        "G_xx_over_k3_4pi": [float(np.real(G[i1, 0, 0]) / unit), float(np.imag(G[i1, 0, 0]) / unit)],
        "G_yy_over_k3_4pi": [float(np.real(G[i1, 1, 1]) / unit), float(np.imag(G[i1, 1, 1]) / unit)],
    }


def _mie_figure(out: Path, n: int):
    import jax

    from jaxbind import plot
    from jaxbind.optics import mie

    x = np.linspace(0.05, 10.0, n)
    n_max = 20
    summary = {}
    curves = {}
    # one compiled program for both materials (the index is an argument, not a constant)
    spectra = jax.jit(jax.vmap(lambda m, xx: mie.mie_efficiencies(m, xx, n_max), in_axes=(None, 0)))
    for label, m in (("silica m=1.45", 1.45 + 0.0j), ("silicon m=3.6+0.01i", 3.6 + 0.01j)):
        eff = spectra(m, x)  # a Python complex: traced (weakly typed), no re-compile per value
        qext, qback = np.asarray(eff.qext), np.asarray(eff.qback)
        curves[f"Q_ext, {label}"] = qext
        curves[f"Q_back, {label}"] = qback
        summary[label] = {"x_at_max_Qext": float(x[int(np.argmax(qext))]), "max_Qext": float(np.max(qext))}
    fig = plot.mie_spectra(
        np.asarray(x), curves, wavelength=1064e-9,
        title="Extinction and backscattering efficiencies of a sphere versus size parameter",
        note=f"Mie theory (Bohren & Huffman §4.4), {n_max} multipole orders; silica "
             "m = 1.45, silicon m = 3.6 + 0.01i (relative refractive index)")
    plot.save(fig, out / "mie_efficiencies.png")
    # Dipole polarizabilities of a 100-nm-radius silica sphere at 1064 nm (what the tweezers trap).
    ae, am = mie.dipole_polarizabilities(1.45 + 0.0j, 100e-9, 1064e-9)
    summary["silica_r100nm_1064nm"] = {
        "alpha_e_SI": [float(np.real(ae)), float(np.imag(ae))],
        "alpha_m_SI_m3": [float(np.real(am)), float(np.imag(am))],
    }
    return summary


def _tweezer_figure(out: Path, n: int):
    import jax

    from jaxbind import plot
    from jaxbind.optics import beams

    lam = 1064e-9
    foci = np.array([[-2.5e-6, 0.0, 0.0], [0.0, 0.0, 0.0], [2.5e-6, 0.0, 0.0]])
    phases = np.array([0.0, np.pi / 4, np.pi / 2])
    tw = [
        beams.Tweezer(power=0.3, wavelength=lam, NA=0.8, phase=float(ph), focus=tuple(f))
        for f, ph in zip(foci, phases)
    ]
    field = beams.CoherentBeams(tw)
    xs = np.linspace(-5e-6, 5e-6, n)
    ys = np.linspace(-2.5e-6, 2.5e-6, max(n // 2, 8))
    I = np.asarray(beams.intensity_map(field, xs, ys, 0.0))
    fig = plot.field_map(
        xs, ys, np.asarray(I), markers=foci,
        title="Focal-plane intensity of three coherent optical tweezers",
        note=f"λ = {lam * 1e9:.0f} nm, NA = 0.8, P = 0.3 W per tweezer, foci 2.5 µm apart on the x "
             "axis with phases 0, π/4, π/2 (left to right), focal plane z = 0")
    plot.save(fig, out / "tweezer_array_intensity.png")
    return {"peak_intensity_W_per_um2": float(np.max(I) * 1e-12), "n_tweezers": len(tw), "NA": 0.8, "power_W": 0.3}


def _regime_figure(out: Path, n: int):
    """Paper 000 Fig. 3a as a jaxbind sweep over (φ, kd) (far-field closed forms, eqs. 6, 8)."""

    from jaxbind import plot
    from jaxbind.mechanics.regimes import REGIME_NAMES
    from jaxbind.workflows.sweep.registry import regime_map_point
    from jaxbind.workflows.sweep.driver import sweep

    phases = np.linspace(0.0, 2 * np.pi, n)
    kds = np.linspace(1.0, 20.0, n)
    ds = sweep(regime_map_point, {"phase": phases, "kd": kds}, progress=False)
    codes = np.asarray(ds["regime"].values)
    names = [REGIME_NAMES[i] for i in range(len(REGIME_NAMES))]
    fig = plot.regime_map(
        phases, kds, codes, names,
        title="Which coupling dominates between two optically bound particles",
        note="two particles in tweezers at distance d with relative phase φ (far-field closed "
             "forms, equal trap frequencies). Reciprocal: |g_r| > |g_a|, |Re D₁₂|; antireciprocal: "
             "|g_a| > |g_r|, |Re D₁₂|; directional: the coupling in one direction (g_r ± g_a) at "
             "least twice that in the other; noise-correlation: |Re D₁₂| more than twice both "
             "(cf. paper 000 Fig. 3a)")
    plot.save(fig, out / "regime_map.png")
    frac = {names[i]: float(np.mean(codes == i)) for i in range(len(names))}
    return {"grid": [n, n], "area_fraction": frac, "bad_points": int(np.sum(ds["status"].values != 0))}


def _pipeline_figure(out: Path, n: int):
    """optics → mechanics → quantum: two silica spheres in tweezers, bound optically and
    feedback-cooled; exact Gaussian steady-state occupations vs the relative tweezer phase."""
    import jax
    import jax.numpy as jnp

    from jaxbind import plot
    from jaxbind.mechanics.array import TweezerArray, linearize
    from jaxbind.mechanics.rates import two_particle_rates
    from jaxbind.quantum.gaussian import LinearSystem, steady_state
    from jaxbind.quantum.models import add_cold_damping
    from jaxbind.quantum.observables import occupations

    lam, radius, power, na, density = 1550e-9, 100e-9, 0.35, 0.6, 2200.0
    k = 2 * np.pi / lam
    kd = 2 * np.pi * 3 + np.pi / 4  # distance (2π·3 + π/4)/k: unidirectional at φ = π/4
    gamma_fb, meas = 2 * np.pi * 1e3, 2 * np.pi * 250.0  # cold-damping rate and measurement rate

    def point(phi):
        arr = TweezerArray(jnp.array([[0.0, 0.0], [0.0, kd / k]]), powers=power, wavelength=lam, NA=na,
                           phases=jnp.stack([phi, 0.0 * phi]), polarization_angles=0.0, radius=radius,
                           index=1.45, density=density)
        lin = linearize(arr)
        rates = two_particle_rates(arr)
        system = LinearSystem.from_linearized(lin)  # scaled units: O(1) entries in float32
        w = jnp.mean(lin.omega)
        for j in range(2):
            system = add_cold_damping(system, j, gamma_fb / w, meas / w)
        ss = steady_state(system)
        return occupations(ss.cov), ss.status, rates.g_r, rates.g_a, w

    phis = np.linspace(0.0, 2 * np.pi, 8 * max(n // 16, 4) + 1)  # φ = π/4 is a grid point
    occ, status, g_r, g_a, w = (np.asarray(v) for v in jax.jit(jax.vmap(point))(phis))
    hz = 1 / (2 * np.pi)
    d_um = kd / k * 1e6
    fig = plot.occupations_vs_phase(
        np.asarray(phis), np.asarray(occ),
        {"g_r/2π (reciprocal)": np.asarray(g_r) * hz, "g_a/2π (antireciprocal)": np.asarray(g_a) * hz},
        title="Optically bound, feedback-cooled pair: phonon numbers versus relative tweezer phase",
        note=f"two silica spheres (radius {radius * 1e9:.0f} nm) in tweezers at λ = {lam * 1e9:.0f} nm, "
             f"P = {power:.2f} W each, NA = {na}, d = {d_um:.2f} µm (kd = 6π + π/4); motion along "
             f"the tweezer axis z, trap frequency {float(w[0]) * hz / 1e3:.0f} kHz; cold damping "
             f"{gamma_fb * hz / 1e3:.0f} kHz, measurement rate {meas * hz:.0f} Hz each; exact "
             "Gaussian steady state")
    plot.save(fig, out / "pipeline_occupations.png")
    i = int(np.argmin(np.abs(np.asarray(phis) - np.pi / 4)))
    return {
        "parameters": {"wavelength_m": lam, "radius_m": radius, "power_W": power, "NA": na, "kd": kd,
                       "cold_damping_Hz": gamma_fb * hz, "measurement_rate_Hz": meas * hz},
        "trap_frequency_Hz": float(w[0] * hz),
        "at_phi_pi_over_4": {"g_r_Hz": float(g_r[i] * hz), "g_a_Hz": float(g_a[i] * hz),
                             "occupations": [float(v) for v in occ[i]]},
        "occupation_range": [float(np.min(occ)), float(np.max(occ))],
        "unstable_points": int(np.sum(np.asarray(status) != 0)),
    }


def run_demo(out="jaxbind-out", fast: bool = False) -> dict:
    """Run the demo, write figures and ``summary.json`` into ``out``; return the summary."""
    import jax

    import jaxbind

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = 64 if fast else 400
    t0 = time.perf_counter()
    summary = {
        "jaxbind": jaxbind.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "machine": platform.machine(),
        "dtype": str(np.asarray(jax.numpy.zeros(())).dtype),
    }
    steps = (("green_tensor", _green_figure), ("mie", _mie_figure), ("tweezer_array", _tweezer_figure),
             ("regime_map", _regime_figure), ("optics_mechanics_quantum", _pipeline_figure))
    for name, step in steps:
        t = time.perf_counter()
        summary[name] = step(out, n)
        summary[name]["seconds"] = round(time.perf_counter() - t, 3)
        print(f"[jaxbind demo] {name}: done in {summary[name]['seconds']:.2f} s")
    summary["total_seconds"] = round(time.perf_counter() - t0, 3)
    summary["figures"] = sorted(p.name for p in out.glob("*.png"))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"[jaxbind demo] wrote {len(summary['figures'])} figures and summary.json to {out}/")
    return summary
