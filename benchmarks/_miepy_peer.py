"""Peer timing for bench_multipoles.py: miepy (Parker et al., multiparticle Mie code) on the
same problem, run with miepy's OWN interpreter (it is not a jaxbind dependency):

    /tmp/pk_miepy/bin/python benchmarks/_miepy_peer.py POSITIONS.npy LMAX REPEAT

Silica (n = 1.45) spheres a = 100 nm in vacuum, x-polarised plane wave along +z at 1064 nm
(the cluster of bench_multipoles.py, positions in metres). Prints one JSON line: best-of-REPEAT
wall and CPU (``time.process_time``, all threads) seconds of (1) ``sphere_cluster(...)`` construction = source decomposition + aggregate
T-matrix assembly + solve (miepy's default solver, BiCGSTAB, and the exact LU), (2)
``cluster.force()`` on the solved cluster, miepy's version, and the (N, 3) forces of
the last repeat of each method (for the accuracy comparison).
"""

import json
import sys
import time

import numpy as np

import miepy

A, LAM, INDEX = 100e-9, 1064e-9, 1.45


def main():
    pos = np.load(sys.argv[1])
    lmax, repeat = int(sys.argv[2]), int(sys.argv[3])
    mat = miepy.constant_material(index=INDEX)
    src = miepy.sources.plane_wave.from_string(polarization="x")

    def build(method):
        return miepy.sphere_cluster(position=pos, radius=A, material=mat, source=src,
                                    wavelength=LAM, lmax=lmax, method=method)

    out = {"miepy": getattr(miepy, "__version__", "?"), "n": len(pos), "lmax": lmax}
    for name, method in (("bicgstab", miepy.solver.bicgstab), ("exact", miepy.solver.exact)):
        ts, tf, cs, cf = [], [], [], []
        for _ in range(repeat):
            t, c0 = time.perf_counter(), time.process_time()
            c = build(method)
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c0)
            t, c0 = time.perf_counter(), time.process_time()
            F = c.force()
            tf.append(time.perf_counter() - t)
            cf.append(time.process_time() - c0)
        out[name] = min(ts)
        out[name + "_forces"] = min(tf)
        out[name + "_cpu"] = min(cs)
        out[name + "_forces_cpu"] = min(cf)
        F = np.asarray(F)
        F = F if F.shape[-1] == 3 else F.T
        out[name + "_F"] = F.tolist()  # (N, 3) newtons, amplitude 1 V/m
    print(json.dumps(out))


if __name__ == "__main__":
    main()
