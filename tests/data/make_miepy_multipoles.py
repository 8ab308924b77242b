"""Reference forces and torques of coupled spheres from miepy (independent multiparticle Mie /
generalized multiparticle Mie code, https://github.com/johnaparker/miepy).

Made with miepy 1.1.0 (its own virtual environment; miepy is not in the `test` extra: it
needs a C++ build). Run:  <miepy-venv>/bin/python tests/data/make_miepy_multipoles.py
It writes tests/data/miepy_multipoles.npz, read by tests/optics/test_multipoles_miepy.py.

Conventions of miepy (read from its source, checked against jaxbind in the tests):
* time dependence e^{−iωt} (a plane wave with polarization (TM, TE) = (1, i)/√2 along +z is
  x + i y, positive helicity: an absorbing sphere gets a torque along +z, as in jaxbind);
* `miepy.sources.plane_wave(polarization=(TM, TE), amplitude=1)` along +z (theta = 0) is
  E = amplitude · (TM x̂ + TE ŷ) e^{ikz} with E0 = amplitude = 1 V/m (intensity c ε0/2), phase
  0 at the origin; vacuum host (medium=None);
* the coupled system is solved with `method=miepy.solver.exact` (dense LU): miepy's default,
  BiCGSTAB, stops early (measured: 2e-3 relative error of the inter-particle force of two
  50-nm silica spheres at 0.5 λ, l_max = 3), not a reference;
* `sphere_cluster(...).force()` / `.torque()` (N, 3) in N and N·m, from the expansion
  coefficients with the exciting field truncated at the same l_max as the scattered one
  (jaxbind's public force uses the exciting field to l_max + 1, the exact far-field momentum
  flux of the truncated scattered wave; the test applies miepy's truncation to compare the
  same quantity, and compares the public force at converged l_max).
"""

import pathlib

import miepy
import numpy as np

POL = np.array([1.0, 0.6j]) / np.sqrt(1.36)  # elliptical (TM, TE): torques on absorbers
DIRS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.3, 0.742],
                 [-0.5, 0.7, 0.3]])
DIRS = DIRS / np.linalg.norm(DIRS, axis=1, keepdims=True)
SEPS = np.array([0.5, 1.0, 2.0, 3.5, 5.0])  # centre distance / wavelength
MATERIALS = {  # (wavelength, index, radii)
    "silica": (1064e-9, 1.45 + 0.0j, np.array([50e-9, 100e-9, 150e-9, 200e-9, 250e-9])),
    "silicon": (420e-9, 5.1 + 0.2j, np.array([30e-9, 60e-9, 90e-9, 120e-9])),
}


def run(pos, radius, index, lam, lmax):
    c = miepy.sphere_cluster(position=pos, radius=radius, material=miepy.constant_material(index=index),
                             source=miepy.sources.plane_wave(POL), wavelength=lam, lmax=lmax,
                             method=miepy.solver.exact)
    return np.asarray(c.force()), np.asarray(c.torque())


out = {"pol": POL, "dirs": DIRS, "seps": SEPS, "miepy_version": "1.1.0"}
for name, (lam, m, radii) in MATERIALS.items():
    for lmax in (1, 2, 3, 4):
        F = np.zeros((len(radii), len(SEPS), 2, 3))
        T = np.zeros_like(F)
        for ia, a in enumerate(radii):
            for js, s in enumerate(SEPS):
                if s * lam <= 2 * a:  # the spheres overlap (silicon a = 120 nm at 0.5 λ)
                    F[ia, js] = T[ia, js] = np.nan
                    continue
                pos = np.array([[0.0, 0.0, 0.0], s * lam * DIRS[js % len(DIRS)]])
                F[ia, js], T[ia, js] = run(pos, a, m, lam, lmax)
        out[f"{name}_F_l{lmax}"], out[f"{name}_T_l{lmax}"] = F, T
    out[f"{name}_lam"], out[f"{name}_index"], out[f"{name}_radii"] = lam, m, radii

# convergence in l_max: one silica pair (a = 200 nm, d = 0.5 λ), one silicon pair (a = 90 nm)
for name, a in (("silica", 200e-9), ("silicon", 90e-9)):
    lam, m, _ = MATERIALS[name]
    pos = np.array([[0.0, 0.0, 0.0], 0.5 * lam * DIRS[3]])
    conv = [run(pos, a, m, lam, L) for L in range(1, 11)]
    out[f"{name}_conv_F"] = np.array([f for f, _ in conv])
    out[f"{name}_conv_T"] = np.array([t for _, t in conv])
    out[f"{name}_conv_pos"], out[f"{name}_conv_a"] = pos, a

# an N = 8 cluster (silicon, a = 60 nm at 420 nm; silica a = 150 nm at 1064 nm), l_max = 3
rng = np.random.default_rng(7)
for name, a in (("silica", 150e-9), ("silicon", 60e-9)):
    lam, m, _ = MATERIALS[name]
    pts = []
    while len(pts) < 8:  # random points in a 2λ box, no two closer than 2.3 a
        p = rng.uniform(-1.0, 1.0, 3) * lam
        if all(np.linalg.norm(p - q) > 2.3 * a for q in pts):
            pts.append(p)
    pos = np.array(pts)
    out[f"{name}_cluster_pos"] = pos
    out[f"{name}_cluster_a"] = a
    out[f"{name}_cluster_F"], out[f"{name}_cluster_T"] = run(pos, a, m, lam, 3)

path = pathlib.Path(__file__).with_name("miepy_multipoles.npz")
np.savez_compressed(path, **out)
print("wrote", path, {k: np.shape(v) for k, v in out.items()})
