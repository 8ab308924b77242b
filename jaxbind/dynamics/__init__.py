"""Stochastic nonlinear dynamics: Langevin trajectories with the engine's full optical forces.

The stage between :mod:`jaxbind.mechanics` and :mod:`jaxbind.quantum` in the pipeline
(docs/architecture.md): it imports :mod:`jaxbind.optics` and :mod:`jaxbind.mechanics` only.

* :mod:`jaxbind.dynamics.langevin` — the model (:class:`LangevinModel`: optical forces, gas
  damping and thermal noise, photon-recoil shot noise), measurement-based feedback
  (:class:`ColdDamping`) and the SDE solve (:func:`simulate`, diffrax);
* :mod:`jaxbind.dynamics.result` — :class:`Trajectories` (time series, per-trajectory result
  codes, summary statistics: covariances, energies, PSDs, correlation functions);
* :mod:`jaxbind.dynamics.limit_cycles` — limit cycles past the linear instability: periodic
  orbits of the full-force model by shooting (:func:`find_limit_cycle`, :func:`periodic_orbit`,
  differentiable, with Floquet stability) and the stationary amplitude, frequency and relative
  phase read off trajectories (:func:`limit_cycle`).
"""

from .langevin import ColdDamping, LangevinModel, simulate
from .limit_cycles import (LimitCycle, OrbitSolution, PeriodicOrbit, find_limit_cycle,
                           limit_cycle, periodic_orbit, shoot_periodic_orbit)
from .result import Trajectories

__all__ = ["LangevinModel", "ColdDamping", "simulate", "Trajectories", "LimitCycle", "limit_cycle",
           "PeriodicOrbit", "periodic_orbit", "find_limit_cycle", "OrbitSolution",
           "shoot_periodic_orbit"]
