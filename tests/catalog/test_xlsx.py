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
