"""`jaxbind demo` (what `make demo` runs) writes its figures and a sensible summary, and the
figures are publication-legible: ≥ 150 dpi, no text under 8 pt, a title saying what is shown
(not a paper figure number), the parameters on the figure, legends off the data."""

import json

import numpy as np
import pytest

from jaxbind.workflows.cli import main


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures the demo saves (and still save them)."""
    from jaxbind import plot

    got, save = {}, plot.save

    def keep(fig, path, dpi=plot.DPI):
        got[str(path).rsplit("/", 1)[-1]] = fig
        return save(fig, path, dpi)

    monkeypatch.setattr(plot, "save", keep)
    return got


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _title(fig):
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    parts += [ax.get_title(loc) for ax in fig.axes for loc in ("center", "left")]
    return " ".join(parts)


def test_demo_writes_figures_and_summary(tmp_path, figures):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--fast"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["figures"]) == {
        "green_tensor.png", "mie_efficiencies.png", "tweezer_array_intensity.png",
        "regime_map.png", "pipeline_occupations.png",
    }
    assert set(figures) == set(summary["figures"])
    from PIL import Image

    for name in summary["figures"]:
        assert (out / name).stat().st_size > 10_000
        with Image.open(out / name) as im:
            assert im.info["dpi"][0] >= 150, name
        fig = figures[name]
        small = [(t.get_text()[:30], t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 8]
        assert not small, (name, small)
        title = _title(fig)
        assert len(title.split()) >= 5 and not title.lower().startswith("paper"), (name, title)
    # G_yy at kr = 1 in units of k³/4π is e^{i}[(1 − i)(−1) + 1] = i e^{i} = −sin 1 + i cos 1
    assert np.allclose(summary["green_tensor"]["G_yy_over_k3_4pi"], [-np.sin(1.0), np.cos(1.0)], atol=1e-5)
    # Clausius–Mossotti: α ≈ 4πε0 a³ (m²−1)/(m²+2) for a 100-nm silica sphere
    eps0 = 8.8541878128e-12
    m2 = 1.45**2
    a_cm = 4 * np.pi * eps0 * (100e-9) ** 3 * (m2 - 1) / (m2 + 2)
    assert abs(summary["mie"]["silica_r100nm_1064nm"]["alpha_e_SI"][0] / a_cm - 1) < 0.02
    frac = summary["regime_map"]["area_fraction"]
    assert abs(sum(frac.values()) - 1) < 1e-9 and summary["regime_map"]["bad_points"] == 0
    pipe = summary["optics_mechanics_quantum"]
    assert pipe["unstable_points"] == 0
    # at φ = kd mod 2π = π/4 the coupling is maximally unidirectional: g_r = g_a
    g = pipe["at_phi_pi_over_4"]
    assert abs(g["g_r_Hz"] - g["g_a_Hz"]) < 0.05 * abs(g["g_r_Hz"])
    lo, hi = pipe["occupation_range"]
    assert 0 < lo < hi

    # the parameters of each figure are on the figure, consistent with the summary
    words = {n: " ".join(t.get_text() for t in _texts(f)) for n, f in figures.items()}
    p = pipe["parameters"]
    for s in (f"λ = {p['wavelength_m'] * 1e9:.0f} nm", f"radius {p['radius_m'] * 1e9:.0f} nm",
              f"P = {p['power_W']:.2f} W", f"NA = {p['NA']}", "axis z"):
        assert s in words["pipeline_occupations.png"].replace("\n", " "), s
    assert "λ = 1064 nm" in words["tweezer_array_intensity.png"]
    assert "m = 1.45" in words["mie_efficiencies.png"]
    # the occupation legend sits above the axes, off the curves
    fig = figures["pipeline_occupations.png"]
    fig.canvas.draw()
    ax = fig.axes[0]
    leg = ax.get_legend().get_window_extent()
    assert leg.y0 >= ax.get_window_extent().y1 - 1
    # the regime map has a discrete legend naming the regimes, no colour bar
    fig = figures["regime_map.png"]
    assert len(fig.axes) == 1
    assert "antireciprocal" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
