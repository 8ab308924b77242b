"""Griffe extension for the docs build: Sphinx roles in docstrings → Markdown cross-references.

The docstrings cross-reference with reStructuredText roles (``:func:`~jaxbind.optics.green.green_tensor```,
``:class:`Particle```). mkdocstrings renders Markdown, where those would show as
":func:green_tensor". This extension rewrites them once the package is loaded: the text is a
code span (the last component when the target starts with ``~``, as in Sphinx), linked to the
target's API entry when the target resolves to an object of the package (an *optional*
mkdocs-autorefs reference: no link, and no warning, when the target is not rendered).
Used by mkdocs.yml only.
"""

from __future__ import annotations

import html
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """Full path of ``target`` as seen from ``obj`` (None when it cannot be resolved)."""
    if target.startswith("jaxbind."):
        return target
    first, _, rest = target.partition(".")
    scope = obj
    while scope is not None:
        if first in scope.members:
            member = scope.members[first]
            base = member.target_path if member.is_alias else member.path
            return base + ("." + rest if rest else "")
        scope = scope.parent
    return None


def _rewrite(obj: griffe.Object, text: str) -> str:
    def sub(m: re.Match) -> str:
        target = m.group(2).strip().removesuffix("()")
        shown = target.rsplit(".", 1)[-1] if m.group(1) else target
        full = _resolve(obj, target)
        code = f"<code>{html.escape(shown)}</code>"
        if full is None or not full.startswith("jaxbind."):
            return code
        return f'<autoref identifier="{html.escape(full)}" optional>{code}</autoref>'

    return _ROLE.sub(sub, text)


def _walk(obj: griffe.Object, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if obj.docstring is not None:
        obj.docstring.value = _rewrite(obj, obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _walk(member, seen)


class RstRoles(griffe.Extension):
    """Rewrites every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        _walk(pkg, set())
