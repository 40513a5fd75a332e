"""Make a guide's .docx from its verbatim text dump (build/sources/*.txt), reproducibly.

The government publishes the annex as a Word document; the project keeps the
verbatim text dump of it. This script rebuilds a Word document with the same
table from that text, with python-docx: 附件2 and the title as paragraphs, then
one 5-column table in which

* a cell that spans lines in the text (the header's 场景 / 名称) gets a line
  break where the text has one;
* a blank 领域 cell is merged into the cell above (vertically merged, as in the
  original: the text dump writes a merged cell's continuation as blank);
* the text's ``[bookmark: _GoBack]`` becomes a real bookmark named _GoBack.

The output is byte-for-byte the same on every run: the document's core
properties (dates, author, revision) are fixed and the zip entries get a fixed
timestamp. tests/test_docx.py checks that the committed .docx is what this
script makes, and that the build reads the same graph from either.

    python -m tools.make_docx build/sources/guizhou-dip-scenarios-batch1.txt \\
        build/sources/guizhou-dip-scenarios-batch1.docx
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from kg.source import ARTIFACTS, read_table

_FIXED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_BOOKMARK = "[bookmark: _GoBack]"
assert _BOOKMARK in ARTIFACTS


def _cell_pieces(lines: list[str], line: int) -> list[str]:
    """The text of the cell starting on ``line`` (1-based), one piece per source line."""
    pieces = [lines[line - 1][1:]]
    for raw in lines[line:]:
        if raw.startswith("\t") or not raw.strip():
            break
        pieces.append(raw)
    return pieces


def _fill(cell, pieces: list[str]) -> None:
    paragraph = cell.paragraphs[0]
    for index, piece in enumerate(pieces):
        if index:
            paragraph.add_run().add_break()
        before, marked, after = piece.partition(_BOOKMARK)
        if before:
            paragraph.add_run(before)
        if marked:
            start = OxmlElement("w:bookmarkStart", {qn("w:id"): "0", qn("w:name"): "_GoBack"})
            end = OxmlElement("w:bookmarkEnd", {qn("w:id"): "0"})
            paragraph._p.append(start)
            paragraph._p.append(end)
            if after:
                paragraph.add_run(after)


def _deterministic_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def make_docx(text: str, file: str = "<text>") -> bytes:
    """The .docx (as bytes) holding the table of the text dump ``text``."""
    table = read_table(text, file)
    lines = text.lstrip("\ufeff").splitlines()
    document = docx.Document()
    props = document.core_properties
    props.author = props.last_modified_by = "dipkg tools/make_docx.py"
    props.created = props.modified = _FIXED
    props.revision = 1
    props.title = next((p for p in table.preamble if p and not p.startswith("附件")), "")
    for paragraph in table.preamble:
        if paragraph:
            document.add_paragraph(paragraph)
    header = _header_cells(lines, table.rows[0].cells[0].line)
    grid = document.add_table(rows=1 + len(table.rows), cols=len(header))
    grid.style = "Table Grid"
    for column, line in enumerate(header):
        _fill(grid.cell(0, column), _cell_pieces(lines, line))
    for r, row in enumerate(table.rows, start=1):
        for c, cell in enumerate(row.cells):
            if c == 1 and not cell.text.strip():
                continue  # merged below
            assert cell.line is not None
            _fill(grid.cell(r, c), _cell_pieces(lines, cell.line))
    # merge each blank 领域 cell into the one above (a vertical merge)
    r = 1
    while r <= len(table.rows):
        top = r
        while r + 1 <= len(table.rows) and not table.rows[r].cells[1].text.strip():
            r += 1
        if r > top:
            grid.cell(top, 1).merge(grid.cell(r, 1))
        r += 1
    buffer = io.BytesIO()
    document.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _header_cells(lines: list[str], first_row_line: int) -> list[int]:
    """The lines (1-based) where the header's cells start: the tab lines of the block before the
    first row."""
    index = first_row_line - 2  # 0-based line above the first row
    while index >= 0 and not lines[index].strip():
        index -= 1
    block: list[int] = []
    while index >= 0 and lines[index].strip():
        if lines[index].startswith("\t"):
            block.append(index + 1)
        index -= 1
    return sorted(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", type=Path, help="the verbatim text dump (UTF-8)")
    parser.add_argument("out", type=Path, help="the .docx to write")
    args = parser.parse_args()
    args.out.write_bytes(make_docx(args.text.read_text(encoding="utf-8"), str(args.text)))


if __name__ == "__main__":
    main()
