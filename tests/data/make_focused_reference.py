"""Reference forces and stiffnesses of silica spheres in a focused Gaussian beam, from miepy.

Made with miepy 1.1.0 (generalized multiparticle Mie theory, its own VSH projection and
force formula; https://github.com/johnaparker/miepy) in its own virtual environment:

    /path/to/miepy-venv/bin/python tests/data/make_focused_reference.py

It writes tests/data/focused_miepy.json, read by tests/optics/test_focused_reference.py.

The beam: ``miepy.sources.gaussian_beam(width=w, polarization=(1, 0), power=P,
theta_max=asin(NA))``, an angular-spectrum focused beam whose far-field amplitude is
exp(−(k w tan θ/2)²) (the angular spectrum of a focal-plane Gaussian of waist w), cut at
θ_max, normalised so that the *untruncated* spectrum carries P.  We take w = 2/(k f0 NA)
(f0 = 1), the waist of the paraxial limit of a FocusedBeam with filling f0.  The test builds
the same beam in jaxbind (see the test's docstring for the mapping).

Accuracy of the reference: miepy projects the beam onto VSHs with a trapezoid rule in θ of
``sampling`` points (default 20, a 1e-3 error); here the projection is run with 81, 161 and
321 points and Richardson-extrapolated in h² (Euler–Maclaurin), twice; ``rel_error`` is the
difference of the two extrapolations (161/321 vs 81/161) relative to the largest component.
Stiffnesses κ_a = −∂F_a/∂r_a at the focus are central differences with steps h and 2h
(h = 1 % of the waist, resp. of max(w, π w²/λ) along z), Richardson-extrapolated (O(h⁴)).

Particles: silica (n = 1.45, constant) in vacuum, λ = 1064 nm:
  * "dipole": a = 50 nm with only its dipolar Mie coefficients a1, b1 (miepy lmax = 2 with
    the l = 2 coefficients set to zero, so the l = 2 incident coefficients — the field
    gradients — enter the force): the MieDipole model;
  * "sphere100": a = 100 nm at lmax = 5, "sphere150": a = 150 nm at lmax = 6 (converged to
    ≤ 1e-9 relative in lmax at NA 0.8).
"""

import functools
import json
import pathlib
import time

import numpy as np

import miepy

LAM = 1064e-9
K = 2 * np.pi / LAM
INDEX = 1.45
POWER = 1.0
FILLING = 1.0
NAS = [0.05, 0.2, 0.45, 0.6, 0.8, 0.9]
PARTICLES = [("dipole", 50e-9, 2), ("sphere100", 100e-9, 5), ("sphere150", 150e-9, 6)]
SAMPLINGS = (81, 161, 321)
_project = miepy.vsh.decomposition.integral_project_source_far
silica = miepy.constant_material(index=INDEX)


def scales(NA):
    w = 2.0 / (K * FILLING * NA)
    return w, max(w, np.pi * w**2 / LAM)


def points(NA):
    w, zs = scales(NA)
    return np.array([[0.0, 0.0, 0.0], [0.15 * w, -0.1 * w, 0.1 * zs],
                     [-0.05 * w, 0.2 * w, -0.15 * zs]])


def evaluate(NA, radius, lmax, dipole, sampling):
    """Forces at points(NA) and the stiffness diagonal at the focus, one projection."""
    miepy.vsh.decomposition.integral_project_source_far = functools.partial(
        _project, sampling=sampling)
    w, zs = scales(NA)
    src = miepy.sources.gaussian_beam(width=w, polarization=[1, 0], power=POWER,
                                      theta_max=np.arcsin(NA))
    cl = miepy.sphere_cluster(position=[0.0, 0.0, 0.0], radius=radius, material=silica,
                              source=src, wavelength=LAM, lmax=lmax, interactions=False)
    if dipole:
        cl.mie_scat[:, :, 1:] = 0.0

    def force(p):
        cl.update_position(np.asarray(p, float))
        return cl.force()[0].copy()

    F = np.array([force(p) for p in points(NA)])
    kappa = np.zeros(3)
    for a, h in enumerate((0.01 * w, 0.01 * w, 0.01 * zs)):
        e = np.zeros(3)
        e[a] = h
        d1 = (force(e)[a] - force(-e)[a]) / (2 * h)
        d2 = (force(2 * e)[a] - force(-2 * e)[a]) / (4 * h)
        kappa[a] = -(4 * d1 - d2) / 3
    return F, kappa, src.theta_cutoff(K)


def main():
    out = {"code": "miepy 1.1.0", "wavelength": LAM, "index": INDEX, "power": POWER,
           "filling": FILLING, "polarization": [1.0, 0.0],
           "beam": "miepy.sources.gaussian_beam(width=2/(k*filling*NA), polarization=(1,0), "
                   "power=power, theta_max=asin(NA))",
           "samplings": list(SAMPLINGS), "cases": []}
    for NA in NAS:
        for name, radius, lmax in PARTICLES:
            t0 = time.time()
            runs = [evaluate(NA, radius, lmax, name == "dipole", s) for s in SAMPLINGS]
            theta_c = runs[0][2]
            rich = [[(4 * b[i] - a[i]) / 3 for i in range(2)] for a, b in zip(runs, runs[1:])]
            F, kappa = rich[1]
            errF = np.max(np.abs(rich[1][0] - rich[0][0])) / np.max(np.abs(F))
            errK = np.max(np.abs(rich[1][1] - rich[0][1]) / np.abs(kappa))
            out["cases"].append({
                "NA": NA, "particle": name, "radius": radius, "lmax": lmax,
                "dipole_only": name == "dipole", "width": scales(NA)[0],
                "theta_cutoff": float(theta_c), "points": points(NA).tolist(),
                "forces": F.tolist(), "kappa": kappa.tolist(),
                "rel_error_forces": float(errF), "rel_error_kappa": float(errK)})
            print(f"NA {NA} {name}: F0 = {F[0]}, kappa = {kappa}, err {errF:.1e} {errK:.1e} "
                  f"({time.time() - t0:.1f} s)", flush=True)
    path = pathlib.Path(__file__).with_name("focused_miepy.json")
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
