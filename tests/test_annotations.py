"""Every public callable of the API carries type annotations, array ones as jaxtyping types.

The API is what ``jaxbind/__init__.py`` declares: the top-level names of ``_TOP`` and the
public names of every family module of ``_FAMILIES`` (its ``__all__``, else the names it
defines). For each function, and each class's ``__init__`` (custom, or generated from the
fields of an ``eqx.Module`` / dataclass / NamedTuple), every parameter and the return must be
annotated; a parameter or return that is an array must say its dtype and shape with jaxtyping
(``Float[Array, "n 3"]``, ``Complex[ArrayLike, ""]``, the aliases of ``jaxbind._types``), not
a bare ``Array`` / ``ArrayLike`` / ``np.ndarray``. Under pytest the annotations are also
checked at run time (pyproject.toml: ``--jaxtyping-packages=jaxbind,beartype.beartype``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import types
import warnings

import pytest

import jaxbind

#: the jaxtyping dtype subscripts (``Float[Array, "..."]``) and the project's aliases of them
_JAXTYPING = r"(?:Float|Complex|Inexact|Int|Integer|UInt|Bool|Shaped|Num|Real|RealDtype|Key)\["
_BARE = re.compile(r"(?<![\w.])(?:jax\.|jnp\.|np\.|numpy\.)?(?:Array|ArrayLike|ndarray)\b")

#: callables still without complete annotations: (name, reason). Every entry is re-checked
#: below (a fixed one must leave the list), so the list only shrinks.
PENDING: dict[str, str] = {}


def _strip_jaxtyping(text: str) -> str:
    """``text`` with every jaxtyping subscript ``Float[...]`` removed (brackets matched)."""
    out, i = [], 0
    for m in re.finditer(_JAXTYPING, text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"[": 1, "]": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def _text(annotation) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def bare_array(annotation) -> bool:
    """Whether an annotation names an array type without jaxtyping's dtype and shape."""
    return bool(_BARE.search(_strip_jaxtyping(_text(annotation))))


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, v in vars(module).items() if not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__]


def public_callables() -> dict[str, object]:
    found: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for mod, names in jaxbind._TOP.items():
            m = importlib.import_module(f"jaxbind.{mod}")
            for n in names:
                found[f"jaxbind.{n}"] = getattr(m, n)
        for fam, mod in jaxbind._FAMILIES.items():
            m = importlib.import_module(f"jaxbind.{mod}")
            for n in _public_names(m):
                obj = getattr(m, n)
                if isinstance(obj, types.ModuleType) or not callable(obj):
                    continue
                if not str(getattr(obj, "__module__", "")).startswith("jaxbind"):
                    continue  # re-exported from a dependency
                if inspect.isclass(obj) and issubclass(obj, BaseException):
                    continue
                found.setdefault(f"jaxbind.{fam}.{n}", obj)
    unique: dict[int, tuple[str, object]] = {}
    for name, obj in found.items():
        unique.setdefault(id(obj), (name, obj))
    return dict(sorted(unique.values(), key=lambda t: t[0]))


def _init_of(cls):
    """The signature a user calls to build ``cls``, or None for classes not built from
    arrays by the user (enumerations, abstract bases without fields)."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):  # NamedTuple: its field annotations
        return inspect.Signature([inspect.Parameter(f, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                    annotation=cls.__annotations__.get(f, inspect._empty))
                                  for f in cls._fields], return_annotation=None)
    init = cls.__dict__.get("__init__") or getattr(cls, "__init__")
    mod = getattr(init, "__module__", None) or ""
    generated = dataclasses.is_dataclass(cls)
    if not generated and not mod.startswith("jaxbind"):
        return None  # inherited from object / a library base (e.g. the RESULTS enumeration)
    return inspect.signature(init)


def missing_annotations(obj) -> list[str]:
    """What an object's signature lacks: parameter names, ``->`` for the return, and
    ``name: bare Array`` for arrays annotated without jaxtyping."""
    sig = _init_of(obj) if inspect.isclass(obj) else inspect.signature(obj)
    if sig is None:
        return []
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.annotation is inspect.Parameter.empty:
            out.append(p.name)
        elif bare_array(p.annotation):
            out.append(f"{p.name}: bare {_text(p.annotation)}")
    if sig.return_annotation is inspect.Signature.empty:
        out.append("->")
    elif bare_array(sig.return_annotation):
        out.append(f"-> bare {_text(sig.return_annotation)}")
    return out


API = public_callables()


def test_the_api_is_enumerated():
    assert len(API) > 150
    assert {"jaxbind.green_tensor", "jaxbind.sweep", "jaxbind.optimize", "jaxbind.TweezerArray",
            "jaxbind.fock.steady_state"} <= set(API)


@pytest.mark.parametrize("text, bare", [
    ("Float[Array, 'n 3']", False), ("Complex[ArrayLike, '']", False), ("Array", True),
    ("jax.Array", True), ("np.ndarray | None", True), ("Float[Array, '3'] | Array", True),
    ("Positions", False), ("Inexact[Array, '3 3'] | None", False), ("ArrayLike", True),
    ("tuple[Float[Array, 'n'], Int[Array, '']]", False), ("float", False)])
def test_bare_array_detection(text, bare):
    assert bare_array(text) is bare


def test_every_public_callable_is_annotated():
    missing = {name: m for name, obj in API.items() if name not in PENDING
               and (m := missing_annotations(obj))}
    assert not missing, "public callables without (jaxtyping) annotations:\n" + "\n".join(
        f"  {k}: {', '.join(v)}" for k, v in missing.items())


def test_pending_list_only_holds_what_is_still_missing():
    fixed = [n for n in PENDING if n in API and not missing_annotations(API[n])]
    gone = [n for n in PENDING if n not in API]
    assert not fixed, f"annotated now; remove from PENDING: {fixed}"
    assert not gone, f"not public any more; remove from PENDING: {gone}"
