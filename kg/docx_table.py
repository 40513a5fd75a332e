"""Read the scenario table of a guide from the Word document (.docx) the annex is published in.

The table is read with python-docx into the same :class:`kg.source.Table` the
text reader (:mod:`kg.source`) gives, each cell placed by table, row and
column (1-based, header rows counted, as Word shows them). What a Word table
holds beyond its text does not reach the cells:

* a vertically merged cell (a 领域 spanning rows) gives its text to every row
  it spans (python-docx's ``row.cells``); a horizontally merged one to every
  grid column it spans;
* a cell's paragraphs and line breaks are joined without a separator, as the
  text source's continuation lines are (场景 / 名称 → 场景名称); tabs, no-break
  spaces (U+00A0) and ideographic spaces (U+3000) are white space, which the
  build then collapses (docs/extraction.md, rule 11);
* revision marks read as accepted: inserted runs (``w:ins``) count, deleted and
  moved-away runs (``w:del``, ``w:moveFrom``) do not; bookmarks, comments
  (their anchors and references), field codes (only a field's shown result
  counts) and text boxes are not text of the cell;
* the header may take two rows (a cell such as 场景名称 split over them, the
  other header cells merged down), and may repeat: a row that is the header
  again (a table split across pages, Word's repeated header row, or a second
  table carrying on the first) is skipped; so is a row whose own cells are
  all blank (a cell merged down from the row above is not its own).

Anything else, such as a document without a table, a header that is not 序号 /
领域 / 场景名称 / 场景应用 / 涉及数据, or a row with a missing cell, is a
:class:`SourceError` naming the file and the table/row/column.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import docx.opc.exceptions
from docx.oxml.ns import qn
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from dipkg.core.errors import SourceError
from kg.source import (
    COLUMNS,
    MAX_CELL_CHARS,
    Cell,
    Row,
    Table,
    describe_character,
    refused_character,
)

#: a .docx is read whole (python-docx loads every part of the package into memory): its
#: parts may hold at most this many bytes unpacked, and be at most this many (a document's
#: table, styles and a few images are well under; a 1 MB file whose zip declares a 1 GiB
#: image made the build take 2 GB, found in a security review). The sizes the zip declares
#: bound what it gives: Python's zipfile stops a part at its declared size (a CRC error).
MAX_DOCX_UNPACKED = 128 * 1024 * 1024
MAX_DOCX_PARTS = 10_000

_SPACES = str.maketrans({"\u00a0": " ", "\u3000": " ", "\u2007": " ", "\u202f": " "})
# runs that are not text of the paragraph as shown with revisions accepted
_NOT_SHOWN = (qn("w:del"), qn("w:moveFrom"), qn("w:txbxContent"))


def _paragraph_text(paragraph: Paragraph) -> str:
    parts = []
    for r in paragraph._p.iter(qn("w:r")):
        ancestor = r.getparent()
        hidden = False
        while ancestor is not None and ancestor is not paragraph._p:
            if ancestor.tag in _NOT_SHOWN or ancestor.tag == qn("w:r"):
                hidden = True
                break
            ancestor = ancestor.getparent()
        if not hidden:
            parts.append(Run(r, paragraph).text)
    return "".join(parts)


def cell_text(cell: _Cell) -> str:
    """The text of a table cell as Word shows it (revisions accepted), paragraphs and breaks
    joined."""
    paragraphs = cell._tc.xpath("./w:p | ./w:sdt/w:sdtContent/w:p")
    text = "".join(_paragraph_text(Paragraph(p, cell)) for p in paragraphs)
    return text.replace("\n", "").replace("\r", "").translate(_SPACES)


def _bare(text: str) -> str:
    return "".join(text.split())


def _is_header(texts: list[str]) -> bool:
    return tuple(_bare(t) for t in texts) == COLUMNS


def _header_rows(texts: list[list[str]], cells: list[list[_Cell]], at: int) -> int:
    """How many rows (1 or 2) a header starting at row ``at`` takes; 0 if none starts there."""
    if at < len(texts) and _is_header(texts[at]):
        return 1
    if at + 1 < len(texts) and len(texts[at]) == len(texts[at + 1]) == len(COLUMNS):
        # a header over two rows: a cell merged down counts once, split cells are joined
        joined = [
            top if below._tc is upper._tc else top + bottom
            for top, bottom, upper, below in zip(
                texts[at], texts[at + 1], cells[at], cells[at + 1], strict=True
            )
        ]
        if _is_header(joined):
            return 2
    return 0


def _found(texts: list[str]) -> str:
    return "/".join(_bare(t) for t in texts) or "nothing"


def _check_cell(text: str, file: str, table: int, row: int, column: int) -> None:
    """The text source's bounds for a Word cell: no control or invisible formatting
    character, no cell longer than MAX_CELL_CHARS (kg.source)."""
    if len(text) > MAX_CELL_CHARS:
        raise SourceError(
            f"a cell of {len(text):,} characters (the limit is {MAX_CELL_CHARS:,})",
            file=file,
            table=table,
            row=row,
            column=column,
        )
    index = refused_character(text)
    if index is not None:
        raise SourceError(
            f"{describe_character(text[index])} in the cell (character {index + 1}): control and "
            "invisible formatting characters are not accepted (remove it from the document)",
            file=file,
            table=table,
            row=row,
            column=column,
        )


def _check_package(path: Path, file: str) -> None:
    """:class:`SourceError` for a package over :data:`MAX_DOCX_PARTS` parts or
    :data:`MAX_DOCX_UNPACKED` bytes unpacked, before anything is unpacked (what is not a zip
    is left to python-docx's own message)."""
    try:
        with zipfile.ZipFile(path) as package:
            parts = package.infolist()
    except (zipfile.BadZipFile, OSError):
        return
    if len(parts) > MAX_DOCX_PARTS:
        raise SourceError(
            f"the .docx has {len(parts):,} parts (the limit is {MAX_DOCX_PARTS:,})", file=file
        )
    total = sum(part.file_size for part in parts)
    if total > MAX_DOCX_UNPACKED:
        largest = max(parts, key=lambda part: part.file_size)
        raise SourceError(
            f"the .docx holds {total / 2**20:,.0f} MiB unpacked (the limit is "
            f"{MAX_DOCX_UNPACKED // 2**20} MiB; its largest part: {largest.filename[:100]!r}, "
            f"{largest.file_size / 2**20:,.0f} MiB)",
            file=file,
        )


def read_docx_table(path: Path, file: str) -> Table:
    """The scenario table of the .docx at ``path``; :class:`SourceError` naming ``file`` and the
    cell."""
    _check_package(path, file)
    try:
        document = docx.Document(str(path))
    except (
        docx.opc.exceptions.PackageNotFoundError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
    ) as exc:
        raise SourceError(
            f"not a readable .docx ({exc.__class__.__name__}: {exc})", file=file
        ) from None
    except Exception as exc:  # lxml's XMLSyntaxError and the like: a damaged package
        raise SourceError(f"not a readable .docx ({exc.__class__.__name__})", file=file) from None
    body = document.element.body
    preamble: list[str] = []
    for child in body.iterchildren():
        if child.tag == qn("w:tbl"):
            break
        if child.tag == qn("w:p"):
            text = _paragraph_text(Paragraph(child, document)).translate(_SPACES).strip()
            if text:
                preamble.append(text)
    tables = document.tables
    if not tables:
        raise SourceError("no table found: the scenario table should be a Word table", file=file)
    rows: list[Row] = []
    for t_index, table in enumerate(tables, start=1):
        cells = [list(row.cells) for row in table.rows]
        texts = [[cell_text(c) for c in row] for row in cells]
        if t_index == 1 and not _header_rows(texts, cells, 0):
            raise SourceError(
                f"the table header should be {'/'.join(COLUMNS)}, found "
                f"{_found(texts[0]) if texts else 'no rows'}",
                file=file,
                table=1,
                row=1,
            )
        width = len(table.columns)
        if width != len(COLUMNS):
            raise SourceError(
                f"the table has {width} columns, expected {len(COLUMNS)} ({', '.join(COLUMNS)})",
                file=file,
                table=t_index,
                row=1,
            )
        r_index = 0
        while r_index < len(cells):
            header = _header_rows(texts, cells, r_index)
            if header:  # the header, or the header repeated (a table split across pages)
                r_index += header
                continue
            row_texts, row = texts[r_index], table.rows[r_index]
            own = [
                t
                for t, c in zip(row_texts, cells[r_index], strict=True)
                if c._tc.getparent() is row._tr
            ]
            r_index += 1
            if not any(t.strip() for t in own):
                continue  # an empty row (a cell merged down from above is not its own)
            if row.grid_cols_before or len(row_texts) != len(COLUMNS):
                raise SourceError(
                    f"a table row has {len(row_texts)} cells, expected {len(COLUMNS)} "
                    f"({', '.join(COLUMNS)}); a missing column?",
                    file=file,
                    table=t_index,
                    row=r_index,
                    column=1 if row.grid_cols_before else min(len(row_texts), len(COLUMNS)) + 1,
                )
            for column, text in enumerate(row_texts, start=1):
                _check_cell(text, file, t_index, r_index, column)
            rows.append(
                Row(
                    tuple(
                        Cell(text, None, column, table=t_index, row=r_index)
                        for column, text in enumerate(row_texts, start=1)
                    )
                )
            )
    if not rows:
        raise SourceError("the table has a header but no rows", file=file, table=1, row=1)
    return Table(tuple(preamble), tuple(rows))
