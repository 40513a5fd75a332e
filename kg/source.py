"""Read the scenario table of a guide document (a .docx table dumped to text).

The dump has one cell per line, each cell line starting with a tab; a line
without the leading tab continues the cell above (a name such as 场景\\n名称
spans lines); blank lines separate table rows. Before the header come free
lines (附件2, the title). The header row names the five columns
序号, 领域, 场景名称, 场景应用, 涉及数据.

This module only cuts the text into rows and cells and checks the table's
shape; :mod:`kg.extract` reads the 涉及数据 cells. A .docx source is read into
the same :class:`Table` by :mod:`kg.docx_table`, its cells placed by
table/row/column instead of line/column.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.errors import SourceError

COLUMNS = ("序号", "领域", "场景名称", "场景应用", "涉及数据")
ARTIFACTS = ("[bookmark: _GoBack]",)


@dataclass(frozen=True)
class Cell:
    text: str
    line: int | None  # text source: 1-based line where the cell starts; .docx: None
    column: int  # text: 1-based column where the cell's text starts on that line; .docx: table column
    table: int | None = None  # .docx: 1-based table in the document
    row: int | None = None  # .docx: 1-based row in that table (header rows counted)

    def error(self, message: str, file: str) -> SourceError:
        """An error naming this cell: file:line for a text source, file:table:row:column for a .docx."""
        if self.table is None:
            return SourceError(message, file=file, line=self.line)
        return SourceError(message, file=file, table=self.table, row=self.row, column=self.column)

    @property
    def locator(self) -> str | None:
        """The cell as ``table=T;row=R;column=C`` (the value of dip:sourceCell); None in a text source."""
        if self.table is None:
            return None
        return f"table={self.table};row={self.row};column={self.column}"


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]

    @property
    def line(self) -> int | None:
        return self.cells[0].line


@dataclass(frozen=True)
class Table:
    preamble: tuple[str, ...]  # free lines before the header (附件2, title)
    rows: tuple[Row, ...]


def strip_artifacts(text: str) -> str:
    for artifact in ARTIFACTS:
        text = text.replace(artifact, "")
    return text


def read_table(text: str, file: str) -> Table:
    """Cut ``text`` into the header and rows; raise :class:`SourceError` naming file:line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    blocks: list[list[Cell]] = []
    preamble: list[str] = []
    current: list[Cell] | None = None
    for number, raw in enumerate(lines, start=1):
        if "\x00" in raw:
            raise SourceError("NUL character in the source", file=file, line=number)
        if not raw.strip() and not raw.startswith("\t"):
            current = None  # a blank line ends the row ("\t" alone is an empty cell)
            continue
        if raw.startswith("\t"):
            if current is None:
                current = []
                blocks.append(current)
            current.append(Cell(raw[1:], number, 2))
        elif current is not None:
            # continuation of the cell above (a cell spanning lines)
            last = current[-1]
            current[-1] = Cell(last.text + raw, last.line, last.column)
        elif blocks:
            raise SourceError(
                "text outside the table after it started (a cell line must start with a tab)",
                file=file,
                line=number,
            )
        else:
            preamble.append(raw.strip())
    if not blocks:
        raise SourceError("no table found (cell lines start with a tab)", file=file, line=1)
    header, *body = blocks
    names = tuple(c.text.strip() for c in header)
    if names != COLUMNS:
        raise SourceError(
            f"the table header should be {'/'.join(COLUMNS)}, found {'/'.join(names) or 'nothing'}",
            file=file,
            line=header[0].line,
        )
    rows: list[Row] = []
    for block in body:
        if len(block) != len(COLUMNS):
            raise SourceError(
                f"a table row has {len(block)} cells, expected {len(COLUMNS)} "
                f"({', '.join(COLUMNS)}); a missing column?",
                file=file,
                line=block[0].line,
            )
        rows.append(Row(tuple(block)))
    if not rows:
        raise SourceError("the table has a header but no rows", file=file, line=header[0].line)
    return Table(tuple(preamble), tuple(rows))
