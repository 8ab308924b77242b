"""Benchmark: inverse design (issue 9 §4), ours vs what a user would otherwise do.

1. Gradient cost. Loss: relative squared residual of the optical coupling matrix — the
   off-diagonal 3×3 blocks of the stiffness K = −∂F/∂r (paper 001 eq. 77 generalised to
   3-D, self-consistent dipoles, autodiff ``jacfwd`` through the LU solve) — of N particles
   in an N-tweezer array, as a function of all 3N particle positions, N tweezer phases and
   N tweezer powers (5N parameters, scaled k·r, rad, log P). Ours: one reverse-mode
   ``jax.grad`` (jitted). Baseline: central finite differences of the same jitted loss
   (10N loss evaluations in one jitted ``lax.map`` — the best a user can do with finite
   differences). Targets: ≥ 20× faster; agreement ≤ 1e-6 relative (x64).
2. Restarts. 256 optimisations (adam, fixed steps) of the two-particle coupling objective
   from random starts: ``optimize_restarts`` (one compiled program, vmap inside the scan)
   vs 256 sequential ``optimize`` calls (compiled once, reused).

    python benchmarks/bench_design.py            # N = 50, 256 restarts
    python benchmarks/bench_design.py --quick    # N = 10, 32 restarts
"""

from __future__ import annotations

import argparse
import platform

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxbind.mechanics.array import TweezerArray  # noqa: E402
from jaxbind.optics.beams import CoherentBeams  # noqa: E402
from jaxbind.optics.forces import stiffness_matrix  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402
from jaxbind.optics.scatterers import ClausiusMossotti  # noqa: E402
from jaxbind.workflows.constraints import Bounded, constrained  # noqa: E402
from jaxbind.workflows.objectives import pair_array, pair_coupling_loss  # noqa: E402
from jaxbind.workflows.optimize import optimize, optimize_restarts  # noqa: E402
from _timing import best_wall as best_of  # noqa: E402

LAM = 1064e-9
K = 2 * np.pi / LAM


def coupling_problem(n):
    side = int(np.ceil(np.sqrt(n)))
    ij = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)[:n]
    foci = np.zeros((n, 3))
    foci[:, :2] = ij * 1.5e-6
    rng = np.random.default_rng(0)

    def loss(theta, target):
        pos = foci + theta[: 3 * n].reshape(n, 3) / K
        ph = theta[3 * n: 4 * n]
        pw = 0.05 * jnp.exp(theta[4 * n:])
        beam = CoherentBeams.from_tweezers(pw, LAM, foci, waist=0.8e-6, phases=ph)
        ps = Particles(pos, jnp.full((n,), 75e-9), index=jnp.full((n,), 1.45 + 0j),
                       model=ClausiusMossotti())
        S = stiffness_matrix(ps, beam, throw=False).reshape(n, 3, n, 3)
        off = (1.0 - jnp.eye(n))[:, None, :, None]
        return jnp.sum((S * off - target) ** 2) / jnp.sum(target**2)

    theta0 = np.concatenate([rng.normal(scale=0.05, size=3 * n), rng.uniform(-np.pi, np.pi, n),
                             np.zeros(n)])
    t_theta = theta0 + np.concatenate([rng.normal(scale=0.1, size=3 * n), rng.normal(scale=0.3, size=n),
                                       rng.normal(scale=0.1, size=n)])
    S_t = jax.jit(lambda th: stiffness_matrix(
        Particles(foci + th[: 3 * n].reshape(n, 3) / K, jnp.full((n,), 75e-9), index=jnp.full((n,), 1.45 + 0j),
                  model=ClausiusMossotti()),
        CoherentBeams.from_tweezers(0.05 * jnp.exp(th[4 * n:]), LAM, foci, waist=0.8e-6,
                                    phases=th[3 * n: 4 * n]), throw=False))(jnp.asarray(t_theta))
    target = S_t.reshape(n, 3, n, 3) * (1.0 - jnp.eye(n))[:, None, :, None]
    return loss, jnp.asarray(theta0), target


def bench_gradient(n, repeats, h=1e-5):
    loss, theta, target = coupling_problem(n)
    p = theta.shape[0]
    grad = jax.jit(jax.grad(loss))

    @jax.jit
    def fd_all(theta, target):
        # one compiled program: lax.map over the 2p shifted points (batched vmap of the
        # dense solves was slower on CPU)
        def col(e):
            return (loss(theta + h * e, target) - loss(theta - h * e, target)) / (2 * h)
        return jax.lax.map(col, jnp.eye(p, dtype=theta.dtype))

    fd = lambda: fd_all(theta, target)  # noqa: E731

    g_ad = grad(theta, target).block_until_ready()
    g_fd = fd().block_until_ready()
    t_ad = best_of(lambda: grad(theta, target), repeats)
    t_fd = best_of(fd, max(1, repeats // 2))
    rel = float(jnp.linalg.norm(g_ad - g_fd) / jnp.linalg.norm(g_ad))
    return p, t_ad, t_fd, rel


def bench_restarts(n_restarts, steps):
    base = TweezerArray(jnp.array([[0.0, 0.0], [0.0, 2e-6]]), 0.2, LAM, NA=0.8, radii=75e-9,
                        index=1.45, density=2200.0)

    def loss(p):
        return pair_coupling_loss(pair_array(base, p["kd"], p["phi"]), 0.5, 0.5)

    keys = jax.random.split(jax.random.PRNGKey(0), n_restarts)

    def init(k):
        k1, k2 = jax.random.split(k)
        return {"kd": constrained(jax.random.uniform(k1, minval=2.0, maxval=12.0), Bounded(1.0, 14.0)),
                "phi": jax.random.uniform(k2, minval=-np.pi, maxval=np.pi)}

    opt = optax.adam(0.05)
    starts = [init(k) for k in keys]
    optimize(loss, starts[0], opt, steps)  # compile
    optimize_restarts(loss, init, opt, steps, n_restarts=n_restarts, key=jax.random.PRNGKey(0))

    def seq():
        return [optimize(loss, s, opt, steps).loss for s in starts]

    def par():
        return optimize_restarts(loss, init, opt, steps, n_restarts=n_restarts,
                                 key=jax.random.PRNGKey(0)).restart_losses

    t_seq = best_of(seq, 1)
    t_par = best_of(par, 3)
    l_seq = np.sort(np.asarray(seq()))
    l_par = np.sort(np.asarray(par()))
    return t_seq, t_par, float(np.max(np.abs(l_seq - l_par)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="particles in the gradient benchmark")
    ap.add_argument("--restarts", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200, help="adam steps per restart")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="N = 10, 32 restarts")
    a = ap.parse_args()
    if a.quick:
        a.n, a.restarts = 10, 32
    print(f"hardware: {platform.processor() or platform.machine()}, devices {jax.devices()}")
    p, t_ad, t_fd, rel = bench_gradient(a.n, a.repeats)
    print(f"\n1. gradient of a coupling-matrix loss, N = {a.n} ({p} parameters), x64")
    print(f"{'method':<34}{'time (s)':>12}")
    print(f"{'reverse-mode jax.grad (ours)':<34}{t_ad:>12.4f}")
    print(f"{'central finite differences':<34}{t_fd:>12.4f}")
    print(f"speed-up {t_fd / t_ad:.1f}x (target ≥ 20x); relative difference {rel:.2e} (target ≤ 1e-6)")
    t_seq, t_par, dl = bench_restarts(a.restarts, a.steps)
    print(f"\n2. {a.restarts} restarts × {a.steps} adam steps (two-particle coupling objective)")
    print(f"{'method':<34}{'time (s)':>12}")
    print(f"{'optimize_restarts (one program)':<34}{t_par:>12.4f}")
    print(f"{'sequential optimize calls':<34}{t_seq:>12.4f}")
    print(f"speed-up {t_seq / t_par:.1f}x; max |Δ final loss| {dl:.1e}")


if __name__ == "__main__":
    main()
