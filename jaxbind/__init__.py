"""jaxbind: differentiable, GPU-ready optical binding and levitated quantum optomechanics.

This file only declares the public API (docs/architecture.md, "Public API"). The top level
holds the everyday physics, the solver objects and the result enumeration; each family lives
in its own sub-namespace, re-exported from its subpackage:

* layers: ``jb.optics``, ``jb.mechanics``, ``jb.quantum``, ``jb.workflows``;
* families: ``jb.green``, ``jb.mie``, ``jb.scatterers``, ``jb.materials``, ``jb.ellipsoids``, ``jb.beams``,
  ``jb.pair``, ``jb.potentials``, ``jb.casimir``, ``jb.drive_states``, ``jb.rates``,
  ``jb.regimes`` (modes: ``jb.mechanics.modes``), ``jb.observables``, ``jb.cooling``,
  ``jb.fock``, ``jb.nonhermitian``, ``jb.sympathetic``, ``jb.contrib`` (backend-specific
  speed-ups), ``jb.plot``;
* ``jb.constants``, ``jb.solvers``, ``jb.results``.

Imports are lazy (PEP 562, through ``lazy_loader``): ``import jaxbind`` does not import JAX,
so command-line help is instant; the first use of a name imports what it needs. Names that
moved from the top level to a family still resolve for one release, with a
``DeprecationWarning`` naming the new spelling.
"""

from __future__ import annotations

import importlib
import warnings

import lazy_loader as _lazy

#: top-level names → the module (relative to jaxbind) that defines them
_TOP = {
    "results": ["RESULTS"],
    "solvers": ["Direct", "Born", "GMRES", "BlockGMRES", "Kron", "Sign"],
    "optics.green": ["green_tensor", "green_matrix"],
    "optics.materials": ["clausius_mossotti"],
    "optics.mie": ["mie_coefficients", "mie_efficiencies", "dipole_polarizabilities"],
    "optics.beams": ["PlaneWave", "Tweezer", "CoherentBeams"],
    "optics.particles": ["Particle", "Particles"],
    "optics.scatterers": ["MieDipole", "ClausiusMossotti"],
    "optics.dipoles": ["solve_dipoles", "DipoleSolution"],
    "optics.forces": ["optical_forces", "optical_torques", "interparticle_forces",
                      "nonreciprocity_factors", "stiffness_matrix"],
    "mechanics.array": ["TweezerArray", "LinearizedArray", "linearize"],
    "mechanics.rates": ["two_particle_rates"],
    "mechanics.modes": ["eigenfrequencies"],
    "quantum.gaussian": ["LinearSystem", "GaussianState", "SteadyState", "steady_state",
                         "evolve", "physicality"],
    "quantum.observables": ["occupations", "log_negativity"],
    "workflows.grid": ["Grid"],
    "workflows.sweep": ["sweep"],
    "workflows.optimize": ["optimize", "OptimizeResult"],
    "_compilation_cache": ["enable_compilation_cache"],
}

#: family sub-namespaces → module
_FAMILIES = {
    "optics": "optics", "mechanics": "mechanics", "quantum": "quantum", "workflows": "workflows",
    "constants": "constants", "solvers": "solvers", "results": "results", "contrib": "contrib",
    "plot": "plot",
    "green": "optics.green", "mie": "optics.mie", "materials": "optics.materials",
    "ellipsoids": "optics.ellipsoids", "beams": "optics.beams", "pair": "optics.pair",
    "scatterers": "optics.scatterers", "potentials": "optics.potentials", "casimir": "optics.casimir",
    "drive_states": "optics.drive_states", "rates": "mechanics.rates",
    "regimes": "mechanics.regimes",
    "observables": "quantum.observables", "cooling": "quantum.cooling", "fock": "quantum.fock",
    "sympathetic": "quantum.sympathetic", "nonhermitian": "quantum.nonhermitian",
}

#: names that left the top level: old name → (module, attribute, new spelling)
_MOVED = {
    # optics
    **{n: ("optics.green", n, f"jaxbind.green.{n}") for n in (
        "cross_green_tensor", "green_tensor_derivative", "green_tensor_parts",
        "static_green_tensor")},
    **{n: ("optics.materials", n, f"jaxbind.materials.{n}") for n in (
        "ConstantIndex", "Permittivity", "DrudeLorentz", "Sellmeier")},
    **{n: ("optics.ellipsoids", n, f"jaxbind.ellipsoids.{n}") for n in (
        "Ellipsoid", "depolarization_factors", "rotation_matrix",
        "spheroid_depolarization_factors", "susceptibility_tensor")},
    **{n: ("optics.mie", n, f"jaxbind.mie.{n}") for n in (
        "kerker_deviation", "kerker_polarizabilities", "MieEfficiencies", "required_n_start",
        "scaled_dipole_polarizabilities", "wiscombe_n_max")},
    "intensity_map": ("optics.beams", "intensity_map", "jaxbind.beams.intensity_map"),
    **{n: ("optics.forces", n, f"jaxbind.optics.forces.{n}") for n in (
        "NonReciprocity", "dipole_forces")},
    **{n: ("optics.potentials", n, f"jaxbind.potentials.{n}") for n in (
        "binding_potentials", "joint_binding_potential", "potential_minima",
        "total_potentials", "trap_potential", "tweezer_pair")},
    **{n: ("optics.casimir", n, f"jaxbind.casimir.{n}") for n in (
        "casimir_polder", "casimir_polder_energy")},
    **{n: ("optics.drive_states", n, f"jaxbind.drive_states.{n}") for n in (
        "CatState", "CoherentMixture", "CoherentState", "SqueezedVacuum")},
    **{n: ("optics.pair", n, f"jaxbind.pair.{n}") for n in (
        "PairForces", "pair_forces", "pair_forces_scaled", "pair_nonreciprocity_factors")},
    **{n: ("contrib.cpu", n, f"jaxbind.contrib.{n}") for n in (
        "CPU_COMPILER_OPTIONS", "pair_forces_axial")},
    # mechanics
    **{n: ("mechanics.rates", n, f"jaxbind.rates.{n}") for n in (
        "TwoParticleRates", "coupling_rates")},
    "modes": ("mechanics.modes", "modes", "jaxbind.mechanics.modes.modes"),
    **{n: ("mechanics.modes", n, f"jaxbind.mechanics.modes.{n}") for n in (
        "dynamical_matrix", "exceptional_points", "nonhermitian_hamiltonian",
        "petermann_factors", "pt_phase")},
    **{n: ("mechanics.regimes", n, f"jaxbind.regimes.{n}") for n in (
        "regime_map", "unidirectional_chain")},
    # quantum
    **{n: ("quantum.observables", n, f"jaxbind.observables.{n}") for n in (
        "collective_occupation", "purity", "symplectic_eigenvalues")},
    **{n: ("quantum.response", n, f"jaxbind.quantum.response.{n}") for n in (
        "heat_currents", "spectrum")},
    **{n: ("quantum.cooling", n, f"jaxbind.cooling.{n}") for n in (
        "CoolingParams", "linear_rate_occupations")},
    "cooling_steady_state": ("quantum.cooling", "steady_state_occupations",
                             "jaxbind.cooling.steady_state_occupations"),
    "cooling_steady_state_grid": ("quantum.cooling_grid", "steady_state_grid",
                                  "jaxbind.quantum.cooling_grid.steady_state_grid"),
    "cooling_steady_state_sweep": ("quantum.cooling_grid", "steady_state_sweep",
                                   "jaxbind.quantum.cooling_grid.steady_state_sweep"),
    **{n: ("quantum.fock", n, f"jaxbind.fock.{n}") for n in ("FockModel", "three_mode_model")},
    "fock_evolve": ("quantum.fock", "evolve", "jaxbind.fock.evolve"),
    "fock_steady_state": ("quantum.fock", "steady_state", "jaxbind.fock.steady_state"),
    "fock_steady_state_iterative": ("quantum.fock_iterative", "steady_state_iterative",
                                    "jaxbind.fock.steady_state(model, jaxbind.BlockGMRES())"),
    **{n: ("quantum.sympathetic", n, f"jaxbind.sympathetic.{n}") for n in (
        "SympatheticParams", "cooling_objective")},
    "sympathetic_occupations": ("quantum.sympathetic", "steady_occupations",
                                "jaxbind.sympathetic.steady_occupations"),
    # workflows
    "optimize_restarts": ("workflows.optimize", "optimize_restarts",
                          "jaxbind.workflows.optimize.optimize_restarts"),
}

#: removed names (no replacement in the public API) → why
_REMOVED = {
    "COOLING_GRID_COMPILER_OPTIONS": "the cooling grid's XLA options are applied automatically "
    "on CPU (jaxbind.quantum.cooling_grid); they are no longer public",
}

_getattr, _dir, __all__ = _lazy.attach(__name__, submodules=[], submod_attrs=_TOP)
__all__ = sorted({*__all__, *_FAMILIES, "__version__"})


def __getattr__(name: str):
    if name in _FAMILIES:
        mod = importlib.import_module(f"{__name__}.{_FAMILIES[name]}")
        globals()[name] = mod
        return mod
    if name in _MOVED:
        module, attr, new = _MOVED[name]
        warnings.warn(f"jaxbind.{name} moved to {new}; the top-level name will be removed in the "
                      "next release", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    if name in _REMOVED:
        raise AttributeError(f"jaxbind.{name} was removed: {_REMOVED[name]}")
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("jaxbind")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.1.0"
    return _getattr(name)


def __dir__():
    return list(__all__)
