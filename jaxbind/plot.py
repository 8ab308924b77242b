"""Matplotlib figures used by the CLI and the notebooks (imported lazily: matplotlib is only
loaded when a figure is made). Each function takes plain arrays and returns the Figure."""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover - backend already fixed by the user
            pass
    import matplotlib.pyplot as plt

    return plt


def green_components(kr, parts: dict, title="Free-space Green tensor, r ∥ e_x"):
    """|Ḡ_ij| (in units of k³/4π) vs kr on log axes.

    Args:
        kr: (n,) dimensionless separations.
        parts: label → (n,) magnitude curves.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 4.0), dpi=110)
    for label, y in parts.items():
        style = "--" if label.startswith("|") is False else "-"
        ax.loglog(kr, np.abs(y), style, label=label)
    ax.set_xlabel("kr")
    ax.set_ylabel(r"$4\pi|\bar G_{ij}|/k^3$")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def mie_spectra(x, curves: dict, title="Mie efficiencies"):
    """Efficiency curves (Q_ext, Q_sca, …) vs size parameter x."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 4.0), dpi=110)
    for label, y in curves.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel("size parameter x = k a")
    ax.set_ylabel("efficiency Q")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def field_map(xs, ys, intensity, markers=None, title="Tweezer-array intensity (focal plane)"):
    """Intensity map (W/m², shape (ny, nx)) on a grid, positions in metres, optional foci markers."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 3.6), dpi=110)
    um = 1e6
    im = ax.pcolormesh(np.asarray(xs) * um, np.asarray(ys) * um, np.asarray(intensity) * 1e-12,
                       shading="auto", cmap="inferno")
    fig.colorbar(im, ax=ax, label=r"intensity (W/µm²)")
    if markers is not None:
        m = np.asarray(markers)
        ax.plot(m[:, 0] * um, m[:, 1] * um, "c+", ms=8)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def regime_map(phases, kds, codes, names, title="Regimes of optical binding (paper 000 Fig. 3a)"):
    """Categorical map of regime codes (P, Q) over (φ, kd) with a labelled colour bar."""
    plt = _plt()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(["0.85", "tab:blue", "tab:green", "tab:orange", "tab:purple"][: len(names)])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, cmap.N)
    fig, ax = plt.subplots(figsize=(6.0, 3.8), dpi=110)
    im = ax.pcolormesh(np.asarray(kds), np.asarray(phases) / np.pi, np.asarray(codes), cmap=cmap,
                       norm=norm, shading="auto")
    cb = fig.colorbar(im, ax=ax, ticks=np.arange(len(names)))
    cb.ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("kd")
    ax.set_ylabel("relative tweezer phase φ / π")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def occupations_vs_phase(phases, occ, rates: dict, title="Two optically bound, feedback-cooled particles"):
    """Steady-state phonon occupations (left axis) and coupling rates (right axis) vs φ."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 3.8), dpi=110)
    ph = np.asarray(phases) / np.pi
    occ = np.asarray(occ)
    for j in range(occ.shape[1]):
        ax.plot(ph, occ[:, j], lw=2, label=f"n_{j + 1}")
    ax.set_xlabel("relative tweezer phase φ / π")
    ax.set_ylabel("steady-state occupation")
    ax2 = ax.twinx()
    for (label, y), st in zip(rates.items(), ("--", ":")):
        ax2.plot(ph, np.asarray(y), "k" + st, lw=1, label=label)
    ax2.set_ylabel("rate / 2π (Hz)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
