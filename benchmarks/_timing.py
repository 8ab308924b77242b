"""Shared best-of timers for the benchmark scripts (run as ``python benchmarks/bench_*.py``).

Each call's result is passed to ``jax.block_until_ready`` (a no-op for non-JAX values), so
asynchronous dispatch never hides work. CPU time is ``time.process_time``: all threads of
this process — steadier than wall time when other jobs share the cores, but it counts both
threads when XLA splits a loop over the 2 cores of the development machine.
"""

from __future__ import annotations

import time

import jax


def best_wall_cpu(fn, repeats: int = 3) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) over ``repeats`` calls of ``fn()``."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn())
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def best_wall(fn, repeats: int = 3) -> float:
    """Best wall-clock seconds over ``repeats`` calls of ``fn()``."""
    return best_wall_cpu(fn, repeats)[0]
