"""benchmarks/gpu_suite.py runs end to end at smoke sizes (issue 19 §4: it cannot rot)."""

import importlib.util
import json
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_suite.py"


# ~13 CPU-s (every row compiled at smoke size): in `make test-all`; the kernels it times are
# each tested in the default suite (tests/test_transforms.py and the physics tests).
@pytest.mark.slow
def test_gpu_suite_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_suite", SUITE)
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    out = tmp_path / "smoke.json"
    rc = suite.main(["--smoke", "--json", str(out)])
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    assert [r["row"] for r in res["rows"]] == list(suite.ROWS)
    bad = [(r["row"], r.get("error") or r.get("check")) for r in res["rows"] if not r["ok"]]
    assert rc == 0 and not bad, bad
    assert res["device"] in printed and res["smoke"]
    for r in res["rows"]:
        assert r["compile_s"] >= 0 and r["time_s"] > 0 and r["target"]
        assert r["row"] in printed
