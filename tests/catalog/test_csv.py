"""The CSV distributions: they parse, their row counts are the graph's, their CSVW
metadata matches their headers, and the CSVW -> RDF conversion agrees with the graph."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyoxigraph
import pytest

TABLES = ("dipkg-scenarios.csv", "dipkg-data-items.csv")
XSD = "http://www.w3.org/2001/XMLSchema#"


BOM = b"\xef\xbb\xbf"


def whatwg_utf8_decode(raw: bytes) -> str:
    """How a CSVW processor reads a table whose dialect says ``"encoding": "utf-8"``: the
    WHATWG Encoding Standard's *decode*, which drops one leading UTF-8 BOM."""
    return raw.removeprefix(BOM).decode("utf-8")


def excel_decode(raw: bytes, ansi_code_page: str = "gb18030") -> str:
    """How Excel on Windows reads a .csv it is asked to open: UTF-8 when the file starts
    with a UTF-8 BOM, else the system's ANSI code page (936, GBK, on Chinese Windows;
    GB 18030 is its superset)."""
    if raw.startswith(BOM):
        return raw[len(BOM) :].decode("utf-8")
    return raw.decode(ansi_code_page, errors="replace")


def read_table(release: Path, name: str) -> tuple[list[str], list[dict[str, str]], bytes]:
    raw = (release / "dumps" / name).read_bytes()
    reader = csv.DictReader(io.StringIO(whatwg_utf8_decode(raw), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows, raw


def metadata(release: Path, name: str) -> dict:
    return json.loads((release / "dumps" / f"{name}-metadata.json").read_text(encoding="utf-8"))


def ask_int(store: pyoxigraph.Store, query: str) -> int:
    return int(next(iter(store.query(query)))[0].value)


def test_utf8_with_one_bom_crlf(release: Path) -> None:
    for name in TABLES:
        raw = (release / "dumps" / name).read_bytes()
        assert raw.startswith(BOM) and not raw[len(BOM) :].startswith(BOM)
        raw.decode("utf-8")
        assert raw.endswith(b"\r\n") and b"\r\n" in raw


@pytest.mark.parametrize("name", TABLES)
def test_excel_on_chinese_windows_reads_the_chinese(release: Path, name: str) -> None:
    raw = (release / "dumps" / name).read_bytes()
    text = excel_decode(raw)
    assert text == whatwg_utf8_decode(raw)
    header = next(csv.reader(io.StringIO(text, newline="")))
    assert header == [c["name"] for c in metadata(release, name)["tableSchema"]["columns"]]
    assert "场景" in text or "数据" in text
    # the known-bad twin: the same bytes without the BOM come out garbled in code page 936
    assert excel_decode(raw[len(BOM) :]) != text


@pytest.mark.parametrize("name", TABLES)
def test_a_csvw_reader_validates_the_table(tmp_path: Path, release: Path, name: str) -> None:
    """csvw (a CSVW implementation) reads each table through its metadata, strictly: the
    BOM is decoded away, the header matches the columns, every value fits its datatype."""
    from csvw import Table

    table = Table.from_file(release / "dumps" / f"{name}-metadata.json")
    rows = list(table.iterdicts(strict=True))
    assert len(rows) == len(read_table(release, name)[1]) and table.check_primary_key()
    assert list(rows[0]) == [c["name"] for c in metadata(release, name)["tableSchema"]["columns"]]
    # known bad: a second BOM is not decoded away, so the first column's name no longer matches
    for file in (name, f"{name}-metadata.json"):
        (tmp_path / file).write_bytes((release / "dumps" / file).read_bytes())
    (tmp_path / name).write_bytes(BOM + (tmp_path / name).read_bytes())
    with pytest.raises(ValueError, match="missing required columns"):
        list(Table.from_file(tmp_path / f"{name}-metadata.json").iterdicts(strict=True))


def test_row_counts(release: Path, manifest: dict, store) -> None:
    _, scenarios, _ = read_table(release, "dipkg-scenarios.csv")
    assert len(scenarios) == manifest["counts"]["scenarios"] == 23
    _, items, _ = read_table(release, "dipkg-data-items.csv")
    dip = "https://w3id.org/dipkg/ontology#"
    fields = ask_int(store, f"SELECT (COUNT(*) AS ?n) {{ ?f a <{dip}DataField> }}")
    leaf_categories = ask_int(
        store,
        f"SELECT (COUNT(*) AS ?n) {{ ?c a <{dip}DataCategory> "
        "FILTER NOT EXISTS { ?x <http://purl.org/dc/terms/isPartOf> ?c } }",
    )
    assert fields == manifest["counts"]["fields"]
    assert len(items) == fields + leaf_categories
    assert sum(r["kind"] == "DataField" for r in items) == fields
    entry = {d["file"]: d for d in manifest["dumps"]}
    assert entry["dipkg-scenarios.csv"]["rows"] == 23 and entry["dipkg-data-items.csv"][
        "rows"
    ] == len(items)


def test_metadata_columns_match_headers(release: Path) -> None:
    for name in TABLES:
        header, _, _ = read_table(release, name)
        meta = metadata(release, name)
        assert meta["url"] == name
        assert "http://www.w3.org/ns/csvw" in meta["@context"]
        columns = meta["tableSchema"]["columns"]
        assert [c["name"] for c in columns] == header
        for c in columns:
            assert set(c["titles"]) == {"zh", "en"} and all(c["titles"].values())
            assert c["datatype"] in ("string", "integer", "anyURI", "boolean")


def test_labels_in_both_languages(release: Path) -> None:
    _, rows, _ = read_table(release, "dipkg-scenarios.csv")
    assert all(
        r["scenario_zh"] and r["scenario_en"] and r["domain_zh"] and r["domain_en"] for r in rows
    )
    _, items, _ = read_table(release, "dipkg-data-items.csv")
    for r in items:
        assert r["category_zh"] and r["category_en"]
        if r["kind"] == "DataField":
            assert r["field_zh"] and r["field_en"] and r["field_iri"] == r["item_iri"]
        assert bool(r["subcategory_zh"]) == bool(r["subcategory_en"]) == bool(r["subcategory_iri"])


def test_long_texts_in_both_languages(release: Path, store) -> None:
    header, rows, _ = read_table(release, "dipkg-scenarios.csv")
    assert header.index("application_en") == header.index("application_zh") + 1
    assert header.index("data_text_en") == header.index("data_text_zh") + 1
    columns = {
        c["name"]: c for c in metadata(release, "dipkg-scenarios.csv")["tableSchema"]["columns"]
    }
    assert columns["application_en"]["lang"] == columns["data_text_en"]["lang"] == "en"
    dip = "https://w3id.org/dipkg/ontology#"
    for r in rows:
        assert (
            r["application_zh"] and r["application_en"] and r["data_text_zh"] and r["data_text_en"]
        )
        for column, prop in (("application_en", "application"), ("data_text_en", "dataText")):
            literal = pyoxigraph.Literal(r[column], language="en")
            assert store.query(f"ASK {{ <{r['scenario_iri']}> <{dip}{prop}> {literal} }}"), (
                r["number"],
                column,
            )
    assert rows[0]["application_en"].startswith("For production process optimisation activities")


# -- a small CSVW -> RDF converter (standard mode, the features the metadata uses) -------
_TEMPLATE = re.compile(r"\{\+?([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(template: str, row: dict[str, str]) -> str | None:
    missing = False

    def sub(m: re.Match) -> str:
        nonlocal missing
        value = row.get(m.group(1), "")
        if value == "":
            missing = True
        return value

    out = _TEMPLATE.sub(sub, template)
    return None if missing else out


def csvw_triples(release: Path, name: str) -> set[tuple[str, str, str]]:
    """N-Triples-like tuples (s, p, o) with o an N-Triples term."""
    meta = metadata(release, name)
    schema = meta["tableSchema"]
    _, rows, _ = read_table(release, name)
    out = set()
    for row in rows:
        for col in schema["columns"]:
            value = row[col["name"]]
            if col.get("suppressOutput") or value == "":
                continue
            subject = expand(col.get("aboutUrl", schema["aboutUrl"]), row)
            if subject is None:
                continue
            prop = col["propertyUrl"]
            if "valueUrl" in col:
                obj = expand(col["valueUrl"], row)
                if obj is None:
                    continue
                out.add((subject, prop, f"<{obj}>"))
            elif col["datatype"] == "integer":
                out.add((subject, prop, f'"{int(value)}"^^<{XSD}integer>'))
            elif "lang" in col:
                out.add((subject, prop, pyoxigraph.Literal(value, language=col["lang"]).__str__()))
            else:
                out.add((subject, prop, str(pyoxigraph.Literal(value))))
    return out


@pytest.mark.parametrize("name", TABLES)
def test_csvw_round_trip_agrees_with_the_graph(release: Path, store, name: str) -> None:
    triples = csvw_triples(release, name)
    assert len(triples) > 100
    missing = []
    for s, p, o in triples:
        query = f"ASK {{ <{s}> <{p}> {o} }}"
        if not store.query(query):
            missing.append((s, p, o))
    assert not missing, f"{len(missing)} CSVW triples are not in the graph, e.g. {missing[:3]}"


def test_csvw_covers_every_label_of_every_item(release: Path, store) -> None:
    triples = csvw_triples(release, "dipkg-data-items.csv")
    labelled = {s for s, p, _ in triples if p == "http://www.w3.org/2000/01/rdf-schema#label"}
    items = {
        row[0].value
        for row in store.query(
            "SELECT ?i { { ?i a <https://w3id.org/dipkg/ontology#DataField> }"
            " UNION { ?i a <https://w3id.org/dipkg/ontology#DataCategory> } }"
        )
    }
    assert items <= labelled


# --- what a CSV must never carry raw: control characters, formulas (CSV injection) ---------
def test_no_cell_of_the_real_tables_is_a_formula_or_holds_a_control_character(
    release: Path,
) -> None:
    from kg.catalog.tables import FORMULA_TRIGGERS
    from kg.source import refused_character

    for name in TABLES:
        _, rows, _ = read_table(release, name)
        for row in rows:
            for value in row.values():
                assert (
                    not value.startswith(FORMULA_TRIGGERS) and refused_character(value) is None
                ), value


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://example.org")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "red\x1b[31m",
        "a\x7fb",
        "abc\u202edef",
        "x\u2028y",
        "x\x85y",
    ],
)
def test_the_csv_writer_refuses_a_formula_or_a_control_character(
    tmp_path: Path, value: str
) -> None:
    from dipkg.core.errors import SourceError
    from kg.catalog.tables import write_csv

    with pytest.raises(SourceError) as caught:
        write_csv(
            tmp_path / "t.csv",
            ["iri", "n", "label"],
            [["https://e.org/a", 1, "ok"], ["https://e.org/b", 2, value]],
        )
    assert "t.csv row 2 (https://e.org/b), column label" in caught.value.message
    assert "\n" not in str(caught.value)


def test_the_csv_writer_keeps_harmless_text_as_it_is(tmp_path: Path) -> None:
    from kg.catalog.tables import write_csv

    values = ["a=b", "温度（℃）", "x-y", "e-mail@example.org", "tab\tinside", 'quote "and" comma,']
    write_csv(
        tmp_path / "t.csv", ["iri", "n", "label"], [["https://e.org/a", -1, v] for v in values]
    )
    rows = list(
        csv.reader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8"), newline=""))
    )
    assert [r[2] for r in rows[1:]] == values and rows[1][1] == "-1"


def test_a_translation_that_is_a_formula_fails_the_build(inputs_copy: Path, tmp_path: Path) -> None:
    from dipkg.core.errors import SourceError
    from dipkg.core.settings import Settings
    from kg.build import build

    tsv = inputs_copy / "translations.tsv"
    lines = tsv.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line.startswith("生产工艺优化\t"))
    lines[number] = '生产工艺优化\t=HYPERLINK("http://example.org/x","Process optimisation")'
    tsv.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(
        SourceError, match=r"dipkg-scenarios\.csv row 1 \(.*guizhou-b1-s01\), column scenario_en"
    ):
        build(tmp_path / "out", Settings(inputs_dir=inputs_copy))
    assert not (tmp_path / "out" / "current").exists()


# -- the data kind and the personal-information flags of every item ---------------------
DIP = "https://w3id.org/dipkg/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"


def test_items_carry_their_data_kind_after_the_old_columns(release: Path, store) -> None:
    header, items, _ = read_table(release, "dipkg-data-items.csv")
    assert header[:21] == [
        "item_iri",
        "kind",
        "path",
        "scenario_iri",
        "scenario_number",
        "scenario_zh",
        "scenario_en",
        "domain_iri",
        "domain_zh",
        "domain_en",
        "category_iri",
        "category_zh",
        "category_en",
        "subcategory_iri",
        "subcategory_zh",
        "subcategory_en",
        "field_zh",
        "field_en",
        "field_iri",
        "parent_iri",
        "position",
    ]  # existing consumers see their columns where they were
    kinds = {
        (r[0].value, r[1].value): (r[2].value, r[3].value)
        for r in store.query(
            f"SELECT ?i ?k ?zh ?en {{ ?i <{DIP}dataKind> ?k . ?k <{SKOS}prefLabel> ?zh, ?en "
            'FILTER(lang(?zh) = "zh" && lang(?en) = "en") }'
        )
    }
    assert len(items) > 100
    for r in items:
        assert kinds[(r["item_iri"], r["data_kind_iri"])] == (r["data_kind_zh"], r["data_kind_en"])
        broader = {
            row[0].value
            for row in store.query(f"SELECT ?b {{ <{r['data_kind_iri']}> <{SKOS}broader> ?b }}")
        }
        listed = set(r["broader_kind_iri"].split(" | ")) if r["broader_kind_iri"] else set()
        assert listed == broader
        assert (
            len(r["broader_kind_zh"].split(" | "))
            == len(r["broader_kind_en"].split(" | "))
            == len(listed)
            or not listed
        )
        pi = bool(store.query(f"ASK {{ <{r['data_kind_iri']}> <{DIP}personalInformation> true }}"))
        assert r["personal_information"] == ("true" if pi else "false")
        sensitive = [
            row[0].value
            for row in store.query(
                f"SELECT ?s {{ <{r['data_kind_iri']}> <{DIP}sensitiveCategory> ?s }}"
            )
        ]
        assert r["sensitive"] == ("true" if sensitive else "false")
        assert (
            [r["sensitive_category_iri"]] == sensitive
            if sensitive
            else r["sensitive_category_iri"] == ""
        )
    assert any(r["personal_information"] == "true" for r in items)
    assert any(r["sensitive"] == "true" and r["sensitive_category_en"] for r in items)


def test_which_scenarios_need_temperature_is_a_filter(release: Path, store) -> None:
    """The question from the issue, answered by filtering the table as a spreadsheet user
    would (data kind or broader kind is Temperature), against the same question in SPARQL."""
    _, items, _ = read_table(release, "dipkg-data-items.csv")
    by_filter = {
        r["scenario_iri"]
        for r in items
        if "Temperature" in (r["data_kind_en"], *r["broader_kind_en"].split(" | "))
    }
    by_sparql = {
        row[0].value
        for row in store.query(
            f"SELECT DISTINCT ?s {{ ?i <{DIP}scenario> ?s ; <{DIP}dataKind>/<{SKOS}broader>? ?k . "
            f'?k <{SKOS}prefLabel> "Temperature"@en }}'
        )
    }
    assert by_filter and by_filter == by_sparql
