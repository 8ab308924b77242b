"""jaxbind: differentiable, GPU-ready optical binding and levitated quantum optomechanics.

This file only re-exports the public API (DESIGN.md "Public API shape").
"""

from importlib.metadata import PackageNotFoundError, version as _version

from . import constants as constants

# optics: Green tensors
from .optics.green import (
    cross_green_tensor as cross_green_tensor,
    green_matrix as green_matrix,
    green_tensor as green_tensor,
    green_tensor_derivative as green_tensor_derivative,
    green_tensor_parts as green_tensor_parts,
    static_green_tensor as static_green_tensor,
)

# optics: materials and polarizabilities
from .optics.materials import (
    ConstantIndex as ConstantIndex,
    Permittivity as Permittivity,
    DrudeLorentz as DrudeLorentz,
    Sellmeier as Sellmeier,
    clausius_mossotti as clausius_mossotti,
)
from .optics.ellipsoids import (
    Ellipsoid as Ellipsoid,
    depolarization_factors as depolarization_factors,
    rotation_matrix as rotation_matrix,
    spheroid_depolarization_factors as spheroid_depolarization_factors,
    susceptibility_tensor as susceptibility_tensor,
)

# optics: Mie theory
from .optics.mie import (
    dipole_polarizabilities as dipole_polarizabilities,
    kerker_deviation as kerker_deviation,
    kerker_polarizabilities as kerker_polarizabilities,
    MieEfficiencies as MieEfficiencies,
    mie_coefficients as mie_coefficients,
    mie_efficiencies as mie_efficiencies,
    required_n_start as required_n_start,
    scaled_dipole_polarizabilities as scaled_dipole_polarizabilities,
    wiscombe_n_max as wiscombe_n_max,
)

# optics: beams
from .optics.beams import (
    CoherentBeams as CoherentBeams,
    PlaneWave as PlaneWave,
    Tweezer as Tweezer,
    intensity_map as intensity_map,
)

# optics: particles, self-consistent dipoles, forces
from .optics.particles import Particle as Particle, Particles as Particles
from .optics.dipoles import DipoleSolution as DipoleSolution, solve_dipoles as solve_dipoles
from .optics.forces import (
    NonReciprocity as NonReciprocity,
    dipole_forces as dipole_forces,
    interparticle_forces as interparticle_forces,
    nonreciprocity_factors as nonreciprocity_factors,
    optical_forces as optical_forces,
    optical_torques as optical_torques,
    stiffness_matrix as stiffness_matrix,
)

# optics: potentials, Casimir–Polder, quantum states of the drive
from .optics.potentials import (
    binding_potentials as binding_potentials,
    joint_binding_potential as joint_binding_potential,
    potential_minima as potential_minima,
    total_potentials as total_potentials,
    trap_potential as trap_potential,
    tweezer_pair as tweezer_pair,
)
from .optics.casimir import casimir_polder as casimir_polder, casimir_polder_energy as casimir_polder_energy
from .optics.drive_states import (
    CatState as CatState,
    CoherentMixture as CoherentMixture,
    CoherentState as CoherentState,
    SqueezedVacuum as SqueezedVacuum,
)

from .optics.pair import (
    CPU_COMPILER_OPTIONS as CPU_COMPILER_OPTIONS,
    PairForces as PairForces,
    pair_forces as pair_forces,
    pair_forces_axial as pair_forces_axial,
    pair_forces_scaled as pair_forces_scaled,
    pair_nonreciprocity_factors as pair_nonreciprocity_factors,
)

# mechanics: tweezer arrays -> linearized non-Hermitian model, modes, regimes
from .mechanics.array import (
    LinearizedArray as LinearizedArray,
    TweezerArray as TweezerArray,
    linearize as linearize,
)
from .mechanics.rates import (
    TwoParticleRates as TwoParticleRates,
    coupling_rates as coupling_rates,
    two_particle_rates as two_particle_rates,
)
from .mechanics.modes import (
    dynamical_matrix as dynamical_matrix,
    eigenfrequencies as eigenfrequencies,
    exceptional_points as exceptional_points,
    modes as modes,
    nonhermitian_hamiltonian as nonhermitian_hamiltonian,
    petermann_factors as petermann_factors,
    pt_phase as pt_phase,
)
from .mechanics.regimes import regime_map as regime_map, unidirectional_chain as unidirectional_chain

# quantum: Gaussian moments, cooling, Fock-space validation
from .quantum.gaussian import (
    GaussianState as GaussianState,
    LinearSystem as LinearSystem,
    SteadyState as SteadyState,
    evolve as evolve,
    physicality as physicality,
    steady_state as steady_state,
)
from .quantum.observables import (
    collective_occupation as collective_occupation,
    heat_currents as heat_currents,
    log_negativity as log_negativity,
    occupations as occupations,
    purity as purity,
    spectrum as spectrum,
    symplectic_eigenvalues as symplectic_eigenvalues,
)
from .quantum.cooling import (
    CoolingParams as CoolingParams,
    linear_rate_occupations as linear_rate_occupations,
    steady_state_occupations as cooling_steady_state,
)
from .quantum.cooling_grid import (
    GRID_COMPILER_OPTIONS as COOLING_GRID_COMPILER_OPTIONS,
    steady_state_grid as cooling_steady_state_grid,
    steady_state_sweep as cooling_steady_state_sweep,
)
from .quantum.fock import (
    FockModel as FockModel,
    evolve as fock_evolve,
    steady_state as fock_steady_state,
    three_mode_model as three_mode_model,
)
from .quantum.fock_iterative import steady_state_iterative as fock_steady_state_iterative
from .quantum.sympathetic import (
    SympatheticParams as SympatheticParams,
    cooling_objective as cooling_objective,
    steady_occupations as sympathetic_occupations,
)
from .quantum.nonhermitian import (NonHermitianSystem as NonHermitianSystem, three_mode_system as nonhermitian_three_mode_system, evolve as nonhermitian_evolve, steady_state as nonhermitian_steady_state)  # noqa: E501

# workflows
from .workflows.grid import Grid as Grid
from .workflows.sweep import sweep as sweep
from .workflows.optimize import (
    OptimizeResult as OptimizeResult,
    optimize as optimize,
    optimize_restarts as optimize_restarts,
)

try:
    __version__ = _version("jaxbind")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"
