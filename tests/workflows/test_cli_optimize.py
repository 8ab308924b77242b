"""``jaxbind optimize CONFIG.toml``: validation (errors name file:line, key, value; unknown
keys are errors) and an end-to-end run that reaches paper 001's one-way point."""

import json

import numpy as np
import pytest

from jaxbind.workflows.cli import main
from jaxbind.workflows.config import ConfigError
from jaxbind.workflows.design.optimize_config import parse_optimize_config

CFG = """\
[optimize]
objective = "pair_coupling"
title = "one-way pair"

[target]
g_r = 0.5
g_a = 0.5

[params]
kd = {{ low = 2.0, high = 12.0 }}
phase = {{ low = -3.141592653589793, high = 3.141592653589793, periodic = true }}

[run]
learning_rate = 0.05
steps = 500
restarts = 8
seed = 1

[output]
dir = "{out}"
name = "pair"
"""


def test_end_to_end_one_way_pair(tmp_path, capsys):
    cfg = tmp_path / "pair.toml"
    cfg.write_text(CFG.format(out=tmp_path / "o"))
    assert main(["optimize", str(cfg), "--no-progress", "--x64"]) == 0
    out = capsys.readouterr().out
    assert "pair.json" in out and "pair.png" in out
    s = json.loads((tmp_path / "o" / "pair.json").read_text())
    kd, ph = s["best"]["kd"], s["best"]["phase"]
    assert s["loss"] < 1e-6 and len(s["restart_losses"]) == 8
    # one-way: kd ≡ φ (mod 2π), kd ≡ π/4 (mod π/2) (paper 001 after eq. 87)
    r = np.mod(kd - np.pi / 4, np.pi / 2)
    assert min(r, np.pi / 2 - r) < 5e-2
    r = np.mod(kd - ph, 2 * np.pi)
    assert min(r, 2 * np.pi - r) < 5e-2
    assert (tmp_path / "o" / "pair.png").stat().st_size > 0


@pytest.mark.parametrize("edit, match", [
    (("g_a = 0.5", "g_b = 0.5"), r":7: \[target.g_b\] = 0.5: unknown key"),
    (("objective = \"pair_coupling\"", "objective = \"exec\""), r":2: \[optimize.objective\] = 'exec': unknown objective"),
    (("high = 12.0", "high = 1.0"), r":10: \[params.kd.high\] = 1.0: must be > low"),
    (("steps = 500", "steps = -3"), r":15: \[run.steps\] = -3: must be a positive integer"),
    (("[output]", "[outputs]"), r"\[outputs\]: unknown table"),
    (("restarts = 8", "restarts = 8\nshuffle = true"), r"\[run.shuffle\] = True: unknown key"),
    (("g_a = 0.5\n", ""), r"pair_coupling needs g_a"),
])
def test_validation_errors(tmp_path, edit, match):
    text = CFG.format(out=tmp_path).replace(*edit)
    with pytest.raises(ConfigError, match=match):
        parse_optimize_config(text, "c.toml")


def test_cli_errors_and_list(tmp_path, capsys):
    assert main(["optimize"]) == 2
    assert "needs CONFIG.toml" in capsys.readouterr().err
    assert main(["optimize", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read config" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(CFG.format(out=tmp_path).replace("optimizer", "x").replace("learning_rate = 0.05",
                                                                             "learning_rate = 0.0"))
    assert main(["optimize", str(bad)]) == 2
    assert "bad.toml:14: [run.learning_rate] = 0.0: must be > 0" in capsys.readouterr().err
    assert main(["optimize", "--list"]) == 0
    assert "silicon_kerker" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="400–800 nm"):
        parse_optimize_config('[optimize]\nobjective = "silicon_kerker"\n[params]\n'
                              'radius_nm = { low = 30.0, high = 100.0 }\n'
                              'wavelength_nm = { low = 300.0, high = 700.0 }\n')


def test_every_objective_has_an_example_config_that_validates():
    from pathlib import Path

    from jaxbind.workflows.cli import OBJECTIVE_HELP, OPTIMIZE_EXAMPLE
    from jaxbind.workflows.design.optimize_config import OBJECTIVES, load_optimize_config

    assert set(OBJECTIVE_HELP) == set(OBJECTIVES)
    parse_optimize_config(OPTIMIZE_EXAMPLE, "help-example.toml")  # the one in --help
    examples = Path(__file__).parents[2] / "examples" / "optimize"
    seen = {load_optimize_config(p).objective for p in sorted(examples.glob("*.toml"))}
    assert seen == set(OBJECTIVES)


def test_progress_bar_counts_steps_after_compilation(capsys):
    import jax.numpy as jnp
    import optax

    from jaxbind.workflows.design.optimize import optimize_restarts

    r = optimize_restarts(lambda x: (x - 1.0) ** 2, jnp.array([0.0, 2.0, 3.0]), optax.adam(0.1),
                          40, progress=True, progress_every=10)
    err = capsys.readouterr().err
    assert "(compiling)" in err  # the compile phase is shown as such ...
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    # ... and the finished bar counts steps under the right label, clock restarted
    assert "optimize: steps (3 restarts in parallel)" in last and "40/40" in last
    assert "compiling" not in last and "step/s" in last
    assert np.isfinite(float(r.loss))
