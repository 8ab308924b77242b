"""The test suite's own configuration (issue 20 §3): a test that runs past its time limit FAILS
with a clear message and the run goes on (no killed worker, nothing rerun), and `make demo`
installs only what the demo needs (the base package, no test/bench/distributed extras)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_time_limit_is_configured():
    ini = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert float(ini["timeout"]) > 0, "pyproject.toml: a per-test `timeout` must be set"
    # SIGALRM: the test fails in its own process, which runs the next test (thread method
    # would end the whole worker)
    assert ini["timeout_method"] == "signal"
    assert any(r.startswith("pytest-timeout") for r in PYPROJECT["project"]["optional-dependencies"]["test"])


def test_a_test_past_its_time_limit_fails_with_a_clear_message_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_sleepy.py").write_text(
        "import time\n\n\ndef test_sleeps():\n    time.sleep(60)\n\n\ndef test_after():\n    pass\n")
    # the project's pytest configuration (pyproject.toml) with a 1 s limit on a scratch file
    r = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                        "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-p", "no:xdist",
                        "-q", "--timeout=1", str(tmp_path / "test_sleepy.py")],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "Timeout (>1.0s) from pytest-timeout" in out, out
    assert re.search(r"1 failed, 1 passed", out), out


def test_make_demo_installs_the_base_package_only():
    mk = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:\s*(.*)$", mk, re.M)
    assert demo is not None, "Makefile: no demo target"
    assert demo.group(1).split() == ["$(BASE_STAMP)"], demo.group(0)
    base = re.search(r"^\$\(BASE_STAMP\):.*\n((?:\t.*\n)+)", mk, re.M)
    assert base is not None, "Makefile: no $(BASE_STAMP) rule"
    installs = [ln for ln in base.group(1).splitlines() if "pip install" in ln]
    assert installs and all("[" not in ln for ln in installs), installs  # no extras


def test_xla_flags_of_the_suite_are_probed_before_use():
    """The suite's XLA_FLAGS (tests/conftest.py) add the legacy-fusion-emitter flag only where
    XLA accepts it: an unknown flag aborts XLA, so the probe must see that as 'no'."""
    import conftest

    flags = os.environ.get("XLA_FLAGS", "")
    if conftest._LEGACY_FUSION in flags:
        assert conftest._XLA_TEST_FLAGS in flags
    assert conftest._xla_accepts(conftest._XLA_TEST_FLAGS + " --xla_jaxbind_no_such_flag=1") is False
