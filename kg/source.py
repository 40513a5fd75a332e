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

Lines are counted as an editor counts them (LF, CRLF or CR end a line; not the
other characters Python's ``str.splitlines`` breaks at), so every reported line
is the one a person finds. A source is refused, naming file:line:column, when
it is not UTF-8, holds a control or invisible formatting character (ESC, DEL,
U+2028, a bidi override...), or has a line or cell longer than the bounds below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from dipkg.core.errors import SourceError

COLUMNS = ("序号", "领域", "场景名称", "场景应用", "涉及数据")
ARTIFACTS = ("[bookmark: _GoBack]",)

#: Bounds of a source document; the real one is 6 KB, its longest line 228 characters.
MAX_SOURCE_BYTES = 32 * 1024 * 1024
MAX_LINE_CHARS = 65_536
MAX_CELL_CHARS = 65_536

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: Format characters that change how text is shown without being seen (bidi controls,
#: zero-width characters, a BOM inside the text...): category Cf, plus the line and
#: paragraph separators. Cc (C0, DEL, C1) is refused too, except the tab.
_REFUSED_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp"))
_ALLOWED = frozenset("\t")


def split_lines(text: str) -> list[str]:
    """``text`` cut into lines at LF, CRLF and CR only (like ``splitlines``, no final empty
    line)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def refused_character(text: str) -> int | None:
    """Index of the first control or invisible formatting character in ``text`` (None: clean)."""
    if text.isprintable():  # no Cc, Cf, Zl or Zp character (C speed: most text is clean)
        return None
    for index, char in enumerate(text):
        if char not in _ALLOWED and unicodedata.category(char) in _REFUSED_CATEGORIES:
            return index
    return None


_C0 = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS TAB LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()


def describe_character(char: str) -> str:
    """``U+001B (ESC)``, ``U+202E (RIGHT-TO-LEFT OVERRIDE)``..."""
    code = ord(char)
    name = unicodedata.name(char, "") or (
        _C0[code] if code < 32 else "DEL" if code == 127 else "a C1 control"
    )
    return f"U+{code:04X} ({name})"


def check_line(text: str, file: str, line: int, *, column_offset: int = 0) -> None:
    """Raise a :class:`SourceError` at file:line:column for a control character in one line."""
    index = refused_character(text)
    if index is not None:
        raise SourceError(
            f"{describe_character(text[index])} in the text: control and invisible formatting "
            "characters are not accepted (remove it from the source)",
            file=file,
            line=line,
            column=column_offset + index + 1,
        )


def read_source(path: Path, file: str) -> str:
    """The text of a source document, checked: size bound, UTF-8 (an error names the line,
    column and byte offset of the first invalid byte)."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_SOURCE_BYTES + 1)
    if len(raw) > MAX_SOURCE_BYTES:
        line = len(split_lines(raw[:MAX_SOURCE_BYTES].decode("utf-8", "replace")))
        raise SourceError(
            f"the source is larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB (the limit; "
            "a guide's table is a few KB)",
            file=file,
            line=max(line, 1),
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        lines = _LINE_BREAK.split(before)
        bad = raw[exc.start : min(exc.end, exc.start + 4)].hex(" ")
        raise SourceError(
            f"the source is not UTF-8: invalid byte(s) {bad} at byte offset {exc.start} "
            f"({exc.reason})",
            file=file,
            line=len(lines),
            column=len(lines[-1]) + 1,
        ) from None


@dataclass(frozen=True)
class Cell:
    text: str
    line: int | None  # text source: 1-based line where the cell starts; .docx: None
    column: (
        int  # text: 1-based column where the cell's text starts on that line; .docx: table column
    )
    table: int | None = None  # .docx: 1-based table in the document
    row: int | None = None  # .docx: 1-based row in that table (header rows counted)

    def error(self, message: str, file: str) -> SourceError:
        """An error naming this cell: file:line for a text source, file:table:row:column for a
        .docx."""
        if self.table is None:
            return SourceError(message, file=file, line=self.line)
        return SourceError(message, file=file, table=self.table, row=self.row, column=self.column)

    @property
    def locator(self) -> str | None:
        """The cell as ``table=T;row=R;column=C`` (the value of dip:sourceCell); None in a text
        source."""
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
    lines = split_lines(text)
    blocks: list[list[Cell]] = []
    preamble: list[str] = []
    current: list[Cell] | None = None
    for number, raw in enumerate(lines, start=1):
        if "\x00" in raw:
            raise SourceError(
                "NUL character in the source", file=file, line=number, column=raw.index("\x00") + 1
            )
        if len(raw) > MAX_LINE_CHARS:
            raise SourceError(
                f"line of {len(raw):,} characters: longer than the limit of {MAX_LINE_CHARS:,}",
                file=file,
                line=number,
            )
        check_line(raw, file, number)
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
            if len(last.text) + len(raw) > MAX_CELL_CHARS:
                raise SourceError(
                    f"the cell starting on line {last.line} grows past the limit of "
                    f"{MAX_CELL_CHARS:,} characters",
                    file=file,
                    line=number,
                )
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
