"""One-release shims for the integer ``STATUS_*`` constants replaced by :data:`jaxbind.RESULTS`.

``module.STATUS_X`` still resolves (with a ``DeprecationWarning``) to the integer code that
the ``status`` property of the new result types returns, i.e. ``jaxbind.results.code`` of
the corresponding RESULTS item — so ``res.status == STATUS_X`` keeps working.
"""

from __future__ import annotations

import warnings

from ..results import RESULTS, code


def deprecated_codes(module: str, table: dict[str, str]):
    """A module ``__getattr__`` serving the old names in ``table`` ({old: RESULTS item name})."""

    def __getattr__(name):
        if name in table:
            item = table[name]
            warnings.warn(
                f"{module}.{name} is deprecated; test result == jaxbind.results.RESULTS.{item} "
                f"(or status == jaxbind.results.code(RESULTS.{item}))",
                DeprecationWarning,
                stacklevel=2,
            )
            return int(code(getattr(RESULTS, item)))
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
