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
