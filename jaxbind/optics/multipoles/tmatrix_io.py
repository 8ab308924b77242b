"""User T-matrices from (and to) the common T-matrix HDF5 format (tmat.h5 v1,
https://tmatrix.github.io; the format of the KIT T-matrix database and of treams).

The datasets read are ``tmatrix`` (…, n, n) complex, ``modes/l``, ``modes/m``,
``modes/polarization`` ("electric" / "magnetic", or parity labels) and the frequency
(``angular_vacuum_wavenumber`` with its ``unit`` attribute, or ``vacuum_wavelength`` /
``frequency`` / ``angular_frequency``); ``embedding/relative_permittivity`` is returned so the
caller can check the host medium.

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


class TMatrixFile(dict):
    """What :func:`read_tmatrix` returns (a dict): ``tmatrix`` (…, n_c, n_c) complex in the
    engine's ordering, ``k0`` (…) vacuum wavenumber in rad/m, ``l_max``,
    ``embedding_permittivity`` (complex or None), ``attrs`` (the file's root attributes)."""


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


def _positions(ls, ms, pols, l_max: int):
    """(engine index or −1 when the degree exceeds l_max) for every file mode."""
    nv = n_coefficients(l_max) // 2
    idx = np.full(len(ls), -1)
    keep = np.zeros(len(ls), bool)
    for i, (l, m, p) in enumerate(zip(ls, ms, pols)):
        p = _text(p).lower()
        if p in ("electric", "tm", "1"):
            half = 0
        elif p in ("magnetic", "te", "0"):
            half = nv
        else:
            raise ValueError(f"polarization {p!r} of mode {i}: only the parity basis "
                             "('electric' / 'magnetic') is supported")
        if not (1 <= l and -l <= m <= l):
            raise ValueError(f"invalid mode (l, m) = ({l}, {m}) in the T-matrix file")
        if l <= l_max:
            idx[i], keep[i] = half + vswf_index(int(l), int(m)), True
    return idx, keep


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
        eps = (complex(np.asarray(f["embedding/relative_permittivity"][()]).reshape(-1)[0])
               if "embedding/relative_permittivity" in f else None)
        attrs = {k: _text(v) if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    n = len(ls)
    if T.shape[-2:] != (n, n):
        raise ValueError(f"{path}: tmatrix has shape {T.shape}, expected (..., {n}, {n}) for "
                         f"its {n} modes")
    l_max = int(ls.max()) if l_max is None else int(l_max)
    if l_max < 1:
        raise ValueError(f"l_max must be ≥ 1, got {l_max}")
    idx, keep = _positions(ls, ms, pols, l_max)
    nc = n_coefficients(l_max)
    out = np.zeros(T.shape[:-2] + (nc, nc), complex)
    rows = idx[keep]
    out[..., rows[:, None], rows[None, :]] = T[..., keep[:, None] & keep[None, :]].reshape(
        T.shape[:-2] + (len(rows), len(rows)))
    return TMatrixFile(tmatrix=out, k0=k0, l_max=l_max, embedding_permittivity=eps,
                       attrs=attrs)


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
