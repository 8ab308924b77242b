"""The public API of docs/architecture.md ("Public API") is re-exported at top level."""

import jaxbind as jb

DESIGN_NAMES = (
    "green_tensor mie_coefficients dipole_polarizabilities clausius_mossotti PlaneWave Tweezer "
    "Particle solve_dipoles optical_forces interparticle_forces nonreciprocity_factors "
    "TweezerArray linearize two_particle_rates eigenfrequencies LinearSystem GaussianState "
    "steady_state evolve occupations log_negativity sweep optimize"
).split()


def test_design_api_is_exported():
    missing = [n for n in DESIGN_NAMES if not hasattr(jb, n)]
    assert missing == []


def test_import_does_not_flip_global_config_or_load_heavy_optional_modules():
    import subprocess
    import sys

    code = (
        "import sys, jax, jaxbind; "
        "assert not jax.config.read('jax_enable_x64'); "
        "assert jax.config.read('jax_cpu_enable_async_dispatch'); "
        "print(','.join(m for m in ('xarray', 'zarr', 'dask', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_top_level_is_small_and_families_are_sub_namespaces():
    """Top level = the DESIGN list + solver, scatterer-model and result types (+ a few everyday
    types); families are modules reached as jb.<family> (counted apart: the physics grows by
    families, not by top-level names)."""
    top = set(jb.__all__)
    assert set(DESIGN_NAMES) <= top
    assert {"Direct", "Born", "GMRES", "BlockGMRES", "Kron", "Sign", "RESULTS",
            "MieDipole", "ClausiusMossotti"} <= top
    names = top - set(jb._FAMILIES) - {"__version__"}
    assert len(names) <= 48, sorted(names)
    import importlib

    for fam, mod in (("green", "jaxbind.optics.green"), ("fock", "jaxbind.quantum.fock"),
                     ("cooling", "jaxbind.quantum.cooling"), ("pair", "jaxbind.optics.pair"),
                     ("contrib", "jaxbind.contrib")):
        assert getattr(jb, fam) is importlib.import_module(mod)


def test_moved_names_warn_and_resolve_for_one_release():
    import warnings

    from jaxbind.optics.pair import pair_forces

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        f = jb.pair_forces
    assert f is pair_forces
    assert any(issubclass(w.category, DeprecationWarning) and "jaxbind.pair.pair_forces"
               in str(w.message) for w in rec)
    import pytest

    with pytest.raises(AttributeError, match="no longer public"):
        jb.COOLING_GRID_COMPILER_OPTIONS
    with pytest.raises(AttributeError):
        jb.no_such_name


def test_import_is_lazy_and_leaks_no_helper_names():
    import subprocess
    import sys

    code = ("import sys, jaxbind; assert 'jax' not in sys.modules, 'import jaxbind imported jax'; "
            "assert not hasattr(jaxbind, 'PackageNotFoundError'); print(jaxbind.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
