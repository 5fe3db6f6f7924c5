"""Registries name their entries as "module:attribute", imported on first use.

So that `articles validate` never pays for pyarrow, and a database driver
that is not installed only matters to the command that needs it.
"""

from __future__ import annotations

import importlib
from typing import Any


def import_named(location: str) -> Any:
    """`"package.module:name"` -> that module's attribute, importing the module now."""
    module, _, name = location.partition(":")
    return getattr(importlib.import_module(module), name)
