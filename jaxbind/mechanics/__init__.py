"""jaxbind.mechanics: tweezer arrays → the linearized non-Hermitian model (far-field closed
forms or exact autodiff), two-particle rates, modes, exceptional points, regime maps.

Submodules and their public names are imported lazily on first use (``lazy_loader``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["array", "exact", "rates", "modes", "regimes", "trapping"],
    submod_attrs={
        "array": ["TweezerArray", "LinearizedArray", "linearize"],
        "rates": ["two_particle_rates", "coupling_rates", "TwoParticleRates"],
        "modes": ["eigenfrequencies", "exceptional_points", "dynamical_matrix", "modes"],
        "regimes": ["regime_map", "unidirectional_chain"],
        "trapping": ["trap_frequencies"],
    },
)
