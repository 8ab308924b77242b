"""Deprecated module path: moved to :mod:`jaxbind.workflows.sweep.registry` (removed in the next release)."""

from ._moved import moved_module as _moved_module

_moved_module("registry")
