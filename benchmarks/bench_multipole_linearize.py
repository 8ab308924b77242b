"""Benchmark: ``linearize(method="exact")`` of a focused tweezer array of multipolar silica
spheres (``model=Multipole(l_max)``, mechanics/exact_multipole.py) vs the baseline a user
would otherwise write: central finite differences of the multipole forces
(``Multipole.optical_forces`` at 2M displaced configurations, M = 3N degrees of freedom,
vmapped and jitted: the strongest FD baseline; it gives the stiffness only, not the
diffusion). Rows N = 2, 8 and l_max = 2, 3; first-call (compile) CPU time of both; best-of
CPU (``time.process_time``) and wall time after compilation; the ratio FD / ours.

Usage: python benchmarks/bench_multipole_linearize.py [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import os as _os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind.mechanics.array import TweezerArray, linearize  # noqa: E402
from jaxbind.optics.focused import FocusedBeam  # noqa: E402
from jaxbind.optics.multipoles import Multipole  # noqa: E402
from _timing import best_wall_cpu  # noqa: E402

LAM = 1064e-9


def make(n, l_max):
    """n focused tweezers (NA 0.8) on a 1.6 µm grid, silica spheres a = 120 nm."""
    side = int(np.ceil(np.sqrt(n)))
    pos = np.array([[1.6e-6 * (i % side), 1.6e-6 * (i // side) + 0.1e-6 * (i % 2), 0.0]
                    for i in range(n)])
    fb = FocusedBeam(1.0, LAM, 0.8, filling=1.0, order=20, extent=4 * LAM)
    return TweezerArray(jnp.asarray(pos), powers=0.1 + 0.01 * jnp.arange(n), wavelength=LAM,
                        radii=120e-9, index=1.45, density=2200.0,
                        phases=0.3 * jnp.arange(n), polarization_angles=0.1 * jnp.arange(n),
                        focus=fb, model=Multipole(l_max))


ours = eqx.filter_jit(lambda a: linearize(a, "exact", axis="xyz"))


@eqx.filter_jit
def fd_stiffness(arr, h=2e-10):
    """−∂F/∂r by central differences of the multipole forces (2M solves, vmapped)."""
    beam, model, r0 = arr.beam(), arr.model, arr.positions
    M = r0.size
    E = h * jnp.eye(M).reshape(M, *r0.shape)
    f = jax.vmap(lambda e: model.optical_forces(arr.particles(r0 + e), beam).reshape(-1))
    return -(f(E) - f(-E)).T / (2 * h)


def first_call(fn, arr):
    c0, w0 = time.process_time(), time.perf_counter()
    out = jax.block_until_ready(fn(arr))
    return time.process_time() - c0, time.perf_counter() - w0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N = 2 only")
    args = ap.parse_args()
    ns = (2,) if args.quick else (2, 8)
    print(f"# {platform.processor() or platform.machine()}, jax {jax.__version__}, "
          f"load average {_os.getloadavg()[0]:.1f}")
    print("| N | l_max | M | ours first call CPU (s) | FD first call CPU (s) | ours CPU (s) | "
          "FD CPU (s) | ours wall (s) | FD wall (s) | FD/ours (CPU) | max rel. dev. S |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in ns:
        for L in (2, 3):
            arr = make(n, L)
            c_ours, _, lin = first_call(ours, arr)
            c_fd, _, S_fd = first_call(fd_stiffness, arr)
            w1, c1 = best_wall_cpu(lambda: ours(arr))
            w2, c2 = best_wall_cpu(lambda: fd_stiffness(arr))
            S = np.asarray(lin.stiffness)
            dev = np.abs(S - np.asarray(S_fd)).max() / np.abs(S).max()
            print(f"| {n} | {L} | {3 * n} | {c_ours:.1f} | {c_fd:.1f} | {c1:.3f} | {c2:.3f} | "
                  f"{w1:.3f} | {w2:.3f} | {c2 / c1:.2f} | {dev:.1e} |", flush=True)


if __name__ == "__main__":
    main()
