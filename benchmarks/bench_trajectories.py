"""Benchmarks for jaxbind.dynamics and jaxbind.quantum.feedback (issue 18).

1. Stochastic trajectories of a tweezer pair (6 DOF) in the engine's full optical forces:
   ``jaxbind.dynamics.simulate`` (diffrax ShARK, two force evaluations per step, one compiled
   program for the whole ensemble) vs what a user would otherwise write: a vectorised NumPy
   Euler–Maruyama loop over time steps that calls the same jitted, vmapped engine force on the
   whole ensemble at every step (one force evaluation per step). Reported per trajectory-step
   and as a ratio; jaxbind is also run with ``diffrax.Euler`` (the same one-evaluation scheme
   as the baseline) for an apples-to-apples row. Target ≥ 10× on CPU.
2. LQG feedback cooling of an N-oscillator chain (N = 50: 100 quadratures):
   ``lqg_cooling`` (two Riccati equations by matrix sign + Newton step, one Lyapunov) vs the
   same steady state assembled from SciPy's ``solve_continuous_are`` (×2) and
   ``solve_continuous_lyapunov``. Target ≤ 1× SciPy's time.

First-call (compile) times are printed for both jaxbind kernels.

Usage: python benchmarks/bench_trajectories.py [--quick] [--traj 10000] [--steps 100000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg as sla  # noqa: E402

from jaxbind import constants as Cst  # noqa: E402
from jaxbind.dynamics import LangevinModel, simulate  # noqa: E402
from jaxbind.mechanics.array import TweezerArray  # noqa: E402
from jaxbind.quantum.feedback import lqg_cooling, position_measurement  # noqa: E402
from jaxbind.quantum.gaussian import LinearSystem  # noqa: E402
from jaxbind.quantum.models import add_thermal_bath  # noqa: E402
from _timing import best_wall_cpu  # noqa: E402

LAM = 1550e-9


def pair_model():
    arr = TweezerArray([[0, 0], [1.25 * LAM, 0]], powers=0.3, wavelength=LAM, NA=0.6,
                       phases=[np.pi / 2, 0.0], polarization_angles=np.pi / 2, radii=50e-9,
                       index=1.45, density=2200.0, gamma=1e5, temperature=300.0)
    return LangevinModel.from_array(arr)


def numpy_euler_maruyama(model, n_traj, n_steps, dt, seed=0):
    """The baseline: NumPy loop, the engine's force (jit + vmap over the ensemble) per step."""
    force = jax.jit(jax.vmap(model.forces))
    m = np.asarray(model.masses)
    gam = np.repeat(np.asarray(model.gamma), 3)
    Q = 2 * (Cst.hbar * np.asarray(model.recoil) / np.outer(m, m)
             + np.diag(gam * Cst.k_B * float(model.temperature) / m))  # velocity diffusion
    lam, V = np.linalg.eigh(Q)
    L = V * np.sqrt(np.clip(lam, 0, None))
    rng = np.random.default_rng(seed)
    x = np.zeros((n_traj, 6))
    v = np.zeros((n_traj, 6))
    force(jnp.asarray(x)).block_until_ready()
    sq = np.sqrt(dt)
    for _ in range(n_steps):
        F = np.asarray(force(jnp.asarray(x)))
        dW = rng.standard_normal((n_traj, 6)) @ L.T * sq
        x, v = x + v * dt, v + (F / m - gam * v) * dt + dW
    return x, v


def bench_trajectories(n_traj, n_steps, repeats):
    model = pair_model()
    period = 2 * np.pi / float(np.max(model.omega))
    dt = period / 40
    t1 = n_steps * dt
    key = jax.random.PRNGKey(0)
    rows = {}
    for name, solver in (("ShARK", None), ("Euler", diffrax.Euler())):
        t0 = time.perf_counter()
        jax.block_until_ready(simulate(model, t1, dt, key=key, n_traj=n_traj, solver=solver,
                                       save_every=n_steps).x)
        first = time.perf_counter() - t0
        wall, cpu = best_wall_cpu(lambda: jax.block_until_ready(
            simulate(model, t1, dt, key=key, n_traj=n_traj, solver=solver,
                     save_every=n_steps).x), repeats)
        rows[name] = (first, wall, cpu)
    nw, nc = best_wall_cpu(lambda: numpy_euler_maruyama(model, n_traj, n_steps, dt), 1)
    ts = n_traj * n_steps
    print(f"\n1. tweezer pair (6 DOF), {n_traj} trajectories × {n_steps} steps, f64")
    for name, (first, wall, cpu) in rows.items():
        print(f"   jaxbind simulate ({name}): first call {first:.2f} s; {wall:.3f} s wall / "
              f"{cpu:.3f} s CPU = {1e9 * wall / ts:.0f} ns per trajectory-step")
    print(f"   NumPy Euler–Maruyama loop (engine force per step): {nw:.3f} s wall / {nc:.3f} s "
          f"CPU = {1e9 * nw / ts:.0f} ns per trajectory-step")
    for name, (_, wall, cpu) in rows.items():
        print(f"   ratio NumPy / jaxbind ({name}): {nw / wall:.1f}× wall, {nc / cpu:.1f}× CPU "
              "(target ≥ 10×)")


def chain(n):
    w = 1.0 + 0.2 * np.arange(n) / n
    A = np.zeros((2 * n, 2 * n))
    for j in range(n):
        A[2 * j, 2 * j + 1] = 1.0
        A[2 * j + 1, 2 * j] = -w[j] ** 2
        if j + 1 < n:
            A[2 * j + 1, 2 * j + 2] = A[2 * j + 3, 2 * j] = 0.02
    s = LinearSystem(jnp.asarray(A), jnp.zeros((2 * n, 2 * n)))
    for j in range(n):
        s = add_thermal_bath(s, j, 1e-3, 100.0)
    return s


def scipy_lqg(system, rate, eta, r):
    sm, C = position_measurement(system, rate, eta)
    A, D, C = (np.asarray(x) for x in (sm.A, sm.D, C))
    m = A.shape[0] // 2
    Vc = sla.solve_continuous_are(A.T, C.T, D, np.eye(m))
    B = np.zeros((2 * m, m))
    B[1::2, :] = np.eye(m)
    X = sla.solve_continuous_are(A, B, 0.5 * np.eye(2 * m), r * np.eye(m))
    L = Vc @ C.T
    V = Vc + sla.solve_continuous_lyapunov(A - B @ (B.T @ X / r), -L @ L.T)
    d = np.diag(V)
    return 0.5 * (d[0::2] + d[1::2] - 1.0)


def bench_lqg(n, repeats):
    s = chain(n)
    f = jax.jit(lqg_cooling)
    t0 = time.perf_counter()
    out = f(s, 1e-3, 0.5, 1e-3)
    jax.block_until_ready(out.occupations)
    first = time.perf_counter() - t0
    wall, cpu = best_wall_cpu(lambda: jax.block_until_ready(f(s, 1e-3, 0.5, 1e-3).occupations),
                              repeats)
    ref = scipy_lqg(s, 1e-3, 0.5, 1e-3)
    sw, sc = best_wall_cpu(lambda: scipy_lqg(s, 1e-3, 0.5, 1e-3), repeats)
    dev = float(np.max(np.abs(np.asarray(out.occupations) - ref) / np.abs(ref)))
    print(f"\n2. LQG occupations of an N = {n} chain ({2 * n} quadratures), f64: "
          f"max rel. deviation from SciPy {dev:.1e}, result {out.result}")
    print(f"   jaxbind lqg_cooling: first call {first:.2f} s; {wall:.4f} s wall / {cpu:.4f} s CPU")
    print(f"   SciPy solve_continuous_are ×2 + solve_continuous_lyapunov: {sw:.4f} s wall / "
          f"{sc:.4f} s CPU")
    print(f"   ratio jaxbind / SciPy: {wall / sw:.2f} wall, {cpu / sc:.2f} CPU (target ≤ 1)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (minutes on 2 cores)")
    ap.add_argument("--traj", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.quick:
        a.traj, a.steps, a.repeats = 256, 2000, 2
    print(f"devices: {jax.devices()}")
    bench_trajectories(a.traj, a.steps, a.repeats)
    bench_lqg(a.n, a.repeats)


if __name__ == "__main__":
    main()
