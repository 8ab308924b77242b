"""The installed dependencies satisfy the floors declared in pyproject.toml.

The floors are the oldest releases verified to provide the APIs jaxbind uses (reasons in
pyproject.toml); this checks that the environment the suite runs in is one they admit, and
that the APIs the floors were raised for are present.
"""

from __future__ import annotations

import importlib.metadata
import pathlib
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_python_satisfies_requires_python():
    from packaging.specifiers import SpecifierSet

    assert sys.version.split()[0] in SpecifierSet(PROJECT["requires-python"])


@pytest.mark.parametrize("req", PROJECT["dependencies"])
def test_installed_version_satisfies_floor(req):
    r = Requirement(req)
    version = importlib.metadata.version(r.name)
    assert r.specifier.contains(version, prereleases=True), f"{r.name} {version} does not satisfy {req}"


def test_apis_the_floors_were_raised_for():
    import inspect

    import jax
    import optax
    import zarr

    assert "check_vma" in inspect.signature(jax.shard_map).parameters  # jax ≥ 0.6.1
    assert callable(optax.tree.norm)  # optax ≥ 0.2.5
    assert "zarr_format" in inspect.signature(zarr.open_group).parameters  # zarr ≥ 3
    assert int(zarr.__version__.split(".")[0]) >= 3
