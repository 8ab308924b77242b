"""Tests of the ``jaxbind`` command line: sweep, optimize (not yet), info."""

import json

import numpy as np
import pytest
import xarray as xr

from jaxbind.workflows.cli import main

CFG = """
[sweep]
function = "green_tensor"
title = "Green tensor scan"

[fixed]
phi = 0.0

[grid]
theta = [0.5, 1.5707963267948966]
kr = {{ linspace = [0.0, 4.0, 9] }}

[output]
dir = "{out}"
name = "g"
netcdf = true
plot = "g[0, 0]"
"""


def test_sweep_writes_store_netcdf_png_json(tmp_path, capsys):
    cfg = tmp_path / "g.toml"
    cfg.write_text(CFG.format(out=tmp_path / "out"))
    assert main(["sweep", str(cfg), "--no-progress"]) == 0
    out = tmp_path / "out"
    for f in ("g.zarr", "g.nc", "g.png", "g.json"):
        assert (out / f).exists(), f
    s = json.loads((out / "g.json").read_text())
    assert s["function"] == "green_tensor" and s["n_points"] == 18
    from jaxbind.workflows.sweep.store import NONFINITE

    # kr = 0 is singular (NaN-masked in the compiled chunk), for both angles
    assert s["status_counts"] == {"0": 16, str(NONFINITE): 2}
    ds = xr.open_zarr(out / "g.zarr")
    nc = xr.open_dataset(out / "g.nc")
    np.testing.assert_array_equal(nc.g_real.values + 1j * nc.g_imag.values, ds.g.values)
    # closed form at θ = π/2 (r ∥ e_x), kr = 1: g_xx = e^{i}(2 − 2i)
    np.testing.assert_allclose(ds.g.sel(theta=np.pi / 2, kr=1.0).values[0, 0], np.exp(1j) * (2 - 2j), rtol=1e-6)
    # rerun: resumes (nothing recomputed) and still succeeds
    assert main(["sweep", str(cfg), "--no-progress"]) == 0
    assert json.loads((out / "g.json").read_text())["stats"]["chunks_computed"] == 0


def test_bad_config_exit_2_with_precise_message(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(CFG.format(out=tmp_path).replace("phi = 0.0", "psi = 0.0"))
    assert main(["sweep", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml:7: [fixed.psi]" in err and "no parameter 'psi'" in err
    assert main(["sweep"]) == 2


def test_dry_run_list_optimize_and_info(tmp_path, capsys):
    cfg = tmp_path / "g.toml"
    cfg.write_text(CFG.format(out=tmp_path / "dry"))
    assert main(["sweep", str(cfg), "--dry-run"]) == 0
    assert not (tmp_path / "dry").exists()
    assert "18 points" in capsys.readouterr().out
    assert main(["sweep", "--list"]) == 0
    assert "mie_efficiencies(" in capsys.readouterr().out
    assert main(["optimize", str(tmp_path / "x.toml")]) == 2  # missing config: clear error
    assert "x.toml" in capsys.readouterr().err
    assert main(["info"]) == 0
    assert "x64 enabled" in capsys.readouterr().out


def test_unknown_plot_variable_is_an_error(tmp_path, capsys):
    cfg = tmp_path / "g.toml"
    cfg.write_text(CFG.format(out=tmp_path / "o").replace('plot = "g[0, 0]"', 'plot = "h"'))
    assert main(["sweep", str(cfg), "--no-progress"]) == 2
    assert "[output.plot] = 'h'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--version"]])
def test_version(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert "jaxbind" in capsys.readouterr().out


# --- help, --list, examples ----------------------------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).parents[2]
_HELP_SCRIPT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("cli_alone", {path!r})
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)
for argv in (["--help"], ["sweep", "--help"], ["optimize", "--help"]):
    try:
        cli.main(argv)
    except SystemExit as e:
        assert e.code == 0, (argv, e.code)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "jaxbind", "numpy",
                                                              "matplotlib"))
print("HEAVY", heavy)
"""


def test_help_imports_no_jax():
    """cli.py itself imports nothing heavy before a command needs it: --help is instant."""
    code = _HELP_SCRIPT.format(path=str(ROOT / "jaxbind" / "workflows" / "cli.py"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout[-500:]
    assert "usage: jaxbind sweep" in out.stdout and "objectives:" in out.stdout


def test_entry_point_help_imports_no_jax():
    code = ("import sys, runpy; sys.argv = ['jaxbind', '--help']\n"
            "try:\n    runpy.run_module('jaxbind.workflows.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\nprint('JAX', 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert "JAX False" in out.stdout, out.stdout[-300:] + out.stderr[-300:]


def test_sweep_list_shows_whole_descriptions(capsys):
    from jaxbind.workflows.sweep import registry

    assert main(["sweep", "--list"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in registry.REGISTRY:
        fn = registry.resolve(name)
        assert registry.summary_line(fn) in out  # the whole first paragraph, unwrapped
        assert "plotted by default" in out
    assert "(paper 004 eqs. 13–15, Fig. 2)" in out and "distance [m]" in out


def test_help_example_and_example_files_validate():
    from jaxbind.workflows.cli import SWEEP_EXAMPLE
    from jaxbind.workflows.config import load_config, parse_config

    parse_config(SWEEP_EXAMPLE, "help-example.toml")
    sweeps = sorted((ROOT / "examples").glob("*.toml"))  # optimize configs: examples/optimize/
    assert len(sweeps) >= 5
    used = {load_config(p).function for p in sweeps}
    from jaxbind.workflows.sweep import registry

    assert used == set(registry.REGISTRY)  # one example per sweep function at least
    for p in sorted((ROOT / "examples").rglob("*.toml")):  # no "a = 1; b = 2" lines
        assert not any(";" in ln.split("#")[0] for ln in p.read_text().splitlines()), p


# --- figures of tiny sweeps --------------------------------------------------------------------


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures the CLI saves (and still save them)."""
    from jaxbind import plot

    got, save = [], plot.save

    def keep(fig, path, dpi=plot.DPI):
        got.append((fig, path))
        return save(fig, path, dpi)

    monkeypatch.setattr(plot, "save", keep)
    return got


def _dpi(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.info["dpi"][0]


def test_green_map_is_log_scaled_with_labels(tmp_path, figures):
    from matplotlib.colors import LogNorm

    text = CFG.format(out=tmp_path / "o").replace(
        "theta = [0.5, 1.5707963267948966]", "theta = { linspace = [0.0, 3.0, 7] }").replace(
        "linspace = [0.0, 4.0, 9]", "linspace = [0.05, 8.0, 9]")
    cfg = tmp_path / "g.toml"
    cfg.write_text(text)
    assert main(["sweep", str(cfg), "--no-progress"]) == 0
    (fig, path), = figures
    ax = fig.axes[0]
    assert isinstance(ax.collections[0].norm, LogNorm)  # |g_xx| spans ~4 decades
    assert ax.get_xlabel() == "separation kr" and ax.get_ylabel() == "polar angle θ of r (rad)"
    assert "g_xx" in fig.axes[1].get_ylabel()
    assert _dpi(path) >= 150


def test_regime_map_has_named_legend_and_headline_default(tmp_path, figures):
    cfg = tmp_path / "r.toml"
    cfg.write_text(f"""
[sweep]
function = "regime_map"
title = "regimes"
[grid]
phase = {{ linspace = [0.0, 3.141592653589793, 5] }}
kd = {{ linspace = [1.0, 8.0, 6] }}
[output]
dir = "{tmp_path / 'o'}"
""")  # no plot key: the headline output "regime"
    assert main(["sweep", str(cfg), "--no-progress"]) == 0
    (fig, _), = figures
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # a legend, not a colour bar
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_legend().get_title().get_text() == "regime"
    assert names and set(names) <= {"none", "reciprocal", "directional", "antireciprocal",
                                    "noise-correlation"}
    assert ax.get_ylabel() == "relative tweezer phase φ (rad)"


def test_norm_override_in_output_table(tmp_path, figures):
    """``[output] norm`` forces the scale (the config validator must allow the key)."""
    from matplotlib.colors import Normalize

    from jaxbind.workflows.config import parse_config
    from jaxbind.workflows.report import run_config

    text = CFG.format(out=tmp_path / "o").replace(
        "theta = [0.5, 1.5707963267948966]", "theta = { linspace = [0.0, 3.0, 7] }").replace(
        "linspace = [0.0, 4.0, 9]", "linspace = [0.05, 8.0, 9]").replace("netcdf = true", "")
    cfg = parse_config(text, "g.toml")
    cfg.output["norm"] = "linear"
    run_config(cfg, progress=False)
    (fig, _), = figures
    assert type(fig.axes[0].collections[0].norm) is Normalize


def test_version_helpers_do_not_leak_into_the_namespace():
    import jaxbind

    assert not hasattr(jaxbind, "PackageNotFoundError")
    assert isinstance(jaxbind.__version__, str) and jaxbind.__version__
