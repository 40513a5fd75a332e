"""The catalogue record (DCAT-AP 3, VoID, schema.org) and the CSV distributions.

Interface used by the build (kg/build.py):

* ``write_tables(graph, dumps_dir)`` writes the CSV tables (+ CSVW metadata) into
  the dumps folder and returns their dump entries (same keys as the RDF dumps'
  entries in the manifest: file, format, media_type, encoding, bytes, sha256).
* ``record(settings, minter, manifest, store)`` returns the catalogue record as
  subject blocks; the build writes it to ``catalog.ttl`` in the release and
  loads it into the store's named graph ``{base}graph/catalog``. ``manifest`` is
  the final manifest (counts, dumps with sizes and checksums); ``store`` is the
  release's store (read it for VoID counts: its default graph is the data).

And for the landing page: ``schema_org_dataset(manifest, settings, minter)`` (the
schema.org Dataset as JSON-LD) and ``check_schema_org_dataset(doc)`` (a structured
data check: a list of problems, empty when it passes).

Everything comes from one configuration: ``Settings.catalog`` and ``Settings.base_iri``
(documented key by key in docs/catalogue.md). Same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph
import rdflib

from dipkg.core.errors import ConfigError, SourceError
from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES, Minter
from dipkg.core.settings import Settings
from kg.guide import GuideConfig, Inputs, load_inputs
from kg.model import DataCategory, DataField
from kg.paths import INPUTS_DIR, display
from kg.serialize import sha256_file
from kg.source import describe_character, refused_character
from kg.spreadsheet import Sheet, write_workbook
from kg.terms import IRI, XSD, Block, Literal, Term, en, zh
from kg.translations import Translations, load_translations

if TYPE_CHECKING:
    from kg.build import Graph

# --- namespaces ----------------------------------------------------------------
RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
DCAT = PREFIXES["dcat"]
FOAF = PREFIXES["foaf"]
VOID = PREFIXES["void"]
VCARD = PREFIXES["vcard"]
SPDX = PREFIXES["spdx"]
SPDX_SHA256_HTTPS = "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"
SCHEMA = PREFIXES["schema"]
CSVW = "http://www.w3.org/ns/csvw#"
DCATAP = "http://data.europa.eu/r5r/"
ADMS = "http://www.w3.org/ns/adms#"

AUTHORITY = "http://publications.europa.eu/resource/authority/"
FILE_TYPE = AUTHORITY + "file-type/"
LANGUAGE = AUTHORITY + "language/"
DATA_THEME = AUTHORITY + "data-theme/"
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
IANA = "https://www.iana.org/assignments/media-types/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
SPARQL_SD = "https://www.w3.org/TR/sparql11-service-description/"
CSVW_REC = "https://www.w3.org/TR/tabular-metadata/"

#: The EU vocabulary concepts (and the schemes) the record may use; see that file's header.
EU_VOCABULARIES = Path("catalog") / "eu-vocabularies.ttl"

A = IRI(RDF + "type")


def _p(ns: str, local: str) -> IRI:
    return IRI(ns + local)


def _date(value: str) -> Literal:
    return Literal(value, datatype=XSD + "date")


def _typed(value: int | str, datatype: str) -> Literal:
    return Literal(str(value), datatype=XSD + datatype)


# --- what each dump is --------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    label_zh: str
    label_en: str
    file_type: str  # EU file-type code
    media_type: str  # IANA media type (of the uncompressed bytes)


FORMATS: dict[str, Format] = {
    "Turtle": Format("Turtle", "Turtle", "RDF_TURTLE", "text/turtle"),
    "JSON-LD": Format("JSON-LD", "JSON-LD", "JSON_LD", "application/ld+json"),
    "N-Triples": Format("N-Triples", "N-Triples", "RDF_N_TRIPLES", "application/n-triples"),
    "CSV": Format("CSV", "CSV", "CSV", "text/csv"),
    "CSVW": Format("CSVW 元数据", "CSVW metadata", "JSON_LD", "application/csvm+json"),
    # the source documents, verbatim (kg/build.py _write_sources): distributions of the guides
    "Source": Format("源文件（文本）", "Source document (text)", "TXT", "text/plain"),
    "Source DOCX": Format(
        "源文件（Word）",
        "Source document (Word)",
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    # the Chinese resource-catalogue record (kg/catalog_cn.py)
    "JSON": Format("JSON", "JSON", "JSON", "application/json"),
    "XLSX": Format(
        "Excel 工作簿",
        "Excel workbook",
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}
RDF_FORMATS = ("Turtle", "JSON-LD", "N-Triples")
GZIP = "application/gzip"

# =====================================================================================
# CSV tables
# =====================================================================================
SCENARIOS_CSV = "dipkg-scenarios.csv"
ITEMS_CSV = "dipkg-data-items.csv"
TABLES_XLSX = "dipkg-tables.xlsx"
#: Written first in each CSV so that Excel (which otherwise reads a CSV in the system's
#: code page, GBK on Chinese Windows) decodes UTF-8; CSVW readers decode with the WHATWG
#: Encoding Standard, whose UTF-8 decoder drops it (docs/catalogue.md, "CSV tables").
BOM = "\ufeff"
#: Values in a column that holds several (the broader data kinds); the CSVW ``separator``.
SEPARATOR = " | "

# (name, title zh, title en, datatype, csvw column extras)
Column = tuple[str, str, str, str, dict[str, Any]]


def _scenario_columns(base: str) -> list[Column]:
    label = RDFS + "label"
    return [
        ("scenario_iri", "场景 IRI", "Scenario IRI", "anyURI", {"suppressOutput": True}),
        ("number", "序号", "Number", "integer", {"propertyUrl": DIP + "number"}),
        (
            "scenario_zh",
            "场景名称",
            "Scenario name (Chinese)",
            "string",
            {"propertyUrl": label, "lang": "zh"},
        ),
        (
            "scenario_en",
            "场景名称（英文）",
            "Scenario name (English)",
            "string",
            {"propertyUrl": label, "lang": "en"},
        ),
        (
            "domain_iri",
            "领域 IRI",
            "Domain IRI",
            "anyURI",
            {"propertyUrl": DIP + "domain", "valueUrl": "{+domain_iri}"},
        ),
        (
            "domain_zh",
            "领域",
            "Domain (Chinese)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "domain_en",
            "领域（英文）",
            "Domain (English)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "example_zh",
            "示例情境",
            "Example context (Chinese)",
            "string",
            {"propertyUrl": DIP + "exampleContext", "lang": "zh"},
        ),
        (
            "example_en",
            "示例情境（英文）",
            "Example context (English)",
            "string",
            {"propertyUrl": DIP + "exampleContext", "lang": "en"},
        ),
        (
            "application_zh",
            "场景应用",
            "Application (Chinese)",
            "string",
            {"propertyUrl": DIP + "application", "lang": "zh"},
        ),
        (
            "application_en",
            "场景应用（英文）",
            "Application (English)",
            "string",
            {"propertyUrl": DIP + "application", "lang": "en"},
        ),
        (
            "data_text_zh",
            "涉及数据",
            "Data involved, verbatim (Chinese)",
            "string",
            {"propertyUrl": DIP + "dataText", "lang": "zh"},
        ),
        (
            "data_text_en",
            "涉及数据（英文）",
            "Data involved (English translation)",
            "string",
            {"propertyUrl": DIP + "dataText", "lang": "en"},
        ),
        (
            "source_iri",
            "来源文件 IRI",
            "Source document IRI",
            "anyURI",
            {"propertyUrl": DCT + "source", "valueUrl": "{+source_iri}"},
        ),
        ("source_line", "来源行号", "Source line", "integer", {"propertyUrl": DIP + "sourceLine"}),
        (
            "source_cell",
            "来源单元格",
            "Source cell (.docx)",
            "string",
            {"propertyUrl": DIP + "sourceCell"},
        ),
    ]


def _item_columns(base: str) -> list[Column]:
    label = RDFS + "label"
    return [
        ("item_iri", "数据项 IRI", "Data item IRI", "anyURI", {"suppressOutput": True}),
        (
            "kind",
            "类型",
            "Kind",
            "string",
            {"propertyUrl": RDF + "type", "valueUrl": DIP + "{kind}"},
        ),
        ("path", "位置路径", "Position path", "string", {"suppressOutput": True}),
        (
            "scenario_iri",
            "场景 IRI",
            "Scenario IRI",
            "anyURI",
            {"propertyUrl": DIP + "scenario", "valueUrl": "{+scenario_iri}"},
        ),
        ("scenario_number", "场景序号", "Scenario number", "integer", {"suppressOutput": True}),
        (
            "scenario_zh",
            "场景名称",
            "Scenario name (Chinese)",
            "string",
            {"aboutUrl": "{+scenario_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "scenario_en",
            "场景名称（英文）",
            "Scenario name (English)",
            "string",
            {"aboutUrl": "{+scenario_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "domain_iri",
            "领域 IRI",
            "Domain IRI",
            "anyURI",
            {
                "aboutUrl": "{+scenario_iri}",
                "propertyUrl": DIP + "domain",
                "valueUrl": "{+domain_iri}",
            },
        ),
        (
            "domain_zh",
            "领域",
            "Domain (Chinese)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "domain_en",
            "领域（英文）",
            "Domain (English)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("category_iri", "数据类别 IRI", "Category IRI", "anyURI", {"suppressOutput": True}),
        (
            "category_zh",
            "数据类别",
            "Category (Chinese)",
            "string",
            {"aboutUrl": "{+category_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "category_en",
            "数据类别（英文）",
            "Category (English)",
            "string",
            {"aboutUrl": "{+category_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("subcategory_iri", "子类别 IRI", "Sub-category IRI", "anyURI", {"suppressOutput": True}),
        (
            "subcategory_zh",
            "子类别",
            "Sub-category (Chinese)",
            "string",
            {"aboutUrl": "{+subcategory_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "subcategory_en",
            "子类别（英文）",
            "Sub-category (English)",
            "string",
            {"aboutUrl": "{+subcategory_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "field_zh",
            "数据项",
            "Field (Chinese)",
            "string",
            {"aboutUrl": "{+field_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "field_en",
            "数据项（英文）",
            "Field (English)",
            "string",
            {"aboutUrl": "{+field_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("field_iri", "数据项字段 IRI", "Field IRI", "anyURI", {"suppressOutput": True}),
        (
            "parent_iri",
            "上级 IRI",
            "Parent IRI",
            "anyURI",
            {"propertyUrl": DCT + "isPartOf", "valueUrl": "{+parent_iri}"},
        ),
        ("position", "位置", "Position", "integer", {"propertyUrl": SCHEMA + "position"}),
        # appended (existing columns keep their places): the item's data kind and its PI flags
        (
            "data_kind_iri",
            "数据种类 IRI",
            "Data kind IRI",
            "anyURI",
            {"propertyUrl": DIP + "dataKind", "valueUrl": "{+data_kind_iri}"},
        ),
        (
            "data_kind_zh",
            "数据种类",
            "Data kind (Chinese)",
            "string",
            {"aboutUrl": "{+data_kind_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "data_kind_en",
            "数据种类（英文）",
            "Data kind (English)",
            "string",
            {"aboutUrl": "{+data_kind_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "broader_kind_iri",
            "上位数据种类 IRI",
            "Broader data kind IRI",
            "anyURI",
            {"suppressOutput": True, "separator": SEPARATOR},
        ),
        (
            "broader_kind_zh",
            "上位数据种类",
            "Broader data kind (Chinese)",
            "string",
            {"suppressOutput": True, "separator": SEPARATOR, "lang": "zh"},
        ),
        (
            "broader_kind_en",
            "上位数据种类（英文）",
            "Broader data kind (English)",
            "string",
            {"suppressOutput": True, "separator": SEPARATOR, "lang": "en"},
        ),
        (
            "personal_information",
            "个人信息",
            "Personal information",
            "boolean",
            {"suppressOutput": True},
        ),
        (
            "sensitive",
            "敏感个人信息",
            "Sensitive personal information",
            "boolean",
            {"suppressOutput": True},
        ),
        (
            "sensitive_category_iri",
            "敏感个人信息类别 IRI",
            "Sensitive category IRI",
            "anyURI",
            {
                "aboutUrl": "{+data_kind_iri}",
                "propertyUrl": DIP + "sensitiveCategory",
                "valueUrl": "{+sensitive_category_iri}",
            },
        ),
        (
            "sensitive_category_zh",
            "敏感个人信息类别",
            "Sensitive category (Chinese)",
            "string",
            {"aboutUrl": "{+sensitive_category_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "sensitive_category_en",
            "敏感个人信息类别（英文）",
            "Sensitive category (English)",
            "string",
            {"aboutUrl": "{+sensitive_category_iri}", "propertyUrl": label, "lang": "en"},
        ),
    ]


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _check_cell(value: str, table: str, number: int, column: str, row: Sequence[Any]) -> None:
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


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream ``rows`` to ``path``: UTF-8 with a BOM (see ``BOM``), CRLF line ends (RFC 4180),
    fields quoted only when needed; every text cell checked by :func:`_check_cell`. Returns
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
                    _check_cell(value, path.name, count, column, row)
            writer.writerow(["" if v is None else v for v in row])
    return count


def _csvw_metadata(
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


def write_tables(graph: Graph, dumps_dir: Path) -> list[dict[str, Any]]:
    """The scenarios table and the data-items table, each with its CSVW metadata, and both
    again as the two sheets of one Excel workbook (kg/spreadsheet.py)."""
    minter = graph.minter
    license_iri = graph.settings.catalog.license_iri
    tables = [
        (
            SCENARIOS_CSV,
            _scenario_columns(minter.base),
            _scenario_rows(graph),
            "{+scenario_iri}",
            "数据知识产权应用场景：场景表",
            "Data IP application scenarios: scenarios",
        ),
        (
            ITEMS_CSV,
            _item_columns(minter.base),
            _item_rows(graph),
            "{+item_iri}",
            "数据知识产权应用场景：数据项表",
            "Data IP application scenarios: data items",
        ),
    ]
    entries: list[dict[str, Any]] = []
    for name, columns, rows, about, title_zh, title_en in tables:
        header = [c[0] for c in columns]
        count = _write_csv(dumps_dir / name, header, rows)
        meta = _csvw_metadata(name, columns, about, title_zh, title_en, minter)
        meta["dc:license"] = {"@id": license_iri}
        meta_name = f"{name}-metadata.json"
        (dumps_dir / meta_name).write_bytes(
            (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        )
        for file, fmt in ((name, "CSV"), (meta_name, "CSVW")):
            path = dumps_dir / file
            entries.append(
                {
                    "file": file,
                    "format": fmt,
                    "media_type": FORMATS[fmt].media_type,
                    "encoding": None,
                    "bytes": path.stat().st_size,
                    "sha256": sha256_file(path),
                    "rows": count if fmt == "CSV" else None,
                }
            )
    entries.append(_write_xlsx(graph, dumps_dir / TABLES_XLSX))
    return entries


def _write_xlsx(graph: Graph, path: Path) -> dict[str, Any]:
    base = graph.minter.base
    sheets = [
        Sheet("场景 Scenarios", [c[:4] for c in _scenario_columns(base)], _scenario_rows(graph)),
        Sheet("数据项 Data items", [c[:4] for c in _item_columns(base)], _item_rows(graph)),
    ]
    write_workbook(path, sheets, "数据知识产权应用场景 Data IP application scenarios")
    return {
        "file": path.name,
        "format": "XLSX",
        "media_type": FORMATS["XLSX"].media_type,
        "encoding": None,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "rows": None,
    }


# =====================================================================================
# The record
# =====================================================================================
def publisher_iri(settings: Settings, minter: Minter) -> str:
    return settings.catalog.publisher_iri or minter.resource("publisher")


def publisher_homepage(settings: Settings, minter: Minter) -> str:
    return settings.catalog.publisher_homepage or minter.base


def _inputs_dir(settings: Settings) -> Path:
    return settings.inputs_dir or INPUTS_DIR


def load_eu_vocabularies(inputs_dir: Path) -> rdflib.Graph:
    path = inputs_dir / EU_VOCABULARIES
    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError:
        raise ConfigError(
            "the EU vocabulary concepts file is missing", file=display(path)
        ) from None
    return graph


def _rdflib_term(term: rdflib.term.Node) -> Term:
    if isinstance(term, rdflib.URIRef):
        return IRI(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return Literal(str(term), term.language)
        return Literal(str(term), datatype=str(term.datatype) if term.datatype else XSD + "string")
    raise ConfigError(f"blank nodes are not allowed in the EU vocabulary file ({term})")


def _eu_blocks(vocab: rdflib.Graph, used: set[str]) -> Iterator[Block]:
    """The used concepts and their schemes, sorted, each with sorted pairs."""
    schemes = {
        str(o)
        for s in used
        for o in vocab.objects(rdflib.URIRef(s), rdflib.URIRef(SKOS + "inScheme"))
    }
    for iri in sorted(schemes) + sorted(used):
        pairs = sorted(
            (
                (IRI(str(p)), _rdflib_term(o))
                for p, o in vocab.predicate_objects(rdflib.URIRef(iri))
            ),
            key=lambda po: (po[0].value != RDF + "type", po[0].value, str(po[1])),
        )
        yield IRI(iri), pairs


def _slug(file: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", file.lower()).strip("-")


def _distribution_title(entry: dict[str, Any]) -> tuple[str, str]:
    fmt = FORMATS[entry["format"]]
    gz = entry.get("encoding") == "gzip"
    name = entry["file"]
    if entry["format"] in ("Source", "Source DOCX"):
        return f"源文件（{name}，原样）", f"Source document, verbatim ({name})"
    if entry["format"] in ("JSON", "XLSX"):
        from kg.catalog_cn import distribution_title

        return distribution_title(entry)
    if entry["format"] == "CSV":
        what_zh, what_en = (
            ("场景表", "scenarios table")
            if name == SCENARIOS_CSV
            else ("数据项表", "data items table")
        )
        return f"{what_zh}（CSV）", f"The {what_en} (CSV)"
    if entry["format"] == "XLSX":
        return (
            "场景表与数据项表（Excel 工作簿）",
            "The scenarios and data items tables (Excel workbook)",
        )
    if entry["format"] == "CSVW":
        what_zh, what_en = (
            ("场景表", "scenarios table")
            if name.startswith(SCENARIOS_CSV)
            else ("数据项表", "data items table")
        )
        return f"{what_zh}的 CSVW 元数据", f"CSVW metadata of the {what_en}"
    suffix_zh, suffix_en = ("，gzip 压缩", ", gzip-compressed") if gz else ("", "")
    return f"完整数据下载（{fmt.label_zh}{suffix_zh}）", f"Full dump ({fmt.label_en}{suffix_en})"


def void_queries(base: str) -> dict[str, str]:
    """The SPARQL queries whose answers the VoID counts are (default graph = the data)."""
    return {
        "triples": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "entities": f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{base}")) }}',
        "classes": "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }",
        "properties": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }",
        "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }",
        "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }",
    }


VOID_CLASS_PARTITIONS = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c ORDER BY ?c"
VOID_PROPERTY_PARTITIONS = (
    "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ns) (COUNT(DISTINCT ?o) AS ?no) "
    "WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p"
)


def _void_counts(store: pyoxigraph.Store, base: str) -> dict[str, Any]:
    def one(query: str) -> int:
        return int(next(iter(store.query(query)))[0].value)

    out: dict[str, Any] = {key: one(q) for key, q in void_queries(base).items()}
    out["class_partitions"] = [
        (row[0].value, int(row[1].value)) for row in store.query(VOID_CLASS_PARTITIONS)
    ]
    out["property_partitions"] = [
        (row[0].value, int(row[1].value), int(row[2].value), int(row[3].value))
        for row in store.query(VOID_PROPERTY_PARTITIONS)
    ]
    return out


def _term_slug(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and iri != ns:
            local = iri[len(ns) :]
            return _slug(f"{prefix}-{local}") or prefix
    return _slug(iri.split("://", 1)[-1])


def _namespace(iri: str) -> str:
    for ns in sorted(PREFIXES.values(), key=len, reverse=True):
        if iri.startswith(ns):
            return ns
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


def _vocabulary_iri(ns: str) -> str:
    """The vocabulary a namespace belongs to: without a trailing '#' (VoID's own examples)."""
    if ns == DIP:
        return ONTOLOGY_IRI
    return ns[:-1] if ns.endswith("#") else ns


def _partition_slugs(iris: list[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    out = {}
    for iri in iris:
        slug = _term_slug(iri)
        if slug in seen:
            n = 2
            while f"{slug}-{n}" in seen:
                n += 1
            slug = f"{slug}-{n}"
        seen[slug] = iri
        out[iri] = slug
    return out


class _Record:
    def __init__(
        self, settings: Settings, minter: Minter, manifest: dict[str, Any], store: pyoxigraph.Store
    ) -> None:
        self.s = settings.catalog
        self.settings = settings
        self.m = minter
        self.manifest = manifest
        self.store = store
        inputs_dir = _inputs_dir(settings)
        self.inputs: Inputs = load_inputs(inputs_dir)
        self.tr: Translations = load_translations(inputs_dir / "translations.tsv")
        self.vocab = load_eu_vocabularies(inputs_dir)
        self.vocab_file = display(inputs_dir / EU_VOCABULARIES)
        self.used: set[str] = set()
        self.dataset = IRI(minter.dataset())
        self.catalog = IRI(minter.catalog())
        self.service = IRI(minter.sparql_service())
        self.publisher = IRI(publisher_iri(settings, minter))
        self.contact = IRI(minter.contact_point())
        self.license = IRI(self.s.license_iri)
        self.landing = IRI(minter.base)

    # -- EU concepts: checked against the shipped file --------------------------------
    def eu(self, iri: str, what: str) -> IRI:
        if (rdflib.URIRef(iri), rdflib.URIRef(SKOS + "inScheme"), None) not in self.vocab:
            raise ConfigError(
                f"{what} <{iri}> is not among the EU vocabulary concepts shipped for the record",
                file=self.vocab_file,
            )
        self.used.add(iri)
        return IRI(iri)

    def eu_code(self, scheme: str, code: str, what: str) -> IRI:
        return self.eu(AUTHORITY + f"{scheme}/{code}", what)

    def dates(self) -> list[tuple[IRI, Term]]:
        """dct:issued / dct:modified of this release (the build derives them: kg/changes.py)."""
        issued, modified = release_dates(self.manifest)
        return [
            (_p(DCT, p), _date(v)) for p, v in (("issued", issued), ("modified", modified)) if v
        ]

    def version(self) -> list[tuple[IRI, Term]]:
        """dcat:version, adms:versionNotes (what changed) and dcat:previousVersion."""
        m = self.manifest
        pairs: list[tuple[IRI, Term]] = []
        if m.get("version"):
            pairs.append((_p(DCAT, "version"), Literal(str(m["version"]))))
        notes = self.version_notes()
        if notes:
            pairs += [
                (IRI(ADMS + "versionNotes"), en(notes["en"])),
                (IRI(ADMS + "versionNotes"), zh(notes["zh"])),
            ]
        previous = m.get("previous")
        if isinstance(previous, dict) and previous.get("build_id"):
            pairs.append(
                (
                    _p(DCAT, "previousVersion"),
                    IRI(self.m.resource(f"release/{previous['build_id']}")),
                )
            )
        return pairs

    def version_notes(self) -> dict[str, str] | None:
        from kg.changes import summary_text

        m = self.manifest
        if not isinstance(m.get("changes"), dict) or "triples" not in m["changes"]:
            return None
        changes = {**m["changes"], "old": m.get("previous"), "new": {"version": m.get("version")}}
        link = self.m.resource("changes")
        return {
            "en": f"{summary_text(changes, 'en')} Details: {link}",
            "zh": f"{summary_text(changes, 'zh')}详见 {link}",
        }

    def previous_version_blocks(self) -> Iterator[Block]:
        """The release this one follows, named (not typed dcat:Dataset: a harvester would list it)."""
        previous = self.manifest.get("previous")
        if not (isinstance(previous, dict) and previous.get("build_id")):
            return
        pairs: list[tuple[IRI, Term]] = [
            (_p(DCT, "title"), en(f"{self.s.title_en}, version {previous.get('version')}")),
            (_p(DCT, "title"), zh(f"{self.s.title_zh}（版本 {previous.get('version')}）")),
            (_p(DCT, "identifier"), Literal(str(previous["build_id"]))),
            (_p(DCAT, "version"), Literal(str(previous.get("version")))),
        ]
        if previous.get("modified"):
            pairs.append((_p(DCT, "modified"), _date(str(previous["modified"]))))
        yield IRI(self.m.resource(f"release/{previous['build_id']}")), pairs

    def languages(self) -> list[tuple[IRI, Term]]:
        return [(_p(DCT, "language"), self.eu(LANGUAGE + c, "language")) for c in ("ZHO", "ENG")]

    # -- blocks --------------------------------------------------------------------
    def blocks(self) -> Iterator[Block]:
        all_dumps = self.manifest["dumps"]
        dumps = [
            d for d in all_dumps if "guide" not in d
        ]  # a source file is its guide's distribution
        self.source_dumps = [d for d in all_dumps if "guide" in d]
        distributions = [(self.m.distribution(_slug(d["file"])), d) for d in dumps]
        sparql_distribution = IRI(self.m.distribution("sparql"))
        guides = self.inputs.guides
        yield from self.catalog_block()
        yield self.dataset_block([IRI(d) for d, _ in distributions] + [sparql_distribution], guides)
        yield from self.previous_version_blocks()
        yield from self.void_partition_blocks()
        for iri, entry in distributions:
            yield from self.distribution_blocks(IRI(iri), entry)
        yield self.sparql_distribution_block(sparql_distribution)
        yield self.service_block()
        yield self.publisher_block()
        yield self.contact_block()
        yield self.license_block()
        yield from self.source_blocks(guides)
        yield from self.domain_blocks()
        yield from self.media_type_blocks(all_dumps)
        yield from self.standard_blocks()
        # DCAT-AP 3.0.1's :ChecksumAlgorithmRestriction wants an algorithm IRI matching
        # ^https://spdx.org/rdf/terms *and* of class spdx:ChecksumAlgorithm (http namespace),
        # so the record uses the https form portals' validators accept and states that it is
        # the same as SPDX's own term (docs/catalogue.md, "spdx:algorithm").
        yield (
            IRI(SPDX_SHA256_HTTPS),
            [
                (A, _p(SPDX, "ChecksumAlgorithm")),
                (_p(RDFS, "label"), Literal("SHA-256")),
                (IRI("http://www.w3.org/2002/07/owl#sameAs"), _p(SPDX, "checksumAlgorithm_sha256")),
            ],
        )
        yield (
            self.landing,
            [
                (A, _p(FOAF, "Document")),
                (_p(DCT, "title"), en(self.s.title_en)),
                (_p(DCT, "title"), zh(self.s.title_zh)),
            ],
        )
        yield from _eu_blocks(self.vocab, self.used)

    def catalog_block(self) -> Iterator[Block]:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, _p(DCAT, "Catalog")),
            (_p(DCT, "title"), en(s.catalog_title_en)),
            (_p(DCT, "title"), zh(s.catalog_title_zh)),
            (_p(DCT, "description"), en(s.catalog_description_en)),
            (_p(DCT, "description"), zh(s.catalog_description_zh)),
            (_p(DCT, "publisher"), self.publisher),
            (_p(DCT, "license"), self.license),
            *self.dates(),
            *self.languages(),
            *(
                (_p(DCT, "spatial"), self.eu_code("country", c, "spatial coverage"))
                for c in s.spatial
            ),
            (_p(FOAF, "homepage"), self.landing),
            (_p(DCAT, "themeTaxonomy"), IRI(self.m.scheme("domains"))),
            (_p(DCAT, "themeTaxonomy"), IRI(AUTHORITY + "data-theme")),
            (_p(DCAT, "dataset"), self.dataset),
            (_p(DCAT, "service"), self.service),
        ]
        self.used.add(AUTHORITY + "data-theme")
        yield self.catalog, pairs

    def dataset_block(self, distributions: list[IRI], guides: list[GuideConfig]) -> Block:
        s, m = self.s, self.m
        counts = self.counts = _void_counts(self.store, m.base)
        pairs: list[tuple[IRI, Term]] = [
            (A, _p(DCAT, "Dataset")),
            (A, _p(VOID, "Dataset")),
            (_p(DCT, "title"), en(s.title_en)),
            (_p(DCT, "title"), zh(s.title_zh)),
            (_p(DCT, "description"), en(s.description_en)),
            (_p(DCT, "description"), zh(s.description_zh)),
            *((_p(DCAT, "keyword"), en(k)) for k in s.keywords_en),
            *((_p(DCAT, "keyword"), zh(k)) for k in s.keywords_zh),
            (_p(DCT, "identifier"), Literal(m.dataset())),
            (_p(DCT, "publisher"), self.publisher),
            (_p(DCT, "creator"), self.publisher),
            (_p(DCAT, "contactPoint"), self.contact),
            (_p(DCT, "license"), self.license),
            (
                _p(DCT, "accessRights"),
                self.eu_code("access-right", s.access_rights, "access rights"),
            ),
            (
                _p(DCT, "accrualPeriodicity"),
                self.eu_code("frequency", s.accrual_periodicity, "accrual periodicity"),
            ),
            *((_p(DCT, "source"), IRI(m.guide(g.id))) for g in guides),
            *self.dates(),
            *self.version(),
            *self.languages(),
            *(
                (_p(DCT, "spatial"), self.eu_code("country", c, "spatial coverage"))
                for c in s.spatial
            ),
            *((_p(DCAT, "theme"), self.eu(DATA_THEME + t, "data theme")) for t in s.themes),
            *((_p(DCAT, "theme"), IRI(m.domain(k))) for k in self.inputs.domains),
            (_p(DCAT, "landingPage"), self.landing),
            *((_p(DCAT, "distribution"), d) for d in distributions),
            # VoID (counts over the default graph of the store: the data)
            (_p(VOID, "uriSpace"), Literal(m.base)),
            (_p(VOID, "sparqlEndpoint"), self.service),
            *(
                (_p(VOID, "dataDump"), IRI(m.dump(d["file"])))
                for d in self.manifest["dumps"]
                if d["format"] in RDF_FORMATS
            ),
            (_p(VOID, "triples"), _typed(counts["triples"], "integer")),
            (_p(VOID, "entities"), _typed(counts["entities"], "integer")),
            (_p(VOID, "classes"), _typed(counts["classes"], "integer")),
            (_p(VOID, "properties"), _typed(counts["properties"], "integer")),
            (_p(VOID, "distinctSubjects"), _typed(counts["distinctSubjects"], "integer")),
            (_p(VOID, "distinctObjects"), _typed(counts["distinctObjects"], "integer")),
        ]
        vocabularies = sorted(
            {_vocabulary_iri(_namespace(c)) for c, _ in counts["class_partitions"]}
            | {_vocabulary_iri(_namespace(p)) for p, *_ in counts["property_partitions"]}
        )
        pairs.extend((_p(VOID, "vocabulary"), IRI(v)) for v in vocabularies)
        self.class_slugs = _partition_slugs([c for c, _ in counts["class_partitions"]])
        self.property_slugs = _partition_slugs([p for p, *_ in counts["property_partitions"]])
        pairs.extend(
            (_p(VOID, "classPartition"), IRI(m.partition("class", self.class_slugs[c])))
            for c, _ in counts["class_partitions"]
        )
        pairs.extend(
            (_p(VOID, "propertyPartition"), IRI(m.partition("property", self.property_slugs[p])))
            for p, *_ in counts["property_partitions"]
        )
        return self.dataset, pairs

    def void_partition_blocks(self) -> Iterator[Block]:
        for cls, n in self.counts["class_partitions"]:
            yield (
                IRI(self.m.partition("class", self.class_slugs[cls])),
                [
                    (A, _p(VOID, "Dataset")),
                    (_p(VOID, "class"), IRI(cls)),
                    (_p(VOID, "entities"), _typed(n, "integer")),
                ],
            )
        for prop, n, ns, no in self.counts["property_partitions"]:
            yield (
                IRI(self.m.partition("property", self.property_slugs[prop])),
                [
                    (A, _p(VOID, "Dataset")),
                    (_p(VOID, "property"), IRI(prop)),
                    (_p(VOID, "triples"), _typed(n, "integer")),
                    (_p(VOID, "distinctSubjects"), _typed(ns, "integer")),
                    (_p(VOID, "distinctObjects"), _typed(no, "integer")),
                ],
            )

    def distribution_blocks(self, iri: IRI, entry: dict[str, Any]) -> Iterator[Block]:
        fmt = FORMATS[entry["format"]]
        title_zh, title_en = _distribution_title(entry)
        url = IRI(self.m.dump(entry["file"]))
        checksum = IRI(self.m.checksum(_slug(entry["file"])))
        gz = entry.get("encoding") == "gzip"
        description_en = (
            f"{title_en}: {entry['file']}, {entry['bytes']} bytes, SHA-256 {entry['sha256']}."
        )
        description_zh = (
            f"{title_zh}：{entry['file']}，{entry['bytes']} 字节，SHA-256 {entry['sha256']}。"
        )
        pairs: list[tuple[IRI, Term]] = [
            (A, _p(DCAT, "Distribution")),
            (_p(DCT, "title"), en(title_en)),
            (_p(DCT, "title"), zh(title_zh)),
            (_p(DCT, "description"), en(description_en)),
            (_p(DCT, "description"), zh(description_zh)),
            (_p(DCAT, "accessURL"), url),
            (_p(DCAT, "downloadURL"), url),
            (_p(DCAT, "mediaType"), IRI(IANA + fmt.media_type)),
            (_p(DCT, "format"), self.eu(FILE_TYPE + fmt.file_type, "file type")),
        ]
        if gz:
            pairs.append((_p(DCAT, "compressFormat"), IRI(IANA + GZIP)))
        pairs += [
            (_p(DCAT, "byteSize"), _typed(entry["bytes"], "nonNegativeInteger")),
            (_p(SPDX, "checksum"), checksum),
            # a source document is not ours to license: its terms are its issuer's
            *([] if "guide" in entry else [(_p(DCT, "license"), self.license)]),
            *(
                self.languages()
                if "guide" not in entry
                else [(_p(DCT, "language"), self.eu(LANGUAGE + "ZHO", "language"))]
            ),
            (
                IRI(DCATAP + "availability"),
                self.eu_code("planned-availability", self.s.availability, "availability"),
            ),
            *self.dates(),
        ]
        if entry["format"] in RDF_FORMATS:
            pairs.append((_p(DCT, "conformsTo"), IRI(ONTOLOGY_IRI)))
        elif entry["format"] == "CSV":
            pairs.append(
                (_p(DCT, "conformsTo"), IRI(self.m.dump(f"{entry['file']}-metadata.json")))
            )
        elif entry["format"] == "CSVW":
            pairs.append((_p(DCT, "conformsTo"), IRI(CSVW_REC)))
        elif entry["format"] == "JSON":  # the Chinese record: its JSON Schema, served by the app
            from kg.catalog_cn import SCHEMA_URL_PATH

            pairs.append((_p(DCT, "conformsTo"), IRI(self.m.resource(SCHEMA_URL_PATH))))
        yield iri, pairs
        yield (
            checksum,
            [
                (A, _p(SPDX, "Checksum")),
                (_p(SPDX, "algorithm"), IRI(SPDX_SHA256_HTTPS)),
                (_p(SPDX, "checksumValue"), Literal(entry["sha256"], datatype=XSD + "hexBinary")),
            ],
        )

    def sparql_distribution_block(self, iri: IRI) -> Block:
        return iri, [
            (A, _p(DCAT, "Distribution")),
            (_p(DCT, "title"), en("SPARQL endpoint")),
            (_p(DCT, "title"), zh("SPARQL 查询服务")),
            (
                _p(DCT, "description"),
                en("The whole graph, queried live through the SPARQL 1.1 protocol (read-only)."),
            ),
            (_p(DCT, "description"), zh("通过 SPARQL 1.1 协议在线查询整个知识图谱（只读）。")),
            (_p(DCAT, "accessURL"), self.service),
            (_p(DCAT, "accessService"), self.service),
            (_p(DCT, "format"), self.eu(FILE_TYPE + "SPARQLQ", "file type")),
            (_p(DCT, "license"), self.license),
            *self.languages(),
            (
                IRI(DCATAP + "availability"),
                self.eu_code("planned-availability", self.s.availability, "availability"),
            ),
            (_p(DCT, "conformsTo"), IRI(SPARQL_PROTOCOL)),
        ]

    def service_block(self) -> Block:
        s = self.s
        return self.service, [
            (A, _p(DCAT, "DataService")),
            (_p(DCT, "title"), en(f"SPARQL endpoint: {s.title_en}")),
            (_p(DCT, "title"), zh(f"{s.title_zh} SPARQL 查询服务")),
            (
                _p(DCT, "description"),
                en(
                    "Read-only SPARQL 1.1 endpoint over the whole knowledge graph; GET without a query returns its service description."
                ),
            ),
            (
                _p(DCT, "description"),
                zh("整个知识图谱的只读 SPARQL 1.1 查询服务；不带查询的 GET 请求返回其服务描述。"),
            ),
            (_p(DCAT, "endpointURL"), self.service),
            (_p(DCAT, "endpointDescription"), self.service),
            (_p(DCAT, "servesDataset"), self.dataset),
            (_p(DCT, "conformsTo"), IRI(SPARQL_PROTOCOL)),
            (_p(DCT, "publisher"), self.publisher),
            (_p(DCAT, "contactPoint"), self.contact),
            (_p(DCT, "license"), self.license),
            (
                _p(DCT, "accessRights"),
                self.eu_code("access-right", s.access_rights, "access rights"),
            ),
            *((_p(DCAT, "theme"), self.eu(DATA_THEME + t, "data theme")) for t in s.themes),
            (_p(DCAT, "keyword"), en("SPARQL")),
            (_p(DCAT, "landingPage"), self.landing),
        ]

    def publisher_block(self) -> Block:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, _p(FOAF, "Agent")),
            (A, _p(FOAF, "Organization")),
            (_p(FOAF, "name"), en(s.publisher_name_en)),
            (_p(FOAF, "name"), zh(s.publisher_name_zh)),
            (_p(FOAF, "homepage"), IRI(publisher_homepage(self.settings, self.m))),
        ]
        if s.publisher_type:
            pairs.append(
                (_p(DCT, "type"), self.eu(PUBLISHER_TYPE + s.publisher_type, "publisher type"))
            )
        return self.publisher, pairs

    def contact_block(self) -> Block:
        s = self.s
        return self.contact, [
            (A, _p(VCARD, "Kind")),
            (A, _p(VCARD, "Organization")),
            (_p(VCARD, "fn"), en(s.publisher_name_en)),
            (_p(VCARD, "fn"), zh(s.publisher_name_zh)),
            (_p(VCARD, "hasEmail"), IRI(f"mailto:{s.contact_email}")),
            (_p(VCARD, "hasURL"), IRI(publisher_homepage(self.settings, self.m))),
        ]

    def license_block(self) -> Block:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, _p(DCT, "LicenseDocument")),
            # dct:title only: with an rdfs:label, CKAN's DCAT parser stores the label instead of the IRI
            (_p(DCT, "title"), en(s.license_title)),
        ]
        if s.license_identifier():  # the version the title (CKAN's register title) leaves out
            pairs.append((_p(DCT, "identifier"), Literal(s.license_identifier())))
        if s.license_type:
            pairs.append((_p(DCT, "type"), self.eu(LICENCE_TYPE + s.license_type, "licence type")))
        return self.license, pairs

    def source_blocks(self, guides: list[GuideConfig]) -> Iterator[Block]:
        """The source documents: dct:source of a dcat:Dataset is a dcat:Dataset (DCAT-AP 3 range)."""
        for g in guides:
            files = [d for d in self.source_dumps if d["guide"] == g.id]
            citation_zh = g.title_zh + (f"，{g.annex}" if g.annex else "")
            yield (
                IRI(self.m.guide(g.id)),
                [
                    (A, _p(DCAT, "Dataset")),
                    (A, IRI(DIP + "Guide")),
                    (_p(DCT, "title"), en(g.title_en)),
                    (_p(DCT, "title"), zh(g.title_zh)),
                    (
                        _p(DCT, "description"),
                        en(
                            f"The source document: {g.title_en}, {g.province_en}; its table of application scenarios is what this knowledge graph represents."
                        ),
                    ),
                    (
                        _p(DCT, "description"),
                        zh(
                            f"源文件：{citation_zh}（{g.province_zh}）；本知识图谱表示其应用场景表。"
                        ),
                    ),
                    (_p(DCT, "bibliographicCitation"), zh(citation_zh)),
                    (_p(DCT, "bibliographicCitation"), en(f"{g.title_en}, {g.province_en}")),
                    *(
                        (_p(DCAT, "keyword"), zh(k))
                        for k in (g.province_zh, "数据知识产权", "应用场景指引")
                    ),
                    *(
                        (_p(DCAT, "keyword"), en(k))
                        for k in (
                            g.province_en,
                            "data intellectual property",
                            "application scenario guidance",
                        )
                    ),
                    *(
                        (_p(DCAT, "theme"), self.eu(DATA_THEME + t, "data theme"))
                        for t in self.s.themes
                    ),
                    *(
                        (_p(DCT, "spatial"), self.eu_code("country", c, "spatial coverage"))
                        for c in self.s.spatial
                    ),
                    (_p(DCT, "language"), self.eu(LANGUAGE + "ZHO", "language")),
                    *(
                        (_p(DCAT, "distribution"), IRI(self.m.distribution(_slug(d["file"]))))
                        for d in files
                    ),
                    *(
                        [(_p(DCT, "publisher"), IRI(f"{self.m.guide(g.id)}/issuer"))]
                        if g.issuer_zh or g.issuer_en
                        else []
                    ),
                    *([(_p(DCT, "issued"), _date(g.date))] if g.date else []),
                ],
            )
            if g.issuer_zh or g.issuer_en:  # from build/guides.toml only: never guessed
                yield (
                    IRI(f"{self.m.guide(g.id)}/issuer"),
                    [
                        (A, _p(FOAF, "Agent")),
                        (A, _p(FOAF, "Organization")),
                        *([(_p(FOAF, "name"), en(g.issuer_en))] if g.issuer_en else []),
                        *([(_p(FOAF, "name"), zh(g.issuer_zh))] if g.issuer_zh else []),
                    ],
                )
            for d in files:
                yield from self.distribution_blocks(IRI(self.m.distribution(_slug(d["file"]))), d)

    def domain_blocks(self) -> Iterator[Block]:
        scheme = IRI(self.m.scheme("domains"))
        domains = [IRI(self.m.domain(k)) for k in self.inputs.domains]
        yield (
            scheme,
            [
                (A, _p(SKOS, "ConceptScheme")),
                (_p(DCT, "title"), en("Domains")),
                (_p(DCT, "title"), zh("领域")),
                (_p(SKOS, "prefLabel"), en("Domains")),
                (_p(SKOS, "prefLabel"), zh("领域")),
                *((_p(SKOS, "hasTopConcept"), d) for d in domains),
            ],
        )
        for (key, label), iri in zip(self.inputs.domains.items(), domains, strict=True):
            yield (
                iri,
                [
                    (A, _p(SKOS, "Concept")),
                    (_p(SKOS, "prefLabel"), en(self.tr.en(label) or key)),
                    (_p(SKOS, "prefLabel"), zh(label)),
                    (_p(SKOS, "inScheme"), scheme),
                    (_p(SKOS, "topConceptOf"), scheme),
                ],
            )

    def media_type_blocks(self, dumps: list[dict[str, Any]]) -> Iterator[Block]:
        types = sorted(
            {FORMATS[d["format"]].media_type for d in dumps}
            | ({GZIP} if any(d.get("encoding") == "gzip" for d in dumps) else set())
        )
        for t in types:
            yield IRI(IANA + t), [(A, _p(DCT, "MediaType")), (_p(RDFS, "label"), Literal(t))]

    def standard_blocks(self) -> Iterator[Block]:
        standards = [
            (ONTOLOGY_IRI, "dipkg ontology", "dipkg 本体"),
            (SPARQL_PROTOCOL, "SPARQL 1.1 Protocol", "SPARQL 1.1 协议"),
            (CSVW_REC, "Metadata Vocabulary for Tabular Data (CSVW)", "表格数据元数据词汇（CSVW）"),
        ]
        for d in self.manifest["dumps"]:
            if d["format"] == "CSV":
                standards.append(
                    (
                        self.m.dump(f"{d['file']}-metadata.json"),
                        f"CSVW metadata of {d['file']}",
                        f"{d['file']} 的 CSVW 元数据",
                    )
                )
            elif d["format"] == "JSON":
                from kg.catalog_cn import SCHEMA_URL_PATH

                standards.append(
                    (
                        self.m.resource(SCHEMA_URL_PATH),
                        "JSON Schema of the Chinese resource-catalogue record",
                        "政务信息资源目录记录的 JSON Schema",
                    )
                )
        for iri, title_en, title_zh in standards:
            yield (
                IRI(iri),
                [
                    (A, _p(DCT, "Standard")),
                    (_p(DCT, "title"), en(title_en)),
                    (_p(DCT, "title"), zh(title_zh)),
                ],
            )


def release_dates(manifest: dict[str, Any]) -> tuple[str | None, str | None]:
    """(issued, modified) of a release, from its manifest (None: not known, not published)."""
    modified = manifest.get("modified") or None
    return manifest.get("issued") or modified, modified


def record(
    settings: Settings, minter: Minter, manifest: dict[str, Any], store: pyoxigraph.Store
) -> Iterator[Block]:
    """The catalogue record: DCAT-AP 3 catalogue, dataset, distributions, data service, VoID."""
    return iter(list(_Record(settings, minter, manifest, store).blocks()))


# =====================================================================================
# schema.org Dataset (the landing page's <script type="application/ld+json">)
# =====================================================================================
def schema_org_dataset(
    manifest: dict[str, Any], settings: Settings, minter: Minter
) -> dict[str, Any]:
    """The schema.org Dataset of this knowledge graph, as a JSON-LD object (deterministic)."""
    s = settings.catalog
    issued, modified = release_dates(manifest)
    inputs = load_inputs(_inputs_dir(settings))
    publisher = {
        "@type": "Organization",
        "@id": publisher_iri(settings, minter),
        "name": s.publisher_name_en,
        "alternateName": s.publisher_name_zh,
        "url": publisher_homepage(settings, minter),
        "email": s.contact_email,
    }
    distribution = []
    for entry in manifest["dumps"]:
        if "guide" in entry:
            continue  # a source file: its guide's, not this dataset's
        title_zh, title_en = _distribution_title(entry)
        item: dict[str, Any] = {
            "@type": "DataDownload",
            "@id": minter.distribution(_slug(entry["file"])),
            "name": title_en,
            "contentUrl": minter.dump(entry["file"]),
            "encodingFormat": FORMATS[entry["format"]].media_type,
            "contentSize": f"{entry['bytes']} B",
            "sha256": entry["sha256"],
        }
        if entry.get("encoding") == "gzip":
            item["encodingFormat"] = GZIP
            item["description"] = f"{FORMATS[entry['format']].media_type}, gzip-compressed"
        distribution.append(item)
    return {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": minter.dataset(),
        "name": s.title_en,
        "alternateName": s.title_zh,
        "description": f"{s.description_en}\n\n{s.description_zh}",
        "url": minter.base,
        "identifier": minter.dataset(),
        "sameAs": minter.dataset(),
        "keywords": [*s.keywords_en, *s.keywords_zh],
        "inLanguage": ["zh", "en"],
        "license": s.license_iri,
        "isAccessibleForFree": True,
        "creator": publisher,
        "publisher": publisher,
        **({"datePublished": issued} if issued else {}),
        **({"dateModified": modified} if modified else {}),
        **({"version": str(manifest["version"])} if manifest.get("version") else {}),
        "isBasedOn": [
            {
                "@type": "CreativeWork",
                "@id": minter.guide(g.id),
                "url": minter.guide(g.id),
                "name": g.title_zh,
                "alternateName": g.title_en,
                "inLanguage": "zh",
            }
            for g in inputs.guides
        ],
        "spatialCoverage": [
            {"@type": "Place", "name": g.province_en, "alternateName": g.province_zh}
            for g in inputs.guides
        ],
        "distribution": distribution,
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "@id": minter.catalog(),
            "name": s.catalog_title_en,
            "url": minter.catalog(),
        },
    }


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_SCHEMA_CONTEXTS = (
    "https://schema.org/",
    "https://schema.org",
    "http://schema.org/",
    "http://schema.org",
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _types(node: Any) -> list[str]:
    return [str(t) for t in _as_list(node.get("@type", []))] if isinstance(node, dict) else []


def check_schema_org_dataset(doc: Any) -> list[str]:
    """Problems of a schema.org Dataset JSON-LD object ([] = it passes).

    The rules are those of schema.org's Dataset type and of Google's Dataset structured
    data guidelines (https://developers.google.com/search/docs/appearance/structured-data/dataset):
    required: name, description (50 to 5000 characters); recommended, and checked
    when present: url, identifier, sameAs (URLs), keywords, license (a URL or a
    CreativeWork), creator (Person or Organization with a name), distribution
    (DataDownload with contentUrl and encodingFormat), isBasedOn, includedInDataCatalog
    (DataCatalog with a name), dates (ISO 8601), version, inLanguage (BCP 47).
    This record also requires what the catalogue promises: license, creator, distribution,
    isBasedOn, url, identifier, keywords, inLanguage, version (dateModified only when the
    release's date is known: kg/changes.py states none rather than guess one).
    """
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    if doc.get("@context") not in _SCHEMA_CONTEXTS:
        problems.append("@context: must be https://schema.org/")
    if "Dataset" not in _types(doc):
        problems.append("@type: must be Dataset")

    def text(key: str, required: bool = True) -> str | None:
        value = doc.get(key)
        if value is None:
            if required:
                problems.append(f"{key}: missing")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key}: must be a non-empty text")
            return None
        return value

    def url(value: Any, where: str) -> None:
        if not isinstance(value, str) or not _URL.match(value):
            problems.append(f"{where}: {value!r} is not an absolute http(s) URL")

    text("name")
    description = text("description")
    if description is not None and not 50 <= len(description) <= 5000:
        problems.append(f"description: {len(description)} characters; Google requires 50 to 5000")
    for key in (
        "url",
        "identifier",
        "license",
        "creator",
        "distribution",
        "isBasedOn",
        "keywords",
        "inLanguage",
        "version",
        "includedInDataCatalog",
    ):
        if key not in doc:
            problems.append(f"{key}: missing")
    if "url" in doc:
        url(doc["url"], "url")
    for value in _as_list(doc.get("sameAs", [])):
        url(value, "sameAs")
    for value in _as_list(doc.get("identifier", [])):
        if isinstance(value, dict):
            if "PropertyValue" not in _types(value):
                problems.append("identifier: an object identifier must be a PropertyValue")
        elif not isinstance(value, str) or not value.strip():
            problems.append("identifier: must be a text, a URL or a PropertyValue")
    if "keywords" in doc:
        keywords = _as_list(doc["keywords"])
        if not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
            problems.append("keywords: must be non-empty texts")
    for value in _as_list(doc.get("license", [])):
        if isinstance(value, dict):
            if "CreativeWork" not in _types(value) or not (value.get("url") or value.get("@id")):
                problems.append("license: a CreativeWork licence needs a url")
            else:
                url(value.get("url") or value.get("@id"), "license")
        else:
            url(value, "license")
    for key in ("creator", "publisher"):
        for agent in _as_list(doc.get(key, [])):
            if not isinstance(agent, dict) or not set(_types(agent)) & {"Person", "Organization"}:
                problems.append(f"{key}: must be a Person or an Organization")
                continue
            if not isinstance(agent.get("name"), str) or not agent["name"].strip():
                problems.append(f"{key}: needs a name")
            if "url" in agent:
                url(agent["url"], f"{key}.url")
    distributions = _as_list(doc.get("distribution", []))
    if "distribution" in doc and not distributions:
        problems.append("distribution: empty")
    for i, item in enumerate(distributions):
        where = f"distribution[{i}]"
        if not isinstance(item, dict) or "DataDownload" not in _types(item):
            problems.append(f"{where}: must be a DataDownload")
            continue
        if "contentUrl" not in item:
            problems.append(f"{where}.contentUrl: missing")
        else:
            url(item["contentUrl"], f"{where}.contentUrl")
        fmt = item.get("encodingFormat")
        if fmt is None:
            problems.append(f"{where}.encodingFormat: missing")
        elif not isinstance(fmt, str) or not (_MEDIA_TYPE.match(fmt) or _URL.match(fmt)):
            problems.append(f"{where}.encodingFormat: {fmt!r} is not a media type or a URL")
        if "sha256" in item and not re.fullmatch(r"[0-9a-f]{64}", str(item["sha256"])):
            problems.append(f"{where}.sha256: not a hex SHA-256")
    for value in _as_list(doc.get("isBasedOn", [])):
        if isinstance(value, dict):
            target = value.get("url") or value.get("@id")
            if not target:
                problems.append("isBasedOn: a CreativeWork source needs a url or @id")
            else:
                url(target, "isBasedOn")
        else:
            url(value, "isBasedOn")
    for catalog in _as_list(doc.get("includedInDataCatalog", [])):
        if not isinstance(catalog, dict) or "DataCatalog" not in _types(catalog):
            problems.append("includedInDataCatalog: must be a DataCatalog")
        elif not isinstance(catalog.get("name"), str) or not catalog["name"].strip():
            problems.append("includedInDataCatalog: needs a name")
    for key in ("dateModified", "datePublished", "dateCreated"):
        if key in doc and not (isinstance(doc[key], str) and _DATE.match(doc[key])):
            problems.append(f"{key}: {doc[key]!r} is not an ISO 8601 date")
    if "version" in doc and not isinstance(doc["version"], str | int | float):
        problems.append("version: must be a text or a number")
    for value in _as_list(doc.get("inLanguage", [])):
        if not isinstance(value, str) or not _LANG.match(value):
            problems.append(f"inLanguage: {value!r} is not a BCP 47 language tag")
    if "isAccessibleForFree" in doc and not isinstance(doc["isAccessibleForFree"], bool):
        problems.append("isAccessibleForFree: must be a boolean")
    return problems
