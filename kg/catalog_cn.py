"""The Chinese government resource-catalogue record (政务信息资源目录), as JSON and as XLSX.

The elements are the core metadata of the national guide (政务信息资源目录编制指南（试行）,
2017): 信息资源分类, 名称, 代码, 提供方, 提供方代码, 摘要, 格式, 信息项信息, 共享属性,
开放属性, 更新周期, 发布日期, 关联资源代码. One 信息资源 per dump and per table of the
release (the ``.gz`` twins and the CSVW metadata are versions of those, not resources);
a table's columns are its 信息项, each with a data type. docs/catalogue.md has the
crosswalk to DCAT-AP and says which element comes from where.

Only what the data says is derived (names, abstracts, formats, 信息项, dates, provider
name); what it cannot say (classification, codes, sharing and opening types, update
cycle) comes from ``Settings.catalog.cn`` and is empty by default: such an element is
``null`` in the JSON, an empty cell in the sheet, and listed under ``待填写``.

Interface used by the build: ``write(settings, minter, dumps, dumps_dir)`` writes both
files into the dumps folder and returns their dump entries (``DumpEntry``, as the others).
The file names, the record's JSON Schema (dipkg/core/schemas/catalogue-cn.schema.json, which
the app serves at ``/schemas/catalogue-cn.schema.json``: the JSON distribution's
dct:conformsTo) and the distributions' titles live in :mod:`dipkg.core.catalog_cn`.
Same inputs give the same bytes (the XLSX has fixed document dates and zip times).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

from dipkg.core import formats
from dipkg.core.catalog_cn import JSON_FILE, XLSX_FILE
from dipkg.core.iris import Minter
from dipkg.core.manifest import DumpEntry
from dipkg.core.serialize import sha256_file
from dipkg.core.settings import CatalogSettings, Settings
from kg.catalog.columns import item_columns, scenario_columns
from kg.catalog.files import ITEMS_CSV, SCENARIOS_CSV
from kg.catalog.namespaces import slug as _slug
from kg.catalog.tables import ROWS
from kg.changes import input_date
from kg.guide import Inputs, load_inputs
from kg.paths import INPUTS_DIR

GUIDE = "政务信息资源目录编制指南（试行）（2017）"

#: CSVW datatype -> the guide's 信息项 data type.
DATA_TYPES = {"string": "字符型", "anyURI": "字符型", "integer": "整型", "boolean": "逻辑型"}

#: dump format -> (格式分类, 格式类型). The classes are the guide's; placing RDF under
#: 自描述格式 and CSV under 电子表格 is dipkg's reading (docs/catalogue.md).
RESOURCE_FORMATS = {
    "Turtle": ("自描述格式", "Turtle（RDF）"),
    "JSON-LD": ("自描述格式", "JSON-LD（RDF）"),
    "N-Triples": ("自描述格式", "N-Triples（RDF）"),
    "CSV": ("电子表格", "CSV"),
}

#: The elements a publisher must fill in when the settings leave them empty (path, setting key).
_TO_FILL = (
    ("信息资源分类.类", "class_code"),
    ("信息资源分类.项", "item_code"),
    ("信息资源分类.目", "heading_code"),
    ("信息资源分类.细目", "subheading_code"),
    ("信息资源提供方代码", "provider_code"),
    ("共享属性.共享类型", "sharing_type"),
    ("共享属性.共享方式", "sharing_method"),
    ("开放属性.开放类型", "opening_type"),
    ("更新周期", "update_cycle"),
)


@dataclass(frozen=True)
class ReleaseDates:
    """The release's version and dates as the record states them (None: not known)."""

    version: str | None
    issued: str | None
    modified: str | None

    @classmethod
    def of(cls, settings: Settings, inputs: Inputs | None = None) -> ReleaseDates:
        """From the settings where set, else the inputs' own date (guides.toml: ``edited``
        and each guide's ``date``; :func:`kg.changes.input_date`). The record is a dump,
        written before the release's number and first date are known, so it states only
        what the inputs say."""
        s = settings.catalog
        inputs = inputs or load_inputs(Path(settings.inputs_dir or INPUTS_DIR))
        known = input_date([inputs.edited, *(g.date for g in inputs.guides)])
        return cls(s.version or None, s.issued or known, s.modified or known)


def to_fill(settings: Settings, resources: list[str]) -> list[str]:
    """The elements the settings leave empty (the record's ``待填写``), in the guide's order;
    ``resources`` are the file names of the record's resources (each needs its code)."""
    cn = settings.catalog.cn
    out = [path for path, key in _TO_FILL if not getattr(cn, key)]
    if not all(cn.resource_codes.get(f) for f in resources):
        out.insert(4, "信息资源代码")
    return out


def _or_none(value: str) -> str | None:
    return value or None


def _tables() -> dict[str, tuple[str, list[tuple[str, str, str, str, dict[str, Any]]]]]:
    return {
        SCENARIOS_CSV: ("数据知识产权应用场景：场景表", scenario_columns("")),
        ITEMS_CSV: ("数据知识产权应用场景：数据项表", item_columns("")),
    }


def resource_entries(dumps: Sequence[DumpEntry]) -> list[DumpEntry]:
    """The dumps that are resources: every uncompressed RDF dump and every CSV table."""
    return [d for d in dumps if d.format in RESOURCE_FORMATS and d.encoding is None]


#: The XLSX's document date when the release has none (XlsxWriter's zip entries use 1980 too).
NO_DATE = datetime.datetime(1980, 1, 1)


def record(
    settings: Settings,
    minter: Minter,
    dumps: Sequence[DumpEntry],
    *,
    dates: ReleaseDates | None = None,
) -> dict[str, Any]:
    """The record as a JSON-ready dict (key order fixed). ``dates``: the release's version and
    dates when the build derives them; default: those of the settings ("" = unknown)."""
    s: CatalogSettings = settings.catalog
    rel = dates or ReleaseDates.of(settings)
    cn = s.cn
    tables = _tables()
    files = {d.file for d in dumps}
    entries = resource_entries(dumps)
    codes = {d.file: cn.resource_codes.get(d.file, "") for d in entries}
    resources = []
    for d in entries:
        name, fmt = d.file, d.format
        if fmt == "CSV":
            title, columns = tables[name]
            abstract = (
                f"{title}（CSV，UTF-8，{d.rows} 行数据，首行为列名）。"
                f"{s.title_zh}的表格形式；列的定义见 {name}-metadata.json（CSVW）。"
            )
            items = [
                {"信息项名称": title_zh, "字段名": col, "数据类型": DATA_TYPES[datatype]}
                for col, title_zh, _title_en, datatype, _extra in columns
            ]
        else:
            title = f"{s.title_zh}（{fmt} 全量数据）"
            gz = f"{name}.gz"
            abstract = (
                f"{s.description_zh}本资源为 {fmt} 格式的全量数据文件，共 {d.triples} 个三元组"
                + (f"；另有 gzip 压缩版本 {gz}。" if gz in files else "。")
            )
            items = []  # RDF: the structure is the ontology, not columns (docs/catalogue.md)
        fmt_class, fmt_type = RESOURCE_FORMATS[fmt]
        resources.append(
            {
                "信息资源分类": {
                    "类": _or_none(cn.class_code),
                    "项": _or_none(cn.item_code),
                    "目": _or_none(cn.heading_code),
                    "细目": _or_none(cn.subheading_code),
                },
                "信息资源名称": title,
                "信息资源代码": _or_none(codes[name]),
                "信息资源提供方": cn.provider_name or s.publisher_name_zh,
                "信息资源提供方代码": _or_none(cn.provider_code),
                "信息资源摘要": abstract,
                "信息资源格式": {"格式分类": fmt_class, "格式类型": fmt_type},
                "信息项信息": items,
                "共享属性": {
                    "共享类型": _or_none(cn.sharing_type),
                    "共享条件": _or_none(cn.sharing_condition),
                    "共享方式": _or_none(cn.sharing_method),
                },
                "开放属性": {
                    "开放类型": _or_none(cn.opening_type),
                    "开放条件": _or_none(cn.opening_condition),
                },
                "更新周期": _or_none(cn.update_cycle),
                "发布日期": rel.issued,
                "关联资源代码": sorted(c for f, c in codes.items() if c and f != name),
                "扩展": {
                    "DCAT分发": minter.distribution(_slug(name)),
                    "下载地址": minter.dump(name),
                    "媒体类型": d.media_type,
                    "字节数": d.bytes,
                    "SHA-256": d.sha256,
                },
            }
        )
    return {
        "编制依据": GUIDE,
        "目录名称": s.catalog_title_zh,
        "数据集": {
            "名称": s.title_zh,
            "版本": rel.version,
            "更新日期": rel.modified,
            "DCAT数据集": minter.dataset(),
            "DCAT目录": minter.catalog(),
        },
        "待填写": to_fill(settings, [e.file for e in entries])
        + ([] if rel.issued else ["发布日期"]),
        "信息资源": resources,
    }


# --- the sheet ----------------------------------------------------------------------------------
RESOURCE_COLUMNS = (
    "序号",
    "信息资源分类（类）",
    "信息资源分类（项）",
    "信息资源分类（目）",
    "信息资源分类（细目）",
    "信息资源名称",
    "信息资源代码",
    "信息资源提供方",
    "信息资源提供方代码",
    "信息资源摘要",
    "信息资源格式分类",
    "信息资源格式类型",
    "信息项数",
    "共享类型",
    "共享条件",
    "共享方式",
    "开放类型",
    "开放条件",
    "更新周期",
    "发布日期",
    "关联资源代码",
    "下载地址",
    "字节数",
    "SHA-256",
)
ITEM_COLUMNS = (
    "信息资源序号",
    "信息资源名称",
    "信息资源代码",
    "信息项序号",
    "信息项名称",
    "字段名",
    "数据类型",
)
RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"


def resource_row(number: int, r: dict[str, Any]) -> list[Any]:
    c, f, sh, op, ext = (
        r["信息资源分类"],
        r["信息资源格式"],
        r["共享属性"],
        r["开放属性"],
        r["扩展"],
    )
    return [
        number,
        c["类"],
        c["项"],
        c["目"],
        c["细目"],
        r["信息资源名称"],
        r["信息资源代码"],
        r["信息资源提供方"],
        r["信息资源提供方代码"],
        r["信息资源摘要"],
        f["格式分类"],
        f["格式类型"],
        len(r["信息项信息"]),
        sh["共享类型"],
        sh["共享条件"],
        sh["共享方式"],
        op["开放类型"],
        op["开放条件"],
        r["更新周期"],
        r["发布日期"],
        "；".join(r["关联资源代码"]) or None,
        ext["下载地址"],
        ext["字节数"],
        ext["SHA-256"],
    ]


def write_xlsx(doc: dict[str, Any], path: Path, settings: Settings) -> None:
    """The clerks' layout: one row per resource; one sheet of 信息项. Cells are text except the
    numbers; an empty cell is an element to fill in."""
    first = doc["信息资源"][0]["发布日期"] if doc["信息资源"] else None
    issued = (
        datetime.datetime.fromisoformat(first) if first else NO_DATE
    )  # fixed: same bytes every build
    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    workbook.set_properties(
        {
            "title": doc["目录名称"],
            "subject": GUIDE,
            "author": settings.catalog.publisher_name_zh,
            "company": settings.catalog.publisher_name_zh,
            "comments": "dipkg",
            "created": issued,
        }
    )
    head = workbook.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
    )
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

    def sheet(
        name: str, header: tuple[str, ...], rows: list[list[Any]], widths: dict[int, int]
    ) -> None:
        ws = workbook.add_worksheet(name)
        ws.write_row(0, 0, header, head)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                if value is None:
                    continue  # to be filled in
                if isinstance(value, int):
                    ws.write_number(i, j, value)
                else:
                    ws.write_string(i, j, str(value), wrap)
        for j in range(len(header)):
            ws.set_column(j, j, widths.get(j, 14))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(header) - 1)

    resources = doc["信息资源"]
    sheet(
        RESOURCE_SHEET,
        RESOURCE_COLUMNS,
        [resource_row(n, r) for n, r in enumerate(resources, start=1)],
        {0: 6, 5: 36, 9: 60, 21: 48, 23: 66},
    )
    items = [
        [n, r["信息资源名称"], r["信息资源代码"], k, it["信息项名称"], it["字段名"], it["数据类型"]]
        for n, r in enumerate(resources, start=1)
        for k, it in enumerate(r["信息项信息"], start=1)
    ]
    sheet(ITEM_SHEET, ITEM_COLUMNS, items, {1: 36, 4: 24, 5: 20})
    workbook.close()


def write(
    settings: Settings,
    minter: Minter,
    dumps: Sequence[DumpEntry],
    dumps_dir: Path,
    *,
    dates: ReleaseDates | None = None,
) -> tuple[list[DumpEntry], list[str]]:
    """Write the JSON record and the XLSX sheet; return their dump entries and the record's
    ``待填写`` (the elements left to fill in)."""
    doc = record(settings, minter, dumps, dates=dates)
    (dumps_dir / JSON_FILE).write_bytes(
        (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    )
    write_xlsx(doc, dumps_dir / XLSX_FILE, settings)
    entries = []
    for file, fmt in ((JSON_FILE, formats.JSON), (XLSX_FILE, formats.XLSX)):
        path = dumps_dir / file
        entries.append(
            DumpEntry(
                file=file,
                format=fmt.name,
                media_type=fmt.media_type,
                encoding=None,
                bytes=path.stat().st_size,
                sha256=sha256_file(path),
                rows=len(doc["信息资源"]) if fmt is formats.XLSX else None,
                stated=ROWS,
            )
        )
    return entries, doc["待填写"]
