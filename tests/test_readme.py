"""The README's Python example runs as written and gives physically sensible numbers."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


# ~8 CPU-s (the example compiles the forces, their Jacobian and a gradient through the dipole
# solve); default coverage of the same public calls (optical_forces, stiffness_matrix, grad
# through the dipole solve): tests/optics/test_forces.py
@pytest.mark.slow
def test_readme_example_runs():
    text = README.read_text()
    block = re.search(r"## Example\s+```python\n(.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - our own documentation
    F, K, dF = np.asarray(ns["F"]), np.asarray(ns["K"]), float(ns["dF"])
    assert F.shape == (2, 3) and np.all(np.isfinite(F))
    # radiation pressure pushes both particles along +z (the propagation direction)
    assert np.all(F[:, 2] > 0)
    assert K.shape == (6, 6) and np.all(np.isfinite(K)) and np.isfinite(dF)
    # the tweezer phase difference makes the optical binding non-reciprocal: K_12 != K_21^T
    assert not np.allclose(K[:3, 3:], K[3:, :3].T, rtol=1e-3, atol=0)


def test_readme_has_the_two_quick_start_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text
