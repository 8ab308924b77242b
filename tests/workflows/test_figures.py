"""Figures of ``jaxbind sweep`` and the plot helpers: units on the axes, log/symlog scales for
data spanning decades, discrete legends for categorical outputs, headline outputs, ≥ 150 dpi.
Plot-helper tests use NumPy data (no JAX); the CLI tests use tiny grids."""

import inspect

import jax
import numpy as np
import pytest
from matplotlib.colors import LogNorm, Normalize, SymLogNorm

from jaxbind import plot
from jaxbind.workflows.sweep import registry


def _dpi(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.info["dpi"][0]


@pytest.mark.parametrize("unit, values, want", [
    ("m", [2e-7, 5e-6], (1e-6, "µm")),
    ("m", [4.5e-8], (1e-9, "nm")),
    ("N", [-8e-14, 3e-15], (1e-15, "fN")),
    ("Hz", [0.0, 1.2e3, 2.5e4], (1e3, "kHz")),
    ("N/m", [3e-7], (1e-9, "nN/m")),
    ("W/m²", [1.3e9], (1e9, "mW/µm²")),
    ("1", [1e-9, 3.0], (1.0, "")),
    ("rad", [0.0, 3.14], (1.0, "rad")),
    ("m", [np.nan, 0.0], (1.0, "m")),
])
def test_display_unit_picks_si_prefix(unit, values, want):
    s, u = plot.display_unit(unit, values)
    assert u == want[1] and s == pytest.approx(want[0])
    assert plot.axis_label("distance", u) == (f"distance ({u})" if u else "distance")


def test_choose_norm_log_symlog_linear_and_override():
    r = np.linspace(0.05, 20, 50)
    green_like = 2 / r**3 + 1 / r  # spans 5 decades, positive
    assert isinstance(plot.choose_norm(green_like), LogNorm)
    assert isinstance(plot.choose_norm(np.r_[green_like, np.nan]), LogNorm)  # failed points ignored
    force_like = np.sin(r) / r**3  # both signs, magnitudes spanning decades
    assert isinstance(plot.choose_norm(force_like), SymLogNorm)
    flat = 1.0 + 0.5 * np.sin(r)  # within one decade
    n = plot.choose_norm(flat)
    assert type(n) is Normalize and n.vmin == pytest.approx(flat.min())
    assert type(plot.choose_norm(green_like, "linear")) is Normalize
    assert isinstance(plot.choose_norm(flat, "log"), LogNorm)
    assert isinstance(plot.choose_norm(flat, "symlog"), SymLogNorm)
    with pytest.raises(ValueError, match="norm must be"):
        plot.choose_norm(flat, "logarithmic")
    with pytest.raises(ValueError, match="positive data"):
        plot.choose_norm(-flat, "log")


def test_sweep_map_decades_units_colourbar_and_dpi(tmp_path):
    kr = np.linspace(0.05, 20.0, 40)
    d = np.linspace(0.2e-6, 5e-6, 7)  # 7 values: a map, not lines
    z = 2 / kr[None, :] ** 3 * (1 + d[:, None] * 1e5)
    fig = plot.sweep_figure(z, [(d, "distance L", "m"), (kr, "separation kr", "1")],
                            label="|g_xx|", title="a map")
    ax = fig.axes[0]
    assert isinstance(ax.collections[0].norm, LogNorm)
    assert ax.get_ylabel() == "distance L (µm)" and ax.get_xlabel() == "separation kr"
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "|g_xx|"  # the colour bar
    path = plot.save(fig, tmp_path / "m.png")
    assert _dpi(path) >= 150


def test_sweep_lines_units_scale_and_legend():
    L = np.linspace(0.2e-6, 5e-6, 30)
    f = np.stack([np.sin(L * 4e6) * 1e-13 / (L * 1e6) ** 3, np.cos(L * 4e6) * 1e-14])
    fig = plot.sweep_figure(f, [(np.array([0.0, 1.0]), "kerker", "1"), (L, "distance L", "m")],
                            label="force f_A,x", unit="N", title="lines")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "distance L (µm)"
    assert ax.get_ylabel().endswith("(fN)") or ax.get_ylabel().endswith("(pN)")
    assert ax.get_yscale() == "symlog"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kerker = 0", "kerker = 1"]
    # the plotted curves are the data in the displayed unit
    s, _ = plot.display_unit("N", f)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), f[0] / s)


def test_categorical_map_has_discrete_legend_not_colourbar():
    names = ("none", "reciprocal", "directional", "antireciprocal", "noise-correlation")
    codes = np.array([[0, 1, 1, 2], [2, 3, 3, np.nan], [1, 1, 3, 3]])  # no "noise" code present
    fig = plot.sweep_figure(codes, [(np.arange(3.0), "phase φ", "rad"), (np.arange(4.0), "kd", "1")],
                            label="regime", categories=names)
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # no colour bar
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(names[:4])
    assert ax.get_ylabel() == "phase φ (rad)"


# --- registry metadata -------------------------------------------------------------------------


def _outputs(fn):
    """Output names and per-point shapes, by abstract evaluation (no compile)."""
    params = inspect.signature(fn).parameters
    args = {n: jax.ShapeDtypeStruct((), jax.numpy.float32) for n, p in params.items()
            if p.default is p.empty or isinstance(p.default, float)}
    out = jax.eval_shape(lambda a: fn(**a), args)
    if not isinstance(out, dict):  # an equinox module (Mie efficiencies)
        out = {k: getattr(out, k) for k in out.__dataclass_fields__}
    # a `result` leaf (RESULTS item) is the point's status, not a plotted output
    return {k: v.shape for k, v in out.items() if k != "result"}


# focused_trap in `make test-all`: tracing its point function (a Richards–Wolf stiffness) costs
# ~2.5 CPU-s; by default tests/workflows/test_cli.py::test_help_example_and_example_files_validate
# traces it (its example config) and checks the plotted output exists
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n == "focused_trap" else [])
                                  for n in sorted(registry.REGISTRY)])
def test_registry_declares_units_labels_headline(name):
    fn = registry.resolve(name)
    params = list(inspect.signature(fn).parameters)
    outs = _outputs(fn)
    for key in params + list(outs):
        assert key in fn.units, f"{name}: no unit for {key}"
        assert fn.labels.get(key), f"{name}: no label for {key}"
    head, _, idx = fn.headline.partition("[")
    assert head in outs
    assert len(outs[head]) == (len(idx.split(",")) if idx else 0)
    for out, dims in fn.dims.items():
        assert len(dims) == len(outs[out]), (name, out)
    for out, names in fn.categories.items():
        assert out in outs and len(set(names)) == len(names)
    text = registry.describe(name, width=None)
    assert registry.summary_line(fn) in text and not registry.summary_line(fn).endswith("(")


def test_regime_categories_match_the_library():
    from jaxbind.mechanics.regimes import REGIME_NAMES
    from jaxbind.quantum import cooling

    assert registry.resolve("regime_map").categories["regime"] == tuple(REGIME_NAMES)
    # the cooling point reports a RESULTS item (decoded by the store's code table), not
    # module-specific integer categories
    import jax.numpy as jnp

    from jaxbind.results import RESULTS

    out = registry.resolve("sympathetic_cooling")(jnp.asarray(3.0), jnp.asarray(0.01))
    assert isinstance(out["result"], RESULTS) and "status" not in out
    assert "status" not in registry.resolve("sympathetic_cooling").categories
    assert cooling.CoolingSteadyState is not None


def test_component_labels_from_declared_dims():
    from jaxbind.workflows.report import _label

    fn = registry.resolve("nonreciprocity_pair")
    meta = {"labels": fn.labels, "dims": fn.dims}
    assert _label("nrf0", [0], meta) == "non-reciprocity factor NRF⁽⁰⁾_x"
    assert _label("nrf1", [1, 0, 2], meta) == \
        "first-order non-reciprocity factor NRF⁽¹⁾ (particle B, x, z)"
    assert _label("f", [0, 1], meta) == "force f_A,y on particle A"
    assert _label("q", [5], {"labels": {}, "dims": {}}) == "q [5]"


def test_categorical_line_names_its_levels():
    names = ("ok", "no cooling", "unstable")
    fig = plot.sweep_figure(np.array([0, 0, 1, 2, 0]), [(np.linspace(1.1, 3, 5), "K_g", "1")],
                            label="status", categories=names)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(names)
    n = plot.choose_norm(-np.logspace(-4, 2, 20))  # all negative, decades: symlog up to 0
    assert isinstance(n, SymLogNorm) and n.vmax == 0.0 and n.vmin == pytest.approx(-100)
