"""Matplotlib figures used by the CLI and the notebooks (imported lazily: matplotlib is only
loaded when a figure is made). Each function takes plain arrays and returns the Figure.

Conventions (publication-legible): figures are saved at :data:`DPI` (≥ 150) by :func:`save`,
no text is smaller than 8 pt, axes carry units (:func:`display_unit` picks an SI prefix from
the data: µm, kHz, fN, …), colour encodes a value only with a colour bar, data spanning
decades get a logarithmic (or symmetric-log) scale (:func:`choose_norm`), and categorical
data get a discrete legend with the category names.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from jaxtyping import ArrayLike, Shaped

if TYPE_CHECKING:  # matplotlib is imported when a figure is made
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

#: plot data: arrays of any shape or nested sequences of numbers
Data = Shaped[ArrayLike, "..."] | Sequence[Any]

DPI = 150  #: resolution of saved figures (dots per inch)
DECADES = 2.0  #: data spanning more than this many decades get a log / symlog scale

_PREFIXES = ((1e-18, "a"), (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"),
             (1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T"))
_PREFIXABLE = {"m", "s", "Hz", "N", "N/m", "W", "J", "K", "V", "A", "Pa", "rad/s"}
_DIMENSIONLESS = {None, "", "1"}


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover - backend already fixed by the user
            pass
    import matplotlib.pyplot as plt

    return plt


def green_components(kr: Data, parts: dict, title: str = "Free-space Green tensor along r ∥ x: "
                     "near, intermediate and far-field parts", note: str = "",
                     wavelength: float | None = None) -> Figure:
    """|Ḡ_ij| (in units of k³/4π) vs kr on log axes.

    Args:
        kr: (n,) dimensionless separations.
        parts: label → (n,) magnitude curves.
        note: a second, smaller title line (parameters).
        wavelength: if given (m), a top axis shows the distance r = kr/k in µm.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=DPI)
    for label, y in parts.items():
        style = "-" if label.startswith("|") else "--"
        ax.loglog(kr, np.abs(y), style, lw=1.4, label=label)
    ax.set_xlabel("separation kr")
    ax.set_ylabel(r"$4\pi|\bar G_{ij}|/k^3$")
    if wavelength is not None:
        to_um = wavelength / (2 * np.pi) * 1e6
        top = ax.secondary_xaxis("top", functions=(lambda x: x * to_um, lambda r: r / to_um))
        top.set_xlabel(f"distance r (µm) at λ = {wavelength * 1e9:.0f} nm", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    _title(ax, title, note)
    fig.tight_layout()
    return fig


def mie_spectra(x: Data, curves: dict,
                title: str = "Mie efficiencies of a sphere versus size parameter", note: str = "",
                wavelength: float | None = None) -> Figure:
    """Efficiency curves vs size parameter x. Labels "<quantity>, <material>": one colour per
    material, dashed for backscattering. With ``wavelength`` (m) a top axis shows the sphere
    radius a = x/k in nm."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=DPI)
    materials = list(dict.fromkeys(lab.split(", ", 1)[-1] for lab in curves))
    for label, y in curves.items():
        colour = f"C{materials.index(label.split(', ', 1)[-1]) % 10}"
        ax.plot(x, y, "--" if "back" in label else "-", color=colour, lw=1.4, label=label)
    ax.set_xlabel("size parameter x = ka")
    ax.set_ylabel("efficiency Q (cross section / πa²)")
    if wavelength is not None:
        to_nm = wavelength / (2 * np.pi) * 1e9
        top = ax.secondary_xaxis("top", functions=(lambda x: x * to_nm, lambda a: a / to_nm))
        top.set_xlabel(f"radius a (nm) at λ = {wavelength * 1e9:.0f} nm", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    _title(ax, title, note)
    fig.tight_layout()
    return fig


def field_map(xs: Data, ys: Data, intensity: Data, markers: Data | None = None,
              title: str = "Focal-plane intensity of a coherent tweezer array",
              note: str = "") -> Figure:
    """Intensity map (W/m², shape (ny, nx)) on a grid, positions in metres, optional foci markers."""
    plt = _plt()
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    fig, ax = plt.subplots(figsize=(6.4, 3.9), dpi=DPI)
    um = 1e6
    im = ax.pcolormesh(np.asarray(xs) * um, np.asarray(ys) * um, np.asarray(intensity) * 1e-12,
                       shading="auto", cmap="inferno")
    ax.set_aspect("equal")
    cax = make_axes_locatable(ax).append_axes("right", size="3%", pad=0.1)
    fig.colorbar(im, cax=cax, label=r"intensity (W/µm²)")
    if markers is not None:
        m = np.asarray(markers)
        ax.plot(m[:, 0] * um, m[:, 1] * um, "c+", ms=9, mew=1.5, label="foci")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    _title(ax, title, note)
    fig.tight_layout()
    return fig


def regime_map(phases: Data, kds: Data, codes: Data, names: Sequence[str],
               title: str = "Regimes of optical binding between two trapped particles",
               note: str = "") -> Figure:
    """Categorical map of regime codes over (φ, kd) with a discrete legend of the names."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=DPI)
    categorical_map(ax, np.asarray(kds), np.asarray(phases) / np.pi, np.asarray(codes), names,
                    legend_title="regime")
    ax.set_xlabel("distance kd (k = 2π/λ)")
    ax.set_ylabel("relative tweezer phase φ / π")
    _title(ax, title, note)
    fig.tight_layout()
    return fig


def occupations_vs_phase(phases: Data, occ: Data, rates: dict,
                         title: str = "Phonon numbers of two optically bound, feedback-cooled "
                         "particles", note: str = "") -> Figure:
    """Steady-state phonon occupations (left axis) and coupling rates (right axis) vs φ.

    The legend sits above the axes, so it never hides a curve."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.6, 4.6), dpi=DPI)
    ph = np.asarray(phases) / np.pi
    occ = np.asarray(occ)
    for j in range(occ.shape[1]):
        ax.plot(ph, occ[:, j], lw=2, label=f"n_{j + 1} (particle {j + 1})")
    ax.set_xlabel("relative tweezer phase φ / π")
    ax.set_ylabel("steady-state phonon number")
    ax.set_xlim(ph.min(), ph.max())
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    for (label, y), st in zip(rates.items(), ("--", ":")):
        ax2.plot(ph, np.asarray(y), "k" + st, lw=1.2, label=label)
    ax2.set_ylabel("coupling rate / 2π (Hz)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.01),
              ncol=2, borderaxespad=0.0, frameon=False)
    import textwrap

    if note:
        fig.suptitle(textwrap.fill(title, 75), fontsize=11)
        fig.text(0.5, 0.005, textwrap.fill(note, 100), ha="center", va="bottom", fontsize=8,
                 color="0.25")
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    else:
        fig.suptitle(textwrap.fill(title, 75), fontsize=11)
        fig.tight_layout()
    return fig


# --- shared helpers ------------------------------------------------------------------------------


def save(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> str:
    """Save ``fig`` at ``dpi`` (≥ :data:`DPI` by default) without clipping, and close it."""
    plt = _plt()
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def _finite(values):
    a = np.asarray(values)
    if np.iscomplexobj(a):
        a = np.abs(a)
    a = np.asarray(a, dtype=float)
    return a[np.isfinite(a)]


def display_unit(unit: str, values: Data | None = None) -> tuple[float, str]:
    """(scale, shown unit) for showing ``values`` (SI, in ``unit``) as ``values / scale``.

    Prefixable SI units get the prefix that puts the largest magnitude in [1, 1000):
    ``display_unit("m", [2e-7, 5e-6]) == (1e-6, "µm")``, ``("N", 8e-14) → (1e-15, "fN")``;
    W/m² is shown in mW/µm² when that is ≥ 0.001; dimensionless (``"1"``) shows no unit.
    """
    if unit in _DIMENSIONLESS:
        return 1.0, ""
    v = _finite(values if values is not None else [])
    big = float(np.max(np.abs(v))) if v.size else 0.0
    if unit == "W/m²":
        return (1e9, "mW/µm²") if big >= 1e6 else (1.0, unit)
    if unit not in _PREFIXABLE or big == 0.0:
        return 1.0, unit
    scale, prefix = _PREFIXES[0]
    for f, pre in _PREFIXES:
        if big >= f * (1 - 1e-9):
            scale, prefix = f, pre
    if unit == "m" and scale > 1.0:  # km and beyond are not lengths this package meets
        scale, prefix = 1.0, ""
    return scale, prefix + unit


def axis_label(label: str, unit: str) -> str:
    """``"label (unit)"``, or the label alone for dimensionless quantities."""
    return f"{label} ({unit})" if unit else label


def choose_norm(values: Data, norm: str = "auto") -> Normalize:
    """Colour normalisation for ``values``: ``"linear"``, ``"log"``, ``"symlog"`` or ``"auto"``.

    ``"auto"`` picks ``LogNorm`` for positive data spanning more than :data:`DECADES` decades,
    ``SymLogNorm`` for data with both signs (or zeros) whose magnitudes span more than that
    (linear within ``linthresh``, the 5th percentile of the non-zero magnitudes), and a linear
    ``Normalize`` otherwise. Non-finite values (failed points) are ignored.
    """
    from matplotlib.colors import LogNorm, Normalize, SymLogNorm

    kind = scale_kind(values, norm)
    v = _finite(values)
    if v.size == 0:
        return Normalize()
    if kind == "log":
        pos = v[v > 0]
        return LogNorm(vmin=float(pos.min()), vmax=float(pos.max()))
    if kind == "symlog":
        return SymLogNorm(linthresh=_linthresh(v), vmin=float(min(v.min(), 0.0)),
                          vmax=float(max(v.max(), 0.0)), base=10)
    return Normalize(vmin=float(v.min()), vmax=float(v.max()))


def scale_kind(values: Data, norm: str = "auto") -> str:
    """The scale :func:`choose_norm` uses: ``"linear"``, ``"log"`` or ``"symlog"``."""
    if norm not in ("auto", "linear", "log", "symlog"):
        raise ValueError(f"norm must be 'auto', 'linear', 'log' or 'symlog', got {norm!r}")
    v = _finite(values)
    if norm == "log" and not np.any(v > 0):
        raise ValueError("norm = 'log' needs positive data; use 'symlog'")
    if norm != "auto":
        return norm
    if v.size < 2:
        return "linear"
    a = np.abs(v)
    nz = a[a > 0]
    if nz.size < 2 or np.log10(nz.max() / nz.min()) <= DECADES:
        return "linear"
    if np.all(v > 0):
        return "log"
    # signed (or with exact zeros): symlog only if the bulk of the magnitudes spans decades
    return "symlog" if np.log10(nz.max() / _linthresh(v)) > DECADES else "linear"


def _linthresh(v) -> float:
    a = np.abs(v)
    nz = a[a > 0]
    return float(max(np.percentile(nz, 5), nz.max() * 1e-8)) if nz.size else 1.0


_CATEGORY_COLOURS = ("0.82", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:red",
                     "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def categorical_map(ax: Axes, x: Data, y: Data, codes: Data, names: Sequence[str], *,
                    legend_title: str | None = None) -> QuadMesh:
    """Draw integer ``codes`` (shape (len(y), len(x))) as a categorical map with a discrete
    legend naming each category that occurs (colour ``i`` ↔ ``names[i]``)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    n = len(names)
    colours = [_CATEGORY_COLOURS[i % len(_CATEGORY_COLOURS)] for i in range(n)]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    c = np.ma.masked_invalid(np.asarray(codes, dtype=float))
    mesh = ax.pcolormesh(np.asarray(x), np.asarray(y), c, cmap=cmap, norm=norm, shading="auto")
    present = sorted({int(v) for v in np.unique(c.compressed())} & set(range(n)))
    handles = [Patch(facecolor=colours[i], edgecolor="0.3", label=names[i]) for i in present]
    ax.legend(handles=handles, title=legend_title, fontsize=8, title_fontsize=9,
              loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    return mesh


def sweep_figure(values: Data, coords: Sequence[tuple], *, label: str, unit: str = "1",
                 categories: Sequence[str] | None = None, norm: str = "auto", title: str = "",
                 note: str = "") -> Figure:
    """The figure of one sweep output over a 1-D or 2-D grid.

    Args:
        values: the output (shape of the grid, NaN where a point failed); complex values are
            shown as magnitudes.
        coords: one ``(values, label, unit)`` per grid dimension (SI values; the axes are
            scaled by :func:`display_unit`), or ``(values, label, unit, names)`` with a name
            per value (used for the legend of a dimension drawn as separate lines).
        label, unit: of the output (SI unit; ``"1"`` dimensionless).
        categories: names of the integer codes of a categorical output (discrete legend).
        norm: colour/y scale, ``"auto"`` (:func:`choose_norm`), ``"linear"``, ``"log"`` or
            ``"symlog"``.
        title: figure title (what is shown); note: a smaller second line (e.g. the fixed
            parameters).

    A 1-D grid gives a line; a 2-D grid with ≤ 6 values on one axis gives one line per value;
    otherwise a map with a colour bar (or a categorical legend).
    """
    plt = _plt()
    y = np.asarray(values)
    if np.iscomplexobj(y):
        y, label = np.abs(y), (label if label.startswith("|") else f"|{label}|")
    y = np.asarray(y, dtype=float)
    ys, yu = display_unit(unit, y)
    ylab = axis_label(label, yu)
    ax_c = [(np.asarray(c[0], dtype=float),) + display_unit(c[2], c[0]) + (c[1],) for c in coords]
    names = [c[3] if len(c) > 3 else None for c in coords]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=DPI)
    if y.ndim == 1 or (y.ndim == 2 and min(y.shape) <= 6 and not categories):
        if y.ndim == 1:
            curves, (xv, xs, xu, xl) = [(None, y)], ax_c[0]
        else:
            few = 0 if y.shape[0] <= y.shape[1] else 1
            xv, xs, xu, xl = ax_c[1 - few]
            cv, cs, cu, cl = ax_c[few]
            curves = [(names[few][i] if names[few] else f"{cl} = {cv[i] / cs:.4g}" + (f" {cu}" if cu else ""),
                       np.take(y, i, axis=few)) for i in range(y.shape[few])]
        order = np.argsort(xv, kind="stable")  # sampled coordinates come unsorted
        xv, curves = xv[order], [(lab, np.asarray(c)[order]) for lab, c in curves]
        x = xv / xs
        for lab, c in curves:
            ax.plot(x, c / ys, ".-", ms=3, lw=1.2, label=lab)
        if categories:
            ax.set_yticks(range(len(categories)), categories)
        else:
            kind = scale_kind(y, norm)
            if kind == "log":
                ax.set_yscale("log")
            elif kind == "symlog":
                ax.set_yscale("symlog", linthresh=_linthresh(_finite(y)) / ys)
        if len(curves) > 1:
            ax.legend(fontsize=8, loc="best")
        if _log_axis(x, ratio=50):
            ax.set_xscale("log")
        ax.set_xlabel(axis_label(xl, xu))
        ax.set_ylabel(ylab)
        ax.grid(True, alpha=0.3)
    elif y.ndim == 2:
        (yv, yss, yuu, yl), (xv, xs, xu, xl) = ax_c
        if categories:
            categorical_map(ax, xv / xs, yv / yss, y, categories, legend_title=label)
        else:
            mesh = ax.pcolormesh(xv / xs, yv / yss, np.ma.masked_invalid(y / ys),
                                 norm=choose_norm(y / ys, norm), shading="auto", cmap="viridis")
            fig.colorbar(mesh, ax=ax, label=ylab)
        if _log_axis(xv, geometric=True):
            ax.set_xscale("log")
        if _log_axis(yv, geometric=True):
            ax.set_yscale("log")
        ax.set_xlabel(axis_label(xl, xu))
        ax.set_ylabel(axis_label(yl, yuu))
    else:
        raise ValueError(f"sweep_figure draws 1-D or 2-D grids, got values of shape {y.shape}")
    _title(ax, title, note)
    fig.tight_layout()
    return fig


def _log_axis(v, ratio: float = 10.0, geometric: bool = False) -> bool:
    """A coordinate gets a log axis if it is positive and spans more than ``ratio`` (and,
    with ``geometric``, is evenly spaced in log: a logspace grid)."""
    v = np.asarray(v, dtype=float)
    if v.size < 3 or not np.all(v > 0) or v.max() / v.min() <= ratio:
        return False
    if not geometric:
        return True
    d = np.diff(np.log(v))
    return bool(np.allclose(d, d[0], rtol=1e-3))


def _title(ax, title, note=""):
    import textwrap

    title = textwrap.fill(title, 75) if title else title
    if note:
        ax.set_title(textwrap.fill(note, 95), fontsize=8, loc="left", color="0.25")
        ax.figure.suptitle(title, fontsize=11)
    elif title:
        ax.set_title(title, fontsize=11)
