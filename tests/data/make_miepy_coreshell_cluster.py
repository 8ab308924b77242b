"""Reference forces and torques of coupled CORE–SHELL spheres from miepy (independent
multiparticle Mie code; its core–shell particle solves the 8 × 8 boundary-condition system
of each order directly, no recurrences).

Made with miepy 1.1.0 (its own virtual environment). Run:
<miepy-venv>/bin/python tests/data/make_miepy_coreshell_cluster.py; it writes
tests/data/miepy_coreshell_cluster.npz, read by tests/optics/test_multipole_coreshell.py.
Conventions as in make_miepy_multipoles.py: vacuum host, an elliptically polarised plane wave
(TM, TE) = (1, 0.6i)/√1.36 along +z with E0 = 1 V/m, ``method=miepy.solver.exact`` (dense
LU), forces and torques (N, 3) in N and N·m from ``cluster.force()`` / ``.torque()``
(the exciting field truncated at l_max, as miepy does).

Cases (index of the core / the shell; radii core / outer):
* "si_sio2": silicon core (3.6 + 0.01i) in a silica shell (1.45), 60 / 90 nm, 1064 nm:
  pairs at centre distances 0.5, 1, 2, 3.5, 5 λ along a skew direction, l_max = 3; and a
  cluster of N = 6 in a 2λ box, l_max = 3;
* "au_sio2": gold core (0.54 + 2.23i, 532 nm) in a silica shell (1.46), 30 / 50 nm, 532 nm:
  pairs as above, l_max = 3; and a cluster of N = 4, l_max = 3.
"""

import pathlib

import miepy
import numpy as np

POL = np.array([1.0, 0.6j]) / np.sqrt(1.36)
DIR = np.array([0.6, 0.3, 0.742]) / np.linalg.norm([0.6, 0.3, 0.742])
SEPS = np.array([0.5, 1.0, 2.0, 3.5, 5.0])
CASES = {  # (wavelength, core index, shell index, core radius, outer radius, cluster N)
    "si_sio2": (1064e-9, 3.6 + 0.01j, 1.45 + 0.0j, 60e-9, 90e-9, 6),
    "au_sio2": (532e-9, 0.54 + 2.23j, 1.46 + 0.0j, 30e-9, 50e-9, 4),
}
LMAX = 3


def run(pos, lam, mc, ms, rc, rs):
    parts = [miepy.core_shell(p, rc, rs - rc, miepy.constant_material(index=mc),
                              miepy.constant_material(index=ms)) for p in pos]
    c = miepy.cluster(particles=parts, source=miepy.sources.plane_wave(POL), wavelength=lam,
                      lmax=LMAX, method=miepy.solver.exact)
    F, T = np.asarray(c.force()), np.asarray(c.torque())
    return (F if F.shape[-1] == 3 else F.T), (T if T.shape[-1] == 3 else T.T)


out = {"pol": POL, "dir": DIR, "seps": SEPS, "lmax": LMAX, "miepy_version": "1.1.0"}
rng = np.random.default_rng(11)
for name, (lam, mc, ms, rc, rs, n) in CASES.items():
    out[f"{name}_case"] = np.array([lam, mc, ms, rc, rs])
    pair = [run(np.array([[0.0, 0.0, 0.0], s * lam * DIR]), lam, mc, ms, rc, rs) for s in SEPS]
    out[f"{name}_pair_F"] = np.array([f for f, _ in pair])
    out[f"{name}_pair_T"] = np.array([t for _, t in pair])
    pts = []
    while len(pts) < n:  # random points in a 2λ box, no two closer than 2.3 × outer radius
        p = rng.uniform(-1.0, 1.0, 3) * lam
        if all(np.linalg.norm(p - q) > 2.3 * rs for q in pts):
            pts.append(p)
    pos = np.array(pts)
    out[f"{name}_cluster_pos"] = pos
    out[f"{name}_cluster_F"], out[f"{name}_cluster_T"] = run(pos, lam, mc, ms, rc, rs)

path = pathlib.Path(__file__).with_name("miepy_coreshell_cluster.npz")
np.savez_compressed(path, **out)
print("wrote", path, {k: np.shape(v) for k, v in out.items()})
