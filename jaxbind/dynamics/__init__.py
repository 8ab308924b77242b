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
  phase read off trajectories (:func:`limit_cycle`);
* :mod:`jaxbind.dynamics.continuation` — branches of limit cycles in one parameter
  (pseudo-arclength continuation of the shooting equations, folds, Floquet multipliers,
  the Hopf threshold): :func:`continue_limit_cycle`, :func:`continue_from_hopf`, :func:`continue_orbit`.
"""

from .langevin import ColdDamping, LangevinModel, simulate
from .limit_cycles import (LimitCycle, OrbitSolution, PeriodicOrbit, find_limit_cycle,
                           limit_cycle, periodic_orbit, shoot_periodic_orbit)
from .result import Trajectories
from .continuation import (STOP_REASONS, LimitCycleBranch, OrbitBranch, continue_from_hopf,
                           continue_limit_cycle, continue_orbit)

__all__ = ["LangevinModel", "ColdDamping", "simulate", "Trajectories", "LimitCycle", "limit_cycle",
           "PeriodicOrbit", "periodic_orbit", "find_limit_cycle", "OrbitSolution",
           "shoot_periodic_orbit", "OrbitBranch", "continue_orbit", "LimitCycleBranch",
           "continue_limit_cycle", "continue_from_hopf", "STOP_REASONS"]
