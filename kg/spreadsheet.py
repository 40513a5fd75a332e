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
fixed instant (``FIXED_TIME``; the release's dates are in the catalogue record), and every
zip entry is written, in the order openpyxl writes them, with that same time.

Streamed, in one pass over the rows: openpyxl writes everything but the data rows (the
package parts, the styles, each sheet's header rows, views, columns and filter), and the
data rows are written here as the same XML openpyxl's own writer gives (inline strings,
lxml's escaping), first to a temporary file while the column widths and the row count
are measured, then spliced into the sheet as it goes into the archive. No cell objects:
openpyxl's in-memory sheet took a third of a 100x build and most of its peak memory.
tests/catalog/test_xlsx.py checks the bytes against openpyxl's own writer.
"""

from __future__ import annotations

import datetime
import functools
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

#: The workbook's created/modified time and every zip entry's time: the zip epoch.
FIXED_TIME = datetime.datetime(1980, 1, 1, 0, 0, 0)
MIN_WIDTH, MAX_WIDTH = 8, 60
HEADER_ROWS = 2
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_COMPRESS_LEVEL = 6
_MAX_CELL_CHARS = 32_767  # Excel's limit; openpyxl cuts longer text there
_CHUNK = 1 << 16  # characters of row XML gathered before each write to the temporary file
_END_ROWS = b"</sheetData>"


@dataclass(frozen=True)
class Sheet:
    name: str  # at most 31 characters, none of []:*?/\
    columns: Sequence[tuple[str, str, str, str]]  # (name, title zh, title en, datatype)
    rows: Iterable[Sequence[Any]]


def _text_width(text: str) -> int:
    """The display width of ``text`` as far as a column can use it: every character counts
    at least 1, so the first MAX_WIDTH characters decide any width the column is cut to."""
    return _prefix_width(text[:MAX_WIDTH])


@functools.lru_cache(maxsize=1 << 16)
def _prefix_width(text: str) -> int:  # cached by short prefixes: cell values repeat
    if text.isascii():  # no ASCII character is East Asian wide or full-width
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _width(value: Any) -> int:
    return _text_width("" if value is None else str(value))


def _cell_value(value: Any, datatype: str) -> Any:
    if value is None or value == "":
        return None
    if datatype == "integer":
        return int(value)
    if datatype == "boolean":
        return value if isinstance(value, bool) else str(value) == "true"
    return str(value)


def _text_cell(ref: str, text: str) -> str:
    """A text cell as openpyxl's lxml writer gives it (the row is ASCII-encoded later)."""
    text = text[:_MAX_CELL_CHARS]
    if ILLEGAL_CHARACTERS_RE.search(text):
        raise IllegalCharacterError(f"{text} cannot be used in worksheets.")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _write_rows(sheet: Sheet, widths: list[int], out: IO[bytes]) -> int:
    """Write the sheet's data rows as ``<row>`` elements to ``out``, widen ``widths`` to
    their content; return the number of rows."""
    letters = [get_column_letter(i) for i in range(1, len(sheet.columns) + 1)]
    types = [c[3] for c in sheet.columns]
    count, parts, size = 0, [], 0
    for values in sheet.rows:
        cells = [_cell_value(v, t) for v, t in zip(values, types, strict=True)]
        count += 1
        row = HEADER_ROWS + count
        xml = [f'<row r="{row}">']
        for i, v in enumerate(cells):
            if v is None:
                continue
            ref = f"{letters[i]}{row}"
            if isinstance(v, str):  # text stays text, even when it starts with "="
                widths[i] = max(widths[i], _text_width(v))
                xml.append(_text_cell(ref, v))
            else:  # bool before int: True is an int; openpyxl writes both as "%.16g"
                widths[i] = max(widths[i], _text_width(str(v)))
                xml.append(f'<c r="{ref}" t="{"b" if isinstance(v, bool) else "n"}">')
                xml.append(f"<v>{v:.16g}</v></c>")
        xml.append("</row>")
        text = "".join(xml)
        parts.append(text)
        size += len(text)
        if size >= _CHUNK:
            out.write("".join(parts).encode("ascii", "xmlcharrefreplace"))
            parts, size = [], 0
    out.write("".join(parts).encode("ascii", "xmlcharrefreplace"))
    return count


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    if hasattr(info, "compress_level"):  # Python 3.13 renamed _compresslevel
        info.compress_level = _COMPRESS_LEVEL
    else:
        info._compresslevel = _COMPRESS_LEVEL  # type: ignore[attr-defined]
    return info


class _FixedZip(zipfile.ZipFile):
    """Every entry at the fixed time, deflated at level 6, mode 644 (same bytes every build)."""

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: str | bytes,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        name = getattr(zinfo_or_arcname, "filename", zinfo_or_arcname)
        super().writestr(_entry(str(name)), data, compresslevel=_COMPRESS_LEVEL)


class _HeadWriter(WorksheetWriter):
    """openpyxl's sheet writer for a sheet that holds only its header rows, stating the
    dimension of the whole sheet."""

    def __init__(self, ws: Worksheet, dimension: str) -> None:
        self._dimension = dimension
        super().__init__(ws)

    def write_dimensions(self) -> None:
        self.xf.send(SheetDimension(self._dimension).to_tree())


class _Writer(ExcelWriter):
    """openpyxl's package writer, with each sheet's data rows spliced in from a file."""

    def __init__(
        self, workbook: Workbook, archive: zipfile.ZipFile, bodies: dict[str, tuple[str, IO[bytes]]]
    ) -> None:
        super().__init__(workbook, archive)
        self._bodies = bodies  # sheet title -> (dimension, rows XML)

    def write_worksheet(self, ws: Worksheet) -> None:
        ws._drawing = SpreadsheetDrawing()  # as ExcelWriter.write_worksheet
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        dimension, body = self._bodies[ws.title]
        writer = _HeadWriter(ws, dimension)
        writer.write()
        head, tail = writer.read().split(_END_ROWS)  # header rows hold no raw "<"
        writer.cleanup()
        ws._rels = writer._rels
        with self._archive.open(_entry(ws.path[1:]), "w") as dest:
            dest.write(head)
            body.seek(0)
            shutil.copyfileobj(body, dest, 1 << 20)
            dest.write(_END_ROWS + tail)
        self.manifest.append(ws)


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    """Write ``sheets`` to ``path`` as XLSX; identical inputs give identical bytes."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "dipkg"
    wb.properties.lastModifiedBy = "dipkg"
    wb.properties.title = title
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    bodies: dict[str, tuple[str, IO[bytes]]] = {}
    try:
        for sheet in sheets:
            ws = wb.create_sheet(sheet.name)
            widths = [max(_width(zh_), _width(en_)) for _, zh_, en_, _ in sheet.columns]
            ws.append([c[1] for c in sheet.columns])
            ws.append([c[2] for c in sheet.columns])
            for row in ws.iter_rows(min_row=1, max_row=HEADER_ROWS):
                for cell in row:
                    cell.font, cell.fill = bold, fill
                    cell.alignment = Alignment(vertical="top")
            body = tempfile.TemporaryFile()
            bodies[ws.title] = ("", body)
            count = _write_rows(sheet, widths, body)
            last = get_column_letter(len(sheet.columns))
            bodies[ws.title] = (f"A1:{last}{HEADER_ROWS + count}", body)
            ws.freeze_panes = f"A{HEADER_ROWS + 1}"
            ws.auto_filter.ref = f"A{HEADER_ROWS}:{last}{HEADER_ROWS + count}"
            for i, w in enumerate(widths, start=1):
                ws.column_dimensions[get_column_letter(i)].width = min(
                    MAX_WIDTH, max(MIN_WIDTH, w + 2)
                )
        with (
            path.open("wb") as raw,
            _FixedZip(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as out,
        ):
            _Writer(wb, out, bodies).save()  # not save_workbook: it stamps "now"
    finally:
        for _, body in bodies.values():
            body.close()
