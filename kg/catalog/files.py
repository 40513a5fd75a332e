"""The names of the catalogue's files in the release's dumps folder, and the URL path of the
Chinese record's JSON Schema (below the base IRI; the app serves it there)."""

from __future__ import annotations

SCENARIOS_CSV = "dipkg-scenarios.csv"
ITEMS_CSV = "dipkg-data-items.csv"
TABLES_XLSX = "dipkg-tables.xlsx"
CN_JSON_FILE = "dipkg-catalogue-cn.json"
CN_XLSX_FILE = "dipkg-catalogue-cn.xlsx"
CN_SCHEMA_URL_PATH = "schemas/catalogue-cn.schema.json"
