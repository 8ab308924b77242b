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
    from jaxbind.workflows.store import ERROR

    assert s["status_counts"] == {"0": 16, str(ERROR): 2}  # kr = 0 is singular, for both angles
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
