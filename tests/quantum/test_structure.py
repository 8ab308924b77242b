"""Module structure of jaxbind.quantum: no import cycles (issue 15 §7) — checked on the
source (module-level imports, the ones that run at import time), so it costs no JAX work."""

import ast
import pathlib

import jaxbind

PKG = pathlib.Path(jaxbind.__file__).parent


def _module_imports(path: pathlib.Path, package: str) -> set[str]:
    """Modules of ``package`` imported at module level (not inside functions) by ``path``."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import x
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package + "."):
            out.add(node.module[len(package) + 1:].split(".")[0])
    return out


def _cycles(graph):
    seen, stack, found = set(), [], []

    def visit(m):
        if m in stack:
            found.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            visit(d)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    return found


def test_quantum_modules_have_no_import_cycle():
    files = {p.stem: p for p in (PKG / "quantum").glob("*.py") if p.stem != "__init__"}
    graph = {m: _module_imports(p, "jaxbind.quantum") & set(files) for m, p in files.items()}
    # the circles this test guards against (issue 15 §7) are really gone ...
    assert "cooling_grid" not in graph["cooling"] and "observables" in graph["gaussian"]
    assert "gaussian" not in graph["observables"] and "fock" not in graph["fock_iterative"]
    # ... and no other one exists
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
