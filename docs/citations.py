"""List every citation of papers 000–004 in the repository and check the equation index.

A citation is "paper 003 eq. 4" and its variants ("Paper 001 eqs. 82–87", "paper 002
eq. (C1)", "paper 000 Fig. 3a", "paper 000 App. B", "paper 002 Sec. III D", "paper 000/001
Fig. 3b", "paper 002 eq. 29 / B10", "Paper 004's rate-equation estimate (eqs. 13–15)").
Each is normalised to keys such as ``"001 eq. 82"`` (ranges expanded, figure panels dropped);
docs/references.md has one index row per key, its first column the key itself.

    python docs/citations.py              # every key with where it is cited
    python docs/citations.py --missing    # keys cited in the code but absent from the index

tests/test_docs.py runs :func:`missing` on jaxbind/ so the index cannot fall behind the code.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "docs" / "references.md"
SOURCES = ("jaxbind", "tests", "benchmarks", "notebooks", "README.md", "examples")

_MENTION = re.compile(r"\b[Pp]apers? (00[0-4])((?:/00[0-4])*)")
_ABBREV = {"eq", "eqs", "Eq", "Eqs", "Fig", "Figs", "fig", "figs", "App", "Sec", "sec",
           "ref", "Ref", "refs", "cf", "al", "e.g", "i.e", "vs", "Opt", "Express", "Phys",
           "Rev", "Lett", "St", "No", "no"}
_SCOPE = 110  # characters after "paper NNN" searched for its items

_ITEM = r"\(?[A-C]?\d+[a-z]?\)?"
_SEP = r"(?:\s*,\s*|\s*[–-]\s*|\s+and\s+|\s*/\s*)"
_EQ = re.compile(rf"\b[Ee]qs?\.\s*({_ITEM}(?:{_SEP}{_ITEM})*)")
_FIGITEM = r"\d+[a-z]?(?:\([a-z]\))?"
_FIG = re.compile(rf"\bFigs?\.\s*({_FIGITEM}(?:{_SEP}{_FIGITEM})*)")
_APP = re.compile(r"\bApp(?:\.|endix)\s*([A-C])\b")
_SEC = re.compile(r"\b[Ss]ec\.\s*([IVX]+(?:[. ]?[A-H](?![a-z])(?:[. ]?\d+\b)?)?(?:[–-][A-H]\b)?)")
_BARE = re.compile(r"\(([A-C]\d+)\)")  # "(A1)", "(C1)" after "paper NNN"
_LEAD = re.compile(r"^(?:'s)?,?\s*\(?([A-C]\d+(?:[–-][A-C]\d+)?)\b")  # "paper 000 A5–A7"
_WORD = re.compile(r"\bequations? \(([A-C]?\d+)\)")  # "master equation (74)"


def _split_items(text: str) -> list[str]:
    """'82–87' → 82…87, '14–15, C1–C2' → 14, 15, C1, C2, '(38)/(C4)' → 38, C4."""
    out: list[str] = []
    tokens = re.split(r"(\s*[–-]\s*|\s*,\s*|\s+and\s+|\s*/\s*)", text)
    i = 0
    while i < len(tokens):
        tok = re.sub(r"\([a-z]\)$", "", tokens[i].strip()).strip("() ")
        if i + 2 < len(tokens) and tokens[i + 1].strip() in ("–", "-"):
            hi = tokens[i + 2].strip("() ")
            a, b = re.fullmatch(r"([A-C]?)(\d+)[a-z]?", tok), re.fullmatch(r"([A-C]?)(\d+)[a-z]?", hi)
            if a and b and a.group(1) == b.group(1) and int(a.group(2)) < int(b.group(2)) <= int(a.group(2)) + 20:
                out += [f"{a.group(1)}{n}" for n in range(int(a.group(2)), int(b.group(2)) + 1)]
                i += 4
                continue
        if tok:
            out.append(tok)
        i += 2
    return out


def _scope_end(text: str, start: int) -> int:
    end = min(len(text), start + _SCOPE)
    nxt = _MENTION.search(text, start + 1)
    if nxt:
        end = min(end, nxt.start())
    for stop in ('"""', "¶", "Args:", "Returns:", "Raises:"):
        j = text.find(stop, start, end)
        if j >= 0:
            end = j
    for m in re.finditer(r"([\w.]*)\.\s+(?=[A-Z*`:])", text[start:end]):
        if m.group(1) not in _ABBREV and not m.group(1).endswith("e.g") and m.start() > 0:
            end = start + m.end(1) + 1
            break
    return end


def _fig_key(item: str) -> str:
    return re.sub(r"[a-z]$|\([a-z]\)$", "", item)


def citations_in_text(text: str) -> list[str]:
    """Normalised citation keys in one text (see the module docstring)."""
    text = re.sub(r"\n\s*\n", " ¶ ", text)
    text = re.sub(r"\n\s*(#\s*)?", " ", text)
    keys: list[str] = []
    for m in _MENTION.finditer(text):
        papers = [m.group(1)] + re.findall(r"00[0-4]", m.group(2))
        scope = text[m.end():_scope_end(text, m.end())]
        items: list[str] = []
        for e in _EQ.finditer(scope):
            items += [f"eq. {x}" for x in _split_items(e.group(1))]
        for f in _FIG.finditer(scope):
            items += [f"Fig. {_fig_key(x)}" for x in _split_items(f.group(1))]
        for a in _APP.finditer(scope):
            items.append(f"App. {a.group(1)}")
        for s in _SEC.finditer(scope):
            label = re.sub(r"[. ]+", " ", s.group(1)).strip()
            r = re.fullmatch(r"(.*) ([A-H])[–-]([A-H])", label)
            if r:
                items += [f"Sec. {r.group(1)} {chr(c)}" for c in range(ord(r.group(2)), ord(r.group(3)) + 1)]
            else:
                items.append(f"Sec. {label}")
        for b in _BARE.finditer(scope):
            items.append(f"eq. {b.group(1)}")
        for b in _WORD.finditer(scope):
            items.append(f"eq. {b.group(1)}")
        lead = _LEAD.match(scope)
        if lead:
            items += [f"eq. {x}" for x in _split_items(lead.group(1))]
        keys += [f"{p} {it}" for p in papers for it in items]
    return keys


def _texts(paths):
    for base in paths:
        base = ROOT / base
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.suffix in (".py", ".ipynb", ".md", ".toml"))
        for p in files:
            if ".ipynb_checkpoints" in p.parts:
                continue
            if p.suffix == ".ipynb":
                nb = json.loads(p.read_text())
                yield p, "\n\n".join("".join(c["source"]) for c in nb["cells"])
            else:
                yield p, p.read_text()


def citations(paths=SOURCES) -> dict[str, list[str]]:
    """{key: [files citing it]} over the given repository-relative paths."""
    found: dict[str, list[str]] = {}
    for p, text in _texts(paths):
        for k in citations_in_text(text):
            rel = str(p.relative_to(ROOT))
            if rel not in found.setdefault(k, []):
                found[k].append(rel)
    return found


def index_keys(path: pathlib.Path = REFERENCES) -> set[str]:
    """Keys of the equation-index rows of docs/references.md (first table column)."""
    rows = re.findall(r"^\| *(00[0-4] (?:eq|Fig|App|Sec)\. [^|]*?) *\|", path.read_text(), re.M)
    return set(rows)


def _sort_key(k: str):
    paper, kind, label = k.split(" ", 2)
    order = {"eq.": 0, "Fig.": 1, "App.": 2, "Sec.": 3}[kind]
    m = re.fullmatch(r"([A-C]?)(\d+)(.*)", label)
    return (paper, order, (m.group(1), int(m.group(2)), m.group(3)) if m else (label, 0, ""))


def missing(paths=SOURCES) -> dict[str, list[str]]:
    """Cited keys that have no row in the index, with where they are cited."""
    have = index_keys()
    return {k: v for k, v in citations(paths).items() if k not in have}


if __name__ == "__main__":
    found = missing() if "--missing" in sys.argv else citations()
    for k in sorted(found, key=_sort_key):
        print(f"{k:18s} {', '.join(found[k])}")
    if "--missing" in sys.argv and found:
        sys.exit(1)
