"""Reference forces on spheres in a host medium (water, n = 1.33) from miepy.

Made with miepy 1.1.0 (an independent multiparticle Mie / T-matrix code, with host media) in
its own environment: ``python tests/data/make_medium_reference.py`` (the project's test venv
does not need miepy). Writes tests/data/medium_reference.json, read by
tests/optics/test_medium.py.

Setting: x-polarized plane wave along +z in water (miepy ``plane_wave([1, 0])``, amplitude
A = 1 V/m in the medium, i.e. intensity I = n c ε0 A²/2), vacuum wavelength 1064 nm; spheres
of absolute index ``index`` (miepy ``constant_material``) in ``medium=constant_material(1.33)``.
miepy's forces (N) are stored per unit intensity (N per W/m²) for truncations l_max = 2 … 8.

miepy's force at a truncation l_max is *not* the force of the l_max-truncated scatterer: its
momentum-flux formula also truncates the exciting field at l_max, dropping the l_max + 1
incident terms that interfere with the scattered degree-l_max waves (at l_max = 1 its force
on a single sphere is about half the dipolar (n I/c)(C_ext − g C_sca); jaxbind keeps degree
l_max + 1 of the exciting field, so its ``Multipole(1)`` is the exact dipole force). The
test therefore compares jaxbind at an l_max where *both* codes have converged (miepy's
l_max = 7 and 8 agree to ≤ 2e-7 of the largest force for the cases below), not truncation by
truncation.

Cases were chosen where miepy itself is converged in water. For weakly scattering spheres in
water (silica, a = 50 nm, m_r = 1.09) miepy's forces wander by ~1e-4 relative between
l_max = 6, 8 and 10 (in vacuum they agree to ~1e-8), so such a case cannot serve as a 1e-6
reference; jaxbind's values there are stable in l_max from l_max = 3 on.
"""

import importlib.metadata
import json
import pathlib

import miepy
import numpy as np

LAM = 1064e-9
N_MED = 1.33
C = 299_792_458.0
EPS0 = 8.8541878128e-12
CASES = [  # (label, radius m, index, positions m)
    ("absorbing high-index pair", 40e-9, 2.5 + 0.05j,
     [[0.0, 0.0, 0.0], [0.15e-6, 0.25e-6, 0.1e-6]]),
    ("silica pair along x", 150e-9, 1.45, [[0.0, 0.0, 0.0], [0.9e-6, 0.0, 0.0]]),
]
L_MAX = (7, 8)

intensity = 0.5 * N_MED * C * EPS0 * 1.0**2
out = {"wavelength": LAM, "n_medium": N_MED,
       "beam": "plane wave along +z, polarization x, amplitude 1 V/m in the medium",
       "units": "force per unit intensity, N/(W/m^2)",
       "miepy_version": importlib.metadata.version("miepy"), "cases": []}
for label, a, m, pos in CASES:
    rows = []
    for L in L_MAX:
        cl = miepy.sphere_cluster(position=np.asarray(pos), radius=a,
                                  material=miepy.constant_material(index=m),
                                  medium=miepy.constant_material(index=N_MED),
                                  source=miepy.sources.plane_wave([1, 0]),
                                  wavelength=LAM, lmax=L)
        F = np.asarray(cl.force()).reshape(len(pos), 3) / intensity
        rows.append({"l_max": L, "force": F.tolist()})
    out["cases"].append({"label": label, "radius": a, "index": [complex(m).real, complex(m).imag],
                         "positions": pos, "rows": rows})
path = pathlib.Path(__file__).with_name("medium_reference.json")
path.write_text(json.dumps(out, indent=1))
print(path.read_text())
