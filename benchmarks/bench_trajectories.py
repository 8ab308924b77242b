"""Benchmarks for jaxbind.dynamics and jaxbind.quantum.feedback (issue 18).

1. Stochastic trajectories of a tweezer pair (6 DOF) in the full optical forces (two paraxial
   tweezers, two point dipoles with a fixed Clausius–Mossotti polarizability with radiative
   correction, self-consistent coupling through the free-space Green tensor):
   ``jaxbind.dynamics.simulate`` (one compiled program for the whole ensemble; with
   ``diffrax.Euler``, the same one-force-evaluation scheme as the baseline, and with the
   default ShARK, strong order 1.5, two evaluations per step) vs what a user would otherwise
   write: the same forces written in NumPy (:class:`NumpyPair`: trap gradient + scattering
   force of each tweezer, binding force from the Green tensor, batched ``np.linalg.solve``),
   vectorised over trajectories, in a Python Euler–Maruyama loop over time steps with the same
   noise covariance (gas + photon recoil). Before timing, the NumPy force is checked against
   the engine's ``optical_forces`` at a few configurations (max relative deviation printed,
   must be ≤ 1e-8). Reported per trajectory-step, extrapolated to the issue's
   10⁴ trajectories × 10⁵ steps, and as a ratio (target ≥ 10× on CPU).
2. LQG feedback cooling of an N-oscillator chain (N = 50: 100 quadratures):
   ``lqg_cooling`` (two Riccati equations by matrix sign + Newton step, one Lyapunov) vs the
   same steady state assembled from SciPy's ``solve_continuous_are`` (×2) and
   ``solve_continuous_lyapunov``. Target ≤ 1× SciPy's time.

First-call (compile) times are printed for the jaxbind kernels.

Usage: python benchmarks/bench_trajectories.py [--quick] [--traj 1000] [--steps 1000]
       [--no-shark] [--f32] [--skip-lqg]
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
RADIUS, INDEX = 50e-9, 1.45
TARGET = (10_000, 100_000)  # the size: trajectories × steps


def pair_alpha():
    """Clausius–Mossotti polarizability with radiative correction (SI), as a user would."""
    k = 2 * np.pi / LAM
    e = INDEX**2
    a0 = 4 * np.pi * Cst.epsilon0 * RADIUS**3 * (e - 1) / (e + 2)
    return a0 / (1 - 1j * k**3 * a0 / (6 * np.pi * Cst.epsilon0))


def pair_array(dtype=np.float64):
    """The tweezer pair (float64, or float32 leaves for a float32 simulation)."""
    f = np.dtype(dtype).type
    c = np.complex64 if dtype == np.float32 else np.complex128
    return TweezerArray(np.array([[0, 0], [1.25 * LAM, 0]], dtype), powers=f(0.3),
                        wavelength=f(LAM), NA=f(0.6), phases=np.array([np.pi / 2, 0.0], dtype),
                        polarization_angles=f(np.pi / 2), radii=f(RADIUS), alpha=c(pair_alpha()),
                        density=f(2200.0), gamma=f(1e5), temperature=f(300.0))


EPS0 = Cst.epsilon0
C_LIGHT = Cst.c


class NumpyPair:
    """The optical force a user would write in NumPy (SI units), vectorised over trajectories:
    N paraxial Gaussian tweezers (paper 000 eqs. A1–A2; the field and closed-form gradient of
    :class:`jaxbind.optics.beams.Tweezer`) and point electric dipoles coupled through the
    free-space Green tensor (Jackson eq. 9.18), solved self-consistently
    (``np.linalg.solve`` on the batch of 3N×3N systems), force
    F_i = ½ Re Σ_a p_ia* ∂_c E_loc,a (paper 003 eq. 3; Chaumet & Rahmani 2009): incident
    gradient (trap + scattering force) + gradient of the fields of the other dipoles (binding).
    """

    def __init__(self, foci, powers, wavelength, waists, phases, psis, alpha):
        self.foci = np.asarray(foci, float)
        n = self.foci.shape[0]
        b = lambda v: np.broadcast_to(np.asarray(v, float), (n,)).copy()  # noqa: E731
        self.k = 2 * np.pi / wavelength
        self.w0 = b(waists)
        self.zr = np.pi * self.w0**2 / wavelength
        E0 = np.sqrt(4 * b(powers) / (np.pi * self.w0**2 * C_LIGHT * EPS0))
        psi = b(psis)
        eps = np.stack([np.cos(psi), np.sin(psi), np.zeros(n)], -1)
        self.amp = (E0 * np.exp(1j * b(phases)))[:, None] * eps  # (N, 3) complex
        self.alpha = np.broadcast_to(np.asarray(alpha, complex), (n,)).copy()
        self.n = n

    def incident(self, r):
        """E (T, N, 3) and ∂_c E_a (T, N, 3a, 3c) at positions r (T, N, 3)."""
        k = self.k
        d = r[:, :, None, :] - self.foci[None, None, :, :]  # (T, Npart, Nbeam, 3)
        w2, zr = self.w0**2, self.zr
        q = 1 + 1j * d[..., 2] / zr
        s = d[..., 0]**2 + d[..., 1]**2
        g = np.exp(1j * k * d[..., 2] - s / (w2 * q)) / q
        dg = g[..., None] * np.stack([-2 * d[..., 0] / (w2 * q), -2 * d[..., 1] / (w2 * q),
                                      1j * k - 1j / (zr * q) + 1j * s / (zr * w2 * q**2)], -1)
        E = np.einsum("tpb,ba->tpa", g, self.amp)
        dE = np.einsum("tpbc,ba->tpac", dg, self.amp)
        return E, dE

    def green(self, R):
        """G (…, 3, 3) with E = G p and ∂_c G_ab (…, 3, 3, 3) for separations R (…, 3)."""
        k = self.k
        r = np.sqrt(np.sum(R**2, -1))
        e = np.exp(1j * k * r) / (4 * np.pi * EPS0)
        f = e * (k**2 / r + 1j * k / r**2 - 1 / r**3)
        h = e * (-k**2 / r**3 - 3j * k / r**4 + 3 / r**5)
        fp = e * (1j * k**3 / r - 2 * k**2 / r**2 - 3j * k / r**3 + 3 / r**4)
        hp = e * (-1j * k**3 / r**3 + 6 * k**2 / r**4 + 15j * k / r**5 - 15 / r**6)
        I = np.eye(3)
        RR = R[..., :, None] * R[..., None, :]
        G = f[..., None, None] * I + h[..., None, None] * RR
        u = R / r[..., None]
        dG = ((fp[..., None, None, None] * I[:, :, None] * u[..., None, None, :])
              + hp[..., None, None, None] * RR[..., None] * u[..., None, None, :]
              + h[..., None, None, None] * (I[None, :, :] * R[..., :, None, None]
                                            + R[..., None, :, None] * I[:, None, :]))
        # last term: δ_ac R_b + R_a δ_bc, indices (a, b, c)
        return G, dG

    def forces(self, r):
        """(T, N, 3) forces (N) at positions r (T, N, 3) (m)."""
        T, n = r.shape[:2]
        E, dE = self.incident(r)
        R = r[:, :, None, :] - r[:, None, :, :]  # (T, i, j, 3)
        off = ~np.eye(n, dtype=bool)
        Rs = np.where(off[None, :, :, None], R, 1.0)
        G, dG = self.green(Rs)
        G = G * off[None, :, :, None, None]
        dG = dG * off[None, :, :, None, None, None]
        A = np.zeros((T, n, 3, n, 3), complex)
        for i in range(n):
            A[:, i, :, i, :] = np.eye(3) / self.alpha[i]
        A -= np.transpose(G, (0, 1, 3, 2, 4))  # A[i a, j b] = δ/α − G_ij,ab
        p = np.linalg.solve(A.reshape(T, 3 * n, 3 * n), E.reshape(T, 3 * n, 1)).reshape(T, n, 3)
        grad = dE + np.einsum("tijabc,tjb->tiac", dG, p)
        return 0.5 * np.real(np.einsum("tia,tiac->tic", np.conj(p), grad))


def numpy_pair(arr):
    foci = np.zeros((arr.n, 3))
    foci[:, :2] = np.asarray(arr.positions)[:, :2]
    return NumpyPair(foci, np.asarray(arr.powers), LAM, np.asarray(arr.waists),
                     np.asarray(arr.phases), np.asarray(arr.polarization_angles), pair_alpha())


def check_forces(model, npf, n=5, seed=1):
    """Max relative deviation |F_numpy − F_jaxbind| / max|F_jaxbind| per configuration."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 6)) * 100e-9
    d[0] = 0.0
    Fj = np.asarray(jax.vmap(model.forces)(jnp.asarray(d)))
    Fn = npf.forces(npf.foci[None] + d.reshape(n, 2, 3)).reshape(n, 6)
    return float(np.max(np.max(np.abs(Fn - Fj), axis=1) / np.max(np.abs(Fj), axis=1)))


def noise_factor(model):
    """L with L Lᵀ = the velocity diffusion 2(ħ D_rec/(m m) + γ k_B T/m) (1/s · m²/s²), the
    covariance :func:`jaxbind.dynamics.simulate` uses (its module docstring)."""
    m = np.asarray(model.masses)
    gam = np.repeat(np.asarray(model.gamma), 3)
    Q = 2 * (Cst.hbar * np.asarray(model.recoil) / np.outer(m, m)
             + np.diag(gam * Cst.k_B * float(model.temperature) / m))
    lam, V = np.linalg.eigh(Q)
    return V * np.sqrt(np.clip(lam, 0, None))


def numpy_euler_maruyama(npf, model, n_traj, n_steps, dt, seed=0):
    """The baseline: NumPy forces vectorised over the ensemble, Python loop over steps."""
    m = np.asarray(model.masses)
    gam = np.repeat(np.asarray(model.gamma), 3)
    L = noise_factor(model)
    rng = np.random.default_rng(seed)
    x = np.zeros((n_traj, 6))
    v = np.zeros((n_traj, 6))
    r0 = npf.foci[None]
    sq = np.sqrt(dt)
    for _ in range(n_steps):
        F = npf.forces(r0 + x.reshape(n_traj, 2, 3)).reshape(n_traj, 6)
        dW = rng.standard_normal((n_traj, 6)) @ L.T * sq
        x, v = x + v * dt, v + (F / m - gam * v) * dt + dW
    return x, v


def bench_trajectories(n_traj, n_steps, repeats, shark=True, f32=False):
    arr = pair_array()
    model = LangevinModel.from_array(arr)
    model32 = LangevinModel.from_array(pair_array(np.float32)) if f32 else None
    npf = numpy_pair(arr)
    dev = check_forces(model, npf)
    print(f"\n1. tweezer pair (6 DOF), {n_traj} trajectories × {n_steps} steps, f64")
    print(f"   NumPy force vs engine optical_forces at 5 configurations: max rel. deviation "
          f"{dev:.1e}")
    if not dev <= 1e-8:
        raise SystemExit("NumPy baseline force disagrees with the engine; not timing")
    if f32:
        print(f"   float32 engine force vs NumPy (float64): max rel. deviation "
              f"{check_forces(model32, npf):.1e}")
    period = 2 * np.pi / float(np.max(model.omega))
    dt = period / 40
    t1 = n_steps * dt
    key = jax.random.PRNGKey(0)
    rows = {}
    solvers = [("Euler", model, diffrax.Euler())]
    if shark:
        solvers.append(("ShARK", model, None))
    if f32:
        solvers.append(("Euler, float32", model32, diffrax.Euler()))
    for name, mdl, solver in solvers:
        run = lambda: jax.block_until_ready(simulate(  # noqa: E731
            mdl, t1, dt, key=key, n_traj=n_traj, solver=solver, save_every=n_steps).x)
        t0 = time.perf_counter()
        run()
        first = time.perf_counter() - t0
        wall, cpu = best_wall_cpu(run, repeats)
        rows[name] = (first, wall, cpu)
    nw, nc = best_wall_cpu(lambda: numpy_euler_maruyama(npf, model, n_traj, n_steps, dt), 1)
    ts = n_traj * n_steps
    big = TARGET[0] * TARGET[1]
    for name, (first, wall, cpu) in rows.items():
        print(f"   jaxbind simulate ({name}): first call {first:.2f} s (compile ≈ "
              f"{max(first - wall, 0.0):.2f} s); {wall:.3f} s wall / "
              f"{cpu:.3f} s CPU = {1e9 * wall / ts:.0f} ns wall per trajectory-step "
              f"(→ {wall / ts * big / 3600:.2f} h wall for 10⁴ × 10⁵)")
    print(f"   NumPy Euler–Maruyama loop, NumPy forces: {nw:.3f} s wall / {nc:.3f} s CPU = "
          f"{1e9 * nw / ts:.0f} ns wall per trajectory-step "
          f"(→ {nw / ts * big / 3600:.2f} h wall for 10⁴ × 10⁵)")
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
    ap.add_argument("--traj", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--no-shark", action="store_true", help="time only diffrax.Euler")
    ap.add_argument("--f32", action="store_true", help="also time a float32 simulation")
    ap.add_argument("--skip-lqg", action="store_true")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.quick:
        a.traj, a.steps, a.repeats = 256, 200, 1
    print(f"devices: {jax.devices()}")
    bench_trajectories(a.traj, a.steps, a.repeats, shark=not a.no_shark, f32=a.f32)
    if not a.skip_lqg:
        bench_lqg(a.n, a.repeats)


if __name__ == "__main__":
    main()
