"""Limit-cycle branches of the tweezer pair of notebooks/limit_cycles.ipynb (written by
jaxbind.dynamics.continuation.continue_limit_cycle; run from the repository root:
`python notebooks/data/make_limit_cycle_branches.py`, ≈ 7 CPU-minutes, longer on a loaded
machine). Writes notebooks/data/limit_cycle_branches.npz:

* cuts in the tweezer phase φ at d = 1.25 λ (from φ = π/2 down and up) and in the distance d
  at φ = π/2 (from d = 1.25 λ down and up): per point the parameter, the axial and radial
  first-harmonic amplitudes (m), frequency (rad/s), phases, largest non-trivial Floquet
  multiplier, dp/ds, result codes; per branch the stop reason and the extrapolated Hopf point;
* the linear growth rate σ = max Re λ of the full-force equilibrium along both cuts and the
  linear (Hopf) thresholds σ = 0 (brentq), for the comparison with the branch ends.
"""

import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

from jaxbind.dynamics import LangevinModel, find_limit_cycle  # noqa: E402
from jaxbind.dynamics.continuation import (STOP_REASONS, continue_from_hopf,  # noqa: E402
                                           continue_limit_cycle)
from jaxbind.dynamics.limit_cycles import _linear_analysis  # noqa: E402
from jaxbind.mechanics.array import TweezerArray  # noqa: E402

OUT = Path(__file__).with_name("limit_cycle_branches.npz")
LAM, GAMMA, D0 = 1550e-9, 200.0, 1.25


def pair(phase, d_over_lambda=D0):
    """The notebook's pair (traceable in φ and d)."""
    pos = jnp.stack([jnp.zeros(2), jnp.stack([jnp.asarray(d_over_lambda) * LAM, 0.0])])
    return TweezerArray(pos, powers=[0.3 * 0.994, 0.3 * 1.006], wavelength=LAM, NA=0.6,
                        phases=jnp.stack([jnp.asarray(phase, float), 0.0]),
                        polarization_angles=np.pi / 2, radii=50e-9, index=1.45, density=2200.0,
                        gamma=GAMMA, temperature=0.0)


MODEL0 = LangevinModel.from_array(pair(np.pi / 2), recoil=False)


def model_phi(phi):  # the scaling (ω, escape) of MODEL0 is kept; the beam carries φ
    return eqx.tree_at(lambda m: m.beam, MODEL0, pair(phi).beam())


def model_d(d):  # particles and foci move together
    a = pair(np.pi / 2, d)
    return eqx.tree_at(lambda m: (m.particles, m.beam), MODEL0, (a.particles(), a.beam()))


def sigma(make, p):
    """max Re λ (1/s) and its |Im λ| (rad/s) of the drift at the model's equilibrium."""
    _, J, ok = _linear_analysis(make(jnp.asarray(p)), None)
    lam = np.linalg.eigvals(np.asarray(J)) * float(jnp.mean(MODEL0.omega))
    i = int(np.argmax(lam.real))
    return lam[i].real if bool(ok) else np.nan, abs(lam[i].imag)


#: (name, make_model, p0, direction, Hopf start (linear-threshold key, index) or None, options)
RUNS = (("phi_down", model_phi, np.pi / 2, -1, None, dict(max_points=14)),
        ("phi_up", model_phi, np.pi / 2, +1, None, dict(max_points=30)),
        ("d_down", model_d, D0, -1, None, dict(max_points=30, parameter_scale=0.1)),
        ("d_up", model_d, D0, +1, None, dict(max_points=30, parameter_scale=0.1)),
        ("phi_hopf_low", model_phi, None, +1, ("lin_phi_threshold", 0),
         dict(max_points=16, bounds=(0.2, np.pi / 2))),
        ("d_hopf_low", model_d, None, +1, ("lin_d_threshold", 0),
         dict(max_points=16, bounds=(1.0, D0), parameter_scale=0.1)))


def main():
    t0 = time.process_time()
    only = sys.argv[1:]
    data = dict(np.load(OUT)) if only and OUT.exists() else {}
    # linear growth along both cuts, and the thresholds σ = 0
    for name, make, grid, brackets in () if "lin_phi_threshold" in data else (
            ("phi", model_phi, np.linspace(0.05, np.pi - 0.05, 41), ((0.3, 1.5), (1.7, 2.9))),
            ("d", model_d, np.linspace(1.0, 1.5, 41), ((1.0, 1.2), (1.3, 1.5)))):
        s = np.array([sigma(make, p) for p in grid])
        data[f"lin_{name}_grid"], data[f"lin_{name}_sigma"], data[f"lin_{name}_omega"] = (
            grid, s[:, 0], s[:, 1])
        roots = []
        for lo, hi in brackets:
            f = lambda p: sigma(make, p)[0]  # noqa: E731
            roots.append(brentq(f, lo, hi, xtol=1e-10) if f(lo) * f(hi) < 0 else np.nan)
        data[f"lin_{name}_threshold"] = np.array(roots)
        print(name, "linear thresholds", roots, f"{time.process_time() - t0:.0f} s CPU", flush=True)
    runs = [r for r in RUNS if not only or r[0] in only]
    if any(r[4] is None for r in runs):
        orbit = find_limit_cycle(MODEL0)
        print("orbit at φ = π/2:", float(orbit.frequency) / 2e3 / np.pi,
              "kHz", f"{time.process_time() - t0:.0f} s CPU", flush=True)
    for name, make, p0, direction, hopf, kw in runs:
        if hopf is None:  # from the cycle at p0, towards the threshold
            br = continue_limit_cycle(make, p0, orbit, direction=direction, step=0.1,
                                      steps=160, min_amplitude=10e-9, **kw)
        else:  # born at the linear threshold data[hopf] (branch switching)
            br = continue_from_hopf(make, float(data[hopf[0]][hopf[1]]), amplitude=20e-9,
                                    step=0.1, steps=160, **kw)
        for k in ("parameter", "amplitude", "frequency", "phase", "max_multiplier",
                  "dparameter", "n_points", "stop", "threshold", "newton_steps", "multipliers"):
            data[f"{name}_{k}"] = np.asarray(getattr(br, k))
        data[f"{name}_result"] = np.asarray(br.result._value)
        print(name, int(br.n_points), "points;", STOP_REASONS[int(br.stop)], "; threshold",
              float(br.threshold), f"{time.process_time() - t0:.0f} s CPU", flush=True)
        np.savez(OUT, **data)
    np.savez(OUT, **data)


if __name__ == "__main__":
    main()
