"""The Excel workbook (dumps/dipkg-tables.xlsx), read back with openpyxl: two sheets that
hold exactly the CSV tables' rows, both languages in the header, frozen, filtered; the
same inputs give the same bytes; it is listed in the manifest and the catalogue record."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from kg.spreadsheet import Sheet, write_workbook
from tests.catalog.test_csv import metadata, read_table

XLSX = "dipkg-tables.xlsx"
MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = {"场景 Scenarios": "dipkg-scenarios.csv", "数据项 Data items": "dipkg-data-items.csv"}


@pytest.fixture(scope="module")
def workbook(release: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(release / "dumps" / XLSX)


def as_csv_text(value, datatype: str) -> str:
    if value is None:
        return ""
    if datatype == "boolean":
        assert isinstance(value, bool)
        return "true" if value else "false"
    if datatype == "integer":
        assert isinstance(value, int)
    return str(value)


def test_two_sheets_hold_the_csv_rows(workbook, release: Path) -> None:
    assert workbook.sheetnames == list(SHEETS)
    for sheet_name, csv_name in SHEETS.items():
        ws = workbook[sheet_name]
        columns = metadata(release, csv_name)["tableSchema"]["columns"]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[0]) == [c["titles"]["zh"] for c in columns]
        assert list(rows[1]) == [c["titles"]["en"] for c in columns]
        _, csv_rows, _ = read_table(release, csv_name)
        body = [
            {c["name"]: as_csv_text(v, c["datatype"]) for c, v in zip(columns, row, strict=True)}
            for row in rows[2:]
        ]
        assert body == csv_rows


def test_frozen_filtered_and_readable(workbook) -> None:
    for name in SHEETS:
        ws = workbook[name]
        assert ws.freeze_panes == "A3"
        assert ws.auto_filter.ref == f"A2:{ws.cell(2, ws.max_column).column_letter}{ws.max_row}"
        widths = [
            ws.column_dimensions[ws.cell(1, i).column_letter].width
            for i in range(1, ws.max_column + 1)
        ]
        assert all(8 <= w <= 60 for w in widths) and len(set(widths)) > 3
        assert ws.cell(1, 1).font.bold and ws.cell(2, 1).font.bold
    items = workbook["数据项 Data items"]
    header = [c.value for c in items[2]]
    pi = header.index("Personal information") + 1
    assert {items.cell(r, pi).value for r in range(3, items.max_row + 1)} == {True, False}


def test_workbook_properties_are_fixed(release: Path, workbook) -> None:
    props = workbook.properties
    assert (
        props.creator == "dipkg"
        and str(props.created) == str(props.modified) == "1980-01-01 00:00:00"
    )
    with zipfile.ZipFile(release / "dumps" / XLSX) as archive:
        assert archive.testzip() is None
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_same_sheets_same_bytes_and_text_stays_text(tmp_path: Path) -> None:
    columns = [
        ("a", "甲", "A", "string"),
        ("n", "数", "N", "integer"),
        ("b", "是否", "Flag", "boolean"),
    ]
    rows = [["=1+1", "3", "true"], ["温度", None, "false"]]
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    write_workbook(one, [Sheet("表 T", columns, rows)], "t")
    write_workbook(two, [Sheet("表 T", columns, iter(rows))], "t")
    assert one.read_bytes() == two.read_bytes()
    ws = openpyxl.load_workbook(one)["表 T"]
    assert [c.value for c in ws[3]] == ["=1+1", 3, True] and ws[
        "A3"
    ].data_type == "s"  # never a formula
    assert [c.value for c in ws[4]] == ["温度", None, False]
    write_workbook(two, [Sheet("表 T", columns, rows[:1])], "t")
    assert one.read_bytes() != two.read_bytes()  # the known-bad twin: other rows, other bytes


def test_listed_in_manifest_sums_and_record(release: Path, manifest: dict, record, minter) -> None:
    from rdflib import URIRef

    entry = next(d for d in manifest["dumps"] if d["file"] == XLSX)
    assert entry["format"] == "XLSX" and entry["media_type"] == MEDIA
    assert f"{entry['sha256']}  {XLSX}" in (release / "dumps" / "SHA256SUMS").read_text(
        encoding="utf-8"
    )
    dcat = "http://www.w3.org/ns/dcat#"
    dist = next(record.subjects(URIRef(dcat + "downloadURL"), URIRef(minter.dump(XLSX))))
    assert str(record.value(dist, URIRef(dcat + "mediaType"))).endswith(MEDIA)
    assert str(record.value(dist, URIRef("http://purl.org/dc/terms/format"))).endswith(
        "/file-type/XLSX"
    )


def openpyxl_workbook(path: Path, sheets: list[Sheet], title: str) -> None:
    """The reference: the workbook built the plain way, every cell an openpyxl Cell in memory,
    saved by openpyxl's own writer, then every zip entry rewritten at the fixed time (how
    kg/spreadsheet.py wrote it before it streamed the rows)."""
    import io

    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    from kg.spreadsheet import FIXED_TIME, _cell_value, _width

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = wb.properties.lastModifiedBy = "dipkg"
    wb.properties.title = title
    wb.properties.created = wb.properties.modified = FIXED_TIME
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        widths = [max(_width(zh), _width(en)) for _, zh, en, _ in sheet.columns]
        ws.append([c[1] for c in sheet.columns])
        ws.append([c[2] for c in sheet.columns])
        for row in ws.iter_rows(min_row=1, max_row=2):
            for cell in row:
                cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
                cell.alignment = Alignment(vertical="top")
        count = 0
        for values in sheet.rows:
            count += 1
            for i, (v, c) in enumerate(zip(values, sheet.columns, strict=True)):
                v = _cell_value(v, c[3])
                widths[i] = max(widths[i], _width(v))
                cell = ws.cell(row=2 + count, column=i + 1, value=v)
                if isinstance(v, str):
                    cell.data_type = TYPE_STRING
        last = get_column_letter(len(sheet.columns))
        ws.freeze_panes = "A3"
        ws.auto_filter.ref = f"A2:{last}{2 + count}"
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, w + 2))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as written,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as out,
    ):
        for info in written.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            out.writestr(fixed, written.read(info.filename), compresslevel=6)


#: what the streamed rows must write exactly as openpyxl does: markup characters, a
#: carriage return, edge whitespace (xml:space), non-ASCII and astral characters (character
#: references), a would-be formula and error code, text past Excel's 32,767 characters, a
#: wide sheet (column AA and after), large integers ("%.16g"), booleans as text, empty rows
TRICKY = [
    "=1+1",
    "a & b < c > d; \"q\" 'q'",
    " lead",
    "trail ",
    "line\r\nbreak\tand tab",
    "温度😀 Ω",
    "#N/A",
    "x" * 40_000,
    "",
    None,
]


def tricky_sheets() -> list[Sheet]:
    wide = [(f"c{i}", f"列{i}", f"Column {i}", "string") for i in range(30)]
    rows = [[TRICKY[(r + i) % len(TRICKY)] for i in range(30)] for r in range(25)]
    rows.append([None] * 30)
    typed = [("n", "数", "N", "integer"), ("b", "是否", "Flag", "boolean"), ("s", "文", "T", "x")]
    values = [[0, True, "a"], [12345678901234567, "true", " "], ["-7", "false", None]]
    return [
        Sheet("宽 Wide", wide, rows),
        Sheet("类型 Types", typed, values),
        Sheet("空 Empty", typed, []),
    ]


def test_streamed_rows_give_openpyxl_s_own_bytes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    write_workbook(ours, [Sheet(s.name, s.columns, iter(s.rows)) for s in tricky_sheets()], "t")
    openpyxl_workbook(theirs, tricky_sheets(), "t")
    assert ours.read_bytes() == theirs.read_bytes()
    ws = openpyxl.load_workbook(ours)["宽 Wide"]
    assert ws.max_column == 30 and ws["A3"].value == "=1+1" and ws["A3"].data_type == "s"
    # the known-bad twin: one character more in one cell, other bytes
    changed = tricky_sheets()
    changed[1].rows[0][2] = "b"
    openpyxl_workbook(theirs, changed, "t")
    assert ours.read_bytes() != theirs.read_bytes()


def test_a_character_xml_cannot_hold_is_refused(tmp_path: Path) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    columns = [("a", "甲", "A", "string")]
    with pytest.raises(IllegalCharacterError):
        write_workbook(tmp_path / "bad.xlsx", [Sheet("表 T", columns, [["a\x1bb"]])], "t")
