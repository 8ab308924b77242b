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


def _targets(key, n):
    k1, k2 = jax.random.split(key)
    kd = jax.random.uniform(k1, (n,), minval=KD0, maxval=KD1)
    ph = jax.random.uniform(k2, (n,), minval=PH0, maxval=PH1)
    return jnp.stack([jnp.cos(kd) * jnp.cos(ph), jnp.sin(kd) * jnp.sin(ph)], axis=-1)


def test_amortized_inverse_design_through_physics(key):
    base = TweezerArray(jnp.array([[0.0, 0.0], [0.0, 2e-6]]), 0.2, 1064e-9, NA=0.8,
                        radius=75e-9, index=1.45, density=2200.0)
    k_net, k_train, k_test = jax.random.split(key, 3)
    net = Designer(k_net)

    def design_error(net, t):
        kd, ph = net(t)
        return pair_coupling_loss(pair_array(base, kd, ph), t[0], t[1])

    def batch_loss(net, ts):
        return jnp.mean(jax.vmap(design_error, in_axes=(None, 0))(net, ts))

    opt = optax.adam(optax.exponential_decay(2e-2, 2000, 0.05))
    state = opt.init(eqx.filter(net, eqx.is_inexact_array))

    @eqx.filter_jit
    def train_step(net, state, ts):  # the whole step (physics + backprop + update) in one jit
        loss, g = eqx.filter_value_and_grad(batch_loss)(net, ts)
        upd, state = opt.update(g, state, eqx.filter(net, eqx.is_inexact_array))
        return eqx.apply_updates(net, upd), state, loss

    train = _targets(k_train, 512)
    held_out = _targets(k_test, 64)
    before = float(batch_loss(net, held_out))
    for i in range(2000):
        idx = (i * 64) % 512
        net, state, _ = train_step(net, state, train[idx:idx + 64])
    err = jax.vmap(design_error, in_axes=(None, 0))(net, held_out)
    # rms error of the achieved (g_r, g_a)/g on unseen targets, physics evaluated independently
    kd, ph = jax.vmap(net)(held_out)
    rates = jax.vmap(lambda a, b: two_particle_rates(pair_array(base, a, b)))(kd, ph)
    got = jnp.stack([rates.g_r / rates.g, rates.g_a / rates.g], axis=-1)
    rms = float(jnp.sqrt(jnp.mean(jnp.sum((got - held_out) ** 2, axis=-1))))
    np.testing.assert_allclose(jnp.mean(err), rms**2, rtol=1e-10)
    assert rms < 2e-2, rms
    assert float(jnp.mean(err)) < 1e-2 * before
