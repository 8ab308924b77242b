"""Reference T-matrix files in the common T-matrix HDF5 format (tmat.h5 v1,
https://tmatrix.github.io) written by treams (KIT; 0.4.7 was used, with h5py 3.16), and
treams' plane-wave expansion coefficients (to pin the VSWF convention of the format).

Run: <treams-venv>/bin/python tests/data/make_treams_tmatrix_h5.py (treams pins
scipy < 1.17, so it is not in the `test` extra). Writes tests/data/treams_coreshell.tmat.h5
(a core–shell sphere: silicon core 80 nm, silica shell to 150 nm, λ = 1064 nm, vacuum,
l_max = 4, lengths in nm) and tests/data/treams_planewave.npz, read by
tests/optics/test_multipole_tmatrix_io.py.
"""

import pathlib

import h5py
import numpy as np
import treams
import treams.io as io

treams.config.POLTYPE = "parity"
HERE = pathlib.Path(__file__).parent
LAM_NM = 1064.0
K0 = 2 * np.pi / LAM_NM  # 1/nm
CORE, SHELL = 3.6 + 0.01j, 1.45 + 0.0j
t = treams.TMatrix.sphere(4, K0, [80.0, 150.0],
                          [treams.Material(CORE**2), treams.Material(SHELL**2), treams.Material()])
with h5py.File(HERE / "treams_coreshell.tmat.h5", "w") as f:
    io.save_hdf5(f, [t], name="core-shell sphere", description="silicon core 80 nm, silica shell "
                 "150 nm, vacuum, 1064 nm; made by tests/data/make_treams_tmatrix_h5.py", lunit="nm")

# plane-wave expansion in treams' basis: oblique direction, elliptical polarization e + 0.5i n×e
n = np.array([0.3, -0.2, 0.9])
n /= np.linalg.norm(n)
e = np.cross(n, [0.0, 0.0, 1.0])
e /= np.linalg.norm(e)
basis = treams.SphericalWaveBasis.default(3)
c = sum(w * np.asarray(treams.plane_wave(K0 * n, list(v), k0=K0, material=treams.Material())
                       .expand(basis)) for w, v in ((1.0, e), (0.5j, np.cross(n, e))))
np.savez_compressed(HERE / "treams_planewave.npz", l=basis.l, m=basis.m, pol=basis.pol, coeffs=c,
                    direction=n, polarization=e + 0.5j * np.cross(n, e),
                    core=CORE, shell=SHELL, radii_nm=[80.0, 150.0], wavelength_nm=LAM_NM)
print("wrote", HERE / "treams_coreshell.tmat.h5", HERE / "treams_planewave.npz")
