"""Deprecated module path: moved to :mod:`jaxbind.workflows.design.optimize_config` (removed in the next release)."""

from ._moved import moved_module as _moved_module

_moved_module("optimize_config")
