"""Stochastic nonlinear dynamics: Langevin trajectories with the engine's full optical forces.

The stage between :mod:`jaxbind.mechanics` and :mod:`jaxbind.quantum` in the pipeline
(docs/architecture.md): it imports :mod:`jaxbind.optics` and :mod:`jaxbind.mechanics` only.

* :mod:`jaxbind.dynamics.langevin` — the model (:class:`LangevinModel`: optical forces, gas
  damping and thermal noise, photon-recoil shot noise), measurement-based feedback
  (:class:`ColdDamping`) and the SDE solve (:func:`simulate`, diffrax);
* :mod:`jaxbind.dynamics.result` — :class:`Trajectories` (time series, per-trajectory result
  codes, summary statistics: covariances, energies, PSDs, correlation functions);
* :mod:`jaxbind.dynamics.limit_cycles` — stationary amplitude, frequency and relative phase of
  self-sustained motion past the linear instability.
"""

from .langevin import ColdDamping, LangevinModel, simulate
from .limit_cycles import LimitCycle, limit_cycle
from .result import Trajectories

__all__ = ["LangevinModel", "ColdDamping", "simulate", "Trajectories", "LimitCycle", "limit_cycle"]
