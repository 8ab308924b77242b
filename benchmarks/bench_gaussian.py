"""Benchmark: Gaussian-moment steady states (jaxbind) vs SciPy Lyapunov loops and QuTiP.

1. Batched 3-mode (6×6) steady states, B parameter points (default 10^5): jit(vmap) vs a
   Python loop over ``scipy.linalg.solve_continuous_lyapunov`` (timed on a subset and
   extrapolated linearly — stated in the table), vs vectorised NumPy (one batched
   ``np.linalg.solve`` of all the Kronecker systems, full 36×36 or restricted to the 21
   entries of the symmetric X — the fastest thing a NumPy user can write without a
   compiler) and vs QuTiP ``steadystate`` of the same physics in Fock space at a converged
   truncation (per point, extrapolated).
2. A chain of N particles (2N×2N, default N = 100): one steady state, ours (sign method)
   vs SciPy (Bartels–Stewart).
3. Gradient of a steady-state occupation w.r.t. all parameters vs the forward solve.

Targets (issue 5): 1. ≥ 20× over the SciPy loop; 2. ≤ 2× SciPy; 3. grad ≤ 5× forward.
Status on the 2-core development CPU (AMD EPYC, jax 0.9.2, f64): 2 and 3 met (chain
0.66–0.85× SciPy, grad/forward 2.1–2.6); 1 NOT met: steady_state 2.2–3.0 µs/point including
building the systems from parameters, the mean and the statuses, solve_lyapunov alone on the
same prebuilt (A, D) as SciPy 1.9–2.6 µs/point. The SciPy loop itself measures 28–50
µs/point from run to run, so since session 5 the ratio is taken in paired rounds (ours and
SciPy back to back, per-round ratios reported): session 5, SciPy 28.5–29.8 µs/point →
11.4–13.1× (steady_state) and 14.8–15.9× (solve_lyapunov); sessions 3–4 (unpaired) 10–17.5×
and 13–19.6×. Vectorised NumPy: 14–18 µs/point (6–7×).
Session 3 replaced the per-matrix LAPACK path (one getrf call per 21×21 Kronecker operator
under vmap: 5.9 µs of per-call overhead around ≈ 1 µs of arithmetic) by
``quantum/batched_lu.py``: one elimination with partial pivoting vectorised across the batch
(batch on the trailing axis, cache-sized blocks of 256 transposed block by block, operator
assembled inside), also used for the mean −A⁻¹b; the kron solve (operator, both right-hand
sides, expansion of X and the positive-definiteness test) is one batch-trailing kernel with
a custom JVP. For comparison NumPy's own batched solver (LAPACK per matrix inside one gufunc
call) takes 3.9 µs for a 21×21 system alone.
Where the time goes (session 4, XLA CPU traceme profile, blocks of 64, one core): the
elimination steps ≈ 55 % (rank-1 update 19 %, pivot-row extraction 14 %, multipliers 11 %,
pivot search 11 %: 4 XLA loop fusions per step), operator assembly 19 % (four gathers and
the right-hand-side concatenation), back substitution 11 %. On this 2-vCPU machine XLA's
two-thread runtime costs ≈ 30 % for this kernel: pinned to one core (``taskset -c 0``) with
``XLA_FLAGS=--xla_cpu_prefer_vector_width=512`` and blocks of 32–96, solve_lyapunov takes
1.75–1.8 µs/point (≈ 17× a 31 µs SciPy call, per core), steady_state 2.3 µs.
Tried and no faster (sessions 3–4): a fully scalar-unrolled elimination (one giant fusion;
7.6 µs at 12×12, 20 s compile), per-matrix gathers of the pivot row (XLA emits them
matrix-major; 12 µs), select chains instead of reductions (7.5 µs), two independent blocks
per lax.map step (XLA does not run them concurrently), the augmented [K | −D | −1]
assembled by one gather table (one slow reduce fusion), by four gathers of it (+15 %) or by
stacked static slices (XLA splits it into ~90 fusions), back substitution without per-row
stacks (no measurable change), elimination without pivoting (2.6 µs vs 1.0–1.6 µs for the
bare 21×21 elimination: slower, not faster), squared Smith (Cayley transform + doubling, 10 doublings here, error 7e-15)
1.7–2.1 µs: 6×6 matrix products in batch-trailing form cost 35–100 ns per matrix in XLA CPU
fusions (batched dot_general 290 ns), so O(n³)-per-iteration methods do not beat the
elimination. Block sizes 32–256 and the XLA options for scheduling, Eigen threading and
codegen splitting are within the run-to-run noise on two threads. Session 5: a right-looking
blocked LU (LAPACK getrf's scheme: panels of b columns factored with pivoting on the panel
alone, the b pivot rows extracted in one pass, one rank-b update of the trailing matrix, rows
permuted by selects) — correct to 6e-14 but slower, 2.6 / 2.9 / 3.5 / 6.8 µs for b = 2 / 3 /
4 / 7 against 2.0 µs (the elimination is bound by XLA's per-fusion cost, ~3 µs per fusion of
a 256-matrix block split over two threads, not by cache traffic: the current kernel is
already 4 fusions per step); multipliers by one reciprocal per step (XLA then fuses them into
the update) 2.01 vs 1.93 µs; blocks of 512–8192 (2.1 / 1.9 / 2.6 / 4.4 µs vs 2.1 µs at
256, within noise up to 1024); sharding the batch over two CPU devices
(``jax_num_cpu_devices=2``, with or without one intra-op thread each): 2.9–3.0 µs, slower;
per-compile options (``jax.jit(..., compiler_options=...)``, as ``CPU_COMPILER_OPTIONS``):
``xla_cpu_prefer_vector_width=512`` 1.72–1.77 vs 1.79–2.21 µs (≤ 8 %, within the noise),
the old fusion emitters 10 % slower; one single-threaded process pinned per core: 10⁵
steady states in 0.17 s vs 0.22 s for one two-thread process (≈ 17×, still short).
A GPU run (this kernel takes the whole batch there) is the open check.
Issue 15 (session 6): the Kron linear solver is backend-aware (``jaxbind.solvers.Kron``:
``linear_solver=None`` → SmallLU on CPU, ``lineax.LU`` elsewhere, where SmallLU was never
measured); ``bench_kron_lu`` times both side by side on the running backend. CPU, B = 2·10⁴,
load 10–12 on the 2 shared cores, paired rounds: lineax.LU / SmallLU = 2.0–2.4 (values agree
to 8e-16), so SmallLU stays the CPU default. Issue 20: ``steady_state`` also returns the
physicality verdict (``RESULTS.not_physical``); it runs inside the same batched kron pass
(complex Cholesky pivots of D + (i/2)(AΩ + ΩAᵀ), ``phase_space.physical_bt``) and costs
+10–15 % CPU per 6×6 steady state (paired CPU-time rounds, 3.45–3.6 vs 3.0–3.3 µs/point
under that load; ``solve_lyapunov`` unchanged).

Usage: python benchmarks/bench_gaussian.py [--quick] [--batch B] [--chain N] [--rounds R]
Timings are best of several repeats after compilation (block_until_ready).
"""

from __future__ import annotations

import argparse
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg as sl  # noqa: E402

import lineax as lx  # noqa: E402

from jaxbind.quantum.batched_lu import SmallLU  # noqa: E402
from jaxbind.quantum.gaussian import LinearSystem, steady_state  # noqa: E402
from jaxbind.quantum.lyapunov import solve_lyapunov  # noqa: E402
from jaxbind.solvers import Kron, Sign  # noqa: E402
from jaxbind.quantum.models import add_thermal_bath  # noqa: E402
from jaxbind.quantum.observables import occupations  # noqa: E402
from _timing import best_wall as best  # noqa: E402


def three_modes(p):
    """Three oscillators: beam splitters g12, g23, position coupling, thermal baths."""
    w1, w2, w3, g12, g23, k = p[0], p[1], p[2], p[3], p[4], p[5]
    h = jnp.diag(jnp.array([w1, w2, w3])).astype(complex)
    h = h.at[0, 1].set(g12).at[1, 0].set(g12).at[1, 2].set(g23).at[2, 1].set(g23)
    s = LinearSystem.from_modes(h)
    for j, n in enumerate((0.3, 0.1, 0.2)):
        s = add_thermal_bath(s, j, k, n)
    return s


def chain(N, g=0.05, k=0.02):
    """N particles, nearest- and next-nearest-neighbour position couplings, thermal baths."""
    n = 2 * N
    H = np.zeros((n, n))
    w = 1.0 + 0.1 * np.sin(np.arange(N))
    for j in range(N):
        H[2 * j, 2 * j] = H[2 * j + 1, 2 * j + 1] = w[j]
        for d, c in ((1, g), (2, 0.3 * g)):
            if j + d < N:
                H[2 * j, 2 * (j + d)] = H[2 * (j + d), 2 * j] = c
    s = LinearSystem.from_lindblad(jnp.asarray(H))
    A = np.asarray(s.A) - 0.5 * k * np.eye(n)
    D = 0.5 * k * np.eye(n) * (1 + np.linspace(0, 1, n))
    return LinearSystem(jnp.asarray(A), jnp.asarray(D))


def numpy_kron_lyapunov(A, D, sym, chunk=10_000):
    """A X + X Aᵀ + D = 0 for a stack (B, n, n) by batched np.linalg.solve of the Kronecker
    systems (I ⊗ A + A ⊗ I) vec X = −vec D; ``sym``: restricted to the n(n+1)/2 entries of
    the symmetric X (rows i ≤ j; column (k, l) sums the (k, l) and (l, k) columns)."""
    B, n, _ = A.shape
    eye = np.eye(n)
    iu, ju = np.triu_indices(n)
    rows_, c1, c2 = iu * n + ju, iu * n + ju, ju * n + iu
    out = np.empty((B, n, n))
    for s in range(0, B, chunk):
        a = A[s:s + chunk]
        # row-major vec: vec(A X) = (A ⊗ I) vec X, vec(X Aᵀ) = (I ⊗ A) vec X
        L = (np.einsum("bik,jl->bijkl", a, eye) + np.einsum("ik,bjl->bijkl", eye, a)).reshape(-1, n * n, n * n)
        rhs = -D[s:s + chunk].reshape(-1, n * n)
        if sym:
            K = L[:, rows_][:, :, c1] + L[:, rows_][:, :, c2] * (iu != ju)
            x = np.linalg.solve(K, rhs[:, rows_, None])[..., 0]
            X = np.empty((x.shape[0], n, n))
            X[:, iu, ju] = x
            X[:, ju, iu] = x
        else:
            X = np.linalg.solve(L, rhs[..., None])[..., 0].reshape(-1, n, n)
        out[s:s + chunk] = X
    return out


def bench_batch(B, n_scipy, n_qutip, rows, rounds=4):
    rng = np.random.default_rng(0)
    P = np.column_stack(
        [1 + 0.1 * rng.random(B), 1.1 + 0.1 * rng.random(B), 0.9 + 0.1 * rng.random(B),
         0.02 + 0.03 * rng.random(B), 0.02 + 0.03 * rng.random(B), 0.05 + 0.05 * rng.random(B)]
    )
    Pj = jnp.asarray(P)
    fs = {}
    solvers = {"kron": Kron(), "sign": Sign()}
    for method in ("kron", "sign"):
        one = lambda p, sv=solvers[method]: steady_state(three_modes(p), sv).cov  # noqa: E731
        if method == "kron":
            # one vmap: the batched LU (quantum/batched_lu.py) cuts the batch into cache-sized
            # blocks itself
            fs[method] = jax.jit(jax.vmap(one))
        else:
            # chunks of ≤ 20000 (lax.map over vmapped chunks, docs/architecture.md, "Scale-out")
            fs[method] = jax.jit(lambda P, one=one: jax.lax.map(one, P, batch_size=min(B, 20_000)))
        jax.block_until_ready(fs[method](Pj))
    t_sign = best(lambda: fs["sign"](Pj), 2)
    # the same work as the SciPy loop below: covariances of prebuilt (A, D) (SciPy gets its
    # matrices prebuilt too; steady_state above also builds the systems, solves for the mean
    # and sets statuses)
    sysb = jax.jit(jax.vmap(three_modes))(Pj)
    g = jax.jit(jax.vmap(lambda A, D: solve_lyapunov(A, D)))
    jax.block_until_ready(g(sysb.A, sysb.D))
    systems = [three_modes(jnp.asarray(P[i])) for i in range(n_scipy)]
    As = [np.asarray(s.A) for s in systems]
    Ds = [np.asarray(s.D) for s in systems]

    def loop():
        for A, D in zip(As, Ds):
            sl.solve_continuous_lyapunov(A, -D)

    # paired rounds: ours and SciPy timed back to back, so drift of the shared machine (the
    # SciPy loop alone moves between 28 and 50 µs/point from run to run) hits both sides of
    # each ratio alike; the table gives the best times and the range of per-round ratios
    t_kr, t_cv, t_sp = [], [], []
    for _ in range(rounds):
        t_kr.append(best(lambda: fs["kron"](Pj), 2))
        t_cv.append(best(lambda: g(sysb.A, sysb.D), 2))
        t_sp.append(best(loop, 1) * B / n_scipy)
    r_ss = [s_ / o for s_, o in zip(t_sp, t_kr)]
    r_cv = [s_ / o for s_, o in zip(t_sp, t_cv)]
    t_ours, t_cov, t_scipy = min(t_kr), min(t_cv), min(t_sp)
    bench_kron_lu(Pj, rows, rounds)
    rows.append((f"{B} × 6×6 steady states (jit, vmap, kron)", t_ours, None))
    rows.append((f"{B} × 6×6 steady states (jit, lax.map of vmapped chunks, sign)", t_sign, None))
    rows.append((f"{B} × solve_lyapunov(A, D) on prebuilt 6×6 (jit, vmap, kron)", t_cov, None))
    rows.append((f"SciPy solve_continuous_lyapunov loop ({n_scipy} timed, ×{B // n_scipy} extrap.; ratio of "
                 f"best times vs steady_state (kron); paired per-round ratios over {rounds} rounds: "
                 f"steady_state {min(r_ss):.1f}–{max(r_ss):.1f}, solve_lyapunov {min(r_cv):.1f}–{max(r_cv):.1f})",
                 t_scipy, t_scipy / t_ours))
    # vectorised NumPy: batched np.linalg.solve of the Kronecker systems (LAPACK per matrix
    # inside one gufunc call), on all B points
    An, Dn = np.asarray(sysb.A), np.asarray(sysb.D)
    ref = np.stack([sl.solve_continuous_lyapunov(As[i], -Ds[i]) for i in range(20)])
    for sym in (False, True):
        Xn = numpy_kron_lyapunov(An[:20], Dn[:20], sym)
        err = np.abs(Xn - ref).max() / np.abs(ref).max()
        t_np = best(lambda sym=sym: numpy_kron_lyapunov(An, Dn, sym), 2)
        what = "symmetric 21×21" if sym else "full 36×36"
        rows.append((f"NumPy batched np.linalg.solve, {what} Kronecker systems (rel. diff {err:.0e}; "
                     f"vs solve_lyapunov {t_np / t_cov:.1f})", t_np, t_np / t_ours))
    try:
        import qutip as qt
    except ImportError:  # pragma: no cover
        return
    N = 6  # converged to < 1e-4 in the occupations for these parameters (n̄ ≤ 0.5)
    a = [qt.tensor([qt.destroy(N) if k == j else qt.qeye(N) for k in range(3)]).to("csr") for j in range(3)]

    def qutip_point(p):
        H = sum(p[j] * a[j].dag() * a[j] for j in range(3))
        H += p[3] * (a[0].dag() * a[1] + a[1].dag() * a[0]) + p[4] * (a[1].dag() * a[2] + a[2].dag() * a[1])
        c = []
        for j, n in enumerate((0.3, 0.1, 0.2)):
            c += [np.sqrt(p[5] * (n + 1)) * a[j], np.sqrt(p[5] * n) * a[j].dag()]
        L = qt.liouvillian(H.to("csr"), [x.to("csr") for x in c]).to("csr")
        rho = qt.steadystate(L, method="direct", solver="spsolve")
        return [qt.expect(a[j].dag() * a[j], rho) for j in range(3)]

    nq = qutip_point(P[0])
    ours = np.asarray(occupations(steady_state(three_modes(Pj[0])).cov))
    t = time.perf_counter()
    for i in range(n_qutip):
        qutip_point(P[i])
    t_q = (time.perf_counter() - t) / n_qutip * B
    rows.append(
        (f"QuTiP steadystate, Fock N={N}/mode ({n_qutip} timed, extrap.; |Δn| = {np.abs(np.real(nq) - ours).max():.1e})",
         t_q, t_q / t_ours)
    )


def bench_kron_lu(Pj, rows, rounds):
    """The default Kron linear solver is backend-aware (jaxbind.solvers.Kron): SmallLU (batch-
    vectorised elimination) on CPU, lineax.LU elsewhere. Measured side by side on this
    backend, paired rounds, same 6×6 steady states (values agree to rounding)."""
    fs = {name: jax.jit(jax.vmap(lambda p, sv=Kron(linear_solver=ls): steady_state(three_modes(p), sv).cov))
          for name, ls in (("SmallLU", SmallLU()), ("lineax.LU", lx.LU()))}
    out = {k: f(Pj) for k, f in fs.items()}
    jax.block_until_ready(out)
    diff = float(jnp.max(jnp.abs(out["SmallLU"] - out["lineax.LU"])) / jnp.max(jnp.abs(out["lineax.LU"])))
    t = {k: [] for k in fs}
    for _ in range(rounds):
        for k, f in fs.items():
            t[k].append(best(lambda f=f: f(Pj), 2))
    r = [b / a for a, b in zip(t["SmallLU"], t["lineax.LU"])]
    B = Pj.shape[0]
    default = type(Kron().linear_solver or (SmallLU() if jax.default_backend() == "cpu" else lx.LU())).__name__
    rows.append((f"{B} × 6×6 steady states, Kron(linear_solver=SmallLU()) on {jax.default_backend()}",
                 min(t["SmallLU"]), None))
    rows.append((f"{B} × 6×6 steady states, Kron(linear_solver=lineax.LU()) (lineax.LU/SmallLU paired "
                 f"{min(r):.2f}–{max(r):.2f}; rel. diff {diff:.0e}; default here: {default})",
                 min(t["lineax.LU"]), min(t["lineax.LU"]) / min(t["SmallLU"])))
    print(f"[kron LU] {jax.default_backend()}: lineax.LU / SmallLU = {min(r):.2f}–{max(r):.2f} "
          f"(paired, {rounds} rounds, B = {B})")


def bench_chain(N, rows):
    s = chain(N)
    f = jax.jit(lambda s: steady_state(s, Sign()).cov)
    V = f(s)
    jax.block_until_ready(V)
    t = best(lambda: f(s), 5)
    A, D = np.asarray(s.A), np.asarray(s.D)
    t_sp = best(lambda: sl.solve_continuous_lyapunov(A, -D), 5)
    ref = sl.solve_continuous_lyapunov(A, -D)
    err = np.abs(np.asarray(V) - ref).max() / np.abs(ref).max()
    rows.append((f"chain N={N} ({2 * N}×{2 * N}) steady state, ours (sign), rel. diff {err:.1e}", t, None))
    rows.append((f"chain N={N}, SciPy solve_continuous_lyapunov (ours/SciPy = {t / t_sp:.2f})", t_sp, t_sp / t))


def bench_grad(rows, N):
    # occupation of the last particle of a chain w.r.t. all couplings + damping (N params)
    base = chain(N)

    def occ(theta):
        s = LinearSystem(base.A + _perturb(theta, N), base.D)
        return occupations(steady_state(s, Sign()).cov)[-1]

    theta = jnp.zeros(2 * N + 1)
    fwd = jax.jit(occ)
    grd = jax.jit(jax.grad(occ))
    jax.block_until_ready(fwd(theta))
    jax.block_until_ready(grd(theta))
    tf = best(lambda: fwd(theta), 5)
    tg = best(lambda: grd(theta), 5)
    rows.append((f"forward: occupation, chain N={N}", tf, None))
    rows.append((f"grad w.r.t. {2 * N + 1} parameters (grad/forward = {tg / tf:.2f})", tg, None))


def _perturb(theta, N):
    """Drift perturbation: per-quadrature damping shifts and a global stiffness scale."""
    n = 2 * N
    P = -jnp.diag(theta[:n])
    stiff = jnp.zeros((n, n)).at[1::2, 0::2].set(-jnp.eye(N)) * theta[-1]
    return P + stiff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--chain", type=int, default=100)
    ap.add_argument("--scipy-subset", type=int, default=2000)
    ap.add_argument("--qutip-subset", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=4, help="paired rounds for the 10^5 batch vs SciPy")
    ap.add_argument("--quick", action="store_true", help="small sizes for development")
    a = ap.parse_args()
    if a.quick:
        a.batch, a.chain, a.scipy_subset, a.qutip_subset = 2000, 20, 200, 2
    print(f"platform: {platform.platform()} | processor: {platform.processor() or 'n/a'} | jax devices: {jax.devices()}")
    rows: list[tuple[str, float, float | None]] = []
    bench_batch(a.batch, a.scipy_subset, a.qutip_subset, rows, a.rounds)
    bench_chain(a.chain, rows)
    bench_grad(rows, a.chain)
    w = max(len(r[0]) for r in rows)
    print(f"{'case':<{w}}  {'time [s]':>10}  {'baseline/ours':>13}")
    for name, t, ratio in rows:
        print(f"{name:<{w}}  {t:10.4g}  {'' if ratio is None else f'{ratio:13.1f}'}")


if __name__ == "__main__":
    main()
