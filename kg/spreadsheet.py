"""The tables as one Excel workbook (``dipkg-tables.xlsx``), written with openpyxl.

Interface used by kg/catalog/tables.py:

* ``write_workbook(path, sheets)`` where each sheet is a :class:`Sheet` (a name, the
  columns as ``(name, title zh, title en, datatype)`` and the rows as lists of values).

Each sheet opens on two header rows, the column titles in Chinese then in English,
frozen so they stay in view, with an autofilter on the English row and column widths
fitted to the content (CJK characters count twice, capped). Integers and booleans are
stored as numbers and booleans, everything else as text (never as a formula: a cell
that starts with ``=`` stays text).

Same inputs give the same bytes: the workbook's creation and modification times are a
fixed instant (``FIXED_TIME``; the release's dates are in the catalogue record), and the
zip entries are rewritten in the order openpyxl wrote them with that same time.
"""

from __future__ import annotations

import datetime
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

#: The workbook's created/modified time and every zip entry's time: the zip epoch.
FIXED_TIME = datetime.datetime(1980, 1, 1, 0, 0, 0)
MIN_WIDTH, MAX_WIDTH = 8, 60
HEADER_ROWS = 2
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Sheet:
    name: str  # at most 31 characters, none of []:*?/\
    columns: Sequence[tuple[str, str, str, str]]  # (name, title zh, title en, datatype)
    rows: Iterable[Sequence[Any]]


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell_value(value: Any, datatype: str) -> Any:
    if value is None or value == "":
        return None
    if datatype == "integer":
        return int(value)
    if datatype == "boolean":
        return value if isinstance(value, bool) else str(value) == "true"
    return str(value)


def _workbook(sheets: Sequence[Sheet], title: str) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "dipkg"
    wb.properties.lastModifiedBy = "dipkg"
    wb.properties.title = title
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        widths = [max(_width(zh_), _width(en_)) for _, zh_, en_, _ in sheet.columns]
        ws.append([c[1] for c in sheet.columns])
        ws.append([c[2] for c in sheet.columns])
        for row in ws.iter_rows(min_row=1, max_row=HEADER_ROWS):
            for cell in row:
                cell.font, cell.fill = bold, fill
                cell.alignment = Alignment(vertical="top")
        count = 0
        for values in sheet.rows:
            cells = [_cell_value(v, c[3]) for v, c in zip(values, sheet.columns, strict=True)]
            count += 1
            row = HEADER_ROWS + count
            for i, v in enumerate(cells):
                widths[i] = max(widths[i], _width(v))
                # ws.cell, not ws[row] after ws.append: indexing a row scans the whole sheet
                # for its width (quadratic: 100 s for 6,000 rows)
                cell = ws.cell(row=row, column=i + 1, value=v)
                if isinstance(v, str):  # text stays text, even when it starts with "="
                    cell.data_type = TYPE_STRING
        last = get_column_letter(len(sheet.columns))
        ws.freeze_panes = f"A{HEADER_ROWS + 1}"
        ws.auto_filter.ref = f"A{HEADER_ROWS}:{last}{HEADER_ROWS + count}"
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, max(MIN_WIDTH, w + 2))
    return wb


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    """Write ``sheets`` to ``path`` as XLSX; identical inputs give identical bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as archive:
        ExcelWriter(_workbook(sheets, title), archive).save()  # not save_workbook: it stamps "now"
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as written,
        path.open("wb") as raw,
        zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as out,
    ):
        for info in written.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            out.writestr(fixed, written.read(info.filename), compresslevel=6)
