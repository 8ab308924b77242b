"""Old module paths of the workflows split (sweep machinery → ``workflows.sweep``, design →
``workflows.design``): each still imports, for one release, as the new module itself (same
object, so patches and ``isinstance`` checks see one module), with a ``DeprecationWarning``
naming the new path."""

from __future__ import annotations

import importlib
import sys
import warnings

#: old submodule of jaxbind.workflows → its new path (relative to jaxbind.workflows)
MOVED_MODULES = {
    "grid": "sweep.grid",
    "store": "sweep.store",
    "executors": "sweep.executors",
    "registry": "sweep.registry",
    "optimize": "design.optimize",
    "constraints": "design.constraints",
    "objectives": "design.objectives",
    "objectives_kerker": "design.objectives_kerker",
    "optimize_config": "design.optimize_config",
}

_PACKAGE = "jaxbind.workflows"


def _stacklevel() -> int:
    """The stack level of the first frame outside the import machinery and this package, so
    the warning points at the user's ``import`` line (``warnings`` itself does not count the
    ``importlib._bootstrap`` frames)."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_code.co_filename
        if "importlib" in name and "_bootstrap" in name:
            frame = frame.f_back
            continue
        if not (name.endswith(("importlib/__init__.py", "lazy_loader/__init__.py"))
                or frame.f_globals.get("__name__", "").startswith(_PACKAGE)):
            return level
        frame, level = frame.f_back, level + 1
    return 2


def moved_module(old: str):
    """Import ``jaxbind.workflows.<old>``'s new module, warn once, and register it under the
    old name too."""
    new = f"{_PACKAGE}.{MOVED_MODULES[old]}"
    warnings.warn(f"{_PACKAGE}.{old} moved to {new}; the old module path will be removed in the "
                  "next release", DeprecationWarning, stacklevel=_stacklevel())
    mod = importlib.import_module(new)
    sys.modules[f"{_PACKAGE}.{old}"] = mod
    return mod
