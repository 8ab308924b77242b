"""Reference Mie coefficients a_n, b_n of core–shell spheres from miepy (independent code:
it solves the 8 × 8 boundary-condition system of each order directly, no recurrences).

Made with miepy 1.1.0 (its own virtual environment). Run:
<miepy-venv>/bin/python tests/data/make_miepy_coreshell.py; it writes
tests/data/miepy_coreshell.npz, read by tests/optics/test_multipole_coreshell.py.
Vacuum host, wavelength 1064 nm; miepy's a_n, b_n are Bohren & Huffman's (e^{−iωt}; the
homogeneous case is stored too, to check that convention).
"""

import pathlib

import miepy
import numpy as np

LAM = 1064e-9
LMAX = 10
CASES = [  # (core index, shell index, core radius, outer radius)
    (3.6 + 0.01j, 1.45 + 0.0j, 100e-9, 150e-9),   # silicon core, silica shell
    (1.45 + 0.0j, 0.26 + 6.97j, 60e-9, 75e-9),    # silica core, gold-like metal shell
    (1.45 + 0.0j, 4.0 + 0.5j, 50e-9, 300e-9),     # thick absorbing high-index shell
    (1.0 + 0.0j, 1.45 + 0.0j, 200e-9, 250e-9),    # hollow silica shell
    (2.0 + 0.1j, 1.5 + 0.01j, 10e-9, 20e-9),      # small (x = 0.12)
]
rows = []
for mc, ms, rc, rs in CASES:
    cs = miepy.single_mie_core_shell(rc, rs, miepy.constant_material(index=mc),
                                     miepy.constant_material(index=ms), LAM, LMAX)
    a, b = cs.solve()
    rows.append(np.stack([a[0], b[0]]))
hom = miepy.single_mie_sphere(150e-9, miepy.constant_material(index=1.45 + 0.01j), LAM, LMAX)
ah, bh = hom.solve_exterior()
path = pathlib.Path(__file__).with_name("miepy_coreshell.npz")
np.savez_compressed(path, cases=np.array(CASES), ab=np.array(rows), wavelength=LAM,
                    homogeneous=np.stack([ah[0], bh[0]]), homogeneous_case=np.array([1.45 + 0.01j, 150e-9]))
print("wrote", path)
