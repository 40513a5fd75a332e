"""The question library (build/queries/*.rq, kg/queries.py).

Each query's answer is checked against the real build. The expected values were
written down by reading tests/golden/extraction.yaml (the document) and the
vocabulary tables, not by running the queries: e.g. scenario 2 has 2 + 6 + 10 +
4 + 3 + 3 = 28 fields and scenario 5 has (2 + 10) + 3 + 6 + 4 + 3 = 28.
Answers that list things joined with GROUP_CONCAT are compared as sets.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest

from dipkg.core.errors import SourceError
from kg.queries import ExampleQuery, load_queries, parse_query_file

QUERIES = {q.id: q for q in load_queries()}


@pytest.fixture(scope="module")
def store(build_result) -> pyoxigraph.Store:
    return pyoxigraph.Store.read_only(str(build_result.release / "store"))


def rows(store: pyoxigraph.Store, query_id: str) -> list[dict[str, str]]:
    result = store.query(QUERIES[query_id].text)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in result]


def split(text: str, sep: str) -> set[str]:
    return set(text.split(sep)) if text else set()


# -- the library ---------------------------------------------------------------


def test_library_has_at_least_15_questions_with_bilingual_front_matter():
    assert len(QUERIES) >= 15
    for query in QUERIES.values():
        assert isinstance(query, ExampleQuery)
        assert set(query.titles) == set(query.descriptions) == {"zh", "en"}
        assert all(query.titles.values()) and all(query.descriptions.values())
        assert query.text.lstrip().startswith("PREFIX"), query.id
        assert not query.text.startswith("#")
    assert list(QUERIES) == sorted(QUERIES)


def test_every_query_has_a_test():
    tested = {
        name.removeprefix("test_q").split("_", 1)[0]
        for name in globals()
        if name.startswith("test_q")
    }
    assert {qid[:2] for qid in QUERIES} <= tested


# -- each question's answer ------------------------------------------------------


def test_q01_scenarios_per_domain(store):
    found = {
        r["domainEn"]: (int(r["scenarios"]), split(r["numbers"], ", "))
        for r in rows(store, "01-scenarios-per-domain")
    }
    assert found == {
        "Industry": (6, {"1", "2", "3", "4", "5", "6"}),
        "Transport": (2, {"7", "8"}),
        "Culture and tourism": (5, {"9", "10", "11", "12", "13"}),
        "Finance": (3, {"14", "15", "16"}),
        "Other": (7, {"17", "18", "19", "20", "21", "22", "23"}),
    }


def test_q02_scenarios_needing_temperature(store):
    found = {
        int(r["number"]): split(r["items"], "、")
        for r in rows(store, "02-scenarios-needing-temperature")
    }
    assert found == {
        1: {"电解质温度", "电解槽槽温"},
        2: {"反应温度", "反应釜温度", "泵类设备温度"},
        3: {"温度", "水温"},
        5: {"温度", "温湿度"},
        7: {"温度"},  # not 温度荷载: a thermal load is a load, not a temperature
        9: {"景区内温度"},
        17: {"牛舍温度"},
        18: {"气温"},
        19: {"温度", "仓储环境温度", "温湿度"},
    }


def test_q03_data_kinds_shared_by_domains(store):
    found = {
        r["notation"]: (int(r["domains"]), int(r["scenarios"]))
        for r in rows(store, "03-data-kinds-shared-by-domains")
    }
    expected = {
        "humidity": (4, 7),  # mine, equipment, bridge, scenic area, cattle shed, weather, warehouse
        "temperature": (
            3,
            4,
        ),  # mine and equipment (industry), bridge (transport), processing (other)
        "age": (
            3,
            7,
        ),  # tourism 9/12/13, finance 15, other 20/21/22 (the cattle's age is another kind)
        "gender": (3, 7),
        "environmental-data": (3, 3),  # 环境数据 in 7 and 9, 环境 in 19
        "electricity-consumption": (2, 4),  # 电力消耗 1/2, 电耗 6, 用电量数据 16
        "logistics-data": (2, 3),  # 物流运输数据 4, 物流数据 19/20
        "product-quality-inspection-data": (2, 3),  # 1, 2 and 检测数据 19
        "price": (2, 3),  # 12, 13, 20
        "order-volume": (2, 2),  # 订单量 14, 下单量 20
        "transport-route": (2, 2),  # 4, 19
        "rainfall": (2, 2),  # 7, 18
        "occupation": (2, 2),  # 12, 15
        "income": (2, 2),
    }
    for notation, counts in expected.items():
        assert found.get(notation) == counts, notation
    for single_domain in (
        "equipment-operation-data",
        "electrolyte-temperature",
        "medical-imaging-data",
        "livestock-age",
    ):
        assert single_domain not in found
    assert all(domains >= 2 for domains, _ in found.values())


def test_q04_scenario_with_most_fields(store):
    found = [
        (int(r["number"]), r["scenarioZh"], int(r["fields"]))
        for r in rows(store, "04-scenario-with-most-fields")
    ]
    assert found == [(2, "智能生产管控", 28), (5, "设备运行监控", 28)]


def test_q05_data_scenario_19_shares(store):
    found = {
        r["notation"]: split(r["otherScenarios"], ", ")
        for r in rows(store, "05-data-a-scenario-shares")
    }
    assert found == {
        "environmental-data": {"7", "9"},
        "humidity": {"3", "5", "7", "9", "17", "18"},
        "temperature": {"3", "5", "7"},
        "temperature-and-humidity": {"5"},
        "logistics-data": {"4", "20"},
        "transport-route": {"4"},
        "product-quality-inspection-data": {"1", "2"},
    }


def test_q06_sensitive_personal_information(store):
    found: dict[int, dict[str, set[str]]] = {}
    for r in rows(store, "06-sensitive-personal-information"):
        found.setdefault(int(r["number"]), {})[r["categoryEn"]] = split(r["items"], "、")
    assert {n: set(c) for n, c in found.items()} == {
        3: {"Whereabouts information"},
        8: {"Whereabouts information"},
        15: {"Financial account information", "Whereabouts information"},
        21: {"Medical and health information"},
        22: {"Medical and health information"},
        23: {"Medical and health information"},
    }
    assert found[3]["Whereabouts information"] == {"人员定位数据", "井下人员位置", "移动轨迹"}
    assert found[8]["Whereabouts information"] == {
        "车辆轨迹数据",
        "出租车 GPS 轨迹",
        "网约车 GPS 轨迹",
        "私家车 GPS 轨迹",
    }
    assert found[15]["Whereabouts information"] == {"出行记录"}
    assert found[15]["Financial account information"] == {
        "信用数据",
        "信用卡使用记录",
        "贷款还款记录",
        "逾期记录",
        "存款",
        "投资",
    }
    assert "体重" in found[22]["Medical and health information"]
    # The medical knowledge graph and clinical guidelines of scenario 23 are not about a person.
    assert (
        not {"疾病分类", "治疗方案", "临床指南数据"} & found[23]["Medical and health information"]
    )


def test_q07_fields_without_english_label_is_empty(store):
    assert rows(store, "07-fields-without-english-label") == []


def test_q07_would_find_a_field_without_english_label():
    store = pyoxigraph.Store()
    store.load(
        b"<http://x/f> a <https://w3id.org/dipkg/ontology#DataField> ; "
        b'<http://www.w3.org/2000/01/rdf-schema#label> "\xe6\xb8\xa9\xe5\xba\xa6"@zh .',
        format=pyoxigraph.RdfFormat.TURTLE,
    )
    assert [
        row["item"].value for row in store.query(QUERIES["07-fields-without-english-label"].text)
    ] == ["http://x/f"]


def test_q08_finance_and_industry(store):
    found = {r["notation"] for r in rows(store, "08-finance-and-industry")}
    # 用电量数据 (16) / 电力消耗, 电耗; 库存 (14) / 原材料库存 (4);
    # 成立时间 (14) / 反应时间, 事故时间.
    assert found == {"electricity-consumption", "inventory", "time"}


def test_q09_categories_with_qualifiers(store):
    found = {
        (int(r["number"]), r["categoryZh"], r["qualifierZh"])
        for r in rows(store, "09-categories-with-qualifiers")
    }
    assert found == {
        (3, "设备运行状态数据", "采煤机、掘进机、通风机、运输机"),
        (4, "产业链协同数据", "“煤电铝一体化” 模式中的动态平衡"),
        (6, "设备级能效数据", "关键耗能设备"),
        (7, "桥梁结构数据", "梁体、桥墩、支座、桥面"),
        (8, "公共交通数据", "公交、地铁"),
        (9, "交通数据", "景区周边"),
        (10, "结构化存储层", "纹样"),
        (11, "社交媒体数据", "微博、微信、抖音等平台"),
        (12, "竞争对手数据", "周边乡村旅游点"),
        (13, "实时住宿数据", "酒店、民宿"),
        (13, "旅游攻略数据", "各类游客撰写"),
        (21, "医学影像数据", "远程传输"),
        (23, "患者症状描述数据", "文本或语音形式描述"),
    }


def test_q10_example_contexts(store):
    found = [(int(r["number"]), r["exampleZh"]) for r in rows(store, "10-example-contexts")]
    assert found == [
        (1, "电解铝生产"),
        (2, "磷化工智能化"),
        (3, "采矿业"),
        (7, "桥梁"),
        (17, "黄牛"),
    ]


def test_q11_most_used_data_kinds(store):
    found = [(r["notation"], int(r["scenarios"])) for r in rows(store, "11-most-used-data-kinds")]
    assert found == [
        ("age", 7),
        ("gender", 7),
        ("humidity", 7),
        ("electricity-consumption", 4),  # 1, 2, 6, 16
        ("equipment-operation-data", 4),  # 1, 2, 3, 5
        ("temperature", 4),  # 3, 5, 7, 19
    ]


def test_q12_scenarios_with_personal_information(store):
    found = {
        int(r["number"]): int(r["personalItems"])
        for r in rows(store, "12-scenarios-with-personal-information")
    }
    assert set(found) == {3, 8, 9, 11, 12, 13, 14, 15, 20, 21, 22, 23}
    assert found[14] == 1  # 法人信息 only
    assert found[3] == 4  # 人员定位数据, 井下人员位置, 移动轨迹, 工作时长
    assert (
        found[22] == 1 + 4 + 1 + 5 + 1 + 4 + 1 + 3 + 1 + 2 + 1 + 3
    )  # every category and field of 22
    # The cattle of scenario 17 have an age and a weight, but no personal information.
    assert 17 not in found


def test_q13_names_of_equipment_operation_data(store):
    found = [
        (int(r["number"]), r["labelZh"])
        for r in rows(store, "13-names-of-equipment-operation-data")
    ]
    assert found == [
        (1, "设备运行数据"),
        (2, "设备运行数据"),
        (3, "设备运行状态数据"),
        (5, "设备状态数据"),
    ]


def test_q14_electricity_consumption_across_domains(store):
    found = {
        (r["domainEn"], int(r["number"]), r["labelZh"])
        for r in rows(store, "14-electricity-consumption-across-domains")
    }
    assert found == {
        ("Industry", 1, "电力消耗"),
        ("Industry", 2, "电力消耗"),
        ("Industry", 6, "各生产线/车间实时用电量"),
        ("Industry", 6, "电耗"),
        ("Finance", 16, "用电量数据"),
    }


def test_q15_what_scenarios_21_and_23_have_in_common(store):
    found = {
        r["notation"]: (r["inFirst"], r["inSecond"])
        for r in rows(store, "15-what-two-scenarios-have-in-common")
    }
    assert found == {
        "medical-history": ("既往病史", "患者病史数据"),
        "laboratory-test-data": ("检验数据", "检验检测数据"),
        "complete-blood-count": ("血常规", "血常规"),
        "biochemical-indicators": ("生化指标", "生化指标"),
        "medical-imaging-data": ("医学影像数据", "影像检查结果"),
        "x-ray-image": ("X 光片", "X 光图像"),
        "ct-image": ("CT 片", "CT 图像"),
    }


def test_q16_links_to_qudt(store):
    found = {
        r["notation"]: (r["quantityKind"].rsplit("/", 1)[1], int(r["scenarios"]))
        for r in rows(store, "16-links-to-qudt")
    }
    assert found == {
        "temperature": ("Temperature", 9),  # the 9 scenarios of q02
        "pressure": ("Pressure", 4),  # 2, 3 (顶板压力, 煤层瓦斯压力), 5, 18
        "air-pressure": ("AtmosphericPressure", 1),  # 5
        "flow-rate": ("VolumeFlowRate", 3),  # 2, 5, 18
        "voltage": ("Voltage", 3),  # 1 (槽压), 3, 5
        "electric-current": ("ElectricCurrent", 3),  # 1 (电流强度), 3, 5
        "power": ("Power", 1),  # 5
        "frequency": ("Frequency", 2),  # 5, 7 (振动频率)
        "light-intensity": ("Illuminance", 2),  # 5, 17 (光照)
    }


# -- the loader's errors -----------------------------------------------------------

GOOD = """# title@zh: 标题
# title@en: Title
# description@zh: 说明
# description@en: Description
SELECT * WHERE { ?s ?p ?o }
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loader_reads_a_good_file(tmp_path):
    write(tmp_path, "01-good.rq", GOOD)
    [query] = load_queries(tmp_path)
    assert query.id == "01-good"
    assert query.titles == {"zh": "标题", "en": "Title"}
    assert query.descriptions == {"zh": "说明", "en": "Description"}
    assert query.text == "SELECT * WHERE { ?s ?p ?o }\n"
    assert query.to_dict()["title"] == {"zh": "标题", "en": "Title"}


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("01-x.rq", GOOD.replace("# title@en: Title\n", ""), 1, "no title@en"),
        (
            "01-x.rq",
            GOOD.replace("# description@zh: 说明", "# description@zh:"),
            3,
            "description@zh is empty",
        ),
        (
            "01-x.rq",
            GOOD.replace("# title@en: Title", "# title@en: Title\n# title@en: Again"),
            3,
            "given twice",
        ),
        (
            "01-x.rq",
            GOOD.replace("# title@en: Title", "# author@en: Me"),
            2,
            "unknown front matter key",
        ),
        (
            "01-x.rq",
            GOOD.replace("# title@en: Title", "# title@fr: Titre"),
            2,
            "unknown front matter key",
        ),
        (
            "01-x.rq",
            GOOD.replace("# title@en: Title", "# just a comment"),
            2,
            "front matter lines look like",
        ),
        ("01-x.rq", GOOD.replace("SELECT * WHERE { ?s ?p ?o }\n", ""), 5, "no query"),
        (
            "01-x.rq",
            GOOD.replace("SELECT * WHERE { ?s ?p ?o }", "SELEKT nothing"),
            5,
            "not a valid SPARQL query",
        ),
    ],
)
def test_loader_rejects_bad_front_matter(tmp_path, name, text, line, message):
    path = write(tmp_path, name, text)
    with pytest.raises(SourceError, match=message) as caught:
        parse_query_file(path)
    assert caught.value.line == line
    assert caught.value.file and caught.value.file.endswith(name)
    assert str(caught.value).count("\n") == 0


def test_loader_rejects_bad_names_and_duplicate_numbers(tmp_path):
    write(tmp_path, "1-bad.rq", GOOD)
    with pytest.raises(SourceError, match="NN-slug"):
        load_queries(tmp_path)
    (tmp_path / "1-bad.rq").unlink()
    write(tmp_path, "01-a.rq", GOOD)
    write(tmp_path, "01-b.rq", GOOD)
    with pytest.raises(SourceError, match="used twice"):
        load_queries(tmp_path)
    with pytest.raises(SourceError, match="missing"):
        load_queries(tmp_path / "nowhere")
