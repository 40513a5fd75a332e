"""The names of the catalogue's tables in the release's dumps folder (the Chinese record's
files are named in :mod:`dipkg.core.catalog_cn`, which the web app reads too). They live in
:mod:`dipkg.core.dump_titles`, beside the titles both the record and the downloads page give
each file."""

from __future__ import annotations

from dipkg.core.dump_titles import ITEMS_CSV, SCENARIOS_CSV, TABLES_XLSX

__all__ = ["ITEMS_CSV", "SCENARIOS_CSV", "TABLES_XLSX"]
