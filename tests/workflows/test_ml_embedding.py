"""jaxbind inside an ML pipeline: an equinox MLP trained *through* the differentiable
two-particle physics (amortized inverse design: target (g_r/g, g_a/g) → tweezer distance and
phase), one jitted training step, vmap over the batch; the test asserts the design error of
the trained network on held-out targets."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxbind.mechanics.array import TweezerArray
from jaxbind.mechanics.rates import two_particle_rates
from jaxbind.workflows.design.objectives import pair_array, pair_coupling_loss

# kd − 2π ∈ [1.0, 1.5], φ ∈ [0.1, 0.8]: there (g_r, g_a)/g = (cos kd cos φ, sin kd sin φ)
# is one-to-one (Jacobian sin(φ − kd) sin(φ + kd) ≠ 0), so the inverse design is well posed.
KD0, KD1, PH0, PH1 = 2 * np.pi + 1.0, 2 * np.pi + 1.5, 0.1, 0.8


class Designer(eqx.Module):
    """MLP: target rates (2,) → (kd, φ) inside the design box."""

    mlp: eqx.nn.MLP

    def __init__(self, key):
        self.mlp = eqx.nn.MLP(2, 2, 32, 2, activation=jax.nn.tanh, key=key)

    def __call__(self, t):
        o = jax.nn.sigmoid(self.mlp(t))
        return KD0 + (KD1 - KD0) * o[0], PH0 + (PH1 - PH0) * o[1]


def _targets(rng, n):
    """n targets (g_r, g_a)/g of random designs in the box (NumPy: no compile)."""
    kd = rng.uniform(KD0, KD1, n)
    ph = rng.uniform(PH0, PH1, n)
    return np.stack([np.cos(kd) * np.cos(ph), np.sin(kd) * np.sin(ph)], axis=-1)


# One compiled program each for the network's initialisation, the training loop and the
# evaluation (issue 20 §3: eager set-up ops and per-slice indexing each compiled a program).
STEPS, BATCH, N_TRAIN = 2000, 64, 512


def test_amortized_inverse_design_through_physics(key, rng):
    base = TweezerArray(np.array([[0.0, 0.0], [0.0, 2e-6]]), 0.2, 1064e-9, NA=0.8,
                        radius=75e-9, index=1.45, density=2200.0)
    net = eqx.filter_jit(Designer)(key)

    def design_error(net, t):
        kd, ph = net(t)
        return pair_coupling_loss(pair_array(base, kd, ph), t[0], t[1])

    def batch_loss(net, ts):
        return jnp.mean(jax.vmap(design_error, in_axes=(None, 0))(net, ts))

    opt = optax.adam(optax.exponential_decay(2e-2, 2000, 0.05))

    @eqx.filter_jit
    def train(net, train_set):  # every step (physics + backprop + update) in one compiled scan
        params, static = eqx.partition(net, eqx.is_inexact_array)
        batches = train_set.reshape(N_TRAIN // BATCH, BATCH, 2)

        def step(carry, i):
            params, state = carry
            ts = batches[i % batches.shape[0]]
            loss, g = jax.value_and_grad(lambda p: batch_loss(eqx.combine(p, static), ts))(params)
            upd, state = opt.update(g, state, params)
            return (eqx.apply_updates(params, upd), state), loss

        (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), jnp.arange(STEPS))
        return eqx.combine(params, static)

    @eqx.filter_jit
    def evaluate(net, ts):
        err = jax.vmap(design_error, in_axes=(None, 0))(net, ts)
        # the achieved (g_r, g_a)/g on the targets, physics evaluated independently
        kd, ph = jax.vmap(net)(ts)
        rates = jax.vmap(lambda a, b: two_particle_rates(pair_array(base, a, b)))(kd, ph)
        return err, jnp.stack([rates.g_r / rates.g, rates.g_a / rates.g], axis=-1)

    train_set = _targets(rng, N_TRAIN)
    held_out = _targets(rng, 64)
    before = float(np.mean(evaluate(net, held_out)[0]))
    net = train(net, train_set)
    err, got = (np.asarray(v) for v in evaluate(net, held_out))
    # rms error of the achieved (g_r, g_a)/g on unseen targets
    rms = float(np.sqrt(np.mean(np.sum((got - held_out) ** 2, axis=-1))))
    np.testing.assert_allclose(np.mean(err), rms**2, rtol=1e-10)
    assert rms < 2e-2, rms
    assert float(np.mean(err)) < 1e-2 * before
