"""Builders for linear open-system models: baths, feedback, cavities, non-Hermitian couplings.

Every builder returns a new :class:`~jaxbind.quantum.gaussian.LinearSystem`; independent
processes add (``system + other``) because their master-equation generators add. Rates are
in the system's time unit (e.g. ω_ref for :meth:`LinearSystem.from_langevin`); occupations
are dimensionless. Papers: 000 (App. B, C), 001 (eqs. 89–101), 004 (eqs. 1–3).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .gaussian import LinearSystem, mode_matrix, symplectic_form

__all__ = [
    "thermal_bath",
    "add_thermal_bath",
    "add_gas_damping",
    "add_common_bath",
    "add_cold_damping",
    "add_cavity",
    "quantum_noise",
    "from_nonhermitian",
    "effective_recoil_homodyne",
    "effective_recoil_squeezed",
    "feedforward_diffusion",
    "feedforward_margin",
]


def _mode_index(system: LinearSystem, mode: int) -> int:
    m = system.n_modes
    if not isinstance(mode, (int, np.integer)) or not 0 <= int(mode) < m:
        raise ValueError(f"mode must be an integer in [0, {m}), got {mode!r}")
    return int(mode)


def thermal_bath(n_modes: int, mode: int, kappa: ArrayLike, n_th: ArrayLike, dtype=None) -> LinearSystem:
    """Generator of a thermal bath on one oscillator: κ(n̄+1) D[a] + κ n̄ D[a†].

    Quadratures: A_jj = −κ/2, D_jj = κ(n̄ + ½) (energy damping rate κ; steady occupation n̄).
    """
    dtype = dtype or jnp.result_type(jnp.asarray(kappa), jnp.asarray(n_th), float)
    A, D = _bath_matrices(jnp.asarray(kappa, dtype), jnp.asarray(n_th, dtype), n_modes, mode)
    return LinearSystem(A, D)


@functools.partial(jax.jit, static_argnums=(2, 3))  # one program (eager: one per op)
def _bath_matrices(kappa, n_th, n_modes, mode):
    dtype = kappa.dtype
    n = 2 * n_modes
    sl = slice(2 * mode, 2 * mode + 2)
    A = jnp.zeros((n, n), dtype).at[sl, sl].set(-0.5 * kappa * jnp.eye(2, dtype=dtype))
    D = jnp.zeros((n, n), dtype).at[sl, sl].set(kappa * (n_th + 0.5) * jnp.eye(2, dtype=dtype))
    return A, D


def add_thermal_bath(system: LinearSystem, mode: int, kappa: ArrayLike, n_th: ArrayLike) -> LinearSystem:
    """Add a thermal bath (rate κ, occupation n̄) to oscillator ``mode`` (paper 004 eq. 3)."""
    j = _mode_index(system, mode)
    return system + thermal_bath(system.n_modes, j, kappa, n_th, system.A.dtype)


def add_gas_damping(system: LinearSystem, mode: int, gamma: ArrayLike, n_th: ArrayLike) -> LinearSystem:
    """Add gas damping: energy damping rate γ towards the gas occupation n̄ = k_B T/(ħω).

    Modelled as a thermal bath (Lindblad, completely positive; the quantum-consistent form
    of Brownian damping for γ ≪ ω). With the correlated recoil of paper 001 eq. 90 the
    sum/difference modes then settle at n_± = n̄ + (γ_rec ± g)/γ (dimensionless rates).
    """
    return add_thermal_bath(system, mode, gamma, n_th)


def add_common_bath(
    system: LinearSystem, weights: ArrayLike, kappa: ArrayLike, n_th: ArrayLike = 0.0
) -> LinearSystem:
    """Add a bath coupled to the collective mode c = Σ_j w_j a_j: κ(n̄+1)D[c] + κn̄ D[c†].

    Produces correlated noise and dissipative (non-reciprocal when w has relative phases)
    coupling between the oscillators (e.g. Metelmann–Clerk reservoir engineering).

    Args:
        weights: (M,) complex coefficients w_j.
        kappa: rate; n_th: bath occupation.
    """
    m = system.n_modes
    w = jnp.asarray(weights)
    if w.shape != (m,):
        raise ValueError(f"weights must have shape ({m},), got {w.shape}")
    dt = system.A.dtype
    kappa = jnp.asarray(kappa, dt)
    n_th = jnp.asarray(n_th, dt)
    u = jnp.stack([jnp.sqrt(kappa * (n_th + 1)) * w, jnp.zeros_like(w)])
    v = jnp.stack([jnp.zeros_like(w), jnp.sqrt(kappa * n_th) * w.conj()])
    zero = jnp.zeros((m, m), dt)
    return system + LinearSystem.from_modes(zero, jumps_a=u, jumps_adag=v)


def add_cold_damping(
    system: LinearSystem,
    mode: int,
    gamma_fb: ArrayLike,
    measurement_rate: ArrayLike,
    efficiency: ArrayLike = 1.0,
) -> LinearSystem:
    """Add cold-damping (velocity) feedback, rotating-wave form (γ_fb, Γ ≪ ω).

    Position record dy = z dt + dW/√(8ηΓ) (paper 000 App. B normalisation: measurement
    back-action 2Γ D[z], i.e. momentum diffusion 2Γ), feedback force −γ_fb p̂ from the
    quarter-period-delayed record. Averaged over a period: both quadratures damp at γ_fb/2
    and diffuse at d/2 with d = 2Γ + γ_fb²/(8ηΓ), so n_ss = d/(2γ_fb) − ½ (minimum
    (1/√η − 1)/2 at Γ = γ_fb/(4√η)). Physical for all η ≤ 1.
    """
    j = _mode_index(system, mode)
    dt = system.A.dtype
    A, D = _cold_damping_matrices(jnp.asarray(gamma_fb, dt), jnp.asarray(measurement_rate, dt),
                                  jnp.asarray(efficiency, dt), system.n_modes, j)
    return system + LinearSystem(A, D)


@functools.partial(jax.jit, static_argnums=(3, 4))  # one program (eager: one per op)
def _cold_damping_matrices(g, G, eta, n_modes, j):
    dt = g.dtype
    d = 2.0 * G + g**2 / (8.0 * eta * G)
    n = 2 * n_modes
    sl = slice(2 * j, 2 * j + 2)
    e2 = jnp.eye(2, dtype=dt)
    A = jnp.zeros((n, n), dt).at[sl, sl].set(-0.5 * g * e2)
    D = jnp.zeros((n, n), dt).at[sl, sl].set(0.5 * d * e2)
    return A, D


def add_cavity(
    system: LinearSystem,
    detuning: ArrayLike,
    kappa: ArrayLike,
    couplings: ArrayLike,
    *,
    kind: str = "position",
    n_th: ArrayLike = 0.0,
) -> LinearSystem:
    """Append a cavity mode c (quadratures x_c, p_c last) coupled to the oscillators.

    H_c = Δ c†c (frame of the drive, Δ = ω_c − ω_L; cooling for Δ ≈ +ω_m) and decay
    κ(n̄+1)D[c] + κn̄D[c†] (energy decay rate κ). Couplings g_j (linearized, paper 001
    eq. 101 coherent scattering):

    * ``kind="position"``: H = Σ_j g_j (c + c†)(a_j + a_j†) = Σ_j 2 g_j x_c z_j
      (full linearized optomechanics, includes counter-rotating terms);
    * ``kind="beam_splitter"``: H = Σ_j g_j (a_j† c + a_j c†) = Σ_j g_j (z_j x_c + p_j p_c)
      (rotating-wave form, paper 004 eq. 1).

    Args:
        detuning: Δ; kappa: cavity energy decay rate; couplings: (M,) real g_j;
        n_th: cavity bath occupation (0 for optical frequencies).
    """
    if kind not in ("position", "beam_splitter"):
        raise ValueError(f"kind must be 'position' or 'beam_splitter', got {kind!r}")
    m = system.n_modes
    dt = system.A.dtype
    g = jnp.asarray(couplings, dt)
    if g.shape != (m,):
        raise ValueError(f"couplings must have shape ({m},), got {g.shape}")
    n = 2 * m + 2
    A = jnp.zeros((n, n), dt).at[: n - 2, : n - 2].set(system.A)
    D = jnp.zeros((n, n), dt).at[: n - 2, : n - 2].set(system.D)
    b = jnp.zeros((n,), dt).at[: n - 2].set(system.b)
    H = jnp.zeros((n, n), dt)
    H = H.at[n - 2, n - 2].set(detuning).at[n - 1, n - 1].set(detuning)
    zi, pi = jnp.arange(m) * 2, jnp.arange(m) * 2 + 1
    if kind == "position":
        H = H.at[zi, n - 2].set(2 * g).at[n - 2, zi].set(2 * g)
    else:
        H = H.at[zi, n - 2].set(g).at[n - 2, zi].set(g)
        H = H.at[pi, n - 1].set(g).at[n - 1, pi].set(g)
    ext = LinearSystem(A, D, b) + LinearSystem.from_lindblad(H)
    return add_thermal_bath(ext, m, kappa, n_th)


def quantum_noise(A: Float[ArrayLike, "n n"]) -> Float[Array, "n n"]:
    """Minimal real noise making a drift physical: D_q = |(i/2)(AΩ + ΩAᵀ)|.

    The matrix M = (i/2)(AΩ + ΩAᵀ) is Hermitian and purely imaginary, so its absolute value
    √(M²) is real symmetric and D_q + M ⪰ 0: (A, D_q) satisfies the physicality condition
    with the least noise of this form. Hamiltonian drifts give D_q = 0; amplitude damping
    κ/2 gives vacuum noise κ/2; a non-reciprocal (non-Hermitian) coupling gets exactly the
    correlated quantum noise its reservoir must inject (cf. paper 001 eq. 81).
    """
    return _quantum_noise(jnp.asarray(A))


@jax.jit  # one program (eager: one XLA compilation per op)
def _quantum_noise(A):
    n = A.shape[0]
    Om = symplectic_form(n, A.dtype)
    M = 0.5j * (A @ Om + Om @ A.T)
    Dq = jnp.real(_hermitian_abs(M)).astype(A.dtype)
    return 0.5 * (Dq + Dq.T)


@jax.custom_jvp
def _hermitian_abs(M):
    """|M| = U|w|U† for Hermitian M."""
    w, U = jnp.linalg.eigh(M)
    return (U * jnp.abs(w)) @ U.conj().T


@_hermitian_abs.defjvp
def _hermitian_abs_jvp(primals, tangents):
    # Daleckii–Krein: d|M| = U (F ∘ U†dM U) U† with the divided differences
    # F_ij = (|w_i| − |w_j|)/(w_i − w_j), whose limit for w_i → w_j is sign(w_i). Written this
    # way the derivative is finite for the degenerate spectra that symmetric drifts always
    # have (eigh's own derivative divides by w_i − w_j and gives NaN there).
    (M,), (dM,) = primals, tangents
    w, U = jnp.linalg.eigh(M)
    out = (U * jnp.abs(w)) @ U.conj().T
    wi, wj = w[:, None], w[None, :]
    diff = wi - wj
    tol = 100 * jnp.finfo(w.dtype).eps * jnp.maximum(jnp.max(jnp.abs(w)), jnp.finfo(w.dtype).tiny)
    close = jnp.abs(diff) <= tol
    F = jnp.where(close, 0.5 * (jnp.sign(wi) + jnp.sign(wj)),
                  (jnp.abs(wi) - jnp.abs(wj)) / jnp.where(close, 1.0, diff))
    dout = U @ (F.astype(U.dtype) * (U.conj().T @ dM @ U)) @ U.conj().T
    return out, dout


def from_nonhermitian(H_eff: ArrayLike, kind: str = "minimal_noise") -> LinearSystem:
    """Physically consistent linear system for ȧ = −i H_eff a with non-Hermitian H_eff.

    Paper 004 eqs. 1–2 write a non-reciprocal coupling g_ab a b† + g_ba a† b
    (g_ab ≠ g_ba*) as a non-Hermitian Hamiltonian, which alone does not preserve the
    commutators. Two completions (H_eff = H_h + i H_a with H_h, H_a Hermitian):

    * ``"minimal_noise"``: keep the drift exactly (A_jk block = [[Re W, −Im W], [Im W, Re W]],
      W = −i H_eff) and add the minimal quantum noise :func:`quantum_noise` it requires
      (modes with gain, eigenvalues of H_a > 0, become phase-insensitive amplifiers);
    * ``"reservoir"``: realise the anti-Hermitian part by a zero-temperature engineered
      reservoir (Metelmann & Clerk, PRX 5, 021025): Lindblad rates Γ = 2(c·1 − H_a) ⪰ 0 with
      the least local damping c = max(0, λ_max(H_a)); the drift is ȧ = −i(H_h + i H_a) a − c a,
      i.e. the non-reciprocal coupling of H_eff plus extra local damping c (amplitude rate)
      on every mode, with vacuum noise. No mode has gain.

    Add local baths with :func:`add_thermal_bath` and cavities with :func:`add_cavity`.

    Args:
        H_eff: (M, M) complex matrix, H = Σ_jk (H_eff)_jk a_j† a_k (rate units).
        kind: ``"minimal_noise"`` or ``"reservoir"`` (static).
    """
    if kind not in ("minimal_noise", "reservoir"):
        raise ValueError(f"kind must be 'minimal_noise' or 'reservoir', got {kind!r}")
    H = jnp.asarray(H_eff)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H_eff must be a square (M, M) matrix, got shape {H.shape}")
    return LinearSystem(*_nonhermitian_generator(H, kind=kind))


@functools.partial(jax.jit, static_argnames=("kind",))  # one program (eager: one per op)
def _nonhermitian_generator(H, *, kind):
    """(A, D, b) of :func:`from_nonhermitian` (its docstring)."""
    m = H.shape[0]
    dt = jnp.finfo(jnp.result_type(H.dtype, jnp.complex64)).dtype
    H = H.astype(jnp.result_type(dt, jnp.complex64))
    if kind == "reservoir":
        Hh = 0.5 * (H + H.conj().T)
        Ha = (H - H.conj().T) / 2j
        c = jnp.maximum(jnp.linalg.eigvalsh(Ha)[-1], 0.0)
        # Γ = 2(c − H_a) ⪰ 0 is the rate matrix of jumps L_k = Σ_j u_kj a_j (Γ = u* uᵀ); in
        # quadratures a = T x this is Γ_x = Tᵀ Γ* T*, passed directly (no eigenvectors, so the
        # gradient is finite at degeneracies).
        G = 2.0 * (c * jnp.eye(m, dtype=H.dtype) - Ha)
        T = mode_matrix(m, dt)
        Gx = T.T @ G.conj() @ T.conj()
        Gx = 0.5 * (Gx + Gx.conj().T)
        s = LinearSystem.from_modes(Hh) + LinearSystem.from_lindblad(jnp.zeros((2 * m, 2 * m), dt), gamma=Gx)
        return s.A, s.D, s.b
    W = -1j * H
    A = jnp.zeros((2 * m, 2 * m), dt)
    A = A.at[0::2, 0::2].set(W.real).at[0::2, 1::2].set(-W.imag)
    A = A.at[1::2, 0::2].set(W.imag).at[1::2, 1::2].set(W.real)
    return A, quantum_noise(A), jnp.zeros((2 * m,), dt)


def effective_recoil_homodyne(gamma_rec: ArrayLike, efficiency: ArrayLike):
    """γ'_rec = γ_rec(1 − η_det): recoil of the conditional state under homodyning
    (paper 001 eq. 99, paper 000 App. C)."""
    return jnp.asarray(gamma_rec) * (1.0 - jnp.asarray(efficiency))


def effective_recoil_squeezed(gamma_rec: ArrayLike, overlap: ArrayLike, r: ArrayLike):
    """γ'_rec = γ_rec[1 − |ζ|²(1 − e^{−r})]: recoil with squeezed vacuum of overlap ζ and
    squeezing parameter r (paper 001 eq. 100)."""
    return jnp.asarray(gamma_rec) * (1.0 - jnp.abs(jnp.asarray(overlap)) ** 2 * (1.0 - jnp.exp(-jnp.asarray(r))))


def feedforward_diffusion(D: ArrayLike, C: ArrayLike, rates: ArrayLike):
    """Feed-forward (LOCC) diffusion matrix D^uc of paper 001 eq. 95 / paper 000 eq. B2.

    Dimensionless form (ħ = m = ω_ref = 1, so C = 2g): with measurement rates
    Γ_j = ħ²/(8 L_j²),

        D^uc_11 = D_11 − Γ_1 − C_12²/(16 Γ_2),   D^uc_22 = D_22 − Γ_2 − C_21²/(16 Γ_1),
        D^uc_12 = D^uc_21 = Re D_12.

    (Paper 000 eq. B2 is the case Γ_1 = Γ_2 = Γ with C_12 = 2(g_r + g_a).)

    Args:
        D: (2, 2) complex diffusion matrix; C: (2, 2) couplings; rates: (2,) Γ_j > 0.
    Returns:
        (2, 2) real symmetric D^uc.
    """
    D = jnp.asarray(D)
    C = jnp.asarray(C)
    G = jnp.asarray(rates)
    d11 = D[0, 0].real - G[0] - C[0, 1] ** 2 / (16.0 * G[1])
    d22 = D[1, 1].real - G[1] - C[1, 0] ** 2 / (16.0 * G[0])
    d12 = D[0, 1].real
    return jnp.array([[d11, d12], [d12, d22]])


def feedforward_margin(D: ArrayLike, C: ArrayLike, n_grid: int = 96) -> Float[Array, ""]:
    """max over measurement rates (Γ_1, Γ_2) of the smallest eigenvalue of D^uc.

    Positive ⇔ the optical-binding master equation is an ensemble-averaged LOCC
    feed-forward loop, so it cannot entangle (paper 001 Sec. IV B 3, paper 000 App. B).
    The maximisation is a static log-spaced grid over Γ_j ∈ [10⁻⁴, 10²]·max(D_jj, |C|)
    (robust and vmappable; the maximum is smooth and interior).
    """
    D = jnp.asarray(D)
    C = jnp.asarray(C)
    scale = jnp.maximum(jnp.max(jnp.abs(D)), jnp.max(jnp.abs(C)))
    g = scale * jnp.logspace(-4, 2, n_grid, dtype=jnp.real(D).dtype)
    G1, G2 = jnp.meshgrid(g, g, indexing="ij")
    d11 = D[0, 0].real - G1 - C[0, 1] ** 2 / (16.0 * G2)
    d22 = D[1, 1].real - G2 - C[1, 0] ** 2 / (16.0 * G1)
    d12 = D[0, 1].real
    lam_min = 0.5 * (d11 + d22 - jnp.sqrt((d11 - d22) ** 2 + 4 * d12**2))
    return jnp.max(lam_min)
