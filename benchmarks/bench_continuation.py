"""Limit-cycle branches: pseudo-arclength continuation (`jaxbind.dynamics.continue_orbit`,
one compiled `lax.while_loop`) vs the loop a user would otherwise write — natural-parameter
continuation on the host, one `shoot_periodic_orbit` solve (jitted once) per parameter
value, each started from the previous orbit — on the same parameter values.

Model: the Hopf normal form ż = (μ + iω)z + (c₃ + ib)|z|²z + c₅|z|⁴z (2 states, 48 Tsit5
steps per period). Supercritical (c₃ = −1): from μ = 0.3 down to the threshold; subcritical
(c₃ = 1, c₅ = −1): from μ = 0.2 round the fold at μ = −1/4 to the threshold. The loop is
handed the continuation's own parameter values in branch order, so it also follows the
branch past the fold — a user without them (a monotone sweep in μ) cannot: past μ = −1/4
there is no cycle nearby and the unstable branch is never reached. Prints CPU/wall times,
their ratio and the first-call (compile) time. Run: `python benchmarks/bench_continuation.py`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_wall_cpu  # noqa: E402

from jaxbind.dynamics import continue_orbit, shoot_periodic_orbit  # noqa: E402


def normal_form(t, y, a):
    mu, w, b, c3, c5 = a
    r2 = y[0] ** 2 + y[1] ** 2
    gr, gi = mu + c3 * r2 + c5 * r2**2, w + b * r2
    return jnp.stack([gr * y[0] - gi * y[1], gi * y[0] + gr * y[1]])


def args_of(coef, mu):
    return (mu, coef[0], coef[1], coef[2], coef[3])


def run(coef, mu0, r0):
    c = jnp.asarray(coef)
    return continue_orbit(normal_form, eqx.Partial(args_of, c), mu0, jnp.stack([1.05 * r0, 0.0]),
                          2 * np.pi / (coef[0] + coef[1] * r0**2), direction=-1, step=0.05,
                          steps=48, max_points=40, min_amplitude=1e-2)


shoot = jax.jit(lambda y, T, a: shoot_periodic_orbit(normal_form, y, T, a, steps=48, throw=False))


def natural(coef, mus, y, T):
    """Host loop over the parameter values, previous orbit as the guess; stops at the first
    failure. Returns the number of points it reproduced."""
    for k, mu in enumerate(mus):
        o = shoot(y, T, (jnp.asarray(mu),) + tuple(jnp.asarray(coef)))
        if int(o.result._value) != 0:
            return k
        y, T = o.y0, o.period
    return len(mus)


def main():
    print(f"load average {os.getloadavg()[0]:.1f}; CPU {os.cpu_count()} cores")
    for name, coef, mu0, r0 in (("supercritical", (2.0, 0.5, -1.0, 0.0), 0.3, np.sqrt(0.3)),
                                ("subcritical", (2.0, 0.5, 1.0, -1.0), 0.2,
                                 np.sqrt((1 + np.sqrt(1.8)) / 2))):
        w0, c0 = time.perf_counter(), time.process_time()
        br = jax.block_until_ready(run(coef, mu0, r0))
        first = (time.perf_counter() - w0, time.process_time() - c0)
        wall, cpu = best_wall_cpu(lambda: run(coef, mu0, r0))
        n = int(br.n_points)
        mus = np.asarray(br.parameter[:n])
        y, T = jnp.asarray(br.y0[0]), jnp.asarray(br.period[0])
        natural(coef, mus[:1], y, T)  # compile the single solve
        done = []
        nwall, ncpu = best_wall_cpu(lambda: done.append(natural(coef, mus, y, T)))
        print(f"{name}: {n} points (stop {int(br.stop)}, threshold {float(br.threshold):.2e})")
        print(f"  continue_orbit: {cpu:.3f} s CPU ({wall:.3f} s wall); first call "
              f"{first[1]:.1f} s CPU ({first[0]:.1f} s wall)")
        print(f"  natural-parameter loop of shoot_periodic_orbit: {ncpu:.3f} s CPU "
              f"({nwall:.3f} s wall), reproduced {done[-1]}/{n} points (given the branch's parameter values)")
        print(f"  ratio (loop / continuation, CPU): {ncpu / cpu:.2f}")


if __name__ == "__main__":
    main()
