"""Gaussian moments vs QuTiP master equations in a truncated Fock space (independent code)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

qt = pytest.importorskip("qutip")


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    """NumPy's and SciPy's OpenBLAS with 2 threads on a loaded 2-core machine make QuTiP's
    sparse steady-state solve ~25× slower (busy-waiting threads); pin both to one thread for
    this module and restore afterwards."""
    import ctypes
    import glob
    import os

    import scipy

    found = []
    for pkg, pat, suffix in ((np, "numpy.libs", "64_"), (scipy, "scipy.libs", "")):
        for path in glob.glob(os.path.join(os.path.dirname(pkg.__file__), "..", pat, "libscipy_openblas*.so")):
            lib = ctypes.CDLL(path)
            get = getattr(lib, "scipy_openblas_get_num_threads" + suffix, None)
            put = getattr(lib, "scipy_openblas_set_num_threads" + suffix, None)
            if get is not None and put is not None:
                found.append((put, get()))
                put(1)
    yield
    for put, n in found:
        put(n)

from jaxbind.quantum.gaussian import GaussianState, LinearSystem, evolve, physicality, steady_state  # noqa: E402


def _model(n_modes):
    """Coupled oscillators: beam-splitter + counter-rotating position coupling, thermal baths,
    a correlated (non-reciprocal, Metelmann–Clerk) bath and a jump operator mixing a and a†."""
    w = np.array([1.0, 1.2, 0.9])[:n_modes]
    h = np.diag(w).astype(complex)
    g = np.zeros((n_modes, n_modes), complex)
    h[0, 1] = h[1, 0] = 0.08  # beam splitter
    g[0, 1] = g[1, 0] = 0.05  # counter-rotating part of a position coupling
    if n_modes == 3:
        h[1, 2] = 0.06 * np.exp(0.4j)
        h[2, 1] = np.conj(h[1, 2])
    kap = np.array([0.15, 0.1, 0.2])[:n_modes]
    nth = np.array([0.3, 0.1, 0.2])[:n_modes]
    U, V = [], []
    for j in range(n_modes):
        e = np.zeros(n_modes)
        e[j] = 1.0
        U += [np.sqrt(kap[j] * (nth[j] + 1)) * e, 0 * e]
        V += [0 * e, np.sqrt(kap[j] * nth[j]) * e]
    cor = np.zeros(n_modes, complex)
    cor[0], cor[1] = 1.0, np.exp(0.5j * np.pi)
    U.append(np.sqrt(0.1) * cor)  # correlated bath: non-reciprocal 1 ↔ 2 coupling
    V.append(np.zeros(n_modes))
    mix = np.zeros(n_modes, complex)
    mix[0] = np.sqrt(0.05)
    U.append(mix)
    vmix = np.zeros(n_modes, complex)
    vmix[1] = 0.3 * np.sqrt(0.05)
    V.append(vmix)  # L = √0.05 (a1 + 0.3 a2†)
    return h, g, np.array(U), np.array(V)


def _qutip_ops(h, g, U, V, N):
    m = h.shape[0]
    a = [qt.tensor([qt.destroy(N) if k == j else qt.qeye(N) for k in range(m)]) for j in range(m)]
    H = sum(h[i, j] * a[i].dag() * a[j] for i in range(m) for j in range(m))
    H += 0.5 * sum(g[i, j] * a[i] * a[j] + np.conj(g[i, j]) * a[j].dag() * a[i].dag() for i in range(m) for j in range(m))
    c_ops = [sum(U[k, j] * a[j] + V[k, j] * a[j].dag() for j in range(m)) for k in range(len(U))]
    x = []
    for j in range(m):
        x += [(a[j] + a[j].dag()) / np.sqrt(2), -1j * (a[j] - a[j].dag()) / np.sqrt(2)]
    # CSR everywhere: QuTiP's default mixed formats make the sparse steady-state solve ~40× slower
    return H.to("csr"), [c.to("csr") for c in c_ops], x, a


def _steadystate(H, c_ops):
    return qt.steadystate(qt.liouvillian(H, c_ops).to("csr"), method="direct", solver="spsolve")


def _moments(rho, x):
    mean = np.array([qt.expect(o, rho) for o in x]).real
    n = len(x)
    V = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            V[i, j] = 0.5 * qt.expect(x[i] * x[j] + x[j] * x[i], rho).real - mean[i] * mean[j]
    return mean, V


@pytest.mark.parametrize(
    "n_modes,N", [(2, 9), pytest.param(3, 6, marks=pytest.mark.slow)]  # 3 modes: minutes of sparse LU
)
def test_steady_state_vs_qutip(n_modes, N):
    h, g, U, V = _model(n_modes)
    s = LinearSystem.from_modes(h, g, U, V)
    assert bool(physicality(s).is_physical)
    res = jax.jit(steady_state)(s)
    assert int(res.status) == 0
    H, c_ops, x, _ = _qutip_ops(h, g, U, V, N)
    rho = _steadystate(H, c_ops)
    _, Vq = _moments(rho, x)
    # convergence in the truncation: one level less changes the moments by < 2e-3 (measured:
    # 1.6e-3 for 3 modes at N = 6, where N = 7 takes far longer); the comparison below uses
    # this measured truncation error as its tolerance
    H2, c2, x2, _ = _qutip_ops(h, g, U, V, N - 1)
    _, Vq2 = _moments(_steadystate(H2, c2), x2)
    assert np.abs(Vq - Vq2).max() < 2e-3
    np.testing.assert_allclose(res.cov, Vq, atol=3 * np.abs(Vq - Vq2).max() + 1e-6)


def test_mesolve_vs_evolve():
    h, g, U, V = _model(2)
    s = LinearSystem.from_modes(h, g, U, V)
    N = 10
    H, c_ops, x, a = _qutip_ops(h, g, U, V, N)
    alpha = 0.4 + 0.2j
    rho0 = qt.tensor(qt.coherent_dm(N, alpha), qt.fock_dm(N, 0))
    ts = np.array([0.0, 1.5, 4.0])
    out = qt.mesolve(H, rho0, ts, c_ops, options={"atol": 1e-10, "rtol": 1e-8})
    st0 = GaussianState.coherent(jnp.array([alpha, 0.0]))
    ours = evolve(s, st0, jnp.asarray(ts))
    for k, rho in enumerate(out.states):
        mq, Vq = _moments(rho, x)
        np.testing.assert_allclose(ours.mean[k], mq, atol=2e-5)
        np.testing.assert_allclose(ours.cov[k], Vq, atol=2e-5)
