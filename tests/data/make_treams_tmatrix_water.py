"""Reference tmat.h5 file of a sphere in WATER written by treams (KIT; 0.4.7 was used, with
h5py 3.16): the embedding-medium / wavelength checks of the multipole entry points.

Run: <treams-venv>/bin/python tests/data/make_treams_tmatrix_water.py (treams pins
scipy < 1.17, so it is not in the `test` extra). Writes tests/data/treams_water.tmat.h5: a
silica sphere (n = 1.45, radius 150 nm) embedded in water (ε = 1.33², μ = 1) at three vacuum
wavelengths 1000, 1064, 1100 nm (tmatrix of shape (3, 30, 30), l_max = 3, lengths in nm),
read by tests/optics/test_multipole_tmatrix_io.py.
"""

import pathlib

import h5py
import numpy as np
import treams
import treams.io as io

treams.config.POLTYPE = "parity"
HERE = pathlib.Path(__file__).parent
N_WATER, N_SILICA, RADIUS_NM, L_MAX = 1.33, 1.45, 150.0, 3
ts = [treams.TMatrix.sphere(L_MAX, 2 * np.pi / lam, [RADIUS_NM],
                            [treams.Material(N_SILICA**2), treams.Material(N_WATER**2)])
      for lam in (1000.0, 1064.0, 1100.0)]
with h5py.File(HERE / "treams_water.tmat.h5", "w") as f:
    io.save_hdf5(f, ts, name="silica sphere in water", description="n = 1.45, radius 150 nm, "
                 "water n = 1.33, 1000/1064/1100 nm; made by tests/data/"
                 "make_treams_tmatrix_water.py", lunit="nm")
print("wrote", HERE / "treams_water.tmat.h5")
