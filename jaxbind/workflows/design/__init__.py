"""jaxbind.workflows.design: gradient-based inverse design.

* :mod:`~jaxbind.workflows.design.optimize` — optax loops compiled as one program
  (``optimize``, ``optimize_restarts``; the function ``optimize`` is ``jaxbind.optimize``);
* :mod:`~jaxbind.workflows.design.constraints` — reparametrizations and projections;
* :mod:`~jaxbind.workflows.design.objectives` — couplings, exceptional points, cooling;
* :mod:`~jaxbind.workflows.design.objectives_kerker` — one-way Kerker pairs (paper 003);
* :mod:`~jaxbind.workflows.design.optimize_config` — TOML configs of ``jaxbind optimize``.

Imports are lazy (``lazy_loader``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["optimize", "constraints", "objectives", "objectives_kerker", "optimize_config"],
    submod_attrs={
        "optimize": ["OptimizeResult", "OptimizationWarning", "optimize_restarts", "trainable_only",
                     "trainable_mask"],
        "constraints": ["Bounded", "Positive", "Periodic", "SpacedChain", "Passive", "Constrained",
                        "constrained", "MinDistance"],
    },
)
