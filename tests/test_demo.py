"""`jaxbind demo` (what `make demo` runs) writes its figures and a sensible summary."""

import json

import numpy as np

from jaxbind.workflows.cli import main


def test_demo_writes_figures_and_summary(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--fast"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["figures"]) == {
        "green_tensor.png", "mie_efficiencies.png", "tweezer_array_intensity.png",
        "regime_map.png", "pipeline_occupations.png",
    }
    for name in summary["figures"]:
        assert (out / name).stat().st_size > 10_000
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
