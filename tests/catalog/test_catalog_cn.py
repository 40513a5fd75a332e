"""The Chinese government resource-catalogue record (kg/catalog_cn.py): JSON against its
JSON Schema (with known-bad records that must fail), the XLSX sheet, determinism, and
its place in the DCAT record and the /dumps/ listing."""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import openpyxl
import pydantic
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib import URIRef

from dipkg.core import catalog_cn as cn_files
from dipkg.core.release import open_release
from dipkg.core.settings import Settings
from kg import catalog_cn
from kg.guide import load_inputs
from kg.paths import INPUTS_DIR
from sparql_api.app import create_app

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
VALIDATOR = jsonschema.Draft202012Validator(cn_files.load_schema(), format_checker=None)


def errors(doc: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)
    ]


@pytest.fixture(scope="module")
def doc(release: Path) -> dict:
    return json.loads((release / "dumps" / cn_files.JSON_FILE).read_text(encoding="utf-8"))


def filled_settings() -> Settings:
    return Settings(
        catalog={
            "cn": {
                "class_code": "1",
                "item_code": "01",
                "heading_code": "001",
                "subheading_code": "0001",
                "provider_code": "PROVIDER-CODE",
                "sharing_type": "有条件共享",
                "sharing_condition": "注明来源",
                "sharing_method": "文件下载",
                "opening_type": "无条件开放",
                "update_cycle": "不定期",
                "resource_codes": {
                    "dipkg.ttl": "A/000001",
                    "dipkg.jsonld": "A/000002",
                    "dipkg.nt": "A/000003",
                    "dipkg-scenarios.csv": "A/000004",
                    "dipkg-data-items.csv": "A/000005",
                },
            }
        }
    )


# --- the JSON record and its schema ----------------------------------------------------------
def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(cn_files.load_schema())


def test_the_release_record_validates(doc: dict) -> None:
    assert errors(doc) == []


def test_one_resource_per_dump_and_table(doc: dict, manifest: dict, minter) -> None:
    expected = [
        d["file"]
        for d in manifest["dumps"]
        if d["format"] in ("Turtle", "JSON-LD", "N-Triples", "CSV") and d.get("encoding") is None
    ]
    assert [r["扩展"]["下载地址"] for r in doc["信息资源"]] == [minter.dump(f) for f in expected]
    by_file = {d["file"]: d for d in manifest["dumps"]}
    for r, file in zip(doc["信息资源"], expected, strict=True):
        assert (
            r["扩展"]["SHA-256"] == by_file[file]["sha256"]
            and r["扩展"]["字节数"] == by_file[file]["bytes"]
        )


@pytest.mark.parametrize("table", ["dipkg-scenarios.csv", "dipkg-data-items.csv"])
def test_a_tables_columns_are_its_items(doc: dict, release: Path, minter, table: str) -> None:
    (resource,) = [r for r in doc["信息资源"] if r["扩展"]["下载地址"] == minter.dump(table)]
    with (release / "dumps" / table).open(
        encoding="utf-8-sig", newline=""
    ) as handle:  # Excel's BOM
        header = next(csv.reader(handle))
    assert [i["字段名"] for i in resource["信息项信息"]] == header
    meta = json.loads((release / "dumps" / f"{table}-metadata.json").read_text(encoding="utf-8"))
    types = {c["name"]: c["datatype"] for c in meta["tableSchema"]["columns"]}
    for item in resource["信息项信息"]:
        assert (
            item["数据类型"]
            == {"integer": "整型", "string": "字符型", "anyURI": "字符型", "boolean": "逻辑型"}[
                types[item["字段名"]]
            ]
        )
    assert resource["信息资源格式"] == {"格式分类": "电子表格", "格式类型": "CSV"}


def test_defaults_leave_what_the_data_cannot_say_empty(doc: dict) -> None:
    """Nothing guessed: classification, codes, sharing, opening, update cycle are null and
    listed."""
    for r in doc["信息资源"]:
        assert set(r["信息资源分类"].values()) == {None}
        assert r["信息资源代码"] is None and r["信息资源提供方代码"] is None
        assert set(r["共享属性"].values()) == {None} and set(r["开放属性"].values()) == {None}
        assert r["更新周期"] is None and r["关联资源代码"] == []
        assert r["信息资源提供方"] == Settings().catalog.publisher_name_zh
        # no release date is set: the inputs' own (guides.toml `edited`), never a clock's
        assert (
            r["发布日期"]
            == catalog_cn.ReleaseDates.of(Settings()).issued
            == load_inputs(INPUTS_DIR).edited
        )
    assert {
        "信息资源分类.类",
        "信息资源代码",
        "信息资源提供方代码",
        "共享属性.共享类型",
        "开放属性.开放类型",
        "更新周期",
    } <= set(doc["待填写"])


def test_settings_fill_the_record_in(build_result, minter) -> None:
    dumps = build_result.manifest.dumps
    doc = catalog_cn.record(filled_settings(), minter, dumps)
    assert errors(doc) == []
    assert doc["待填写"] == []
    ttl = next(r for r in doc["信息资源"] if r["扩展"]["下载地址"].endswith("/dipkg.ttl"))
    assert ttl["信息资源分类"] == {"类": "1", "项": "01", "目": "001", "细目": "0001"}
    assert ttl["信息资源代码"] == "A/000001" and ttl["关联资源代码"] == [
        "A/000002",
        "A/000003",
        "A/000004",
        "A/000005",
    ]
    assert ttl["共享属性"] == {
        "共享类型": "有条件共享",
        "共享条件": "注明来源",
        "共享方式": "文件下载",
    }
    # a resource without a code of its own is still to be filled in
    partial = catalog_cn.record(
        Settings(catalog={"cn": {"resource_codes": {"dipkg.ttl": "A/1"}}}),
        minter,
        dumps,
    )
    assert "信息资源代码" in partial["待填写"]


@pytest.mark.parametrize("key,value", [("sharing_type", "部分共享"), ("opening_type", "开放")])
def test_settings_refuse_a_type_the_guide_does_not_have(key: str, value: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="must be one of"):
        Settings(catalog={"cn": {key: value}})


def _break(doc: dict, how: str) -> dict:
    bad = copy.deepcopy(doc)
    r = bad["信息资源"][0]
    csv_r = next(x for x in bad["信息资源"] if x["信息资源格式"]["格式分类"] == "电子表格")
    if how == "no name":
        del r["信息资源名称"]
    elif how == "empty name":
        r["信息资源名称"] = ""
    elif how == "unknown sharing type":
        r["共享属性"]["共享类型"] = "部分共享"
    elif how == "conditional sharing without a condition":
        r["共享属性"]["共享类型"] = "有条件共享"
    elif how == "unknown data type":
        csv_r["信息项信息"][0]["数据类型"] = "string"
    elif how == "table without items":
        csv_r["信息项信息"] = []
    elif how == "unknown format class":
        r["信息资源格式"]["格式分类"] = "RDF"
    elif how == "date not YYYY-MM-DD":
        r["发布日期"] = "2026/11/24"
    elif how == "a field the guide does not have":
        r["备注"] = "x"
    elif how == "no resources":
        bad["信息资源"] = []
    return bad


@pytest.mark.parametrize(
    "how",
    [
        "no name",
        "empty name",
        "unknown sharing type",
        "conditional sharing without a condition",
        "unknown data type",
        "table without items",
        "unknown format class",
        "date not YYYY-MM-DD",
        "a field the guide does not have",
        "no resources",
    ],
)
def test_a_known_bad_record_fails(doc: dict, how: str) -> None:
    assert errors(_break(doc, how)), how


# --- the sheet --------------------------------------------------------------------------------
def test_the_sheet_has_the_clerks_layout(doc: dict, release: Path) -> None:
    book = openpyxl.load_workbook(release / "dumps" / cn_files.XLSX_FILE, read_only=True)
    assert book.sheetnames == [catalog_cn.RESOURCE_SHEET, catalog_cn.ITEM_SHEET]
    rows = list(book[catalog_cn.RESOURCE_SHEET].iter_rows(values_only=True))
    assert rows[0] == catalog_cn.RESOURCE_COLUMNS
    assert len(rows) == 1 + len(doc["信息资源"])
    for n, (row, r) in enumerate(zip(rows[1:], doc["信息资源"], strict=True), start=1):
        assert list(row) == catalog_cn.resource_row(n, r)  # null -> an empty cell
    items = list(book[catalog_cn.ITEM_SHEET].iter_rows(values_only=True))
    assert items[0] == catalog_cn.ITEM_COLUMNS
    assert len(items) - 1 == sum(len(r["信息项信息"]) for r in doc["信息资源"])
    assert {row[6] for row in items[1:]} <= {"字符型", "整型", "逻辑型"}
    assert (
        book.properties.created.date().isoformat() == catalog_cn.ReleaseDates.of(Settings()).issued
    )


def test_two_writes_give_identical_bytes(
    tmp_path: Path, release: Path, build_result, minter
) -> None:
    manifest = build_result.manifest
    dumps = [d for d in manifest.dumps if d.format not in ("JSON", "XLSX")]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        entries, _ = catalog_cn.write(Settings(), minter, dumps, tmp_path / name)
        # the typed entries it returns are the manifest's, "rows": null and all
        listed = [manifest.dump(cn_files.JSON_FILE), manifest.dump(cn_files.XLSX_FILE)]
        assert [e.to_json() for e in entries] == [e.to_json() for e in listed if e]
    for file in (cn_files.JSON_FILE, cn_files.XLSX_FILE):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
        assert (tmp_path / "a" / file).read_bytes() == (release / "dumps" / file).read_bytes()


# --- in the DCAT record and on the site -------------------------------------------------------
@pytest.mark.parametrize("file,code", [(cn_files.JSON_FILE, "JSON"), (cn_files.XLSX_FILE, "XLSX")])
def test_listed_as_a_distribution(record: rdflib.Graph, minter, file: str, code: str) -> None:
    url = URIRef(minter.dump(file))
    (dist,) = record.subjects(DCAT.downloadURL, url)
    assert (URIRef(minter.dataset()), DCAT.distribution, dist) in record
    assert record.value(dist, DCT["format"]) == URIRef(FILE_TYPE + code)
    assert any("政务信息资源目录" in str(t) for t in record.objects(dist, DCT.title))


@pytest.fixture(scope="module")
def client(built_data: Path) -> Iterator[TestClient]:
    from tests.conftest import StandInPool

    with TestClient(create_app(Settings(), open_release(built_data), pool=StandInPool())) as c:
        yield c


def test_served_and_listed_under_dumps(client: TestClient, release: Path) -> None:
    for file in (cn_files.JSON_FILE, cn_files.XLSX_FILE):
        answer = client.get(f"/dumps/{file}")
        assert (
            answer.status_code == 200 and answer.content == (release / "dumps" / file).read_bytes()
        )
    assert (
        client.get(f"/dumps/{cn_files.XLSX_FILE}").headers["content-type"]
        == cn_files.XLSX_MEDIA_TYPE
    )
    page = client.get("/dumps/", headers={"Accept": "text/html"}).text
    assert f'href="http://testserver/dumps/{cn_files.JSON_FILE}"' in page


def test_the_schema_is_served_and_the_json_distribution_conforms_to_it(
    client: TestClient, record, minter
) -> None:
    answer = client.get("/" + cn_files.SCHEMA_URL_PATH)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/schema+json"
    assert answer.json() == cn_files.load_schema()
    served = jsonschema.Draft202012Validator(answer.json())
    assert not list(served.iter_errors(client.get(f"/dumps/{cn_files.JSON_FILE}").json()))
    (dist,) = record.subjects(DCAT.downloadURL, URIRef(minter.dump(cn_files.JSON_FILE)))
    schema_iri = URIRef(minter.resource(cn_files.SCHEMA_URL_PATH))
    assert (
        record.value(dist, DCT.conformsTo) == schema_iri
        and (schema_iri, rdflib.RDF.type, DCT.Standard) in record
    )


def test_a_release_without_dates_says_so_and_stays_deterministic(
    tmp_path: Path, build_result, minter
) -> None:
    """Release dates the build derives (or has none of) are passed in; unknown is null, to fill
    in."""
    dumps = [d for d in build_result.manifest.dumps if d.format not in ("JSON", "XLSX")]
    unknown = catalog_cn.ReleaseDates(version=None, issued=None, modified=None)
    doc = catalog_cn.record(Settings(), minter, dumps, dates=unknown)
    assert errors(doc) == [] and "发布日期" in doc["待填写"]
    assert {r["发布日期"] for r in doc["信息资源"]} == {None}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        catalog_cn.write(Settings(), minter, dumps, tmp_path / name, dates=unknown)
    assert (tmp_path / "a" / cn_files.XLSX_FILE).read_bytes() == (
        tmp_path / "b" / cn_files.XLSX_FILE
    ).read_bytes()
    given = catalog_cn.record(
        Settings(),
        minter,
        dumps,
        dates=catalog_cn.ReleaseDates(version="3", issued="2027-02-03", modified="2027-02-04"),
    )
    assert {r["发布日期"] for r in given["信息资源"]} == {"2027-02-03"} and given["数据集"][
        "版本"
    ] == "3"
    bad = copy.deepcopy(given)
    bad["信息资源"][0]["发布日期"] = "2027-2-3"
    assert errors(bad)
