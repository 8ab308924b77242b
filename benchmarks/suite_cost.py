"""Where the test suite's CPU goes: a summary of a `make test-cost` run.

`make test-cost` runs the default suite with ``JAXBIND_TEST_COST=.pytest_cost`` (tests/conftest.py
records, per test, its CPU seconds, JAX's trace/lower/compile counts and the programs XLA
compiled) and then this script, which prints the totals, the costliest files and tests, and the
library entry points and test lines that asked for the most compilations.

    python benchmarks/suite_cost.py [DIR] [--top N] [--file PATTERN]

The issue-20 target for the default suite is 5 CPU-minutes (user + sys) on a 2-core machine;
the total printed here is the tests' own CPU (the two workers' start-up, collection and the
CLI tests' subprocesses come on top: `time make test` measures everything).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os


def load(d: str) -> list[dict]:
    recs = []
    for fn in sorted(glob.glob(os.path.join(d, "*.jsonl"))):
        with open(fn) as f:
            recs.extend(json.loads(line) for line in f if line.strip())
    if not recs:
        raise SystemExit(f"suite_cost: no records in {d!r} (run `make test-cost` first)")
    return recs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=".pytest_cost")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--file", default="", help="only tests whose id contains this")
    a = ap.parse_args(argv)
    recs = [r for r in load(a.dir) if a.file in r["test"]]
    total = sum(r["cpu_s"] for r in recs)
    ev: dict = collections.defaultdict(lambda: [0, 0.0])
    for r in recs:
        for k, (n, s) in r["events"].items():
            ev[k][0] += n
            ev[k][1] += s
    print(f"{len(recs)} tests, {total:.0f} CPU-s ({total / 60:.1f} CPU-min) in the tests themselves")
    for k in ("backend_compile_duration", "jaxpr_to_mlir_module_duration", "jaxpr_trace_duration"):
        if k in ev:
            print(f"  {k:32s} {ev[k][0]:7d} events {ev[k][1]:8.1f} s")

    files: dict = collections.defaultdict(lambda: [0, 0.0, 0])
    for r in recs:
        f = files[r["test"].split("::")[0]]
        f[0] += 1
        f[1] += r["cpu_s"]
        f[2] += len(r["programs"])
    print(f"\ncostliest files (CPU-s, tests, compiled programs):")
    for name, (n, s, p) in sorted(files.items(), key=lambda x: -x[1][1])[:a.top]:
        print(f"  {s:7.1f}  {n:4d}  {p:6d}  {name}")

    print(f"\ncostliest tests (CPU-s, compiled programs):")
    for r in sorted(recs, key=lambda r: -r["cpu_s"])[:a.top]:
        print(f"  {r['cpu_s']:7.1f}  {len(r['programs']):6d}  {r['test']}")

    lib = collections.Counter(p[1] for r in recs for p in r["programs"])
    print(f"\nlibrary frames that asked for the most compilations (count, frame):")
    for k, n in lib.most_common(a.top):
        print(f"  {n:6d}  {k}")
    tst = collections.Counter(p[2] for r in recs for p in r["programs"] if p[1] is None)
    print(f"\ntest lines that compiled programs outside the library (count, line):")
    for k, n in tst.most_common(a.top):
        print(f"  {n:6d}  {k}")


if __name__ == "__main__":
    main()
