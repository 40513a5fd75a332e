"""The CSVW metadata of a CSV table (W3C Metadata Vocabulary for Tabular Data).

Each table's metadata names its columns (kg/catalog/columns.py) with their titles, datatypes
and the ``aboutUrl``/``propertyUrl``/``valueUrl`` that turn a row into the graph's triples.
"""

from __future__ import annotations

from typing import Any

from dipkg.core.iris import Minter
from kg.catalog.columns import Column


def csvw_metadata(
    table_url: str, columns: list[Column], about: str, title_zh: str, title_en: str, minter: Minter
) -> dict[str, Any]:
    cols = []
    for name, title_zh_, title_en_, datatype, extra in columns:
        col: dict[str, Any] = {
            "name": name,
            "titles": {"zh": title_zh_, "en": title_en_},
            "datatype": datatype,
            "required": name in ("scenario_iri", "item_iri", "kind", "number", "path", "position"),
        }
        if "lang" in extra:
            col["lang"] = extra["lang"]
        for key in ("aboutUrl", "propertyUrl", "valueUrl", "separator", "suppressOutput"):
            if key in extra:
                col[key] = extra[key]
        cols.append(col)
    return {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "@id": minter.dump(table_url + "-metadata.json"),
        "url": table_url,
        "dc:title": [
            {"@value": title_zh, "@language": "zh"},
            {"@value": title_en, "@language": "en"},
        ],
        "dc:license": {"@id": ""},  # filled by write_tables
        "dialect": {
            "encoding": "utf-8",
            "header": True,
            "lineTerminators": ["\r\n"],
            "doubleQuote": True,
        },
        "tableSchema": {"columns": cols, "aboutUrl": about, "primaryKey": columns[0][0]},
    }
