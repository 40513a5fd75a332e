"""English for the long texts: build/long-translations.tsv (scenario, field, zh, en).

Every scenario's 场景应用 (dip:application) and verbatim 涉及数据 cell (dip:dataText)
has one curated English row; the build puts it beside the Chinese as @en, in the
graph, the dumps and the scenarios CSV. A row whose zh cell is no longer the
source's text fails the build with one line naming the row; missing rows are
listed all at once, like missing labels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
import yaml

from dipkg.core.errors import SourceError
from dipkg.core.settings import Settings
from kg.build import build
from kg.translations import LongTranslations, escape_long, load_long_translations
from tests.conftest import ROOT, cli_env

TSV = ROOT / "build" / "long-translations.tsv"
GOLDEN = ROOT / "tests" / "golden" / "extraction.yaml"
DIP = "https://w3id.org/dipkg/ontology#"
# Characters allowed in the English besides printable ASCII (chemical subscripts).
ALLOWED_NON_ASCII = set("₀₁₂₃₄₅₆₇₈₉")


def _rows() -> list[list[str]]:
    return [line.split("\t") for line in TSV.read_text(encoding="utf-8").splitlines()]


def _line_of(table: Path, scenario: str, field: str) -> int:
    for number, line in enumerate(table.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{scenario}\t{field}\t"):
            return number
    raise AssertionError(f"no row for {scenario} {field}")


# -- the table ----------------------------------------------------------------------
def test_header_and_cells():
    rows = _rows()
    assert rows[0] == ["scenario", "field", "zh", "en"]
    for n, row in enumerate(rows[1:], start=2):
        assert len(row) == 4 and all(row), f"line {n}: {row!r}"
        assert row[1] in ("application", "data"), f"line {n}"
        assert row[3] == row[3].strip(), f"line {n}: untrimmed English"


def test_every_golden_scenario_has_both_texts_in_order():
    numbers = [s["number"] for s in yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))]
    expected = [(f"guizhou-b1-s{n:02d}", f) for n in numbers for f in ("application", "data")]
    assert [(r[0], r[1]) for r in _rows()[1:]] == expected


def test_english_is_ascii_or_allowed():
    bad = [
        r[:2]
        for r in _rows()[1:]
        if any(not (32 <= ord(c) < 127 or c in ALLOWED_NON_ASCII) for c in r[3])
    ]
    assert not bad, f"non-ASCII English: {bad}"


def test_the_english_uses_the_label_tables_terms():
    """Spot checks: the long texts name data as the short labels do (build/translations.tsv)."""
    table = {(r[0], r[1]): r[3] for r in _rows()[1:]}
    assert "cryolite ratio" in table[("guizhou-b1-s01", "data")]
    assert "anode-cathode distance" in table[("guizhou-b1-s01", "data")]
    assert "ground pressure data" in table[("guizhou-b1-s03", "data")]
    assert "Basic enterprise electricity use data" in table[("guizhou-b1-s16", "data")]


def test_escapes_round_trip(tmp_path):
    text = "第一行\n第二\t行 \\ 末"
    table = tmp_path / "long.tsv"
    table.write_text(
        f"scenario\tfield\tzh\ten\nx-s01\tapplication\t{escape_long(text)}\tOne\\nTwo\n",
        encoding="utf-8",
    )
    long = load_long_translations(table)
    assert long.en("x-s01", "application", text) == "One\nTwo"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("scenario\tfield\tzh\n", 1, "header"),
        (
            "scenario\tfield\tzh\ten\nx-s01\tname\t文\tText\n",
            2,
            "field 'name' is not one of application, data",
        ),
        ("scenario\tfield\tzh\ten\nx-s01\tdata\t文\t\n", 2, "all four filled"),
        (
            "scenario\tfield\tzh\ten\nx-s01\tdata\t文\tA\nx-s01\tdata\t文\tB\n",
            3,
            "x-s01 data is translated twice",
        ),
    ],
)
def test_a_malformed_table_names_its_line(tmp_path, content, line, message):
    table = tmp_path / "long.tsv"
    table.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message) as caught:
        load_long_translations(table)
    assert caught.value.line == line


def test_missing_rows_are_listed_at_once_and_unused_rows_are_stale():
    long = LongTranslations({("x-s02", "data"): ("文", "Text", 7)}, "long.tsv")
    assert long.en("x-s01", "application", "甲") == "" and long.en("x-s01", "data", "乙") == ""
    with pytest.raises(
        SourceError, match=r"no English for 2 long texts: x-s01 application, x-s01 data$"
    ) as caught:
        long.check()
    assert caught.value.details["missing"] == [
        {"scenario": "x-s01", "field": "application", "zh": "甲"},
        {"scenario": "x-s01", "field": "data", "zh": "乙"},
    ]
    long.missing.clear()
    with pytest.raises(
        SourceError, match="the guides have no data text for scenario x-s02"
    ) as caught:
        long.check()
    assert caught.value.line == 7


# -- the build -----------------------------------------------------------------------
def test_every_scenario_has_both_languages_in_the_graph(build_result):
    store = pyoxigraph.Store.read_only(str(build_result.release / "store"))
    rows = list(
        store.query(f"""
        SELECT ?s (COUNT(DISTINCT ?az) AS ?naz) (COUNT(DISTINCT ?ae) AS ?nae)
                  (COUNT(DISTINCT ?dz) AS ?ndz) (COUNT(DISTINCT ?de) AS ?nde) WHERE {{
          ?s a <{DIP}Scenario> .
          OPTIONAL {{ ?s <{DIP}application> ?az FILTER(lang(?az) = "zh") }}
          OPTIONAL {{ ?s <{DIP}application> ?ae FILTER(lang(?ae) = "en") }}
          OPTIONAL {{ ?s <{DIP}dataText> ?dz FILTER(lang(?dz) = "zh") }}
          OPTIONAL {{ ?s <{DIP}dataText> ?de FILTER(lang(?de) = "en") }}
        }} GROUP BY ?s""")
    )
    assert len(rows) == 23
    assert all([int(r[i].value) for i in range(1, 5)] == [1, 1, 1, 1] for r in rows), rows
    english = {(r[0], r[1]): r[3] for r in _rows()[1:]}
    one = next(
        iter(
            store.query(
                "SELECT ?e WHERE { <https://w3id.org/dipkg/scenario/guizhou-b1-s07>"
                f' <{DIP}dataText> ?e FILTER(lang(?e) = "en") }}'
            )
        )
    )
    assert one[0].value == english[("guizhou-b1-s07", "data")]


def test_every_scenario_has_both_languages_in_the_dumps(build_result):
    dumps = build_result.release / "dumps"
    nt = (dumps / "dipkg.nt").read_text(encoding="utf-8").splitlines()
    for prop in ("application", "dataText"):
        for lang in ("zh", "en"):
            found = [
                t
                for t in nt
                if t.startswith("<https://w3id.org/dipkg/scenario/")
                and f"<{DIP}{prop}>" in t
                and t.endswith(f'"@{lang} .')
            ]
            assert len(found) == 23, (prop, lang)
    doc = json.loads((dumps / "dipkg.jsonld").read_text(encoding="utf-8"))
    scenarios = [n for n in doc["@graph"] if "application" in n]
    assert len(scenarios) == 23
    assert all(set(n["application"]) == set(n["dataText"]) == {"zh", "en"} for n in scenarios)


def _cli_build(inputs: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipkg.cli", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        timeout=300,
    )


def test_a_changed_source_text_makes_its_row_stale(inputs_copy, tmp_path):
    source = inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt"
    text = source.read_text(encoding="utf-8")
    old = "可实时监测道路、桥梁结构状态"
    assert text.count(old) == 1
    source.write_text(text.replace(old, "可实时监测道路、桥梁、隧道结构状态"), encoding="utf-8")
    line = _line_of(inputs_copy / "long-translations.tsv", "guizhou-b1-s07", "application")
    with pytest.raises(
        SourceError, match="stale translation: the Chinese application text of guizhou-b1-s07"
    ) as caught:
        build(tmp_path / "data", Settings(inputs_dir=inputs_copy))
    assert caught.value.file.endswith("long-translations.tsv") and caught.value.line == line
    result = _cli_build(inputs_copy, tmp_path / "cli")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line, no traceback
    assert result.stderr.strip().endswith(
        f"long-translations.tsv:{line}: error[source]: stale translation:"
        " the Chinese application text of "
        "guizhou-b1-s07 is no longer the source's; copy the source's text into the zh cell"
        " and revise the English"
    )
    assert not (tmp_path / "cli" / "current").exists()


def test_missing_rows_fail_the_build_listing_them_all(inputs_copy, tmp_path):
    table = inputs_copy / "long-translations.tsv"
    drop = ("guizhou-b1-s05\tdata\t", "guizhou-b1-s21\tapplication\t", "guizhou-b1-s21\tdata\t")
    table.write_text(
        "".join(
            line
            for line in table.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith(drop)
        ),
        encoding="utf-8",
    )
    result = _cli_build(inputs_copy, tmp_path / "data")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith(
        "long-translations.tsv: error[source]: no English for 3 long texts: "
        "guizhou-b1-s05 data, guizhou-b1-s21 application, guizhou-b1-s21 data"
    )
    missing = [
        json.loads(line.split("missing: ", 1)[1])
        for line in lines
        if line.startswith("  missing: ")
    ]
    assert [(m["scenario"], m["field"]) for m in missing] == [
        ("guizhou-b1-s05", "data"),
        ("guizhou-b1-s21", "application"),
        ("guizhou-b1-s21", "data"),
    ]
    assert missing[0]["zh"].startswith("如设备状态数据（运行参数")
