"""SPARQL results as an Excel workbook (sparql_api/workbook.py), read back by openpyxl.

openpyxl is the independent reader; Excel's own reading of a text cell also undoes the
format's ``_xHHHH_`` escapes (ECMA-376 ST_Xstring), which openpyxl leaves, so text is
compared after openpyxl's ``unescape``. Every cell is checked for a formula beside a
workbook that holds one (openpyxl's own, ``=1+1`` written as a formula), so the check
cannot pass for want of looking. Then ``/sparql?format=xlsx`` on a real server, by name
and by Accept, cut by the row cap, for an ASK, refused for a graph; and ``dipkg query``.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import anyio
import httpx
import openpyxl
import pyoxigraph as ox
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from sparql_api import endpoint, workbook
from sparql_api.errors import Busy
from sparql_api.workbook import MAX_CELL_CHARS
from tests.conftest import cli_env
from tests.endpoint.conftest import MAX_ROWS

XSD = "http://www.w3.org/2001/XMLSchema#"
MEDIA = workbook.MEDIA_TYPE


def read(body: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(body))


def formulas(book: openpyxl.Workbook) -> list[str]:
    return [
        c.coordinate for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]


def facts(book: openpyxl.Workbook) -> dict[str, str]:
    """The ``query`` sheet, by English label."""
    rows = list(book["query"].iter_rows(values_only=True))[1:]
    return {str(label).split(" ", 1)[1]: unescape(str(value)) for label, value in rows}


def tsv_of(variables: list[str], rows: list[dict[str, dict]]) -> bytes:
    """The TSV Oxigraph writes for these SPARQL JSON rows (the worker's own format)."""
    doc = {"head": {"vars": variables}, "results": {"bindings": rows}}
    parsed = ox.parse_query_results(json.dumps(doc).encode(), format=ox.QueryResultsFormat.JSON)
    return parsed.serialize(format=ox.QueryResultsFormat.TSV)


def test_a_formula_is_found_where_there_is_one() -> None:
    """The known-bad beside the check: openpyxl's own workbook with a formula."""
    book = openpyxl.Workbook()
    book.active["A1"] = "=1+1"
    out = io.BytesIO()
    book.save(out)
    assert formulas(read(out.getvalue())) == ["A1"]


# --- terms and cells ---------------------------------------------------------------------------
texts = st.lists(
    st.characters(exclude_categories=("Cs",)) | st.sampled_from(["=", "_x0041_", "\x01", "\t"]),
    max_size=40,
).map("".join)
literals = st.one_of(
    texts.map(lambda t: {"type": "literal", "value": t}),
    texts.map(lambda t: {"type": "literal", "value": t, "xml:lang": "zh"}),
    st.integers(-(10**20), 10**20).map(
        lambda n: {"type": "literal", "value": str(n), "datatype": XSD + "integer"}
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(
        lambda d: {"type": "literal", "value": str(d), "datatype": XSD + "decimal"}
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: {"type": "literal", "value": repr(f).upper(), "datatype": XSD + "double"}
    ),
    st.sampled_from(["true", "false", "1", "0"]).map(
        lambda b: {"type": "literal", "value": b, "datatype": XSD + "boolean"}
    ),
    texts.map(lambda t: {"type": "literal", "value": t, "datatype": XSD + "date"}),
)
terms = st.one_of(
    literals,
    st.sampled_from(["http://e/x", "https://w3id.org/dipkg/温度", "urn:x:y"]).map(
        lambda v: {"type": "uri", "value": v}
    ),
    st.sampled_from(["b0", "node1"]).map(lambda v: {"type": "bnode", "value": v}),
)


def expected(term: dict) -> object:
    """What Excel should show for a SPARQL JSON term."""
    value, datatype = term["value"], term.get("datatype")
    if term["type"] == "bnode":
        return "_:" + value
    if datatype == XSD + "boolean":
        return value in ("true", "1")
    if datatype in (XSD + "integer", XSD + "decimal", XSD + "double"):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if datatype != XSD + "double" and "E" in value.upper():  # not a lexical form
            number = math.nan
        digits = value.lstrip("+-").upper().split("E")[0].replace(".", "").strip("0")
        in_excel = abs(number) <= 9.99999999999999e307 and (
            not number or abs(number) >= 2.2251e-308
        )
        if math.isfinite(number) and len(digits) <= 15 and (number != 0 or not digits) and in_excel:
            return number
    units = value.encode("utf-16-le")[: 2 * MAX_CELL_CHARS]  # Excel counts UTF-16 units
    value = units.decode("utf-16-le", "ignore")  # (a pair cut in two: its half goes)
    return "".join(
        "\ufffd" if (ord(c) < 32 and c not in "\t\n\r") or c in "\ufffe\uffff" else c for c in value
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), terms), min_size=3, max_size=3), max_size=8))
@example([[{"type": "literal", "value": '=HYPERLINK("http://x")'}, None, None]])
@example([[{"type": "literal", "value": "12345678901234567", "datatype": XSD + "integer"}] * 3])
@example([[{"type": "literal", "value": "_x000D_ and \x07", "xml:lang": "zh"}, None, None]])
# (found in review) two escape-like runs sharing an underscore; a carriage return
@example([[{"type": "literal", "value": "_x0041_x0042_ _x005F_x0041_"}, None, None]])
@example([[{"type": "literal", "value": "a\r\nb\r"}, None, None]])
# (found in review) numbers beyond Excel's range stay text; a decimal has no exponent
@example(
    [
        [
            {"type": "literal", "value": "1.7e308", "datatype": XSD + "double"},
            {"type": "literal", "value": "5e-324", "datatype": XSD + "double"},
            {"type": "literal", "value": "1e5", "datatype": XSD + "decimal"},
        ]
    ]
)
def test_every_term_reads_back_as_excel_shows_it(table: list[list[dict | None]]) -> None:
    names = ["a", "b", "c"]
    rows = [{n: t for n, t in zip(names, row, strict=True) if t is not None} for row in table]
    made = workbook.write(
        tsv_of(names, rows), "tsv", query="Q", truncated=False, max_rows=9, build="b"
    )
    book = read(made.body)
    assert formulas(book) == []
    assert made.rows == len(rows) and not made.truncated
    sheet = list(book["results"].iter_rows(values_only=True))
    assert sheet[0] == tuple(names)
    # (trailing rows with no value at all are no rows to a reader)
    shown = sheet[1:] + [(None,) * len(names)] * (len(rows) - len(sheet[1:]))
    for got, row in zip(shown, rows, strict=True):
        for name, cell in zip(names, got, strict=True):
            if name not in row:
                assert cell is None
                continue
            want = expected(row[name])
            if isinstance(want, bool):
                assert cell is want
            elif isinstance(want, float):
                assert isinstance(cell, (int, float)) and not isinstance(cell, bool)
                assert cell == pytest.approx(want, rel=1e-15, abs=0)
            else:
                assert isinstance(cell, str) and unescape(cell) == want
    assert len(sheet) <= len(rows) + 1


def test_the_sheet_is_laid_out_for_reading() -> None:
    rows = [{"s": {"type": "literal", "value": "数据知识产权应用场景"}}]
    book = read(
        workbook.write(
            tsv_of(["s", "n"], rows), "tsv", query="Q", truncated=False, max_rows=9, build="b"
        ).body
    )
    sheet = book["results"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:B2"
    assert sheet["A1"].font.b and sheet.column_dimensions["A"].width >= 20  # CJK counts twice
    assert book.sheetnames == ["results", "query"]
    assert facts(book) == {"Query": "Q", "Rows": "1", "Truncated": "否 no", "Build": "b"}


def test_same_answer_same_bytes() -> None:
    source = tsv_of(["a"], [{"a": {"type": "literal", "value": "x"}}])
    one = workbook.write(source, "tsv", query="Q", truncated=False, max_rows=9, build="b").body
    assert (
        workbook.write(source, "tsv", query="Q", truncated=False, max_rows=9, build="b").body == one
    )


def test_long_text_is_cut_where_excel_cuts_it_and_said() -> None:
    """Excel counts a cell's characters in UTF-16 units: 𠀀 (U+20000, in Chinese names) is
    two. Cut there, never inside a pair (found in review: 65,534 units were written)."""
    wide = "𠀀" * MAX_CELL_CHARS
    made = workbook.write(
        tsv_of(["a"], [{"a": {"type": "literal", "value": wide}}]),
        "tsv",
        query="Q",
        truncated=False,
        max_rows=9,
        build="b",
    )
    assert read(made.body)["results"]["A2"].value == "𠀀" * (MAX_CELL_CHARS // 2)
    rows = [{"a": {"type": "literal", "value": "长" * (MAX_CELL_CHARS + 5)}}]
    made = workbook.write(
        tsv_of(["a"], rows), "tsv", query="Q", truncated=False, max_rows=9, build="b"
    )
    book = read(made.body)
    assert book["results"]["A2"].value == "长" * MAX_CELL_CHARS
    assert facts(book)["Cells cut"].startswith("1 ")


def test_the_cells_cap_cuts_rows_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "MAX_CELLS", 10)
    rows = [
        {"a": {"type": "literal", "value": str(i)}, "b": {"type": "uri", "value": "http://e/"}}
        for i in range(9)
    ]
    made = workbook.write(
        tsv_of(["a", "b"], rows), "tsv", query="Q", truncated=False, max_rows=9, build="b"
    )
    assert made.truncated and made.cut_here and made.rows == 5
    book = read(made.body)
    assert len(list(book["results"].iter_rows())) == 6
    assert facts(book)["Truncated"] == "是 yes"


def test_an_ask_is_its_boolean() -> None:
    source = ox.Store().query("ASK {}").serialize(format=ox.QueryResultsFormat.JSON)
    book = read(
        workbook.write(source, "json", query="ASK {}", truncated=False, max_rows=9, build="b").body
    )
    assert facts(book)["Result"] == "true"


@pytest.mark.parametrize(
    "n,letters", [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA"), (16383, "XFD")]
)
def test_column_letters(n: int, letters: str) -> None:
    assert workbook.column_letter(n) == letters


# --- /sparql?format=xlsx on a real server --------------------------------------------------------
SCENARIOS = (
    "SELECT ?s ?label WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER(LANG(?label) = 'zh') } ORDER BY ?s"
)


def test_a_select_as_a_workbook(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": SCENARIOS, "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA
    assert r.headers["content-disposition"] == 'attachment; filename="dipkg-results.xlsx"'
    # a zip archive already: never gzipped again (found in review), still Vary on it
    assert r.request.headers["accept-encoding"].startswith("gzip")
    assert "content-encoding" not in r.headers and "Accept-Encoding" in r.headers["vary"]
    book = read(r.content)
    sheet = list(book["results"].iter_rows(values_only=True))
    assert sheet[0] == ("s", "label") and len(sheet) - 1 == int(r.headers["x-dipkg-rows"]) == 23
    assert all(s.startswith("https://w3id.org/dipkg/scenario/") for s, _ in sheet[1:])
    assert all(any("\u4e00" <= c <= "\u9fff" for c in label) for _, label in sheet[1:])
    # the same answer again: the same bytes, and a 304 for its ETag
    again = client.get("/sparql", params={"query": SCENARIOS, "format": "excel"})
    assert again.content == r.content
    tag = r.headers["etag"]
    cond = client.get(
        "/sparql", params={"query": SCENARIOS, "format": "xlsx"}, headers={"If-None-Match": tag}
    )
    assert cond.status_code == 304
    # by Accept; and a client taking anything still gets SPARQL JSON
    by_accept = client.get("/sparql", params={"query": SCENARIOS}, headers={"Accept": MEDIA})
    assert by_accept.headers["content-type"] == MEDIA and by_accept.content == r.content
    anything = client.get("/sparql", params={"query": SCENARIOS}, headers={"Accept": "*/*"})
    assert anything.headers["content-type"].startswith("application/sparql-results+json")


def test_the_row_cap_is_said_in_the_workbook_too(client: httpx.Client) -> None:
    r = client.post("/sparql", data={"query": "SELECT * WHERE { ?s ?p ?o }", "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["x-dipkg-truncated"] == "true"
    assert r.headers["x-dipkg-max-rows"] == str(MAX_ROWS) == r.headers["x-dipkg-rows"]
    book = read(r.content)
    assert len(list(book["results"].iter_rows())) == MAX_ROWS + 1
    assert facts(book)["Truncated"] == "是 yes" and facts(book)["Row cap"] == str(MAX_ROWS)
    assert formulas(book) == []


def test_an_ask_and_a_graph(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "format": "xlsx"})
    assert r.status_code == 200 and facts(read(r.content))["Result"] == "true"
    graph = client.get(
        "/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "format": "xlsx"}
    )
    assert graph.status_code == 406
    assert MEDIA not in graph.json()["details"]["offered"]


def test_dipkg_query_writes_a_workbook(endpoint_data: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipkg.cli",
            "query",
            "--data",
            str(endpoint_data),
            "--format",
            "xlsx",
            SCENARIOS,
        ],
        capture_output=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert len(list(read(done.stdout)["results"].iter_rows())) == 24


def test_a_long_query_is_kept_whole_on_the_second_sheet() -> None:
    query = "SELECT * WHERE { ?s ?p ?o } #" + "注" * 40_000
    made = workbook.write(
        tsv_of(["s"], []), "tsv", query=query, truncated=False, max_rows=9, build="b"
    )
    rows = list(read(made.body)["query"].iter_rows(values_only=True))[1:]
    parts = [value for label, value in rows if str(label).startswith("查询")]
    assert len(parts) == 3 and "".join(parts) == query


def test_the_writer_stops_when_asked() -> None:
    rows = [{"a": {"type": "literal", "value": str(i)}} for i in range(1000)]
    stop = threading.Event()
    stop.set()
    made = workbook.write(
        tsv_of(["a"], rows), "tsv", query="Q", truncated=False, max_rows=9, build="b", stop=stop
    )
    assert made is None


# --- the endpoint's side: one at a time, a bounded queue, a client that leaves -------------------
class Reply:
    def __init__(self, body: bytes) -> None:
        self.stream = io.BytesIO(body)  # as a spool file: read twice, closed at the end
        self.body = b""
        self.header = {"ok": True, "truncated": False}


def context() -> SimpleNamespace:
    return SimpleNamespace(
        workbooks=None,
        settings=SimpleNamespace(max_rows=10_000),
        release=SimpleNamespace(build_id="b"),
    )


def heavy() -> bytes:
    """A result whose workbook takes a while: 3,000 rows of 20 KiB of ``&``."""
    rows = [{"a": {"type": "literal", "value": "&" * 20_000}} for _ in range(3000)]
    return tsv_of(["a"], rows)


async def stays() -> dict:
    await asyncio.sleep(3600)
    return {"type": "http.disconnect"}


def test_a_workbook_whose_client_leaves_is_given_up() -> None:
    async def main() -> None:
        ctx, reply = context(), Reply(heavy())
        left = asyncio.Event()

        async def leaves() -> dict:
            await asyncio.sleep(0.2)
            left.set()
            return {"type": "http.disconnect"}

        made = await endpoint._workbook(ctx, reply, "tsv", "Q", leaves)
        assert made is None and left.is_set() and reply.stream.closed
        assert ctx.workbooks.statistics().borrowed_tokens == 0  # the writer has stopped
        # and one whose client stays is made
        done = await endpoint._workbook(ctx, Reply(tsv_of(["a"], [])), "tsv", "Q", stays)
        assert done is not None and done.rows == 0

    asyncio.run(main())


def test_the_workbooks_waiting_are_bounded() -> None:
    async def main() -> None:
        ctx = context()
        ctx.workbooks = anyio.CapacityLimiter(1)
        await ctx.workbooks.acquire()  # one being made
        waiting = [
            asyncio.create_task(
                endpoint._workbook(ctx, Reply(tsv_of(["a"], [])), "tsv", "Q", stays)
            )
            for _ in range(endpoint.WORKBOOKS_WAITING)
        ]
        while ctx.workbooks.statistics().tasks_waiting < endpoint.WORKBOOKS_WAITING:
            await asyncio.sleep(0.01)
        refused = Reply(tsv_of(["a"], []))
        with pytest.raises(Busy) as info:
            await endpoint._workbook(ctx, refused, "tsv", "Q", stays)
        assert info.value.status == 503 and refused.stream.closed
        ctx.workbooks.release()
        assert all(m is not None for m in await asyncio.gather(*waiting))

    asyncio.run(main())
