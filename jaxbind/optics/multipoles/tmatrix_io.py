"""User T-matrices from (and to) the common T-matrix HDF5 format (tmat.h5 v1,
https://tmatrix.github.io; the format of the KIT T-matrix database and of treams).

The datasets read are ``tmatrix`` (…, n, n) complex, ``modes/l``, ``modes/m``,
``modes/polarization`` ("electric" / "magnetic"; or the helicity basis "positive" /
"negative", A_± = (N ± M)/√2, converted to parity on reading) and the frequency
(``angular_vacuum_wavenumber`` with its ``unit`` attribute, or ``vacuum_wavelength`` /
``frequency`` / ``angular_frequency``) and the embedding medium
(``embedding/relative_permittivity``, ``relative_permeability``). :func:`read_tmatrix`
returns a :class:`TMatrixFile`; given as ``tmatrix=`` to the multipole entry points it is
checked against the beam: a T-matrix belongs to one host medium and one frequency, so the
file's embedding index √(ε μ) must equal the beam's ``n_medium`` and one of its vacuum
wavelengths the beam's (relative tolerance 1e-6), else a ValueError naming ``tmatrix`` and both
values (:meth:`TMatrixFile.select`). A bare array (e.g. ``file.tmatrix[i]``) is used unchecked.

Convention. The format's vector spherical waves (time dependence e^{−iωt}, Condon–Shortley
phase, waves normalised so that a sphere's T-matrix is −a_l / −b_l of Bohren & Huffman) are
those of :mod:`.vswf`: the map is a pure re-ordering — the format lists the modes in any
order, usually (l, m, polarization) interleaved; the engine orders [electric (N) block;
magnetic (M) block], each by (l, m) at index l² + l + m − 1. Checked in the tests against
treams: its plane-wave expansion coefficients equal :func:`.incident.plane_wave_coefficients`
mode by mode, and the T-matrix it writes for a core–shell sphere equals
:func:`.coreshell.coreshell_tmatrix`. Modes missing from a file are zero rows/columns; degrees
above the requested ``l_max`` are dropped.

h5py is an optional dependency (``pip install jaxbind[tmatrix]``). These are host-side I/O
functions (NumPy in, NumPy out), not kernels.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Sequence

import equinox as eqx
import numpy as np

from ..._types import ArrayLike, Float, Num
from .vswf import n_coefficients, vswf_index

__all__ = ["read_tmatrix", "write_tmatrix", "TMatrixFile"]

_LENGTH = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9, "pm": 1e-12}
_SPEED_OF_LIGHT = 299792458.0


def _h5py():
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("reading/writing T-matrix HDF5 files needs h5py: "
                          "pip install 'jaxbind[tmatrix]'") from err
    return h5py


class TMatrixFile(eqx.Module):
    """What :func:`read_tmatrix` returns: T-matrices with the medium and frequencies they
    belong to. Pass it as ``tmatrix=`` of the multipole entry points (or
    ``Multipole(l_max, tmatrix=...)``): they check it against the beam and pick the frequency
    (:meth:`select`); a bare array passed instead is used unchecked.

    Fields:
        tmatrix: (…, n_c, n_c) complex in the engine's ordering (module docstring).
        k0: vacuum wavenumber 2π/λ0 (rad/m), shape () or broadcastable to the leading axes
            of ``tmatrix`` (a file with several frequencies).
        l_max: degree of the stored basis (static).
        embedding_permittivity, embedding_permeability: relative ε, μ of the embedding
            medium (complex; None when the file does not state them). The engine's T-matrices
            are those of particles in the beam's host medium, so the file's index √(ε μ) must
            equal the beam's ``n_medium``.
        attrs: the file's root attributes.
    """

    tmatrix: np.ndarray
    k0: np.ndarray
    l_max: int = eqx.field(static=True)
    embedding_permittivity: complex | None = eqx.field(static=True)
    embedding_permeability: complex | None = eqx.field(static=True)
    attrs: dict
    _wavelengths: str = eqx.field(static=True, repr=False)

    def __init__(self, tmatrix: Any, k0: Any, l_max: int,
                 embedding_permittivity: complex | None = None,
                 embedding_permeability: complex | None = None,
                 attrs: dict | None = None) -> None:
        self.tmatrix = tmatrix
        self.k0 = k0
        self.l_max = int(l_max)
        self.embedding_permittivity = (None if embedding_permittivity is None
                                       else complex(embedding_permittivity))
        self.embedding_permeability = (None if embedding_permeability is None
                                       else complex(embedding_permeability))
        self.attrs = {} if attrs is None else dict(attrs)
        lam = np.unique(np.round(2e9 * math.pi / np.ravel(np.asarray(k0, float)), 6))
        self._wavelengths = ", ".join(f"{x:.10g} nm" for x in lam)

    @property
    def embedding_index(self) -> complex | None:
        """Refractive index √(ε μ) of the embedding medium (None if the file states no ε)."""
        if self.embedding_permittivity is None:
            return None
        mu = 1.0 if self.embedding_permeability is None else self.embedding_permeability
        return complex(np.sqrt(complex(self.embedding_permittivity) * complex(mu)))

    @property
    def vacuum_wavelength(self) -> np.ndarray:
        """Vacuum wavelength(s) 2π/k0 in metres."""
        return 2 * math.pi / np.asarray(self.k0, float)

    def _medium_message(self, n_beam: str, fn: str) -> str:
        return (f"{fn}: tmatrix was computed in an embedding medium of index √(ε μ) = "
                f"{_fmt(self.embedding_index)} (file), but the beam propagates in n_medium = "
                f"{n_beam}; a particle's T-matrix depends on its host medium: use a file for "
                "this medium or set the beam's n_medium")

    def _wavelength_message(self, lam_beam: str, fn: str) -> str:
        return (f"{fn}: tmatrix is given at vacuum wavelength(s) {self._wavelengths} (file), "
                f"but the beam's vacuum wavelength is {lam_beam}; use a file (or a frequency "
                "of it) at the beam's wavelength")

    def _layout(self, fn: str) -> str:
        T_shape, k_shape = np.shape(self.tmatrix), np.shape(self.k0)
        if math.prod(k_shape) == 1:
            return "single"
        if len(k_shape) == 1 and len(T_shape) > 2 and k_shape[0] == T_shape[0]:
            return "first"
        raise ValueError(f"{fn}: tmatrix holds several frequencies with k0 of shape {k_shape} "
                         f"for T-matrices of shape {T_shape}; only a frequency axis first "
                         "(k0 of shape (F,)) is picked automatically: index the file's "
                         "tmatrix yourself (unchecked) for other layouts")

    @staticmethod
    def _squeeze(T):
        while T.ndim > 2 and T.shape[0] == 1:
            T = T[0]
        return T

    def select(self, beam: object, l_max: int, fn: str = "multipole_system") -> np.ndarray:
        """The T-matrices (n_c, n_c) or (N, n_c, n_c) for a concrete ``beam`` at degree
        ``l_max`` (higher degrees dropped, missing ones zero): checks the embedding index
        against ``medium_index(beam)`` and picks the file's frequency whose vacuum wavenumber
        equals the beam's (relative tolerance :data:`MATCH_RTOL`); ValueError naming
        ``tmatrix`` and both values otherwise."""
        from ..beams import medium_index

        n_beam = float(np.asarray(medium_index(beam)))
        k0_beam = float(np.asarray(beam.k)) / n_beam
        n_file = self.embedding_index
        if n_file is not None and not abs(n_file - n_beam) <= MATCH_RTOL * n_beam:
            raise ValueError(self._medium_message(f"{n_beam:.10g}", fn))
        layout = self._layout(fn)
        T, k0 = np.asarray(self.tmatrix), np.ravel(np.asarray(self.k0, float))
        match = np.flatnonzero(np.abs(k0 - k0_beam) <= MATCH_RTOL * k0_beam)
        if match.size == 0:
            raise ValueError(self._wavelength_message(f"{2e9 * math.pi / k0_beam:.10g} nm", fn))
        if layout == "first":
            T = T[match[0]]
        return refit_degree(self._squeeze(T), self.l_max, l_max)

    def select_traced(self, n_beam, k0_beam, l_max: int, fn: str = "multipole_system"):
        """As :meth:`select` for a traced beam (inside ``jit``/``vmap``/``grad``): the
        frequency nearest the beam's is taken and a mismatch raises the same message through
        ``eqx.error_if`` (an ``EquinoxRuntimeError``) instead of a ValueError."""
        import jax.numpy as jnp

        layout = self._layout(fn)
        T = jnp.asarray(self.tmatrix)
        k0 = jnp.ravel(jnp.asarray(self.k0)).astype(jnp.result_type(k0_beam))
        i = jnp.argmin(jnp.abs(k0 - k0_beam))
        if layout == "first":
            T = T[i]
        T = self._squeeze(T)
        T = eqx.error_if(T, jnp.abs(k0[i] - k0_beam) > MATCH_RTOL * k0_beam,
                         self._wavelength_message("another one (traced)", fn))
        n_file = self.embedding_index
        if n_file is not None:
            T = eqx.error_if(T, jnp.abs(n_file - n_beam) > MATCH_RTOL * n_beam,
                             self._medium_message("another value (traced)", fn))
        return refit_degree(T, self.l_max, l_max)


MATCH_RTOL = 1e-6  #: relative tolerance of the medium-index and wavelength checks


def _fmt(z: complex) -> str:
    return f"{z.real:.10g}" if z.imag == 0 else f"{z:.10g}"


def refit_degree(T, l_from: int, l_to: int):
    """Engine-ordered T-matrices (…, n_c(l_from), n_c(l_from)) at degree ``l_to``: degrees
    above ``l_to`` dropped, missing ones zero rows/columns (NumPy or JAX)."""
    if l_from == l_to:
        return T
    nf, nt = n_coefficients(l_from) // 2, n_coefficients(l_to) // 2
    m = min(nf, nt)
    src = np.concatenate([np.arange(m), nf + np.arange(m)])
    dst = np.concatenate([np.arange(m), nt + np.arange(m)])
    if isinstance(T, np.ndarray):
        out = np.zeros(T.shape[:-2] + (2 * nt, 2 * nt), T.dtype)
        out[..., dst[:, None], dst[None, :]] = T[..., src[:, None], src[None, :]]
        return out
    import jax.numpy as jnp

    out = jnp.zeros(T.shape[:-2] + (2 * nt, 2 * nt), T.dtype)
    return out.at[..., dst[:, None], dst[None, :]].set(T[..., src[:, None], src[None, :]])


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _unit_scale(unit: str, inverse: bool) -> float:
    u = unit.strip().replace("^{-1}", "").replace("^-1", "").replace("1/", "").strip()
    if u not in _LENGTH:
        raise ValueError(f"unknown length unit {unit!r} in the T-matrix file")
    return 1.0 / _LENGTH[u] if inverse else _LENGTH[u]


def _k0(f):
    if "angular_vacuum_wavenumber" in f:
        d = f["angular_vacuum_wavenumber"]
        return np.asarray(d[()], float) * _unit_scale(_text(d.attrs.get("unit", "m^{-1}")), True)
    if "vacuum_wavenumber" in f:
        d = f["vacuum_wavenumber"]
        return 2 * math.pi * np.asarray(d[()], float) * _unit_scale(
            _text(d.attrs.get("unit", "m^{-1}")), True)
    if "vacuum_wavelength" in f:
        d = f["vacuum_wavelength"]
        return 2 * math.pi / (np.asarray(d[()], float) * _unit_scale(_text(d.attrs.get("unit", "m")), False))
    for name, scale in (("angular_frequency", 1.0), ("frequency", 2 * math.pi)):
        if name in f:
            d = f[name]
            unit = _text(d.attrs.get("unit", "Hz" if name == "frequency" else "s^{-1}"))
            pref = {"Hz": 1.0, "s^{-1}": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9, "THz": 1e12,
                    "PHz": 1e15}.get(unit)
            if pref is None:
                raise ValueError(f"unknown frequency unit {unit!r} in the T-matrix file")
            return scale * pref * np.asarray(d[()], float) / _SPEED_OF_LIGHT
    raise ValueError("the T-matrix file has no frequency dataset (angular_vacuum_wavenumber, "
                     "vacuum_wavelength, frequency, ...)")


_PARITY = {"electric": 0, "tm": 0, "1": 0, "magnetic": 1, "te": 1, "0": 1}
_HELICITY = {"positive": 0, "plus": 0, "negative": 1, "minus": 1}


def _positions(ls, ms, pols, l_max: int):
    """(engine index or −1 when the degree exceeds l_max) for every file mode, and the basis
    ("parity": electric → first half, magnetic → second; "helicity": positive → first,
    negative → second, converted by :func:`_helicity_to_parity`)."""
    nv = n_coefficients(l_max) // 2
    idx = np.full(len(ls), -1)
    keep = np.zeros(len(ls), bool)
    names = [_text(p).lower() for p in pols]
    if all(p in _HELICITY for p in names):
        basis, table = "helicity", _HELICITY
    else:
        basis, table = "parity", _PARITY
    for i, (l, m, p) in enumerate(zip(ls, ms, names)):
        if p not in table:
            raise ValueError(f"polarization {p!r} of mode {i}: expected the parity basis "
                             "('electric' / 'magnetic') or the helicity basis ('positive' / "
                             "'negative') for every mode, not a mixture")
        if not (1 <= l and -l <= m <= l):
            raise ValueError(f"invalid mode (l, m) = ({l}, {m}) in the T-matrix file")
        if l <= l_max:
            idx[i], keep[i] = table[p] * nv + vswf_index(int(l), int(m)), True
    return idx, keep, basis


def _helicity_to_parity(T):
    """Helicity-basis T-matrices (…, n_c, n_c) (first half positive, second negative, each by
    (l, m)) in the parity basis. The helicity waves of the format (and treams) are
    A_± = (N ± M)/√2, so parity coefficients are c_par = U c_hel with
    U = [[1, 1], [1, −1]]/√2 per (l, m) (U = U⁻¹) and T_par = U T_hel U. Checked against treams
    (its helicity plane-wave expansion, and a chiral sphere written in both bases)."""
    nv = T.shape[-1] // 2
    eye = np.eye(nv)
    U = np.block([[eye, eye], [eye, -eye]]) / math.sqrt(2)
    return U @ T @ U


def read_tmatrix(path: str | pathlib.Path, l_max: int | None = None) -> TMatrixFile:
    """Read T-matrices from a tmat.h5 file into the engine's basis (module docstring).

    Args:
        path: the HDF5 file.
        l_max: truncation degree of the result (default: the file's largest degree).
    Returns:
        :class:`TMatrixFile` with ``tmatrix`` of shape (…, n_coefficients(l_max), …);
        pass it (one frequency, (n_c, n_c) or per particle (N, n_c, n_c)) as ``tmatrix=``
        of the multipole entry points, with ``k0`` matching the beam's wavenumber.
    """
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        for need in ("tmatrix", "modes/l", "modes/m"):
            if need not in f:
                raise ValueError(f"{path}: not a tmat.h5 file (no dataset {need!r})")
        T = np.asarray(f["tmatrix"][()])
        ls = np.asarray(f["modes/l"][()]).astype(int)
        ms = np.asarray(f["modes/m"][()]).astype(int)
        pols = (np.asarray(f["modes/polarization"][()]) if "modes/polarization" in f
                else np.array(["electric"] * len(ls)))
        k0 = _k0(f)
        eps, mu = (complex(np.asarray(f[f"embedding/relative_{q}"][()]).reshape(-1)[0])
                   if f"embedding/relative_{q}" in f else None
                   for q in ("permittivity", "permeability"))
        if eps is None and "embedding/refractive_index" in f:
            eps = complex(np.asarray(f["embedding/refractive_index"][()]).reshape(-1)[0]) ** 2
        attrs = {k: _text(v) if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    n = len(ls)
    if T.shape[-2:] != (n, n):
        raise ValueError(f"{path}: tmatrix has shape {T.shape}, expected (..., {n}, {n}) for "
                         f"its {n} modes")
    l_max = int(ls.max()) if l_max is None else int(l_max)
    if l_max < 1:
        raise ValueError(f"l_max must be ≥ 1, got {l_max}")
    idx, keep, basis = _positions(ls, ms, pols, l_max)
    nc = n_coefficients(l_max)
    out = np.zeros(T.shape[:-2] + (nc, nc), complex)
    rows = idx[keep]
    out[..., rows[:, None], rows[None, :]] = T[..., keep[:, None] & keep[None, :]].reshape(
        T.shape[:-2] + (len(rows), len(rows)))
    if basis == "helicity":
        out = _helicity_to_parity(out)
    return TMatrixFile(tmatrix=out, k0=np.asarray(k0, float), l_max=l_max,
                       embedding_permittivity=eps, embedding_permeability=mu, attrs=attrs)


def write_tmatrix(path: str | pathlib.Path, tmatrix: Num[ArrayLike, "*b nc nc"],
                  vacuum_wavelength: Float[ArrayLike, "*b"] | float | Sequence[float], *,
                  name: str = "", description: str = "", embedding_permittivity: complex = 1.0,
                  attrs: dict[str, Any] | None = None) -> None:
    """Write engine-basis T-matrices (…, n_c, n_c) as a tmat.h5 file (modes interleaved as
    (l, m, electric/magnetic), lengths in metres; the minimal v1 datasets).

    Args:
        path: output file.
        tmatrix: (…, n_c, n_c) complex, n_c = 2 l_max (l_max + 2).
        vacuum_wavelength: metres, shape (…) matching the leading axes (or scalar).
        name, description: root attributes; ``attrs``: more root attributes.
        embedding_permittivity: relative permittivity of the host.
    """
    h5py = _h5py()
    T = np.asarray(tmatrix)
    nc = T.shape[-1]
    l_max = int(round(math.sqrt(nc // 2 + 1))) - 1
    if T.ndim < 2 or T.shape[-2] != nc or n_coefficients(l_max) != nc:
        raise ValueError(f"tmatrix must have shape (..., n_c, n_c) with n_c = 2 l_max (l_max + 2),"
                         f" got {T.shape}")
    nv = nc // 2
    ls, ms, pols, idx = [], [], [], []
    for l in range(1, l_max + 1):
        for m in range(-l, l + 1):
            for half, p in ((0, "electric"), (nv, "magnetic")):
                ls.append(l), ms.append(m), pols.append(p), idx.append(half + vswf_index(l, m))
    idx = np.asarray(idx)
    with h5py.File(path, "w") as f:
        f.attrs["name"] = name
        f.attrs["description"] = description
        f.attrs["storage_format_version"] = "v1"
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        f["tmatrix"] = T[..., idx[:, None], idx[None, :]]
        f["modes/l"] = np.asarray(ls)
        f["modes/m"] = np.asarray(ms)
        f["modes/polarization"] = np.asarray(pols, dtype=h5py.string_dtype())
        d = f.create_dataset("vacuum_wavelength", data=np.asarray(vacuum_wavelength, float))
        d.attrs["unit"] = "m"
        f["embedding/relative_permittivity"] = complex(embedding_permittivity)
        f["embedding/relative_permeability"] = 1.0 + 0j
