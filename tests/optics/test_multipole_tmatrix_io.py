"""User T-matrices from the common T-matrix HDF5 format (tmat.h5): the VSWF convention equals
treams' (the format's reference writer), a treams core–shell file reads back as the engine's
core–shell T-matrix, write → read round trips, use in the engine, bad files."""

import math
import pathlib

import numpy as np
import pytest

pytest.importorskip("h5py")  # the `tmatrix` / `test` extra

from jaxbind.optics.beams import PlaneWave  # noqa: E402
from jaxbind.optics.multipoles import (CoreShell, coreshell_tmatrix, cross_sections,  # noqa: E402
                                       mie_tmatrix, plane_wave_coefficients, read_tmatrix,
                                       write_tmatrix)
from jaxbind.optics.multipoles.solve import truncate  # noqa: E402
from jaxbind.optics.multipoles.vswf import vswf_index  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402

DATA = pathlib.Path(__file__).parents[1] / "data"
PW = np.load(DATA / "treams_planewave.npz")
LAM = float(PW["wavelength_nm"]) * 1e-9
K = 2 * math.pi / LAM


def test_vswf_convention_equals_treams():
    """treams' plane-wave expansion (parity basis: pol 1 = electric = N, 0 = magnetic = M)
    equals plane_wave_coefficients mode by mode (same normalisation and phases)."""
    ours = np.asarray(plane_wave_coefficients(PW["direction"], PW["polarization"], 3))
    nv = ours.size // 2
    mapped = np.array([ours[vswf_index(int(l), int(m)) + (0 if p == 1 else nv)]
                       for l, m, p in zip(PW["l"], PW["m"], PW["pol"])])
    np.testing.assert_allclose(mapped, PW["coeffs"], rtol=0, atol=1e-12 * np.abs(ours).max())


def test_treams_file_reads_as_coreshell_tmatrix():
    f = read_tmatrix(DATA / "treams_coreshell.tmat.h5")
    assert f["l_max"] == 4 and f["tmatrix"].shape == (1, 48, 48)
    np.testing.assert_allclose(f["k0"], K, rtol=1e-14)
    assert f["embedding_permittivity"] == 1.0
    a_c, a_s = (r * 1e-9 for r in PW["radii_nm"])
    ref = np.diag(np.asarray(coreshell_tmatrix(complex(PW["core"]), complex(PW["shell"]),
                                               K * a_c, K * a_s, 4)))
    np.testing.assert_allclose(f["tmatrix"][0], ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    low = read_tmatrix(DATA / "treams_coreshell.tmat.h5", l_max=2)["tmatrix"][0]
    np.testing.assert_allclose(low, np.diag(truncate(np.diag(ref), 4, 2)), atol=1e-10 * np.abs(ref).max())


def test_write_read_round_trip(tmp_path):
    """A Mie T-matrix and a dense non-symmetric one, written and read back exactly (modes are
    re-ordered on disk: interleaved (l, m, electric/magnetic))."""
    mie = np.diag(np.asarray(mie_tmatrix(1.45 + 0.01j, K * 150e-9, 3)))
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(30, 30)) + 1j * rng.normal(size=(30, 30))
    path = tmp_path / "t.tmat.h5"
    write_tmatrix(path, np.stack([mie, dense]), np.array([LAM, LAM]), name="test")
    f = read_tmatrix(path)
    np.testing.assert_array_equal(f["tmatrix"], np.stack([mie, dense]))
    np.testing.assert_allclose(f["k0"], [K, K], rtol=1e-15)
    assert f["attrs"]["name"] == "test"
    import h5py

    with h5py.File(path) as h:  # on disk: format order, electric first at (l, m) = (1, −1)
        assert list(h["modes/l"][:4]) == [1, 1, 1, 1] and list(h["modes/m"][:4]) == [-1, -1, 0, 0]
        assert [p.decode() for p in h["modes/polarization"][:2]] == ["electric", "magnetic"]
        np.testing.assert_array_equal(h["tmatrix"][1][0, 1], dense[0, 15])


@pytest.mark.slow
def test_file_tmatrix_in_the_engine_equals_coreshell_model():
    f = read_tmatrix(DATA / "treams_coreshell.tmat.h5")
    beam = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))
    ps = Particles(np.array([[0.0, 0, 0], [0.5e-6, 0.1e-6, 0.2e-6]]), 150e-9,
                   index=complex(PW["shell"]))
    a = cross_sections(ps, beam, 4, tmatrix=f["tmatrix"][0])
    b = cross_sections(ps, beam, 4, tmatrix=CoreShell(complex(PW["core"]), 80e-9))
    np.testing.assert_allclose([a.extinction, a.scattering], [b.extinction, b.scattering],
                               rtol=1e-9)


def test_bad_files(tmp_path):
    import h5py

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as h:
        h["tmatrix"] = np.zeros((5, 5), complex)
        h["modes/l"] = np.ones(6, int)
        h["modes/m"] = np.zeros(6, int)
        h["vacuum_wavelength"] = 1e-6
    with pytest.raises(ValueError, match=r"tmatrix has shape \(5, 5\), expected"):
        read_tmatrix(path)
    with h5py.File(tmp_path / "nofreq.h5", "w") as h:
        h["tmatrix"] = np.zeros((2, 2), complex)
        h["modes/l"] = np.ones(2, int)
        h["modes/m"] = np.zeros(2, int)
    with pytest.raises(ValueError, match="no frequency dataset"):
        read_tmatrix(tmp_path / "nofreq.h5")
    with pytest.raises(ValueError, match="tmatrix must have shape"):
        write_tmatrix(tmp_path / "w.h5", np.zeros((5, 5)), 1e-6)
