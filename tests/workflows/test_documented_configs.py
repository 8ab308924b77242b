"""The config schemas printed in the docstrings (``jaxbind optimize --help`` text, config.py)
are copy-paste-valid TOML (issue: documented configs must parse)."""

import importlib
import tomllib

import pytest


def _schema_block(doc: str) -> str:
    block = doc[doc.index("::") + 2:]
    lines = [ln[4:] for ln in block.split("\n") if ln.startswith("    ") or not ln.strip()]
    return "\n".join(lines).split("\n\nComplete")[0]


@pytest.mark.parametrize("module", ["jaxbind.workflows.config", "jaxbind.workflows.design.optimize_config"])
def test_docstring_schema_is_valid_toml(module):
    doc = importlib.import_module(module).__doc__
    data = tomllib.loads(_schema_block(doc))
    assert data, "empty schema block"
