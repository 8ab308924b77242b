"""jaxbind: differentiable, GPU-ready optical binding and levitated quantum optomechanics.

This file only re-exports the public API (DESIGN.md "Public API shape").
"""

from importlib.metadata import PackageNotFoundError, version as _version

from . import constants as constants
from .optics.green import green_tensor as green_tensor

try:
    __version__ = _version("jaxbind")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"
