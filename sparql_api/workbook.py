"""SPARQL results as an Excel workbook: ``/sparql?format=xlsx`` and the query page's download.

Why a format of its own: SPARQL's CSV carries no byte-order mark, and Excel on a Chinese
Windows reads a CSV without one in the local code page, so every Chinese label comes out
garbled. A workbook opens as it is, keeps numbers as numbers, and holds no formula: a
cell that starts with ``=`` is text, so a download link someone shares cannot run one.

The worker answers in TSV (its own writer's format, with the row cap; an ASK in SPARQL
JSON), and :func:`write` turns that into the workbook, reading the solutions one by one
with Oxigraph's own parser (from memory or from the spool file), twice: the first rows
for the columns' widths (they come first in a sheet), then every row, streamed into the
archive in batches, never held. Two sheets:

* ``results``: the variables in a bold, frozen first row with a filter, then one row per
  solution: integers, decimals, doubles and floats of up to 15 significant digits (what
  Excel keeps) and within Excel's range as numbers, booleans as booleans, everything
  else as its text (an IRI, a literal's lexical form without its language tag or
  datatype, ``_:`` and a blank node's label). Column widths follow the content (a CJK
  character counts twice).
* ``query``: the query (whole, in as many cells as it needs), the row count, whether
  the row cap cut the result, the build that answered: each labelled in Chinese and
  English (the answer does not vary by language: its ETag is the same for every client).

Excel's own limits are kept and said on the second sheet: a cell holds at most 32,767
characters as Excel counts them (UTF-16 units; longer text is cut), a sheet at most
16,384 columns; and the workbook at most :data:`MAX_CELLS` cells and
:data:`MAX_XML_CHARS` characters of rows (the rows after are left out and the result
marked cut, as the row cap does). It stops within a few hundred rows when asked (its
client left: sparql_api/endpoint.py, which also makes one at a time, with at most four
waiting). Characters XML cannot carry (C0 controls, U+FFFE, U+FFFF) become
U+FFFD and are counted. Text that looks like one of the format's ``_xHHHH_`` escapes is
escaped itself, so Excel shows it as it is.

The parts are written by hand (seven small XML files and the rows): no
spreadsheet library is imported by the web process, and the same answer gives the same
bytes (every zip entry dated 1980-01-01), as the answer's ETag promises.
tests/endpoint/test_workbook.py reads the workbooks back with openpyxl.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import threading
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, NamedTuple
from xml.sax.saxutils import escape

import pyoxigraph as ox

from sparql_api.errors import ResultTooLarge

#: the workbook's media type (dipkg/core/formats.py ``SPARQL_XLSX``)
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: its key among the result formats (dipkg/core/formats.py), never a worker's
KEY = "xlsx"
#: the file name a browser saves it under
FILE_NAME = "dipkg-results.xlsx"
#: most cells of the results sheet (10,000 rows of 50 columns; a cell costs a few microseconds,
#: of the web process's CPU): the rows after are left out, and the result marked cut
MAX_CELLS = 500_000
#: most characters of the results sheet's XML (``&`` is written ``&amp;``: a 64 MiB result of
#: them is five times that): the rows after are left out, and the result marked cut
MAX_XML_CHARS = 256 * 1024 * 1024
MAX_COLUMNS = 16_384  # Excel's
MAX_CELL_CHARS = 32_767  # Excel's
MIN_WIDTH, MAX_WIDTH = 8, 60
#: the rows whose widths set the columns' (the columns come first in a sheet: the result is
#: read twice, once for these widths, then for the rows, each streamed into the archive),
#: and most cells measured
WIDTH_ROWS = 1_000
WIDTH_CELLS = 100_000
#: the longest value (a TSV line) pyoxigraph's results reader takes: its buffer's limit
MAX_VALUE_BYTES = 16 * 1024 * 1024
#: how often (rows) the writer looks whether it should stop (the client left)
_STOP_EVERY = 256
_QUERY_PART = MAX_CELL_CHARS // 2
_BATCH = 1 << 16  # characters of rows gathered before each write into the archive
#: the significant digits a number keeps in Excel (an IEEE double, shown to 15 digits)
_DIGITS = 15

_XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = frozenset(
    _XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
_DECIMAL = _XSD + "decimal"
_FLOATS = frozenset(_XSD + t for t in ("double", "float"))
_BOOLEAN = _XSD + "boolean"
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: the numbers Excel holds (larger or smaller ones stay text)
_LARGEST, _SMALLEST = 9.99999999999999e307, 2.2251e-308
#: what XML 1.0 cannot carry (tab, LF and CR it can)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: the format's own escape (ECMA-376 Part 1, §22.9.2.19 ST_Xstring): ``_x`` + 4 hex + ``_``
#: (a lookahead: in ``_x0041_x0042_`` the ``_`` ending one is the ``_`` starting the next)
_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
#: the style attributes of a cell (``_STYLES``): bold, wrapped at the top
_BOLD, _WRAP = ' s="1"', ' s="2"'
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass
class Notes:
    """What :func:`write` had to change, for the ``query`` sheet."""

    rows: int = 0
    cut_rows: bool = False  # MAX_CELLS or MAX_XML_CHARS left rows out
    xml_chars: int = 0  # of the rows written
    cut_columns: int = 0  # columns past Excel's 16,384
    cut_cells: int = 0  # cells cut at 32,767 characters
    replaced: int = 0  # characters XML cannot carry, as U+FFFD
    widths: list[int] = field(default_factory=list)


class Stopped(Exception):
    """The writer was asked to stop (:func:`write`'s ``stop``: its client left)."""


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``25`` → ``Z``, ``26`` → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _width(text: str) -> int:
    text = text[:MAX_WIDTH]
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(value: str) -> str | None:
    """``value`` cut to Excel's 32,767 characters, counted as Excel counts them (UTF-16
    code units: 𠀀, U+20000, is two), never inside a pair; None when it fits."""
    if len(value) <= MAX_CELL_CHARS // 2:
        return None
    units = value.encode("utf-16-le")
    if len(units) <= 2 * MAX_CELL_CHARS:
        return None
    kept = units[: 2 * MAX_CELL_CHARS]
    if 0xD8 <= kept[-1] <= 0xDB:  # a high surrogate, its pair cut off
        kept = kept[:-2]
    return kept.decode("utf-16-le")


def _text(value: str, notes: Notes) -> str:
    cut = _cut(value)
    if cut is not None:
        value = cut
        notes.cut_cells += 1
    value, replaced = _NOT_XML.subn("\ufffd", value)
    notes.replaced += replaced
    # a CR as a reference: XML reads a bare one as a line feed
    return escape(_ESCAPE_LIKE.sub("_x005F_", value), {"\r": "&#13;"})


def _number(term: ox.Literal) -> str | None:
    """A numeric literal's value as Excel keeps it, or None (kept as text): not of the
    datatype's lexical space, more than 15 significant digits, or beyond a double's range."""
    datatype = term.datatype.value
    value = term.value.strip()
    if datatype in _INTEGERS:
        lexical = _INTEGER_TEXT.fullmatch(value)
    elif datatype == _DECIMAL:
        lexical = _DECIMAL_TEXT.fullmatch(value)
    elif datatype in _FLOATS:
        lexical = _FLOAT_TEXT.fullmatch(value)
    else:
        return None
    if lexical is None:
        return None
    digits = re.split("[eE]", value.lstrip("+-"))[0].replace(".", "").strip("0")
    number = float(value)
    if len(digits) > _DIGITS or not math.isfinite(number) or (digits and number == 0):
        return None
    if abs(number) > _LARGEST or (number and abs(number) < _SMALLEST):
        return None
    if number.is_integer() and abs(number) < 10**_DIGITS:
        return str(int(number))
    return repr(number)


def _shown(term: object) -> str:
    """A term's text as a cell shows it (for the columns' widths)."""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, (ox.Literal, ox.NamedNode)):
        return term.value
    return str(term)  # a quoted triple (RDF 1.2)


def _cell(ref: str, term: object, notes: Notes) -> str:
    """One cell's XML."""
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype == _BOOLEAN and term.value in ("true", "false", "1", "0"):
            return f'<c r="{ref}" t="b"><v>{int(term.value in ("true", "1"))}</v></c>'
        number = _number(term)
        if number is not None:
            return f'<c r="{ref}"><v>{number}</v></c>'
    return _inline(ref, _shown(term), notes)


def _inline(ref: str, text: str, notes: Notes, style: str = "") -> str:
    return (
        f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">'
        f"{_text(text, notes)}</t></is></c>"
    )


def _widths(names: list[str], solutions: Iterable[ox.QuerySolution]) -> list[int]:
    """The columns' widths: of the names and of the first rows' values (at most
    :data:`WIDTH_ROWS` rows, :data:`WIDTH_CELLS` cells), a CJK character counting twice."""
    widths = [max(MIN_WIDTH, _width(n) + 2) for n in names]
    measured = min(WIDTH_ROWS, WIDTH_CELLS // max(1, len(names)))
    for solution in itertools.islice(solutions, measured):
        for i in range(len(names)):
            term = solution[i]
            if term is not None:
                widths[i] = max(widths[i], min(MAX_WIDTH, _width(_shown(term)) + 2))
    return widths


def _results_rows(
    names: list[str],
    solutions: Iterable[ox.QuerySolution],
    notes: Notes,
    stop: threading.Event | None,
) -> Iterator[str]:
    letters = [column_letter(i) for i in range(len(names))]
    head = "".join(_inline(f"{c}1", n, notes, _BOLD) for c, n in zip(letters, names, strict=True))
    yield f'<row r="1">{head}</row>'
    per_row = max(1, len(names))
    for number, solution in enumerate(solutions, start=2):
        if (number - 1) * per_row > MAX_CELLS or notes.xml_chars > MAX_XML_CHARS:
            notes.cut_rows = True
            break
        if stop is not None and number % _STOP_EVERY == 0 and stop.is_set():
            raise Stopped
        cells = "".join(
            _cell(f"{letter}{number}", term, notes)
            for letter, term in zip(letters, solution, strict=False)
            if term is not None
        )
        notes.rows += 1
        row = f'<row r="{number}">{cells}</row>'
        notes.xml_chars += len(row)
        yield row


def _sheet_head(widths: list[int]) -> str:
    """A worksheet part up to its first row: the first row frozen, the columns' widths."""
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
    )
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN}">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )


def _extent(columns: int, rows: int) -> str:
    return f"A1:{column_letter(max(columns, 1) - 1)}{max(rows, 1)}"


def _sheet_tail(columns: int, rows: int, filtered: bool) -> str:
    """The rest of a worksheet part after its last row (a filter on every row, or none)."""
    keep = f'<autoFilter ref="{_extent(columns, rows)}"/>' if filtered and columns else ""
    return f"</sheetData>{keep}</worksheet>"


def _write_results(
    part: IO[bytes],
    names: list[str],
    solutions: Iterable[ox.QuerySolution],
    notes: Notes,
    stop: threading.Event | None,
) -> None:
    """The results sheet, written into ``part`` as the rows come, in batches (the columns'
    widths, ``notes.widths``, measured before)."""
    part.write(_sheet_head(notes.widths).encode("utf-8"))
    batch: list[str] = []
    size = 0
    for row in _results_rows(names, solutions, notes, stop):
        batch.append(row)
        size += len(row)
        if size >= _BATCH:
            part.write("".join(batch).encode("utf-8"))
            batch, size = [], 0
    part.write("".join(batch).encode("utf-8"))
    part.write(_sheet_tail(len(names), notes.rows + 1, filtered=True).encode("utf-8"))


def _about(
    query: str, notes: Notes, *, truncated: bool, max_rows: int, build: str, boolean: bool | None
) -> str:
    truncated = truncated or notes.cut_rows
    # the query (up to 64 KiB) in parts a cell holds (16,383 code points: at most 32,766
    # UTF-16 units), never cut
    parts = [query[i : i + _QUERY_PART] for i in range(0, len(query), _QUERY_PART)] or [""]
    facts: list[tuple[str, str]] = [("查询 Query", parts[0])]
    facts += [("查询（续）Query (continued)", part) for part in parts[1:]]
    if boolean is not None:
        facts.append(("结果 Result", "true" if boolean else "false"))
    else:
        facts.append(("行数 Rows", str(notes.rows)))
        facts.append(("已截断 Truncated", "是 yes" if truncated else "否 no"))
        if truncated:
            cap = (
                f"{max_rows}"
                if not notes.cut_rows
                else f"{notes.rows} (workbook: {MAX_CELLS} cells, {MAX_XML_CHARS} characters)"
            )
            facts.append(("行数上限 Row cap", cap))
    if notes.cut_columns:
        facts.append(("略去的列 Columns left out", f"{notes.cut_columns} (Excel: {MAX_COLUMNS})"))
    if notes.cut_cells:
        facts.append(
            ("截短的单元格 Cells cut", f"{notes.cut_cells} (Excel: {MAX_CELL_CHARS} chars)")
        )
    if notes.replaced:
        facts.append(("替换的字符 Characters replaced (U+FFFD)", str(notes.replaced)))
    facts.append(("版本 Build", build))
    scratch = Notes()  # the facts' own cuts are not the results'
    rows = [
        f'<row r="1">{_inline("A1", "项目 Item", scratch, _BOLD)}'
        f"{_inline('B1', '内容 Value', scratch, _BOLD)}</row>"
    ]
    for n, (label, value) in enumerate(facts, start=2):
        rows.append(
            f'<row r="{n}">{_inline(f"A{n}", label, scratch)}'
            f"{_inline(f'B{n}', value, scratch, _WRAP)}</row>"
        )
    return _sheet_head([28, 100]) + "".join(rows) + _sheet_tail(2, len(facts) + 1, False)


_CONTENT_TYPES = (
    f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    + "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in (1, 2)
    )
    + '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
)
_PACKAGE_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/worksheet" Target="worksheets/sheet2.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
)
#: cell styles: 0 plain, 1 bold (the header rows), 2 wrapped text at the top (the query)
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment wrapText="1" vertical="top"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _workbook_part(columns: int, last_row: int) -> str:
    names = ""
    if columns:
        extent = f"$A$1:${column_letter(columns - 1)}${max(last_row, 1)}"
        names = (
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" '
            f"hidden=\"1\">'results'!{extent}</definedName></definedNames>"
        )
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        "<bookViews><workbookView/></bookViews><sheets>"
        '<sheet name="results" sheetId="1" r:id="rId1"/>'
        '<sheet name="query" sheetId="2" r:id="rId2"/></sheets>'
        f"{names}</workbook>"
    )


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


class Made(NamedTuple):
    body: bytes
    rows: int
    truncated: bool  # by the endpoint's row cap, or here
    cut_here: bool  # by MAX_CELLS or MAX_XML_CHARS (then ``rows`` is the cap)


def source_format(form: str | None) -> str:
    """What the worker writes for a workbook of a query of ``form``: SPARQL JSON for an
    ASK (TSV has no boolean), TSV otherwise (its own writer: no second serialisation)."""
    return "json" if form == "ask" else "tsv"


def write(
    source: bytes | IO[bytes],
    source_format: str,
    *,
    query: str,
    truncated: bool,
    max_rows: int,
    build: str,
    stop: threading.Event | None = None,
) -> Made | None:
    """The workbook of a SPARQL result in ``source_format`` ("tsv" or "json") read from
    ``source`` (bytes, or a file it may read twice); ``truncated``: the endpoint's row cap
    cut it. A value over the reader's 16 MiB is :class:`ResultTooLarge` (an Excel cell holds
    32,767 characters); None once ``stop`` is set (its client left: the writer looks every
    few hundred rows)."""
    try:
        if _longest_line(source) >= MAX_VALUE_BYTES:
            # (before the parser, which grows its buffer a line at a time up to this limit:
            # ~4 s of one CPU for a 26 MB value, the client's time limit long gone)
            raise MemoryError("buffer maximal size (a line longer than the reader's)")
        return _write(source, source_format, query, truncated, max_rows, build, stop)
    except Stopped:
        # (here, in the writer's thread: the parser it leaves may only be dropped on it)
        return None
    except MemoryError as exc:
        if "buffer maximal size" not in str(exc):  # the process out of memory
            raise
        raise ResultTooLarge(
            "a value in the result is longer than 16 MiB, too long for a workbook (an Excel "
            "cell holds 32,767 characters); ask for SPARQL JSON",
            details={"limit_bytes": MAX_VALUE_BYTES},
        ) from None


def _longest_line(source: bytes | IO[bytes]) -> int:
    """The longest line of ``source`` in bytes (a TSV row: its values hold no raw newline),
    scanned in C (``bytes.find``), a file in 1 MiB pieces from its start (left at its
    start)."""
    if isinstance(source, bytes):
        pieces: Iterable[bytes] = (source,)
    else:
        source.seek(0)
        pieces = iter(lambda: source.read(1 << 20), b"")
    longest = run = 0
    for piece in pieces:
        at = 0
        while (nl := piece.find(b"\n", at)) >= 0:
            longest = max(longest, run + nl - at)
            run, at = 0, nl + 1
        run += len(piece) - at
    if not isinstance(source, bytes):
        source.seek(0)  # (for the reader, from the start)
    return max(longest, run)


def _parse(source: bytes | IO[bytes], fmt: ox.QueryResultsFormat, again: bool) -> object:
    if again and not isinstance(source, bytes):
        source.seek(0)
    return ox.parse_query_results(source, format=fmt)


def _write(
    source: bytes | IO[bytes],
    source_format: str,
    query: str,
    truncated: bool,
    max_rows: int,
    build: str,
    stop: threading.Event | None,
) -> Made:
    fmt = ox.QueryResultsFormat.TSV if source_format == "tsv" else ox.QueryResultsFormat.JSON
    parsed = _parse(source, fmt, again=False)
    notes = Notes()
    boolean = bool(parsed) if isinstance(parsed, ox.QueryBoolean) else None
    names: list[str] = []
    if isinstance(parsed, ox.QuerySolutions):
        names = [v.value for v in parsed.variables]
        if len(names) > MAX_COLUMNS:
            notes.cut_columns = len(names) - MAX_COLUMNS
            names = names[:MAX_COLUMNS]
        notes.widths = _widths(names, parsed)
        parsed = _parse(source, fmt, again=True)  # the rows, from the first
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compresslevel=6) as archive:
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _PACKAGE_RELS),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
        ):
            archive.writestr(_entry(name), text.encode("utf-8"))
        with archive.open(_entry("xl/worksheets/sheet1.xml"), "w") as part:
            if isinstance(parsed, ox.QuerySolutions):
                _write_results(part, names, parsed, notes, stop)
            else:  # a boolean: on the second sheet
                part.write((_sheet_head([]) + _sheet_tail(0, 1, False)).encode("utf-8"))
        about = _about(
            query, notes, truncated=truncated, max_rows=max_rows, build=build, boolean=boolean
        )
        for name, text in (
            ("xl/workbook.xml", _workbook_part(len(names), notes.rows + 1)),
            ("xl/worksheets/sheet2.xml", about),
        ):
            archive.writestr(_entry(name), text.encode("utf-8"))
    return Made(out.getvalue(), notes.rows, truncated or notes.cut_rows, notes.cut_rows)
