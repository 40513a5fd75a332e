"""Guides read from Word documents (.docx): kg/docx_table.py, tools/make_docx.py.

* the committed batch-1 .docx is what tools/make_docx.py makes from the verbatim
  text (same bytes), and its table holds the text's cells;
* the graph built from the .docx equals the graph built from the .txt, triple
  for triple, except the source locators (dip:sourceLine / dip:sourceCell);
* what a Word table holds beyond text (merged cells, paragraphs and breaks,
  bookmarks, fields, revision marks, comments, nbsp and U+3000, a two-row
  header, a table split across pages) does not reach the cells, on documents
  made here with python-docx and small XML edits;
* a .docx the build cannot read fails with one line naming the file and the
  table/row/column; a PDF fails with one line saying to use the .docx.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import httpx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from dipkg.core.errors import SourceError
from dipkg.core.settings import Settings
from kg.build import build
from kg.docx_table import read_docx_table
from kg.guide import load_inputs, read_guide
from kg.paths import INPUTS_DIR
from kg.source import COLUMNS, read_table
from tests.conftest import ROOT, cli_env
from tests.endpoint.conftest import start_server, stop_server
from tools.make_docx import make_docx

TEXT = INPUTS_DIR / "sources" / "guizhou-dip-scenarios-batch1.txt"
DOCX = INPUTS_DIR / "sources" / "guizhou-dip-scenarios-batch1.docx"
TITLE = "第一批贵州省数据知识产权应用场景指引"
LOCATORS = (
    "<https://w3id.org/dipkg/ontology#sourceLine>",
    "<https://w3id.org/dipkg/ontology#sourceCell>",
)


# -- the committed .docx of batch 1 ------------------------------------------------------------


def test_committed_docx_is_what_the_generator_makes():
    made = make_docx(TEXT.read_text(encoding="utf-8"), str(TEXT))
    assert made == make_docx(TEXT.read_text(encoding="utf-8"), str(TEXT)), (
        "the generator is not deterministic"
    )
    assert made == DOCX.read_bytes(), (
        "regenerate: python -m tools.make_docx (see build/sources/README.md)"
    )


def test_docx_table_holds_the_text_cells():
    text = read_table(TEXT.read_text(encoding="utf-8"), "t")
    word = read_docx_table(DOCX, "d")
    assert word.preamble == text.preamble
    assert len(word.rows) == len(text.rows) == 23
    domain = None
    for mine, theirs in zip(word.rows, text.rows, strict=True):
        domain = theirs.cells[1].text or domain  # a blank 领域 in the text is a merged cell in Word
        expected = [
            theirs.cells[0].text,
            domain,
            *(c.text.replace("[bookmark: _GoBack]", "") for c in theirs.cells[2:]),
        ]
        assert [c.text for c in mine.cells] == expected
    assert [c.locator for c in word.rows[0].cells] == [
        f"table=1;row=2;column={n}" for n in range(1, 6)
    ]


def _triples(release: Path) -> tuple[set[str], list[str]]:
    lines = (release / "dumps" / "dipkg.nt").read_text(encoding="utf-8").splitlines()
    return {t for t in lines if not any(p in t for p in LOCATORS)}, [
        t for t in lines if any(p in t for p in LOCATORS)
    ]


@pytest.fixture(scope="module")
def docx_build(tmp_path_factory):
    """The real build with batch 1 read from the .docx instead of the verbatim text."""
    inputs = tmp_path_factory.mktemp("docx-inputs") / "inputs"
    shutil.copytree(INPUTS_DIR, inputs)
    guides = inputs / "guides.toml"
    guides.write_text(
        guides.read_text(encoding="utf-8").replace("batch1.txt", "batch1.docx"), encoding="utf-8"
    )
    return build(tmp_path_factory.mktemp("docx-build") / "data", Settings(inputs_dir=inputs))


def test_graph_from_docx_equals_graph_from_text(build_result, docx_build):
    docx_triples, docx_locators = _triples(docx_build.release)
    text_triples, text_locators = _triples(build_result.release)
    only_ontology = {
        t for t in text_locators if not t.startswith("<https://w3id.org/dipkg/scenario/")
    }
    assert docx_triples == text_triples
    assert docx_build.manifest.counts == build_result.manifest.counts
    # every scenario traces to its cell: a line in the text, table/row/column in the .docx
    cells = sorted(t for t in docx_locators if t.startswith("<https://w3id.org/dipkg/scenario/"))
    lines = sorted(t for t in text_locators if t.startswith("<https://w3id.org/dipkg/scenario/"))
    assert len(cells) == len(lines) == 23
    assert all("#sourceCell>" in t for t in cells) and all("#sourceLine>" in t for t in lines)
    assert cells[0] == (
        "<https://w3id.org/dipkg/scenario/guizhou-b1-s01> "
        '<https://w3id.org/dipkg/ontology#sourceCell> "table=1;row=2;column=1" .'
    )
    assert cells[-1].endswith('"table=1;row=24;column=1" .')
    assert {
        t for t in docx_locators if not t.startswith("<https://w3id.org/dipkg/scenario/")
    } == only_ontology


def test_scenario_page_names_the_docx_cell(docx_build, tmp_path):
    server = start_server(docx_build.release.parent.parent, tmp_path, DIPKG_QUERY_WORKERS="1")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            en = client.get("/scenario/guizhou-b1-s02.html", params={"lang": "en"}).text
            zh = client.get("/scenario/guizhou-b1-s02.html", params={"lang": "zh"}).text
            turtle = client.get("/scenario/guizhou-b1-s02.ttl").text
    finally:
        stop_server(server)
    assert "Word table 1, row 3, column 1" in en and "Source line" not in en
    assert "Word 文档表格 1 第 3 行第 1 列" in zh
    assert '"table=1;row=3;column=1"' in turtle


# -- hostile documents -------------------------------------------------------------------------


def _table(rows: list[list[str]], header: list[str] | None = None, title: str = TITLE):
    """A document with 附件 and title paragraphs and one table: the header, then ``rows``."""
    document = docx.Document()
    document.add_paragraph("附件9")
    document.add_paragraph(title)
    header = list(COLUMNS) if header is None else header
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for column, text in enumerate(header):
        table.cell(0, column).text = text
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    return document, table


def _run(text: str):
    r = OxmlElement("w:r")
    t = OxmlElement("w:t", {"{http://www.w3.org/XML/1998/namespace}space": "preserve"})
    t.text = text
    r.append(t)
    return r


def _guide(tmp_path: Path, document, name: str = "guide.docx"):
    """Inputs whose one guide is ``document``; returns (inputs dir, path of the .docx)."""
    inputs = tmp_path / "inputs"
    if not inputs.exists():
        shutil.copytree(INPUTS_DIR, inputs)
    path = inputs / "sources" / name
    document.save(str(path))
    guides = inputs / "guides.toml"
    text = guides.read_text(encoding="utf-8")
    text = re.sub(r'source = "sources/[^"]+"', f'source = "sources/{name}"', text)
    text = text.replace(
        'id = "guizhou-b1"', 'id = "test-fixture-b9"'
    )  # batch 1's corrections stay out
    guides.write_text(text, encoding="utf-8")
    return inputs, path


ROW1 = [
    "1",
    "工业领域",
    "生产工艺优化",
    "面向生产工艺优化业务活动。",
    "涉及工艺参数数据（电流强度、电压数据）等。",
]
ROW2 = ["2", "", "智能生产管控", "面向生产过程。", "涉及设备运行数据（温度、压力数据）等。"]


def _read(tmp_path, document):
    inputs, path = _guide(tmp_path, document)
    loaded = load_inputs(inputs)
    return read_guide(loaded.guides[0], loaded)


def test_merged_domain_cells_and_multi_paragraph_cells(tmp_path):
    document, table = _table(
        [
            ROW1,
            ROW2,
            ["3", "", "危险作业自动化", "面向高危。", "如井下环境数据（瓦斯浓度、温度数据）等。"],
        ]
    )
    table.cell(1, 1).merge(table.cell(3, 1))  # 工业领域 spans three rows
    name = table.cell(2, 2)
    name.text = "智能生产"
    name.add_paragraph("管控")  # a second paragraph: joined without a separator
    data = table.cell(3, 4).paragraphs[0]
    data.text = "如井下环境数据（瓦斯浓度、"
    data.add_run().add_break()  # a line break inside the cell
    data.add_run("温度数据）等。")
    guide = _read(tmp_path, document)
    assert [(s.number, s.domain, s.name) for s in guide.scenarios] == [
        (1, "工业领域", "生产工艺优化"),
        (2, "工业领域", "智能生产管控"),
        (3, "工业领域", "危险作业自动化"),
    ]
    assert [f.label for f in guide.scenarios[2].categories[0].children] == ["瓦斯浓度", "温度"]
    assert guide.scenarios[1].cell == "table=1;row=3;column=1" and guide.scenarios[1].line is None


def test_bookmarks_fields_revisions_and_comments_are_not_text(tmp_path):
    document, table = _table([ROW1])
    p = table.cell(1, 4).paragraphs[0]
    p.text = ""
    p._p.append(OxmlElement("w:bookmarkStart", {qn("w:id"): "0", qn("w:name"): "_GoBack"}))
    p._p.append(OxmlElement("w:bookmarkEnd", {qn("w:id"): "0"}))
    p._p.append(_run("涉及工艺参数数据（电流"))
    inserted = OxmlElement(
        "w:ins", {qn("w:id"): "1", qn("w:author"): "x", qn("w:date"): "2025-01-01T00:00:00Z"}
    )
    inserted.append(_run("强度"))
    p._p.append(inserted)
    deleted = OxmlElement(
        "w:del", {qn("w:id"): "2", qn("w:author"): "x", qn("w:date"): "2025-01-01T00:00:00Z"}
    )
    gone = OxmlElement("w:r")
    gone_text = OxmlElement("w:delText")
    gone_text.text = "、删去"
    gone.append(gone_text)
    deleted.append(gone)
    moved = OxmlElement(
        "w:moveFrom", {qn("w:id"): "3", qn("w:author"): "x", qn("w:date"): "2025-01-01T00:00:00Z"}
    )
    moved.append(_run("、移走"))
    p._p.append(deleted)
    p._p.append(moved)
    p._p.append(_run("、"))
    # a complex field: its code (instrText) is not text, its shown result is
    for kind, code in (("begin", None), (None, " MERGEFIELD 字段 "), ("separate", None)):
        r = OxmlElement("w:r")
        if kind:
            r.append(OxmlElement("w:fldChar", {qn("w:fldCharType"): kind}))
        else:
            instr = OxmlElement("w:instrText")
            instr.text = code
            r.append(instr)
        p._p.append(r)
    p._p.append(_run("电压"))
    end = OxmlElement("w:r")
    end.append(OxmlElement("w:fldChar", {qn("w:fldCharType"): "end"}))
    p._p.append(end)
    simple = OxmlElement("w:fldSimple", {qn("w:instr"): " PAGE "})
    simple.append(_run("数据"))
    p._p.append(simple)
    p._p.append(_run("）等。"))
    document.add_comment(p.runs[0] if p.runs else p.add_run(""), text="批注：不是正文", author="x")
    guide = _read(tmp_path, document)
    scenario = guide.scenarios[0]
    assert scenario.data_text == "涉及工艺参数数据（电流强度、电压数据）等。"
    assert [f.label for f in scenario.categories[0].children] == ["电流强度", "电压"]


def test_nbsp_and_ideographic_spaces(tmp_path):
    row = [
        "\u00a01\u3000",
        "工业\u00a0领域",
        "生产\u3000工艺优化",
        "面向\u00a0生产。",
        "涉及工艺参数数据（电流强度、电压数据）等。",
    ]
    document, _ = _table(
        [row], header=["序号", "领\u3000域", "场景 名称", "场景应用", "涉及数据\u00a0"]
    )
    scenario = _read(tmp_path, document).scenarios[0]
    assert (scenario.number, scenario.domain, scenario.name, scenario.application) == (
        1,
        "工业领域",
        "生产 工艺优化",
        "面向 生产。",
    )


def test_header_over_two_rows_and_table_split_across_pages(tmp_path):
    document, table = _table(
        [["", "", "名称", "", ""], ROW1, list(COLUMNS), ROW2],
        header=["序号", "领域", "场景", "场景应用", "涉及数据"],
    )
    for column in (0, 1, 3, 4):
        table.cell(0, column).merge(
            table.cell(1, column)
        )  # the header cells merged down over two rows
    # the table carries on in a second table (after a page break) that repeats the header
    document.add_page_break()
    second = document.add_table(rows=3, cols=5)
    for column, text in enumerate(COLUMNS):
        second.cell(0, column).text = text
    for column, text in enumerate(
        ["3", "交通领域", "智慧交通", "面向交通。", "涉及车辆数据（速度数据）等。"]
    ):
        second.cell(1, column).text = text
    second.cell(1, 1).merge(second.cell(2, 1))  # an empty last row, under a merged 领域
    guide = _read(tmp_path, document)
    assert [(s.number, s.domain, s.cell) for s in guide.scenarios] == [
        (1, "工业领域", "table=1;row=3;column=1"),
        (2, "工业领域", "table=1;row=5;column=1"),  # row 4 repeats the header: skipped
        (
            3,
            "交通领域",
            "table=2;row=2;column=1",
        ),  # row 3 of table 2 is empty but for the merged 领域: skipped
    ]


# -- a .docx the build cannot read: one line naming the file and the cell ------------------------


def _error(tmp_path, document) -> SourceError:
    with pytest.raises(SourceError) as caught:
        _read(tmp_path, document)
    return caught.value


def test_no_table(tmp_path):
    document = docx.Document()
    document.add_paragraph(TITLE)
    error = _error(tmp_path, document)
    assert str(error).endswith(
        "guide.docx: error[source]: no table found: the scenario table should be a Word table"
    )


@pytest.mark.parametrize(
    ("make", "place", "message"),
    [
        (
            lambda: _table([ROW1], header=["序号", "领域", "名称", "场景应用", "涉及数据"]),
            "table 1:row 1",
            "the table header should be 序号/领域/场景名称/场景应用/涉及数据,"
            " found 序号/领域/名称/场景应用/涉及数据",
        ),
        (
            lambda: _table([ROW1 + ["多余"]], header=[*COLUMNS, "备注"]),
            "table 1:row 1",
            "found 序号/领域/场景名称/场景应用/涉及数据/备注",
        ),
        (
            lambda: _table([ROW1, ["2", "", " ", "面向。", "涉及数据。"]]),
            "table 1:row 3:column 3",
            "scenario 2 has an empty 场景名称",
        ),
        (
            lambda: _table([["一", *ROW1[1:]]]),
            "table 1:row 2:column 1",
            "序号 '一' is not a positive number",
        ),
        (
            lambda: _table([["1", "农业领域", *ROW1[2:]]]),
            "table 1:row 2:column 2",
            "unknown domain '农业领域'",
        ),
        (
            lambda: _table([[*ROW1[:4], "涉及工艺参数数据（电流强度、电压数据等。"]]),
            "table 1:row 2:column 5",
            "unbalanced parenthesis: '（' is never closed (character 9 of the cell)",
        ),
        (
            lambda: _table([ROW1, ["1", *ROW1[1:]]]),
            "table 1:row 3:column 1",
            "duplicate 序号 1 (first used on table 1, row 2)",
        ),
        (
            lambda: _table([[*ROW1[:3], "面向\u202e生产。", ROW1[4]]]),
            "table 1:row 2:column 4",
            "U+202E (RIGHT-TO-LEFT OVERRIDE) in the cell (character 3)",
        ),
        (
            lambda: _table([[*ROW1[:3], "面" * 70_000, ROW1[4]]]),
            "table 1:row 2:column 4",
            "a cell of 70,000 characters",
        ),
    ],
    ids=[
        "wrong-header",
        "six-columns",
        "empty-name",
        "bad-number",
        "unknown-domain",
        "row-does-not-parse",
        "duplicate",
        "control-character",
        "oversized-cell",
    ],
)
def test_unreadable_table_names_the_cell(tmp_path, make, place, message):
    document, _ = make()
    error = _error(tmp_path, document)
    line = str(error)
    assert "\n" not in line
    assert f"guide.docx:{place}: error[source]: " in line and message in line, line


def test_a_row_with_a_missing_cell(tmp_path):
    document, table = _table([ROW1, ROW2])
    row = table.rows[2]._tr
    row.remove(row.tc_lst[-1])  # the 涉及数据 cell of row 3 is gone
    line = str(_error(tmp_path, document))
    assert (
        "guide.docx:table 1:row 3:column 5: error[source]: a table row has 4 cells, expected 5"
        in line
    )


def test_not_a_docx(tmp_path):
    inputs, path = _guide(tmp_path, docx.Document())
    path.write_bytes(b"not a zip")
    loaded = load_inputs(inputs)
    with pytest.raises(SourceError, match=r"not a readable \.docx") as caught:
        read_guide(loaded.guides[0], loaded)
    assert caught.value.file.endswith("guide.docx")


def test_pdf_is_refused_with_one_line_pointing_to_the_docx(tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(INPUTS_DIR, inputs)
    (inputs / "sources" / "guide.pdf").write_bytes(b"%PDF-1.4\n")
    guides = inputs / "guides.toml"
    guides.write_text(
        guides.read_text(encoding="utf-8").replace("guizhou-dip-scenarios-batch1.txt", "guide.pdf"),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "guide.pdf: error[source]: PDF sources are not read" in result.stderr
    assert "use the .docx" in result.stderr


def _with_part(source: Path, target: Path, name: str, mib: int) -> None:
    """``source``'s package with one more part: ``mib`` MiB of zeros (a few hundred KB packed)."""
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info.filename))
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as part:
            for _ in range(mib):
                part.write(bytes(1 << 20))


def test_a_docx_that_unpacks_to_too_much_is_refused_before_it_is_read(tmp_path):
    """A 1 MB .docx whose zip declares a 1 GiB image took the build to 2 GB (python-docx
    loads every part; found in a security review). The package's declared sizes are read
    first: over the limit, one line naming the file and its largest part, and the build
    writes nothing. The committed document beside it builds (the known-good)."""
    from kg.docx_table import MAX_DOCX_UNPACKED

    inputs = tmp_path / "inputs"
    shutil.copytree(INPUTS_DIR, inputs)
    sources = inputs / "sources"
    _with_part(DOCX, sources / "big.docx", "word/media/image1.png", MAX_DOCX_UNPACKED // 2**20 + 1)
    assert (sources / "big.docx").stat().st_size < 2 * 2**20
    guides = inputs / "guides.toml"
    text = guides.read_text(encoding="utf-8")
    guides.write_text(
        text.replace("guizhou-dip-scenarios-batch1.txt", "big.docx"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "big.docx: error[source]: the .docx holds 130 MiB unpacked" in result.stderr
    assert "'word/media/image1.png', 129 MiB" in result.stderr
    assert not (tmp_path / "data" / "current").exists()
    _with_part(DOCX, sources / "small.docx", "word/media/image1.png", 1)
    assert len(read_docx_table(sources / "small.docx", "small.docx").rows) > 20


def test_a_docx_of_too_many_parts_is_refused(tmp_path):
    import zipfile

    from kg.docx_table import MAX_DOCX_PARTS

    path = tmp_path / "many.docx"
    with zipfile.ZipFile(DOCX) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info.filename))
        for n in range(MAX_DOCX_PARTS):
            out.writestr(f"word/extra/part{n}.xml", b"")
    with pytest.raises(SourceError, match=r"the \.docx has 10,017 parts \(the limit is 10,000\)"):
        read_docx_table(path, "many.docx")


def test_cli_reports_a_docx_cell_in_one_line(tmp_path):
    document, _ = _table([ROW1, ["2", "", "", "面向。", "涉及数据。"]])
    inputs, _ = _guide(tmp_path, document)
    result = subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{result.stderr.split(':', 1)[0]}:table 1:row 3:column 3:"
        " error[source]: scenario 2 has an empty 场景名称"
    ]
    assert result.stderr.split(":", 1)[0].endswith("sources/guide.docx")


def test_scenarios_table_carries_the_locator_of_either_source(build_result, docx_build):
    import csv

    def rows(release):
        with (release / "dumps" / "dipkg-scenarios.csv").open(
            encoding="utf-8", newline=""
        ) as handle:
            return list(csv.DictReader(handle))

    text, word = rows(build_result.release), rows(docx_build.release)
    assert [(r["source_line"], r["source_cell"]) for r in text[:2]] == [("12", ""), ("18", "")]
    assert [(r["source_line"], r["source_cell"]) for r in word[:2]] == [
        ("", "table=1;row=2;column=1"),
        ("", "table=1;row=3;column=1"),
    ]
    drop = ("source_line", "source_cell")
    assert [{k: v for k, v in r.items() if k not in drop} for r in text] == [
        {k: v for k, v in r.items() if k not in drop} for r in word
    ]
