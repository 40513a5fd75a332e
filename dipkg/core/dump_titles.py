"""What each file of a release's ``dumps/`` folder is, in both languages: the titles the
catalogue record gives its distributions (kg/catalog/distributions.py) and the downloads
page shows beside each file (sparql_api/dumps.py), from one place.

The catalogue's tables are named here too, as both sides need to tell them apart (the
tables workbook and the Chinese record's workbook are both XLSX).
"""

from __future__ import annotations

from dipkg.core import formats
from dipkg.core.catalog_cn import distribution_title as cn_distribution_title
from dipkg.core.manifest import DumpEntry

SCENARIOS_CSV = "dipkg-scenarios.csv"
ITEMS_CSV = "dipkg-data-items.csv"
TABLES_XLSX = "dipkg-tables.xlsx"
#: the checksums file the build writes beside the dumps (no entry of the manifest)
SUMS_TITLE = ("全部文件的 SHA-256 校验和", "SHA-256 checksums of every file")


def title(entry: DumpEntry) -> tuple[str, str]:
    """The title (zh, en) of the dump ``entry`` names."""
    fmt = formats.by_name(entry.format)
    gz = entry.encoding == "gzip"
    name = entry.file
    if entry.format in ("Source", "Source DOCX"):
        return f"源文件（{name}，原样）", f"Source document, verbatim ({name})"
    if name == TABLES_XLSX:  # before the record's XLSX: both are XLSX
        return (
            "场景表与数据项表（XLSX 工作簿）",
            "The scenarios and data items tables (XLSX workbook)",
        )
    if entry.format in ("JSON", "XLSX"):  # the Chinese resource-catalogue record
        return cn_distribution_title(entry)
    if entry.format == "CSV":
        what_zh, what_en = (
            ("场景表", "scenarios table")
            if name == SCENARIOS_CSV
            else ("数据项表", "data items table")
        )
        return f"{what_zh}（CSV）", f"The {what_en} (CSV)"
    if entry.format == "CSVW":
        what_zh, what_en = (
            ("场景表", "scenarios table")
            if name.startswith(SCENARIOS_CSV)
            else ("数据项表", "data items table")
        )
        return f"{what_zh}的 CSVW 元数据", f"CSVW metadata of the {what_en}"
    suffix_zh, suffix_en = ("，gzip 压缩", ", gzip-compressed") if gz else ("", "")
    return f"完整数据下载（{fmt.label_zh}{suffix_zh}）", f"Full dump ({fmt.label_en}{suffix_en})"
