"""Benchmark: multipole (T-matrix) engine, assemble + solve + forces (issue 16).

N spheres (default N = 100 and 200) of silica, a = 100 nm, on a random non-overlapping
cluster in a 1064-nm plane wave, l_max = 2 (system dimension 16 N), float64 CPU:

* ours: ``multipole_forces(..., l_max=2, Direct())`` jitted (translation matrices, dense LU
  through lineax, exciting fields to l_max + 1, forces); first-call (compile) time printed;
* peer: treams (KIT T-matrix code, if installed): ``TMatrix.cluster(...).interaction.solve()``
  plus the plane-wave expansion and the scattered coefficients (no forces: treams has none),
  on the same problem. The ratio peer/ours is printed (> 1: ours faster).

Status (session 1, 2-core host shared by 8 agents, loaded): N = 100, l_max = 2: 1.7 s per
call, first call 9.0 s (before sharing one translation kernel per solve: 3.4 s / 30 s). The
peer's published CPU figure for N = 200 is ≈ 0.39 s (assembly + solve): not met yet; treams
0.4.7 needs scipy < 1.17 and was not kept installed, so no side-by-side row was measured.
N = 200, GPU rows, the gradient ratio and N = 1000 GMRES memory are still to be measured.

Usage: python benchmarks/bench_multipoles.py [--n 100 200] [--lmax 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxbind.optics.beams import PlaneWave  # noqa: E402
from jaxbind.optics.multipoles import multipole_forces  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402
from jaxbind.solvers import Direct  # noqa: E402

LAM, A, M = 1064e-9, 100e-9, 1.45 + 0.0j


def cluster(n, seed=0):
    rng = np.random.default_rng(seed)
    side = (n * (4 * A) ** 3) ** (1 / 3) * 1.5
    pts = []
    while len(pts) < n:
        p = rng.uniform(0, side, 3)
        if all(np.linalg.norm(p - q) > 2.2 * A for q in pts):
            pts.append(p)
    return np.array(pts)


def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def ours(pos, l_max, repeat):
    ps = Particles(pos, A, index=M)
    beam = PlaneWave(LAM, 1e9)
    t = time.perf_counter()
    multipole_forces(ps, beam, l_max, Direct()).block_until_ready()
    first = time.perf_counter() - t
    run = best(lambda: multipole_forces(ps, beam, l_max, Direct()).block_until_ready(), repeat)
    return first, run


def peer(pos, l_max, repeat):
    try:
        import treams
    except ImportError:
        return None
    treams.config.POLTYPE = "parity"
    k0 = 2 * np.pi / LAM

    def go():
        t = treams.TMatrix.sphere(l_max, k0, A, [treams.Material(M**2), treams.Material()])
        tm = treams.TMatrix.cluster([t] * len(pos), pos).interaction.solve()
        inc = treams.plane_wave([0, 0, k0], [1, 0, 0], k0=k0, material=treams.Material())
        return tm @ inc.expand(tm.basis)

    return best(go, repeat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--lmax", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"l_max = {args.lmax}, float64, {jax.devices()[0].platform}")
    for n in args.n:
        pos = cluster(n)
        first, run = ours(pos, args.lmax, args.repeat)
        ref = peer(pos, args.lmax, args.repeat)
        line = f"N = {n:4d} (dim {16 * n if args.lmax == 2 else n}): ours {run:8.3f} s (first call {first:6.1f} s)"
        if ref is not None:
            line += f" | treams solve only {ref:8.3f} s | ratio treams/ours {ref / run:5.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
