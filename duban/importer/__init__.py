"""Registering cases in bulk from offices' Excel and CSV ledgers (台账), through the service layer.

    import_file(ctx, path, actor=..., default_office=None, progress=None) -> ImportResult
"""

from __future__ import annotations

from duban.importer.mapping import RowError
from duban.importer.run import ImportResult, import_file

__all__ = ["ImportResult", "RowError", "import_file"]
