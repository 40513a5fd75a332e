"""The Chinese resource-catalogue record's files in a release: names, schema, titles.

The build writes the record (kg/catalog_cn.py: ``dipkg-catalogue-cn.json`` and ``.xlsx`` in
the dumps folder) and describes it in the DCAT catalogue (kg/catalog/); the web app
serves its JSON Schema at :data:`SCHEMA_URL_PATH` and lists the files on ``/catalog``
(sparql_api/catalog_routes.py). All three import this module, which imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dipkg.core import formats
from dipkg.core.manifest import DumpEntry

JSON_FILE = "dipkg-catalogue-cn.json"
XLSX_FILE = "dipkg-catalogue-cn.xlsx"
XLSX_MEDIA_TYPE = formats.XLSX.media_type
#: the record's JSON Schema; it ships with the code (the JSON distribution's dct:conformsTo)
SCHEMA_PATH = Path(__file__).parent / "schemas" / "catalogue-cn.schema.json"
SCHEMA_URL_PATH = "schemas/catalogue-cn.schema.json"  # where the app serves it, below the base


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def distribution_title(entry: DumpEntry) -> tuple[str, str]:
    """The DCAT distribution title (zh, en) of the JSON or the XLSX record."""
    what = "JSON" if entry.format == "JSON" else "XLSX"
    return (
        f"政务信息资源目录记录（{what}）",
        f"Chinese government resource-catalogue record ({what})",
    )
