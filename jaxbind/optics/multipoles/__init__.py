"""Multipolar (T-matrix) scattering engine: VSWFs, translations, T-matrices, the coupled
multi-particle solve and forces (l_max = 1 is the coupled-dipole model).

Modules: :mod:`.vswf` (vector spherical wave functions), :mod:`.translation` (addition
theorem), :mod:`.tmatrix` (single-particle T-matrices), :mod:`.incident` (beam-shape
coefficients), :mod:`.solve` (multiple scattering), :mod:`.forces` (forces, cross-sections),
:mod:`.coreshell` (core–shell spheres), :mod:`.api` (public entry points and the :class:`Multipole` model).
"""

from .api import (CrossSections, Multipole, cross_sections, multipole_forces,
                  multipole_interparticle_forces, multipole_isolated_forces, multipole_system,
                  multipole_torques, solve_multipoles)
from .coreshell import CoreShell, coreshell_coefficients, coreshell_tmatrix
from .incident import beam_coefficients, plane_wave_coefficients
from .solve import MultipoleSolution, MultipoleSystem
from .tmatrix import as_tmatrices, dipole_tmatrices, mie_tmatrix, mie_tmatrices
from .tmatrix_io import TMatrixFile, read_tmatrix, write_tmatrix
from .translation import regular_translation_matrices, translation_gradient, translation_matrix
from .truncation import TruncationWarning, wiscombe_l_max
from .vswf import expansion_fields, n_coefficients

__all__ = [
    "Multipole", "solve_multipoles", "multipole_forces", "multipole_torques", "multipole_isolated_forces",
    "multipole_interparticle_forces", "cross_sections", "CrossSections",
    "multipole_system", "MultipoleSystem", "MultipoleSolution", "beam_coefficients",
    "plane_wave_coefficients", "mie_tmatrix", "mie_tmatrices", "dipole_tmatrices",
    "as_tmatrices", "CoreShell", "coreshell_coefficients", "coreshell_tmatrix",
    "TruncationWarning", "wiscombe_l_max", "read_tmatrix", "write_tmatrix", "TMatrixFile", "translation_matrix",
    "regular_translation_matrices", "translation_gradient", "expansion_fields", "n_coefficients",
]
