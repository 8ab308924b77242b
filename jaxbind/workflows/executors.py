"""Deprecated module path: moved to :mod:`jaxbind.workflows.sweep.executors` (removed in the next release)."""

from ._moved import moved_module as _moved_module

_moved_module("executors")
