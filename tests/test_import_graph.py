"""The package's import graph (read from the source with ``ast``; nothing is imported, so this
costs milliseconds): no import cycles among module-level imports, data flows
optics → mechanics → quantum → workflows (no module imports a later layer, not even inside a
function), and inside workflows the sweep machinery and the design loops do not import the
command-line layer or each other. The old flat ``workflows`` module paths are thin aliases
that import the new modules and warn."""

from __future__ import annotations

import ast
import functools
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "jaxbind"
LAYERS = ("optics", "mechanics", "quantum", "workflows")


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


MODULES = _modules()


def _resolve(importer: str, is_pkg: bool, node) -> list[str]:
    """The jaxbind modules an import statement loads (``from P import name`` loads ``P.name``
    when that is a module, else ``P``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "jaxbind"]
    if node.level:
        base = importer.split(".") if is_pkg else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "jaxbind":
        return []
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    rest = [a for a in node.names if f"{target}.{a.name}" not in MODULES]
    return subs + ([target] if rest or not subs else [])


def _with_parents(importer: str, target: str) -> list[str]:
    """Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__`` — except the packages
    that contain the importer, which are already being imported."""
    parts = target.split(".")
    chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [m for m in chain if m in MODULES and not importer.startswith(m + ".") and m != importer]


@functools.cache
def _parse(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@functools.cache  # each graph is built once per run and only read by the tests
def _graph(module_level_only: bool) -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = _parse(path)
        is_pkg = path.name == "__init__.py"
        nodes = tree.body if module_level_only else list(ast.walk(tree))
        if module_level_only:  # also module-level try/if blocks, but not `if TYPE_CHECKING:`
            nodes = [n for top in tree.body if not (isinstance(top, ast.If)
                                                    and "TYPE_CHECKING" in ast.unparse(top.test))
                     for n in ast.walk(top) if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.ClassDef))]
        edges = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _resolve(name, is_pkg, node):
                    edges.update(_with_parents(name, t))
        graph[name] = edges
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_graph_sees_the_imports():
    g = _graph(module_level_only=True)
    assert "jaxbind.workflows.sweep._chunks" in g["jaxbind.workflows.sweep.driver"]
    assert "jaxbind.mechanics.array" in g["jaxbind.workflows.design.objectives"]
    assert sum(len(e) for e in g.values()) > 100
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    cycle = _find_cycle(_graph(module_level_only=True))
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def _layer(module: str):
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_upward_imports_between_layers():
    bad, downward = [], 0
    for src, targets in _graph(module_level_only=False).items():
        ls = _layer(src)
        for t in targets:
            lt = _layer(t)
            if ls is not None and lt is not None and lt > ls:
                bad.append(f"{src} → {t}")
            downward += ls is not None and lt is not None and lt < ls
    assert downward > 20  # the check sees the cross-layer imports
    assert not bad, f"a layer imports a later one (optics → mechanics → quantum → workflows): {bad}"


def test_sweep_and_design_do_not_import_the_command_line_or_each_other():
    cli = {"jaxbind.workflows.cli", "jaxbind.workflows.config", "jaxbind.workflows.report",
           "jaxbind.workflows.demo"}
    bad = []
    for src, targets in _graph(module_level_only=False).items():
        for pkg, others in (("sweep", ("design",)), ("design", ("sweep",))):
            if src.startswith(f"jaxbind.workflows.{pkg}"):
                forbidden = {t for t in targets if t in cli and not (pkg == "design" and
                             src.endswith("optimize_config") and t == "jaxbind.workflows.config")}
                forbidden |= {t for t in targets for o in others if t.startswith(f"jaxbind.workflows.{o}")}
                bad += [f"{src} → {t}" for t in sorted(forbidden)]
    assert not bad, bad


@pytest.mark.parametrize("old, new", [("optimize", "design.optimize"), ("grid", "sweep.grid"),
                                      ("registry", "sweep.registry")])
def test_old_workflows_module_paths_alias_the_new_modules_and_warn(old, new):
    code = (f"import warnings, importlib; warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    import jaxbind.workflows.{old}\nexcept DeprecationWarning as w:\n"
            f"    assert 'jaxbind.workflows.{new}' in str(w), w\nelse:\n    raise SystemExit('no warning')\n"
            f"warnings.simplefilter('ignore')\nimport jaxbind.workflows.{old} as a, jaxbind.workflows.{new} as b\n"
            "assert a is b\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_old_sweep_path_is_the_package_with_the_same_public_names():
    import jaxbind.workflows.sweep as pkg

    for name in ("sweep", "Grid", "SweepInterrupted", "verify_store", "OK", "NONFINITE", "ERROR",
                 "PENDING"):
        assert hasattr(pkg, name), name
    assert callable(pkg.sweep)
