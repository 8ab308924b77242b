"""The documentation stays in step with the code (cheap: no mkdocs needed).

* every paper citation in ``jaxbind/`` — and in the tests, benchmarks, notebooks, examples
  and README — ("paper 003 eq. 4", "paper 001 eqs. 82–87", "paper 000 Fig. 3b",
  "paper 002 eq. (C1)", …) has a row in the equation index of docs/references.md;
* the citation parser of docs/citations.py reads the forms the code uses;
* nothing in the package, tests, benchmarks, notebooks or README points outside the
  repository;
* every module named by an API page exists, and every function named in the "where each
  formula lives" tables of docs/architecture.md exists in the module the table names.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _citations():
    spec = importlib.util.spec_from_file_location("jaxbind_docs_citations", ROOT / "docs" / "citations.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "text, keys",
    [
        ("(paper 003 eq. 4)", {"003 eq. 4"}),
        ("paper 001 eqs. 82–87, paper 000 eqs. 6–9 and A7",
         {f"001 eq. {n}" for n in range(82, 88)} | {f"000 eq. {n}" for n in range(6, 10)} | {"000 eq. A7"}),
        ("paper 004 eqs. 14–15, C1–C2; same", {"004 eq. 14", "004 eq. 15", "004 eq. C1", "004 eq. C2"}),
        ("Paper 002 eqs. (33)–(34) print", {"002 eq. 33", "002 eq. 34"}),
        ("paper 002 eq. (C1): that", {"002 eq. C1"}),
        ("paper 002 eq. 29 / B10, free-space part; its eq. 30", {"002 eq. 29", "002 eq. B10", "002 eq. 30"}),
        ("paper 000/001 Fig. 3b. Returns", {"000 Fig. 3", "001 Fig. 3"}),
        ("Paper 003 Fig. 2(d)/3: A at", {"003 Fig. 2", "003 Fig. 3"}),
        ("paper 000 App. B normalisation", {"000 App. B"}),
        ("paper 001 Sec. IV.B.5 item 1", {"001 Sec. IV B 5"}),
        ("paper 002 Sec. III C–E)", {"002 Sec. III C", "002 Sec. III D", "002 Sec. III E"}),
        ("paper 001 eq. 67. Raises (``E``) when eq. 5", {"001 eq. 67"}),
        ("paper 000 A5–A7 prefactor", {"000 eq. A5", "000 eq. A6", "000 eq. A7"}),
        ("Paper 001's optical-binding master equation (74) is", {"001 eq. 74"}),
        ("papers 000, 001; see", set()),
    ],
)
def test_citation_parser(text, keys):
    assert set(_citations().citations_in_text(text)) == keys


@pytest.mark.parametrize("paths", [("jaxbind",), None], ids=["package", "everything"])
def test_every_citation_is_in_the_equation_index(paths):
    c = _citations()
    found = c.citations(paths or c.SOURCES)
    assert len(found) > 100  # the parser sees the citations
    missing = {k: v for k, v in found.items() if k not in c.index_keys()}
    assert not missing, (
        "paper citations without a row in docs/references.md (run `python docs/citations.py "
        f"--missing` and add them): {missing}"
    )


def test_index_rows_are_well_formed():
    text = (ROOT / "docs" / "references.md").read_text()
    rows = [ln for ln in text.splitlines() if re.match(r"^\| 00[0-4] ", ln)]
    assert len(rows) == len(_citations().index_keys())  # no duplicate keys
    for ln in rows:
        cells = [x.strip() for x in ln.strip("|").split("|")]
        assert len(cells) == 4 and cells[1], ln  # key, description, implemented in, used in


def test_nothing_points_outside_the_repository():
    # The forbidden targets are assembled from pieces so that this file does not itself
    # contain a pointer outside the repository: the sibling folder of the project's origin
    # (its design notes and papers index), which the repo's own docs/ replaces.
    outside = "sh" + "ared"
    pattern = re.compile("|".join((r"\.\./" + outside, "/work/" + outside, rf"\b{outside}/papers",
                                   "DES" + r"IGN\.md", "papers/" + "README")))
    offenders = []
    for base in ("jaxbind", "tests", "benchmarks", "notebooks", "examples", "README.md", "pyproject.toml", "Makefile"):
        p = ROOT / base
        for f in [p] if p.is_file() else sorted(p.rglob("*")):
            if f.is_file() and f.suffix in (".py", ".md", ".ipynb", ".toml", ""):
                for i, line in enumerate(f.read_text(errors="ignore").splitlines(), 1):
                    if pattern.search(line):
                        offenders.append(f"{f.relative_to(ROOT)}:{i}")
    assert not offenders, offenders


def test_api_pages_name_existing_modules():
    names = []
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        names += re.findall(r"^::: (\S+)", page.read_text(), re.M)
    assert names
    for name in names:
        importlib.import_module(name)


def test_architecture_tables_name_existing_functions():
    text = (ROOT / "docs" / "architecture.md").read_text()
    checked, missing = 0, []
    for line in text.splitlines():
        cells = [x.strip() for x in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 3:
            continue
        modules = re.findall(r"`((?:optics|mechanics|quantum|workflows|contrib)(?:\.\w+)+)`", cells[1])
        if not modules:
            continue
        mods = [importlib.import_module(f"jaxbind.{m}") for m in modules]
        for name in re.findall(r"`(\w+)`", cells[2]):
            checked += 1
            if not any(hasattr(m, name) for m in mods):
                missing.append(f"{'/'.join(modules)}: {name}")
    assert checked > 100
    assert not missing, f"docs/architecture.md names functions that do not exist: {missing}"
