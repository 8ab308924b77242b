"""jaxbind.quantum: Gaussian-moment dynamics (steady states, evolution, observables, spectra),
Lyapunov solvers, cooling rate equations, Fock-space master equations, the untruncated
Gaussian solution of paper 004's non-Hermitian dynamics, sympathetic cooling.

Submodules and their public names are imported lazily on first use (``lazy_loader``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["gaussian", "lyapunov", "batched_lu", "phase_space", "models", "observables",
                "response", "cooling", "cooling_grid", "fock_model", "fock", "fock_iterative",
                "nonhermitian", "sympathetic"],
    submod_attrs={
        "gaussian": ["LinearSystem", "GaussianState", "SteadyState", "steady_state", "evolve",
                     "physicality"],
        "observables": ["occupations", "log_negativity", "purity", "symplectic_eigenvalues"],
        "response": ["spectrum", "heat_currents"],
        "lyapunov": ["solve_lyapunov"],
    },
)
