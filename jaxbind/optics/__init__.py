"""jaxbind.optics: Green tensors, materials, Mie theory, beams, particles, the coupled-dipole
solve, scatterer models, forces, torques, the pair kernel, potentials, Casimir–Polder, drive states.

Submodules and their public names are imported lazily on first use (``lazy_loader``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["green", "materials", "mie", "ellipsoids", "beams", "focused", "pupil", "particles",
                "scatterers", "dipoles",
                "forces", "pair", "potentials", "casimir", "drive_states"],
    submod_attrs={
        "green": ["green_tensor", "green_matrix", "cross_green_tensor", "green_tensor_derivative",
                  "green_tensor_parts", "static_green_tensor"],
        "materials": ["ConstantIndex", "Permittivity", "DrudeLorentz", "Sellmeier",
                      "clausius_mossotti"],
        "mie": ["mie_coefficients", "mie_efficiencies", "dipole_polarizabilities"],
        "beams": ["PlaneWave", "Tweezer", "CoherentBeams", "intensity_map"],
        "focused": ["FocusedBeam", "focused_array", "aperture_transmission", "SampledPupil"],
        "particles": ["Particle", "Particles"],
        "scatterers": ["ScattererModel", "DipoleModel", "MieDipole", "ClausiusMossotti"],
        "dipoles": ["solve_dipoles", "DipoleSolution", "dipole_system", "DipoleSystem"],
        "forces": ["optical_forces", "optical_torques", "interparticle_forces", "dipole_forces",
                   "dipole_torques", "isolated_forces", "nonreciprocity_factors",
                   "stiffness_matrix", "NonReciprocity"],
        "pair": ["pair_forces", "pair_nonreciprocity_factors", "PairForces"],
    },
)
