"""Benchmark: forces on spheres in a host medium (water, n = 1.33).

1. The medium costs nothing: ``optical_forces`` (coupled Mie dipoles, N spheres, jitted) in
   water vs the same call in vacuum — the scaled kernels are identical, only unit
   conversions carry n (docs/conventions.md, "Host medium"). Prints both times, the ratio and
   the first-call compile time.
2. Side by side with the code a user would otherwise use for particles in liquid: miepy
   (multiparticle Mie with host media) on the same two-sphere problem at the same l_max,
   assemble + solve + forces. miepy lives in its own environment: set ``MIEPY_PYTHON`` to its
   interpreter (e.g. /tmp/pk_miepy/bin/python); without it part 2 is skipped. The two codes'
   forces are compared too (tests/optics/test_medium.py checks them to ≤ 1e-6).

    python benchmarks/bench_medium.py            # N = 400 dipoles; pair at l_max = 4
    python benchmarks/bench_medium.py --quick    # N = 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_wall_cpu  # noqa: E402

from jaxbind.optics.beams import PlaneWave  # noqa: E402
from jaxbind.optics.forces import optical_forces  # noqa: E402
from jaxbind.optics.multipoles import Multipole  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402

LAM, N_W = 1064e-9, 1.33
PAIR = dict(radius=40e-9, index=2.5 + 0.05j,
            positions=[[0.0, 0.0, 0.0], [0.15e-6, 0.25e-6, 0.1e-6]])

_MIEPY = textwrap.dedent("""
    import json, sys, time
    import miepy, numpy as np
    a, m, pos, L, lam, n = json.loads(sys.argv[1])
    def run():
        cl = miepy.sphere_cluster(position=np.asarray(pos), radius=a,
                                  material=miepy.constant_material(index=complex(*m)),
                                  medium=miepy.constant_material(index=n),
                                  source=miepy.sources.plane_wave([1, 0]), wavelength=lam,
                                  lmax=L)
        return cl.force()
    run()
    best = 1e9
    for _ in range(5):
        t = time.perf_counter(); F = run(); best = min(best, time.perf_counter() - t)
    I = 0.5 * n * 299792458.0 * 8.8541878128e-12
    print(json.dumps({"t": best, "F": (np.asarray(F) / I).tolist(),
                      "version": __import__("importlib.metadata").metadata.version("miepy")}))
""")


def cluster(n, seed=0):
    """N silica spheres (a = 100 nm) on a jittered cubic grid, 0.6 µm pitch."""
    g = int(np.ceil(n ** (1 / 3)))
    idx = np.stack(np.meshgrid(*(np.arange(g),) * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    rng = np.random.default_rng(seed)
    pos = 0.6e-6 * idx + 0.05e-6 * rng.standard_normal((n, 3))
    return Particles(jnp.asarray(pos), 100e-9, index=1.45)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 100")
    parser.add_argument("--l-max", type=int, default=4)
    args = parser.parse_args()
    n = 100 if args.quick else 400
    f = eqx.filter_jit(optical_forces)
    ps = cluster(n)
    water, vacuum = PlaneWave(LAM, 1e9, n_medium=N_W), PlaneWave(LAM, 1e9)
    t0 = time.perf_counter()
    jax.block_until_ready(f(ps, water))
    first = time.perf_counter() - t0
    tw, cw = best_wall_cpu(lambda: f(ps, water))
    tv, cv = best_wall_cpu(lambda: f(ps, vacuum))
    print(f"[1] coupled Mie dipoles, N = {n} (3N×3N = {6 * n}² with magnetic dipoles), f64 CPU")
    print(f"    first call (compile + run) {first:.2f} s")
    print(f"    water {tw:.3f} s wall / {cw:.3f} s CPU;  vacuum {tv:.3f} s / {cv:.3f} s;"
          f"  ratio water/vacuum {tw / tv:.2f} (wall)")

    L = args.l_max
    pw = PlaneWave(LAM, 1.0, n_medium=N_W)
    pair = Particles(jnp.asarray(PAIR["positions"]), PAIR["radius"], index=PAIR["index"],
                     model=Multipole(l_max=L))
    t0 = time.perf_counter()
    F = np.asarray(jax.block_until_ready(f(pair, pw)))
    first = time.perf_counter() - t0
    tj, cj = best_wall_cpu(lambda: f(pair, pw), repeats=5)
    print(f"[2] two spheres in water (a = 40 nm, m = 2.5 + 0.05i), Multipole(l_max = {L}),"
          " assemble + solve + forces")
    print(f"    jaxbind: {tj * 1e3:.2f} ms wall / {cj * 1e3:.2f} ms CPU (first call {first:.2f} s)")
    py = os.environ.get("MIEPY_PYTHON")
    if not py:
        print("    miepy: skipped (set MIEPY_PYTHON to an interpreter with miepy installed)")
        return
    arg = json.dumps([PAIR["radius"], [PAIR["index"].real, PAIR["index"].imag],
                      PAIR["positions"], L, LAM, N_W])
    out = subprocess.run([py, "-c", _MIEPY, arg], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    Fm = np.asarray(res["F"])
    dev = np.max(np.abs(F - Fm)) / np.max(np.abs(Fm))
    print(f"    miepy {res['version']}: {res['t'] * 1e3:.2f} ms wall (best of 5, in its own "
          f"process)  ->  ratio miepy/jaxbind {res['t'] / tj:.1f}×")
    print(f"    max force deviation at the same l_max: {dev:.1e} of max|F| (miepy also "
          "truncates the exciting field at l_max; converged values agree to ≤ 1e-6)")


if __name__ == "__main__":
    main()
