"""The CSV tables and their Excel workbook: rows read from the build's graph, written checked.

``write_tables(graph, dumps_dir)`` writes the scenarios table and the data-items table (each
with its CSVW metadata, kg/catalog/csvw.py) and both again as the sheets of one workbook, and
returns their dump entries (typed ``DumpEntry``s, as the manifest lists them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dipkg.core import formats
from dipkg.core.errors import SourceError
from dipkg.core.manifest import DumpEntry
from dipkg.core.serialize import sha256_file
from kg.catalog.columns import SEPARATOR, item_columns, scenario_columns
from kg.catalog.csvw import csvw_metadata
from kg.catalog.files import ITEMS_CSV, SCENARIOS_CSV, TABLES_XLSX
from kg.catalog.graph import BuiltGraph as Graph
from kg.model import DataCategory, DataField
from kg.source import describe_character, refused_character
from kg.spreadsheet import Sheet, write_workbook

#: Written first in each CSV so that Excel (which otherwise reads a CSV in the system's
#: code page, GBK on Chinese Windows) decodes UTF-8; CSVW readers decode with the WHATWG
#: Encoding Standard, whose UTF-8 decoder drops it (docs/catalogue.md, "CSV tables").
BOM = "\ufeff"

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def check_cell(value: str, table: str, number: int, column: str, row: Sequence[Any]) -> None:
    """Refuse what a CSV must never carry raw: a control or invisible formatting character
    (ESC sequences, bidi overrides: refused in the sources already, so this is the last
    line), and a cell a spreadsheet would run as a formula. Values are never rewritten:
    the table is a CSVW distribution of the graph and must say what the graph says."""
    index = refused_character(value)
    if index is not None:
        problem = f"holds {describe_character(value[index])} at character {index + 1}"
    elif value.startswith(FORMULA_TRIGGERS):
        problem = f"starts with {value[0]!r}, which a spreadsheet would run as a formula"
    else:
        return
    raise SourceError(
        f"{table} row {number} ({row[0]}), column {column}: the value {problem}; "
        "fix the source or translation it comes from",
        details={"table": table, "row": number, "column": column},
    )


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream ``rows`` to ``path``: UTF-8 with a BOM (see ``BOM``), CRLF line ends (RFC 4180),
    fields quoted only when needed; every text cell checked by :func:`check_cell`. Returns
    the number of rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(BOM)
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for row in rows:
            count += 1
            for column, value in zip(header, row, strict=True):
                if isinstance(value, str):
                    check_cell(value, path.name, count, column, row)
            writer.writerow(["" if v is None else v for v in row])
    return count


def _item_rows(graph: Graph) -> Iterator[list[Any]]:
    """One row per leaf of each scenario's data tree: a field, or a category listing no fields."""
    minter, tr, inputs, vocabulary = (
        graph.minter,
        graph.translations,
        graph.inputs,
        graph.vocabulary,
    )

    def label(text: str | None) -> tuple[str | None, str | None]:
        return (text, tr.en(text)) if text else (None, None)

    def kind(item: DataCategory | DataField, s_iri: str, path: tuple[int, ...]) -> list[Any]:
        concept = vocabulary.concept_for(item.label, s_iri.rsplit("/", 1)[1], path)
        if concept is None:  # an unmapped item (a build without a vocabulary)
            return [None] * 11
        broader = [vocabulary.concept(b) for b in concept.broader]
        sensitive = vocabulary.sensitive_category(concept.sensitive) if concept.sensitive else None
        return [
            vocabulary.concept_iri(concept.slug),
            concept.zh,
            concept.en,
            SEPARATOR.join(vocabulary.concept_iri(b.slug) for b in broader) or None,
            SEPARATOR.join(b.zh for b in broader) or None,
            SEPARATOR.join(b.en for b in broader) or None,
            "true" if concept.pi else "false",
            "true" if sensitive else "false",
            vocabulary.sensitive_iri(sensitive.slug) if sensitive else None,
            sensitive.zh if sensitive else None,
            sensitive.en if sensitive else None,
        ]

    def walk(
        item: DataCategory | DataField,
        path: tuple[int, ...],
        chain: list[tuple[str, str]],
        s_iri: str,
        head: list[Any],
    ) -> Iterator[list[Any]]:
        iri = minter.data_item(s_iri, path)
        if isinstance(item, DataCategory) and item.children:
            for position, child in enumerate(item.children, start=1):
                yield from walk(child, (*path, position), [*chain, (iri, item.label)], s_iri, head)
            return
        is_field = isinstance(item, DataField)
        levels = chain if is_field else [*chain, (iri, item.label)]
        if len(levels) > 2:  # the model nests at most category > sub-category > field
            raise ValueError(f"{iri}: data items nest deeper than the CSV table's columns")
        category = levels[0] if levels else (None, None)
        sub = levels[1] if len(levels) > 1 else (None, None)
        parent = minter.data_item(s_iri, path[:-1]) if len(path) > 1 else s_iri
        yield [
            iri,
            "DataField" if is_field else "DataCategory",
            ".".join(str(p) for p in path),
            *head,
            category[0],
            *label(category[1]),
            sub[0],
            *label(sub[1]),
            *label(item.label if is_field else None),
            iri if is_field else None,
            parent,
            path[-1],
            *kind(item, s_iri, path),
        ]

    for config, guide in graph.guides:
        for scenario in guide.scenarios:
            s_iri = minter.scenario(config.id, scenario.number)
            d_key = inputs.domain_key(scenario.domain)
            assert d_key is not None
            head = [
                s_iri,
                scenario.number,
                scenario.name,
                tr.en(scenario.name),
                minter.domain(d_key),
                scenario.domain,
                tr.en(scenario.domain),
            ]
            for position, category in enumerate(scenario.categories, start=1):
                yield from walk(category, (position,), [], s_iri, head)


def _scenario_rows(graph: Graph) -> Iterator[list[Any]]:
    minter, tr, inputs, long = (
        graph.minter,
        graph.translations,
        graph.inputs,
        graph.long_translations,
    )
    for config, guide in graph.guides:
        for scenario in guide.scenarios:
            d_key = inputs.domain_key(scenario.domain)
            assert d_key is not None
            s_iri = minter.scenario(config.id, scenario.number)
            s_id = s_iri.rsplit("/", 1)[1]
            yield (
                [
                    s_iri,
                    scenario.number,
                    scenario.name,
                    tr.en(scenario.name),
                    minter.domain(d_key),
                    scenario.domain,
                    tr.en(scenario.domain),
                    scenario.example,
                    tr.en(scenario.example) if scenario.example else None,
                    scenario.application,
                    long.en(s_id, "application", scenario.application),
                    scenario.data_text,
                    long.en(s_id, "data", scenario.data_text),
                    minter.guide(config.id),
                    scenario.line,
                    scenario.cell,
                ]
            )


#: a table's dump entry states its rows, even when null (the manifest keeps ``"rows": null``)
ROWS = frozenset({"rows"})


def write_tables(graph: Graph, dumps_dir: Path) -> list[DumpEntry]:
    """The scenarios table and the data-items table, each with its CSVW metadata, and both
    again as the two sheets of one Excel workbook (kg/spreadsheet.py)."""
    minter = graph.minter
    license_iri = graph.settings.catalog.license_iri
    tables = [
        (
            SCENARIOS_CSV,
            scenario_columns(minter.base),
            _scenario_rows(graph),
            "{+scenario_iri}",
            "数据知识产权应用场景：场景表",
            "Data IP application scenarios: scenarios",
        ),
        (
            ITEMS_CSV,
            item_columns(minter.base),
            _item_rows(graph),
            "{+item_iri}",
            "数据知识产权应用场景：数据项表",
            "Data IP application scenarios: data items",
        ),
    ]
    entries: list[DumpEntry] = []
    for name, columns, rows, about, title_zh, title_en in tables:
        header = [c[0] for c in columns]
        count = write_csv(dumps_dir / name, header, rows)
        meta = csvw_metadata(name, columns, about, title_zh, title_en, minter)
        meta["dc:license"] = {"@id": license_iri}
        meta_name = f"{name}-metadata.json"
        (dumps_dir / meta_name).write_bytes(
            (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        )
        for file, fmt in ((name, formats.CSV), (meta_name, formats.CSVW)):
            path = dumps_dir / file
            entries.append(
                DumpEntry(
                    file=file,
                    format=fmt.name,
                    media_type=fmt.media_type,
                    encoding=None,
                    bytes=path.stat().st_size,
                    sha256=sha256_file(path),
                    rows=count if fmt is formats.CSV else None,
                    stated=ROWS,
                )
            )
    entries.append(_write_xlsx(graph, dumps_dir / TABLES_XLSX))
    return entries


def _write_xlsx(graph: Graph, path: Path) -> DumpEntry:
    base = graph.minter.base
    sheets = [
        Sheet("场景 Scenarios", [c[:4] for c in scenario_columns(base)], _scenario_rows(graph)),
        Sheet("数据项 Data items", [c[:4] for c in item_columns(base)], _item_rows(graph)),
    ]
    write_workbook(path, sheets, "数据知识产权应用场景 Data IP application scenarios")
    return DumpEntry(
        file=path.name,
        format=formats.XLSX.name,
        media_type=formats.XLSX.media_type,
        encoding=None,
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        rows=None,
        stated=ROWS,
    )


# =====================================================================================
# The record
