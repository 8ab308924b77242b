"""limit_cycle: amplitude, frequency and relative phase read off trajectories (synthetic,
phase-locked sinusoids with noise, where the answer is known)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.dynamics import Trajectories
from jaxbind.dynamics.limit_cycles import limit_cycle
from jaxbind.results import RESULTS


def synthetic(rng, n=20, T=4000, dt=1e-7, omega=2 * np.pi * 1.2345e5, amps=(3e-9, 1e-9, 2e-9),
              phases=(0.0, 2.0, -1.0), noise=0.05, bad=()):
    ts = np.arange(T) * dt
    x = np.empty((n, T, len(amps)))
    for i in range(n):
        start = rng.uniform(0, 2 * np.pi)  # each trajectory has its own absolute phase
        for mu, (a, p) in enumerate(zip(amps, phases)):
            x[i, :, mu] = (a * np.cos(omega * ts + start + p) + 5e-9
                           + noise * a * rng.standard_normal(T))
    res = np.zeros(n, np.int32)
    for i in bad:
        x[i] = np.nan
    result = jax.vmap(lambda good: RESULTS.where(good, RESULTS.successful,
                                                 RESULTS.trajectory_nonfinite))(
        jnp.asarray([i not in bad for i in range(n)]))
    M = len(amps)
    return Trajectories(ts=jnp.asarray(ts), x=jnp.asarray(x), v=jnp.zeros_like(jnp.asarray(x)),
                        estimate=None, mass=jnp.ones(M), omega=jnp.full(M, omega),
                        result=result), omega, amps, phases, res


def test_recovers_amplitude_frequency_and_phase(rng):
    tr, omega, amps, phases, _ = synthetic(rng, bad=(3,))
    lc = limit_cycle(tr)
    assert lc.result == RESULTS.successful
    # amplitude: √2·rms includes the white noise (5 %): √(1 + 2·0.05²) ≈ 1.0025
    np.testing.assert_allclose(np.asarray(lc.amplitude), amps, rtol=5e-3)
    # frequency: to a small fraction of the bin width 2π/(T dt)
    bin_w = 2 * np.pi / (4000 * 1e-7)
    assert np.all(np.abs(np.asarray(lc.frequency) - omega) < 0.05 * bin_w)
    np.testing.assert_allclose(np.asarray(lc.phase), phases, atol=2e-2)
    assert np.all(np.asarray(lc.coherence) > 0.99)


def test_unlocked_phases_have_low_coherence(rng):
    tr, *_ = synthetic(rng, n=40)
    # scramble the relative phase of DOF 1 per trajectory: no locking
    x = np.asarray(tr.x).copy()
    for i in range(x.shape[0]):
        x[i, :, 1] = np.roll(x[i, :, 1], rng.integers(0, 100))
    lc = limit_cycle(Trajectories(ts=tr.ts, x=jnp.asarray(x), v=tr.v, estimate=None,
                                  mass=tr.mass, omega=tr.omega, result=tr.result))
    assert float(lc.coherence[1]) < 0.5
    assert float(lc.coherence[0]) == pytest.approx(1.0)


def test_no_successful_trajectory_is_a_code(rng):
    tr, *_ = synthetic(rng, n=2, bad=(0, 1))
    lc = limit_cycle(tr)
    assert lc.result == RESULTS.trajectory_nonfinite
    assert bool(jnp.all(jnp.isnan(lc.amplitude)))
    with pytest.raises(ValueError, match="reference"):
        limit_cycle(tr, reference=5)


def test_dynamics_stage_imports_no_later_stage():
    """dynamics sits between mechanics and quantum: importing it loads neither quantum nor
    workflows (docs/architecture.md, one-way data flow)."""
    import subprocess
    import sys

    code = ("import sys, jaxbind.dynamics, jaxbind.dynamics.limit_cycles; "
            "bad = [m for m in sys.modules if m.startswith(('jaxbind.quantum', 'jaxbind.workflows'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
