"""Reference cross-sections of two coupled spheres from treams (KIT T-matrix code).

Run: pip install treams (0.4.7 was used; it pins scipy < 1.17, so it is not in the `test`
extra) and `python tests/data/make_multipoles_treams.py`; it writes
tests/data/multipoles_treams.json, read by tests/optics/test_multipoles.py.
"""

import json
import pathlib

import numpy as np
import treams

treams.config.POLTYPE = "parity"

LAM = 1064e-9
K0 = 2 * np.pi / LAM
CASES = [  # (radius m, index, positions m)
    (200e-9, 1.45 + 0.02j, [[0.0, 0.0, 0.0], [0.55e-6, 0.2e-6, 0.1e-6]]),
    (60e-9, 3.6 + 0.01j, [[0.0, 0.0, 0.0], [0.0, 0.25e-6, 0.1e-6]]),
]
out = {"wavelength": LAM, "beam": "plane wave along +z, polarization x, unit amplitude",
       "treams_version": __import__("importlib.metadata").metadata.version("treams"), "cases": []}
for a, m, pos in CASES:
    rows = []
    for L in (1, 2, 3):
        t = treams.TMatrix.sphere(L, K0, a, [treams.Material(m**2), treams.Material()])
        tm = treams.TMatrix.cluster([t, t], np.array(pos)).interaction.solve()
        inc = treams.plane_wave([0, 0, K0], [1, 0, 0], k0=K0, material=treams.Material())
        sca, ext = tm.xs(inc.expand(tm.basis))
        rows.append({"l_max": L, "scattering": float(sca), "extinction": float(ext)})
    out["cases"].append({"radius": a, "index": [m.real, m.imag], "positions": pos, "rows": rows})
path = pathlib.Path(__file__).with_name("multipoles_treams.json")
path.write_text(json.dumps(out, indent=1))
print(path.read_text())
