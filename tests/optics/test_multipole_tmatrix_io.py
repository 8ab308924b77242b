"""User T-matrices from the common T-matrix HDF5 format (tmat.h5): the VSWF convention equals
treams' (the format's reference writer), a treams core–shell file reads back as the engine's
core–shell T-matrix, write → read round trips, use in the engine, bad files; a file's
embedding medium and wavelength are checked against the beam."""

import math
import pathlib

import numpy as np
import pytest

pytest.importorskip("h5py")  # the `tmatrix` / `test` extra

import equinox as eqx  # noqa: E402

from jaxbind.optics.beams import PlaneWave  # noqa: E402
from jaxbind.optics.multipoles import (CoreShell, Multipole, coreshell_tmatrix,  # noqa: E402
                                       cross_sections, mie_tmatrix, multipole_forces,
                                       plane_wave_coefficients, read_tmatrix, write_tmatrix)
from jaxbind.optics.multipoles.solve import truncate  # noqa: E402
from jaxbind.optics.multipoles.vswf import vswf_index  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402

DATA = pathlib.Path(__file__).parents[1] / "data"
# one compiled program per degree (eagerly the closed forms dispatch op by op)
_plane_wave_coefficients = eqx.filter_jit(plane_wave_coefficients)
_coreshell_tmatrix = eqx.filter_jit(coreshell_tmatrix)
PW = np.load(DATA / "treams_planewave.npz")
LAM = float(PW["wavelength_nm"]) * 1e-9
K = 2 * math.pi / LAM


def test_vswf_convention_equals_treams():
    """treams' plane-wave expansion (parity basis: pol 1 = electric = N, 0 = magnetic = M)
    equals plane_wave_coefficients mode by mode (same normalisation and phases)."""
    ours = np.asarray(_plane_wave_coefficients(PW["direction"], PW["polarization"], 3))
    nv = ours.size // 2
    mapped = np.array([ours[vswf_index(int(l), int(m)) + (0 if p == 1 else nv)]
                       for l, m, p in zip(PW["l"], PW["m"], PW["pol"])])
    np.testing.assert_allclose(mapped, PW["coeffs"], rtol=0, atol=1e-12 * np.abs(ours).max())


def test_treams_file_reads_as_coreshell_tmatrix():
    f = read_tmatrix(DATA / "treams_coreshell.tmat.h5")
    assert f.l_max == 4 and f.tmatrix.shape == (1, 48, 48)
    np.testing.assert_allclose(f.k0, K, rtol=1e-14)
    assert f.embedding_permittivity == 1.0
    a_c, a_s = (r * 1e-9 for r in PW["radii_nm"])
    ref = np.diag(np.asarray(_coreshell_tmatrix(complex(PW["core"]), complex(PW["shell"]),
                                               K * a_c, K * a_s, 4)))
    np.testing.assert_allclose(f.tmatrix[0], ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    low = read_tmatrix(DATA / "treams_coreshell.tmat.h5", l_max=2).tmatrix[0]
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
    np.testing.assert_array_equal(f.tmatrix, np.stack([mie, dense]))
    np.testing.assert_allclose(f.k0, [K, K], rtol=1e-15)
    assert f.attrs["name"] == "test"
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
    a = cross_sections(ps, beam, 4, tmatrix=f.tmatrix[0])
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


# --- embedding medium and wavelength (treams file: silica sphere in water, 3 wavelengths) ---
WATER = read_tmatrix(DATA / "treams_water.tmat.h5")
WATER_PS = Particles(np.array([[0.0, 0, 0], [0.4e-6, 0.1e-6, 0.3e-6]]), 150e-9, index=1.45)


def _water_beam(lam=1064e-9, n_medium=1.33):
    return PlaneWave(lam, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.3j, 0.0),
                     n_medium=n_medium)


def test_water_file_metadata():
    assert WATER.tmatrix.shape == (3, 30, 30) and WATER.l_max == 3
    np.testing.assert_allclose(WATER.vacuum_wavelength, [1000e-9, 1064e-9, 1100e-9], rtol=1e-12)
    assert abs(WATER.embedding_index - 1.33) < 1e-12


@pytest.mark.filterwarnings("ignore::jaxbind.optics.multipoles.TruncationWarning")
def test_water_file_forces_equal_mie_path():
    """The treams file (T-matrix of the sphere IN WATER, 1064 nm picked among 3 wavelengths)
    in a water beam gives the forces of the engine's own Mie path (index 1.45 / 1.33), at the
    file's l_max (refitted to l_max = 2: the slow test below); l_max = 4 adds zero rows."""
    beam = _water_beam()
    ref = np.asarray(multipole_forces(WATER_PS, beam, 3))
    got = np.asarray(multipole_forces(WATER_PS, beam, 3, tmatrix=WATER))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
    model = Multipole(l_max=3, tmatrix=WATER)
    np.testing.assert_allclose(np.asarray(model.optical_forces(WATER_PS, beam)),
                               np.asarray(multipole_forces(WATER_PS, beam, 3)),
                               rtol=0, atol=1e-9 * np.abs(ref).max())
    T4 = WATER.select(beam, 4)
    assert T4.shape == (48, 48) and np.all(T4[15:24] == 0) and np.all(T4[:, 39:] == 0)


# slow: two more compiled force programs (l_max = 2); the file in the engine stays covered by
# default at the file's own l_max (test_water_file_forces_equal_mie_path) and the degree
# refit on the host (test_treams_file_reads_as_coreshell_tmatrix: l_max=2 read-back)
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::jaxbind.optics.multipoles.TruncationWarning")
def test_water_file_refitted_to_lower_l_max_equals_mie_path():
    beam = _water_beam()
    ref = np.asarray(multipole_forces(WATER_PS, beam, 2))
    got = np.asarray(multipole_forces(WATER_PS, beam, 2, tmatrix=WATER))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_water_file_in_vacuum_beam_or_wrong_wavelength_is_an_error():
    with pytest.raises(ValueError, match=r"multipole_forces: tmatrix .*index √\(ε μ\) = "
                       r"1\.33 \(file\).*n_medium = 1(?!\.)"):
        multipole_forces(WATER_PS, _water_beam(n_medium=1.0), 3, tmatrix=WATER)
    with pytest.raises(ValueError, match=r"tmatrix is given at vacuum wavelength\(s\) 1000 nm, "
                       r"1064 nm, 1100 nm \(file\), but the beam's vacuum wavelength is 1070 nm"):
        multipole_forces(WATER_PS, _water_beam(lam=1070e-9), 3, tmatrix=WATER)
    with pytest.raises(ValueError, match="tmatrix is given at vacuum"):  # 1e-5 off: beyond 1e-6
        Multipole(3, tmatrix=WATER).optical_forces(WATER_PS, _water_beam(lam=1064e-9 * (1 + 1e-5)))
    # a bare array is used unchecked (documented): no error in a vacuum beam
    F = multipole_forces(WATER_PS, _water_beam(n_medium=1.0), 3, tmatrix=WATER.tmatrix[1])
    assert np.all(np.isfinite(np.asarray(F)))


# slow (~2.9 CPU-s: the check compiled into a multipole force program); the same mismatch is
# an error by default on eager input (test_water_file_in_vacuum_beam_or_wrong_wavelength_is_an_error)
@pytest.mark.slow
def test_water_file_under_jit_checks_with_error_if():
    """With a traced beam the file is checked inside the program (eqx.error_if, same
    message); the matching frequency gives the eager result."""
    f = eqx.filter_jit(lambda lam, n: multipole_forces(WATER_PS, _water_beam(lam, n), 3,
                                                       tmatrix=WATER))
    ref = np.asarray(multipole_forces(WATER_PS, _water_beam(), 3))
    np.testing.assert_allclose(np.asarray(f(1064e-9, 1.33)), ref, rtol=0,
                               atol=1e-9 * np.abs(ref).max())
    with pytest.raises(eqx.EquinoxRuntimeError, match="tmatrix was computed in an embedding"):
        f(1064e-9, 1.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="tmatrix is given at vacuum wavelength"):
        f(1070e-9, 1.33)


# --- helicity basis ("positive" / "negative"), converted to parity on reading ---

def test_helicity_convention_equals_treams():
    """treams' helicity-basis plane-wave expansion (pol 1 = positive) equals
    (c_N ± c_M)/√2 of the engine's parity coefficients: A_± = (N ± M)/√2."""
    d = np.load(DATA / "treams_helicity_planewave.npz")
    ours = np.asarray(_plane_wave_coefficients(d["direction"], d["polarization"], 2))
    nv = ours.size // 2
    mapped = np.array([(ours[vswf_index(int(l), int(m))]
                        + (1 if p == 1 else -1) * ours[nv + vswf_index(int(l), int(m))])
                       / math.sqrt(2) for l, m, p in zip(d["l"], d["m"], d["pol"])])
    np.testing.assert_allclose(mapped, d["coeffs"], rtol=0, atol=1e-12 * np.abs(ours).max())


def test_helicity_file_reads_as_parity():
    """A chiral sphere written by treams in the helicity basis reads as the same T-matrix
    written by treams in the parity basis (its own conversion); the sphere's T couples E and
    M (chirality), so a wrong sign or swapped helicity would not match."""
    hel = read_tmatrix(DATA / "treams_chiral_helicity.tmat.h5")
    par = read_tmatrix(DATA / "treams_chiral_parity.tmat.h5")
    nv = 8
    assert np.abs(par.tmatrix[0, :nv, nv:]).max() > 0.1 * np.abs(par.tmatrix).max()
    np.testing.assert_allclose(hel.tmatrix, par.tmatrix, rtol=0,
                               atol=1e-12 * np.abs(par.tmatrix).max())
    np.testing.assert_allclose(read_tmatrix(DATA / "treams_chiral_helicity.tmat.h5", 1).tmatrix,
                               read_tmatrix(DATA / "treams_chiral_parity.tmat.h5", 1).tmatrix,
                               rtol=0, atol=1e-12 * np.abs(par.tmatrix).max())


def test_mixed_polarization_basis_is_an_error(tmp_path):
    import h5py

    with h5py.File(tmp_path / "mixed.h5", "w") as h:
        h["tmatrix"] = np.zeros((2, 2), complex)
        h["modes/l"] = np.ones(2, int)
        h["modes/m"] = np.zeros(2, int)
        h["modes/polarization"] = np.array(["positive", "magnetic"], dtype=h5py.string_dtype())
        h["vacuum_wavelength"] = 1e-6
    with pytest.raises(ValueError, match="polarization 'positive' of mode 0: expected the parity"):
        read_tmatrix(tmp_path / "mixed.h5")
