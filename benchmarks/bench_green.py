"""Benchmark: assembly of the full 3N×3N dipole interaction matrix (paper 001 eq. 57).

Ours: ``jaxbind.optics.green.green_matrix_scaled`` (jitted, timed after compilation).
Baseline: the straightforward NumPy-vectorized assembly a user would otherwise write
(pairwise separations → (N,N,3,3) blocks → transpose/reshape to (3N,3N), zero diagonal).
Both compute the same dimensionless matrix in complex128 (x64 is enabled for this script
only); a float32/complex64 row of ours is shown for reference.

    python benchmarks/bench_green.py            # N = 2000 (issue target: ≥ 2× faster on CPU)
    python benchmarks/bench_green.py --quick    # N = 300

Note: NumPy asks the kernel for transparent huge pages on large arrays, XLA does not, so a
good part of ours is page-faulting the fresh 576 MB output in 4 KiB pages. On Linux with THP
in "madvise" mode, ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc ≥ 2.35) removes that
(measured ~2× faster for ours here); the default table is without it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind.optics.green import green_matrix_scaled  # noqa: E402


def numpy_green_matrix(rho: np.ndarray) -> np.ndarray:
    """Reference: NumPy-vectorized 3N×3N matrix of g(ρ_i − ρ_j), zero diagonal blocks."""
    n = rho.shape[0]
    d = rho[:, None, :] - rho[None, :, :]
    r = np.linalg.norm(d, axis=-1)
    np.fill_diagonal(r, 1.0)
    u = d / r[..., None]
    ph = np.exp(1j * r)
    a = ph * ((1.0 - 1j * r) * (-1.0) / r**3 + 1.0 / r)
    b = ph * ((1.0 - 1j * r) * 3.0 / r**3 - 1.0 / r)
    g = a[..., None, None] * np.eye(3) + b[..., None, None] * (u[..., :, None] * u[..., None, :])
    idx = np.arange(n)
    g[idx, idx] = 0.0
    return g.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)


def timed(fn) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="number of dipoles (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats, best taken")
    parser.add_argument("--quick", action="store_true", help="small size (N=300) for a smoke run")
    args = parser.parse_args()
    n = 300 if args.quick else args.n

    rng = np.random.default_rng(0)
    # Random points in a cube of side ~ 3 N^{1/3} wavelengths (k = 2π).
    rho = rng.uniform(0.0, 2.0 * np.pi * 3.0 * n ** (1.0 / 3.0), size=(n, 3))

    f64 = jax.jit(green_matrix_scaled)
    rho64 = jnp.asarray(rho, dtype=jnp.float64)
    rho32 = jnp.asarray(rho, dtype=jnp.float32)
    ours = f64(rho64).block_until_ready()  # compile
    f64(rho32).block_until_ready()

    ref = numpy_green_matrix(rho)
    err = np.max(np.abs(np.asarray(ours) - ref)) / np.max(np.abs(ref))
    del ours, ref

    runs = {
        "NumPy vectorized (complex128)": lambda: numpy_green_matrix(rho),
        "jaxbind green_matrix_scaled (c128, jit)": lambda: f64(rho64).block_until_ready(),
        "jaxbind green_matrix_scaled (c64, jit)": lambda: f64(rho32).block_until_ready(),
    }
    wall = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    # Each row's repeats run back to back (its allocator warm), best of the repeats kept.
    for name, fn in runs.items():
        for _ in range(args.repeats):
            w, c = timed(fn)
            wall[name].append(w)
            cpu[name].append(c)
    base_w = min(wall["NumPy vectorized (complex128)"])
    base_c = min(cpu["NumPy vectorized (complex128)"])

    print(f"3N×3N dipole interaction matrix, N = {n} ({3 * n}×{3 * n}), best of {args.repeats}")
    print(f"hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, jax devices: {jax.devices()}")
    print(f"max |ours − numpy| / max |numpy| = {err:.2e}")
    print(f"{'implementation':<42}{'wall [s]':>10}{'speed-up':>10}{'CPU [s]':>10}{'CPU ratio':>11}")
    for name in runs:
        w, c = min(wall[name]), min(cpu[name])
        print(f"{name:<42}{w:>10.4f}{base_w / w:>10.2f}{c:>10.4f}{base_c / c:>11.2f}")
    print("(speed-up = NumPy wall / wall; CPU ratio = NumPy CPU time / CPU time summed over threads)")

if __name__ == "__main__":
    main()
