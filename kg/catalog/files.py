"""The names of the catalogue's tables in the release's dumps folder (the Chinese record's
files are named in :mod:`dipkg.core.catalog_cn`, which the web app reads too)."""

from __future__ import annotations

SCENARIOS_CSV = "dipkg-scenarios.csv"
ITEMS_CSV = "dipkg-data-items.csv"
TABLES_XLSX = "dipkg-tables.xlsx"
