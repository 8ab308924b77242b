"""Reference data for the HELICITY basis of the tmat.h5 format (modes/polarization
"positive"/"negative"), written by treams (KIT; 0.4.7 was used, with h5py 3.16).

* tests/data/treams_chiral_helicity.tmat.h5: one chiral sphere (ε = 2.25, μ = 1, chirality
  κ = 0.1, radius 120 nm) in water (ε = 1.33²), λ = 1064 nm, l_max = 2, lengths in nm, in the
  helicity basis; tests/data/treams_chiral_parity.tmat.h5: the same T-matrix converted by
  treams (``TMatrix.changepoltype("parity")``) and written in the parity basis. A chiral
  sphere couples the helicities unequally, so a swapped ± or N ↔ M would show. (treams'
  ``TMatrix.sphere`` built directly with POLTYPE = "parity" drops κ, hence the conversion.)
* tests/data/treams_helicity_planewave.npz: treams' helicity-basis expansion of an elliptical
  plane wave (pins the sign convention against the engine's own parity coefficients
  independently of treams' conversion: c_± = (c_N ± c_M)/√2).

Run: <treams-venv>/bin/python tests/data/make_treams_tmatrix_helicity.py (treams pins
scipy < 1.17, so it is not in the `test` extra); read by tests/optics/test_multipole_tmatrix_io.py.
"""

import pathlib

import h5py
import numpy as np
import treams
import treams.io as io

HERE = pathlib.Path(__file__).parent
K0 = 2 * np.pi / 1064.0
treams.config.POLTYPE = "helicity"
t = treams.TMatrix.sphere(2, K0, [120.0], [treams.Material(2.25, 1.0, 0.1),
                                           treams.Material(1.33**2)])
for poltype, tm in (("helicity", t), ("parity", t.changepoltype("parity"))):
    with h5py.File(HERE / f"treams_chiral_{poltype}.tmat.h5", "w") as f:
        io.save_hdf5(f, [tm], name="chiral sphere in water", description=f"{poltype} basis; "
                     "eps 2.25, kappa 0.1, radius 120 nm, water, 1064 nm; made by "
                     "tests/data/make_treams_tmatrix_helicity.py", lunit="nm")

n = np.array([0.3, -0.2, 0.9])
n /= np.linalg.norm(n)
e = np.cross(n, [0.0, 0.0, 1.0])
e /= np.linalg.norm(e)
basis = treams.SphericalWaveBasis.default(2)  # helicity: pol 1 = positive, 0 = negative
c = sum(w * np.asarray(treams.plane_wave(K0 * n, list(v), k0=K0, material=treams.Material())
                       .expand(basis)) for w, v in ((1.0, e), (0.5j, np.cross(n, e))))
np.savez_compressed(HERE / "treams_helicity_planewave.npz", l=basis.l, m=basis.m, pol=basis.pol,
                    coeffs=c, direction=n, polarization=e + 0.5j * np.cross(n, e))
print("wrote helicity/parity chiral files and treams_helicity_planewave.npz")
