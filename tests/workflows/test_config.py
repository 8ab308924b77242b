"""Tests of TOML sweep-config validation (jaxbind.workflows.config) and the registry."""

import glob
import os

import numpy as np
import pytest

from jaxbind.workflows.sweep import registry
from jaxbind.workflows.config import ConfigError, load_config, parse_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GOOD = """
[sweep]
function = "mie_efficiencies"
title = "map"

[fixed]
m_imag = 0.01

[grid]
m_real = { linspace = [1.1, 2.0, 4] }
x = { logspace = [-1, 1, 5] }

[run]
chunk_size = 7
memory_budget = "64MB"

[output]
name = "mie"
plot = "qext"
"""


def test_good_config_builds_grid_fixed_and_defaults():
    cfg = parse_config(GOOD, "good.toml")
    assert cfg.function == "mie_efficiencies" and cfg.title == "map"
    assert cfg.grid.dims == ("m_real", "x") and cfg.grid.shape == (4, 5)
    np.testing.assert_allclose(cfg.grid.factors[1].params[0][1], np.logspace(-1, 1, 5))
    # n_max derived from the largest x (Wiscombe: x + 4 x^{1/3} + 2 ≈ 20.6 for x = 10)
    assert cfg.fixed["m_imag"] == 0.01 and cfg.fixed["n_max"] >= 21
    assert cfg.run == {"chunk_size": 7, "memory_budget": "64MB", "executor": "local"}
    assert cfg.output["name"] == "mie"


def _err(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(text, "c.toml")


def test_unknown_table_and_key_name_the_line():
    _err(GOOD + "\n[bogus]\na = 1\n", r"c.toml:\d+: \[bogus\]: unknown table")
    bad = GOOD.replace("chunk_size = 7", "chunk_size = 7\nchunksize = 8")
    line = bad.splitlines().index("chunksize = 8") + 1
    _err(bad, rf"c.toml:{line}: \[run.chunksize\] = 8: unknown key")


def test_unknown_function_and_parameter():
    _err(GOOD.replace('"mie_efficiencies"', '"os:system"'), r"\[sweep.function\] = 'os:system': unknown function")
    bad = GOOD.replace("m_imag = 0.01", "m_imaginary = 0.01")
    line = bad.splitlines().index("m_imaginary = 0.01") + 1
    _err(bad, rf"c.toml:{line}: \[fixed.m_imaginary\]: mie_efficiencies has no parameter 'm_imaginary'")


def test_bad_values_are_named():
    _err(GOOD.replace("[1.1, 2.0, 4]", "[1.1, 2.0, 0]"), r"\[grid.m_real.linspace\].*positive integer")
    _err(GOOD.replace("{ linspace = [1.1, 2.0, 4] }", "[]"), r"\[grid.m_real\].*empty axis")
    _err(GOOD.replace("{ linspace = [1.1, 2.0, 4] }", "[1.0, nan]"), r"\[grid.m_real\].*finite")
    _err(GOOD.replace("{ linspace = [1.1, 2.0, 4] }", "'abc'"), r"\[grid.m_real\] = 'abc'")
    _err(GOOD.replace("chunk_size = 7", "chunk_size = -1"), r"\[run.chunk_size\] = -1: must be a positive")
    _err(GOOD.replace('"64MB"', '"lots"'), r"\[run.memory_budget\] = 'lots'")
    _err(GOOD.replace("m_imag = 0.01", "m_real = 0.01"), r"\[fixed.m_real\].*also swept")
    _err(GOOD.replace("[sweep]", "[sweep]\nfunction2 = 1"), r"\[sweep.function2\]")
    _err(GOOD.replace('title = "map"', 'title = "map"\n= broken'), r"invalid TOML")


def test_missing_required_parameter_and_empty_grid():
    no_x = GOOD.replace("x = { logspace = [-1, 1, 5] }\n", "")
    _err(no_x, r"needs parameter\(s\) \['x'\]")
    _err("[sweep]\nfunction = \"green_tensor\"\n", "no grid")
    _err("[grid]\nkr = [1.0]\n", r"missing table \[sweep\]")


def test_zip_and_sample_tables():
    text = """
[sweep]
function = "green_tensor"
[zip.dir]
theta = [0.1, 0.2]
phi = [0.0, 1.0]
[sample]
method = "random"
n = 8
seed = 2
log = ["kr"]
bounds = { kr = [0.1, 10.0] }
"""
    cfg = parse_config(text, "z.toml")
    assert cfg.grid.dims == ("dir", "sample") and cfg.grid.shape == (2, 8)
    kr = cfg.grid.factors[1].params[0][1]
    assert kr.min() >= 0.1 and kr.max() <= 10.0
    _err(text.replace("phi = [0.0, 1.0]", "phi = [0.0]"), r"\[zip.dir\].*equal lengths")
    _err(text.replace('"random"', '"lhs"'), r"\[sample.method\] = 'lhs'")
    _err(text.replace("n = 8", "n = 0"), r"\[sample.n\] = 0")
    _err(text.replace("kr = [0.1, 10.0]", "q = [0.1, 10.0]"), r"\[sample.bounds.q\].*no parameter 'q'")


def test_registry_entries_resolve_and_a_missing_file_is_named():
    for name in registry.REGISTRY:
        fn = registry.resolve(name)
        assert callable(fn) and fn.__doc__
    with pytest.raises(KeyError):
        registry.resolve("nope")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(os.path.join(ROOT, "examples", "missing.toml"))


# default coverage: tests/workflows/test_cli.py::test_help_example_and_example_files_validate
# loads every sweep example (~3 CPU-s: each config's parameters are checked against a trace)
@pytest.mark.slow
def test_examples_validate():
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.toml")))
    assert len(examples) >= 4
    for path in examples:
        cfg = load_config(path)
        assert cfg.grid.size > 1
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(os.path.join(ROOT, "examples", "missing.toml"))


REGIME = """
[sweep]
function = "regime_map"
[fixed]
delta_omega = 0.0
[grid]
phase = [0.0, 1.0]
kd = { linspace = [1.0, 2.0, 3] }
[output]
plot = "g_r"
"""


def test_fixed_values_are_type_checked_against_the_parameters():
    """Schema validation before any work: a string or a float where the function's default
    says number/integer is an error naming file, line and key; so are outputs for plot."""
    parse_config(REGIME, "r.toml")
    _err(REGIME.replace("delta_omega = 0.0", 'delta_omega = "zero"'),
         r"r?c.toml:5: \[fixed.delta_omega\] = 'zero': must be a number")
    _err(REGIME.replace("delta_omega = 0.0", "delta_omega = true"), r"\[fixed.delta_omega\] = True: must be a number")
    _err(GOOD.replace("m_imag = 0.01", "m_imag = 0.01\nn_max = 2.5"), r"c.toml:8: \[fixed.n_max\] = 2.5: must be an integer")
    cfg = parse_config(GOOD.replace("m_imag = 0.01", "m_imag = 0.01\nn_max = 12"), "c.toml")
    assert cfg.fixed["n_max"] == 12
    _err(REGIME.replace('plot = "g_r"', 'plot = "nope"'), r"\[output.plot\] = 'nope': not an output")
    _err(REGIME.replace('plot = "g_r"', 'plot = "g_r[0]"'), r"\[output.plot\].*give 0 indices")
    g = parse_config(CLI_G.replace('"g[0, 0]"', '"g[2, 2]"'), "g.toml")
    assert g.outputs["g"][0] == (3, 3)
    _err(CLI_G.replace('"g[0, 0]"', '"g[3, 0]"'), r"\[output.plot\] = 'g\[3, 0\]': index out of range")
    _err(REGIME.replace("[output]", "[run]\nchunk_size = 2.0\n[output]"), r"\[run.chunk_size\] = 2.0: must be an integer")
    _err(REGIME.replace("[output]", "[run]\nresume = 1\n[output]"), r"\[run.resume\] = 1: must be true or false")


CLI_G = """
[sweep]
function = "green_tensor"
[grid]
kr = [0.0, 1.0]
[output]
plot = "g[0, 0]"
"""


def test_a_grid_that_cannot_fit_in_memory_is_refused_before_any_array_is_made():
    huge = REGIME.replace("kd = { linspace = [1.0, 2.0, 3] }", "kd = { linspace = [1.0, 2.0, 100000000000000] }")
    _err(huge, r"c.toml:8: \[grid.kd\]: the grid has 2e\+14 points.*more than this machine's")


def test_cli_dry_run_reports_size_and_all_failed_sweep_exits_nonzero(tmp_path, capsys):
    from jaxbind.workflows.cli import main

    cfg = tmp_path / "r.toml"
    cfg.write_text(REGIME)
    assert main(["sweep", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "size: 6 points" in out and "status int32" in out
    huge = tmp_path / "h.toml"
    huge.write_text(REGIME.replace("[1.0, 2.0, 3]", "[1.0, 2.0, 100000000000000]"))
    assert main(["sweep", str(huge), "--dry-run"]) == 2
    assert "more than this machine's" in capsys.readouterr().err
    bad = tmp_path / "g.toml"  # kr = 0 only: every point is singular
    bad.write_text(CLI_G.replace("[0.0, 1.0]", "[0.0]") + f'dir = "{tmp_path / "o"}"\nfigure = false\n')
    assert main(["sweep", str(bad), "--no-progress"]) == 1
    assert "every point failed" in capsys.readouterr().err
