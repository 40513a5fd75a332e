"""The search index of a release (kg/search.py writes it, dipkg/core/search_index.py reads it):
built with the release, deterministic, segmenting Chinese and stemming English, expanding data
kinds; and data matching."""

from __future__ import annotations

import hashlib
import json

import pyoxigraph
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dipkg.core import search_index
from dipkg.core.search_index import (
    INDEX_FILE,
    LONGEST,
    MAX_QUERY,
    SearchError,
    SearchIndex,
    highlight,
)
from kg.build import build

# Realistic inputs: the data a person in each field holds, in their words, read from the
# document's 涉及数据 cells (tests/golden/extraction.yaml) -> the scenario that should come first.
MATCH_TABLE = [
    ("土壤墒情、降雨量、施肥量", 18),  # a farm: 智慧灌溉与施肥系统
    ("rainfall, soil moisture, air temperature", 18),  # the same, in English
    ("blood pressure, heart rate", 22),  # a clinic: 慢性病管理与预警
    ("牛舍温度，饲料种类，体重，氨气浓度", 17),  # a cattle farm: 现代化养殖
    ("道路断面车流量\n信号灯配时\n出租车GPS轨迹", 8),  # traffic police: 城市智慧交通
    ("电力消耗、电解质温度、氧化铝浓度", 1),  # an aluminium smelter: 生产工艺优化
    ("游客数量, 门票价格, 酒店预订", 9),  # a scenic area: 智慧旅游服务
]


@pytest.fixture(scope="module")
def index(build_result) -> SearchIndex:
    return SearchIndex.load(build_result.release)


def slugs(results):
    return [r["iri"].rsplit("/", 1)[1] for r in results]


def test_index_is_in_the_release_and_the_manifest(build_result):
    import sqlite3

    path = build_result.release / INDEX_FILE
    entry = build_result.manifest.search
    assert entry.file == INDEX_FILE and entry.bytes == path.stat().st_size
    assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM docs GROUP BY kind"))
    finally:
        db.close()
    assert set(kinds) == {"scenario", "category", "field", "concept"}
    assert kinds["scenario"] == build_result.manifest.counts.scenarios
    assert kinds["field"] == build_result.manifest.counts.fields


def test_two_builds_write_the_same_index(build_result, tmp_path, settings):
    again = build(tmp_path / "again", settings)
    assert (again.release / INDEX_FILE).read_bytes() == (
        build_result.release / INDEX_FILE
    ).read_bytes()


def test_temperature_finds_its_narrower_kinds(index):
    result = index.search("温度", limit=100)
    iris = [r["iri"] for r in result["results"]]
    assert slugs(result["results"])[0] == "temperature"  # the kind itself first
    for kind in ("air-temperature", "cattle-shed-temperature", "electrolyte-temperature"):
        assert any(i.endswith("/concept/" + kind) for i in iris), kind
    # 气温 (field of scenario 18) has no 温度 in its label: found through its kind, with the path
    air = next(r for r in result["results"] if r["kind"] == "field" and r["label"]["zh"] == "气温")
    assert [[c["label"]["zh"] for c in path] for path in air["via"]] == [["温度", "气温"]]
    scenarios = sorted(r["number"] for r in result["results"] if r["kind"] == "scenario")
    assert scenarios == [
        1,
        2,
        3,
        5,
        7,
        9,
        17,
        18,
        19,
    ]  # README: "Which scenarios need temperature data?"


def test_english_is_stemmed_and_chinese_segmented(index):
    assert slugs(index.search("temperatures")["results"])[0] == "temperature"
    assert slugs(index.search("Blood Pressure")["results"])[0] == "blood-pressure"
    terms, _ = index.query_terms("降雨量数据")
    assert (
        "降雨量" in terms and "数据" in terms
    )  # one run of characters, cut into the index's words
    results = index.search("养殖环境的氨气浓度")["results"]
    assert (
        results[0]["kind"] == "scenario" and results[0]["number"] == 17
    )  # 现代化养殖 holds every word
    assert "氨气浓度" in [r["label"]["zh"] for r in results[:4]]


@pytest.mark.parametrize(
    ("typed", "domain"),
    [("finance", "finance"), ("金融", "finance"), ("工业", "industry"), ("Transport", "transport")],
)
def test_a_domains_name_finds_its_scenarios(index, build_result, typed, domain):
    """A person typing a domain's name (金融, finance) means its scenarios: each is found,
    whether or not its own label or text says so (three finance scenarios, two of them
    named for credit; before, "finance" found one). Its items are not (their domain is a
    facet): "industry" would otherwise list hundreds."""
    iri = f"https://w3id.org/dipkg/domain/{domain}"
    store = pyoxigraph.Store.read_only(str(build_result.release / "store"))
    dip = "https://w3id.org/dipkg/ontology#"
    own = {
        r["s"].value.rsplit("/", 1)[1]
        for r in store.query(f"SELECT ?s WHERE {{ ?s <{dip}domain> <{iri}> }}")
    }
    found = index.search(typed, kind="scenario", limit=100)["results"]
    assert own and own <= set(slugs(found))
    everything = index.search(typed, limit=100)["results"]
    by_domain = [r for r in everything if r["kind"] != "scenario" and not _named(r, typed)]
    assert not by_domain, [r["label"] for r in by_domain]


@pytest.mark.parametrize("fmt", [3, 99])
def test_an_index_of_an_earlier_format_is_read_and_an_unknown_one_refused(
    build_result, tmp_path, fmt
):
    """A release built before format 4 (no domain field) is searched as it was, so a new
    server serves it until it is rebuilt; an unknown format is refused with the error that
    says to rebuild (503 ``no-search-index`` on the site), not read wrongly."""
    import shutil
    import sqlite3

    shutil.copy(build_result.release / INDEX_FILE, tmp_path / INDEX_FILE)
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(fmt),))
        db.execute("DELETE FROM postings WHERE field = 4")
    db.close()
    if fmt == 99:
        with pytest.raises(search_index.IndexMissing, match="unknown format: rebuild it"):
            SearchIndex.load(tmp_path)
        return
    old = SearchIndex.load(tmp_path)
    assert slugs(old.search("温度")["results"])[0] == "temperature"
    assert len(old.search("finance", kind="scenario")["results"]) == 1  # as before format 4


def _named(result, typed):
    """Whether a result's labels or its data kinds' say ``typed`` (a match of its own)."""
    text = " ".join([*result["label"].values(), *result.get("alt", [])]).lower()
    stem = typed.lower()[:5]
    return stem in text or "via" in result


def test_a_field_says_its_category(index):
    """Scenario 3 has two fields named 温度 (in 井下环境数据 and 设备运行状态数据): results
    that looked the same say their category (its own label, from the index), a nested
    field its parent; a category or scenario has none."""
    fields = index.search("温度", kind="field", limit=100)["results"]
    s03 = {r["iri"].rsplit("/", 1)[1]: r["category"] for r in fields if "-s03/" in r["iri"]}
    assert s03["1.4"]["label"]["zh"] == "井下环境数据"
    assert s03["3.2"]["label"]["zh"] == "设备运行状态数据"
    for r in fields:
        assert r["category"]["iri"] == r["iri"].rsplit(".", 1)[0]
    others = index.search("温度", kind="category", limit=100)["results"]
    others += index.search("温度", kind="scenario", limit=100)["results"]
    assert others and not any("category" in r for r in others)


def test_highlight_marks_the_matched_words():
    assert highlight("牛舍温度", ["温度"]) == [["牛舍", False], ["温度", True]]
    assert highlight("Cattle shed temperature", ["temperatures"]) == [
        ["Cattle shed ", False],
        ["temperature", True],
    ]
    assert highlight("湿度", ["温度"]) == [["湿度", False]]


def test_facets_filter_and_count(index):
    everything = index.search("年龄", limit=100)
    kinds = {f["value"]: f["count"] for f in everything["facets"]["kind"]}
    assert kinds["field"] >= 2 and sum(kinds.values()) == everything["total"]
    only = index.search("年龄", kind="scenario", limit=100)
    assert only["results"] and {r["kind"] for r in only["results"]} == {"scenario"}
    personal = index.search("年龄", pi=True, limit=100)["results"]
    assert personal and all(r["personal_information"] for r in personal)
    industry = "https://w3id.org/dipkg/domain/industry"
    assert all(
        industry in [d["iri"] for d in r["domains"]]
        for r in index.search("温度", domain=industry, limit=100)["results"]
    )


def test_silly_and_bounded_queries(index):
    assert index.search("")["total"] == 0
    assert index.search("xyzzy !!! %%%")["total"] == 0
    assert index.search("的")["total"] >= 0  # a lone character: no error
    with pytest.raises(SearchError, match="at most 200"):
        index.search("温" * (MAX_QUERY + 1))
    with pytest.raises(SearchError, match="unknown kind"):
        index.search("温度", kind="planet")
    # a domain that is none of the index's: said, not an empty answer; its last segment works
    with pytest.raises(SearchError, match="unknown domain 'planet' .*industry"):
        index.search("温度", domain="planet")
    by_iri = index.search("温度", domain="https://w3id.org/dipkg/domain/industry")
    assert by_iri["total"] and index.search("温度", domain="industry") == by_iri
    assert len(index.search("数据", limit=10_000)["results"]) <= 100


def test_suggestions(index):
    texts = [s["text"] for s in index.suggest("温")]
    assert texts[0] == "温度" and "温湿度" in texts
    assert "牛舍温度" in [s["text"] for s in index.suggest("温度", limit=30)]  # inside a label
    assert [s["text"] for s in index.suggest("blood")][:1] == ["Blood glucose"]
    assert index.suggest("") == []


@pytest.mark.parametrize(
    "traditional,simplified",
    [
        ("溫度", "温度"),
        ("電解鋁", "电解铝"),
        ("濕度", "湿度"),
        ("氣溫", "气温"),
        ("溫度 荷載", "温度 荷载"),
    ],
)
def test_traditional_characters_search_as_simplified(index, traditional, simplified):
    """A person who types traditional characters (溫度) gets what the simplified word gets:
    before, 溫 was unknown and only 度 was searched (3 results, none about temperature)."""
    assert (
        index.search(traditional, limit=100)["results"]
        == (index.search(simplified, limit=100)["results"])
    )
    assert index.search(traditional)["query"] == traditional  # echoed as typed


def test_traditional_characters_suggest_and_match(index):
    assert index.suggest("溫") == index.suggest("温")
    typed = {"電力消耗": "电力消耗", "氧化鋁濃度": "氧化铝浓度", "電解質溫度": "电解质温度"}
    found = json.dumps(index.match("、".join(typed)), ensure_ascii=False)
    assert all(f'"input": "{t}"' in found for t in typed)  # echoed as typed
    for t, s in typed.items():
        found = found.replace(f'"input": "{t}"', f'"input": "{s}"')
    assert json.loads(found) == index.match("、".join(typed.values()))


@pytest.mark.parametrize(
    "typed", ["温度。", "温度？", '"温度"', "“温度”", "《温度》", "（温度）", " 温度 "]
)
def test_punctuation_around_a_label_still_ranks_the_label_first(index, typed):
    """A label typed or pasted with punctuation around it still names that label: the
    kind 温度 came first for 温度 but not for 温度。 or 《温度》 (牛舍温度 did)."""
    assert index.search(typed)["results"][:3] == index.search("温度")["results"][:3]
    assert slugs(index.search(typed)["results"])[0] == "temperature"


def test_a_lone_character_finds_the_words_that_hold_it(index):
    """One Chinese character is rarely a word of the index: 牛 found nothing, 铝 one
    category, 温 nothing. It now stands for the index's words holding it, shortest first."""
    cattle = index.search("牛", limit=100)["results"]
    assert cattle[0]["kind"] == "scenario" and cattle[0]["number"] == 17  # 现代化养殖
    assert "cattle-shed-temperature" in slugs(cattle)
    aluminium = {r["label"]["zh"] for r in index.search("铝", limit=100)["results"]}
    assert {"氧化铝浓度", "铝液纯度", "电解铝产能"} <= aluminium
    assert "temperature" in slugs(index.search("温", limit=100)["results"])
    assert index.holding("温")[0] == "温度"
    _, surfaces = index.query_terms("牛")
    assert surfaces == ["牛"]  # marked where it stands: 牛舍温度 -> [牛]舍温度
    assert index.search("温度")["terms"] == ["温度"]  # a word is searched as before


@pytest.mark.parametrize(("typed", "first"), [("温", "temperature"), ("湿", "humidity")])
def test_a_lone_character_typed_alone_ranks_its_main_word_first(index, typed, first):
    """温 put 温湿度 first and the kind 温度 thirty-first: each word holding 温 weighed by its
    own rarity (a fragment 温湿, a compound 牛舍温度 above 温度), and results holding two of
    them (温湿 and 温湿度) came before. A character typed alone now names its most used
    shortest word in the exact-label tier, as a person typing 温 means 温度."""
    results = index.search(typed)["results"]
    assert slugs(results)[0] == first
    main = index.holding(typed)[0]
    assert [r["label"]["zh"] for r in results[:3]] == [main] * 3  # the kind, then its fields
    cattle = index.search("牛")["results"]  # no word of 牛 is a label: as before
    assert cattle[0]["kind"] == "scenario" and cattle[0]["number"] == 17


@pytest.mark.parametrize("query", ["牛 羊 猪 温度", "铝 温度", "牛 铝 温", "湿度 铝 牛"])
def test_a_lone_characters_words_count_as_that_character(index, query):
    """A lone character's dozen words came first among the query's terms, so four of them
    pushed the typed words past the cut (牛 羊 猪 温度 lost 温度), and each counted as a
    term covered: a result holding three words of 铝 outranked one holding 温度 and a
    word of 铝. Results now come in the order of the words typed they cover (a lone
    character covered by any word holding it)."""
    typed = query.split()

    def covered(matched: list[str]) -> int:
        return sum(
            any(word in t for t in matched) if len(word) == 1 else word in matched for word in typed
        )

    ranked = [covered(r["matched_terms"]) for r in index.search(query, limit=100)["results"]]
    assert ranked == sorted(ranked, reverse=True) and ranked[0] > 1, ranked
    terms = index.search(query)["terms"]
    lone = [t for t in typed if len(t) == 1]
    held = [i for i, t in enumerate(terms) if t not in typed and any(c in t for c in lone)]
    assert all(terms.index(t) < min(held) for t in typed if len(t) > 1)  # typed words first


def test_the_typed_words_survive_many_lone_characters(index):
    many = " ".join("牛铝温湿度压电水气") + " 温度"
    groups, _ = index.analyse(many)
    assert "温度" in groups and groups["温度"] == ["温度"]
    assert index.analyse("牛 羊 猪 温度")[0]["温度"] == ["温度"]
    assert len(groups) <= search_index.MAX_TERMS + search_index.MAX_LONE * search_index.LONE_WORDS
    _, surfaces = index.analyse(many)
    assert "水" in surfaces and "气" not in surfaces  # the 9th lone one is not searched


def test_folding_leaves_simplified_text_alone(build_result):
    """Only traditional characters fold: the source text, every label and text of the graph
    (the N-Triples dump) and every character of GB 2312 read as they are, so the index
    (built from them) is what it was."""
    dumps = build_result.release / "dumps"
    for name in ("source-guizhou-b1.txt", "dipkg.nt"):
        text = (dumps / name).read_text(encoding="utf-8")
        assert search_index.fold(text) == text, name
    gb2312 = "".join(
        bytes([hi, lo]).decode("gb2312", errors="ignore")
        for hi in range(0xB0, 0xF8)
        for lo in range(0xA1, 0xFF)
    )
    assert len(gb2312) > 6700 and search_index.fold(gb2312) == gb2312


@pytest.mark.parametrize(
    "fields,top", MATCH_TABLE, ids=[f"s{t}-{i}" for i, (_, t) in enumerate(MATCH_TABLE)]
)
def test_realistic_inputs_find_their_scenario(index, fields, top):
    result = index.match(fields)
    assert result["scenarios"][0]["number"] == top
    assert not result["unmatched"]
    first = result["scenarios"][0]
    assert first["matched"] >= 2 and first["missing"]  # what it involves, what it still needs


def test_a_name_matched_by_some_of_its_words_covers_its_kind_alone(index):
    """施肥量 names no kind; 施肥 finds 施肥系统数据 (``partial``). Holding it is not holding
    every kind under that category: the farm scenario still needs 肥料种类 and 施肥时间
    (they were left out of what it needs, as if the person held them all). The category's
    own name, typed whole, still covers them."""
    result = index.match("土壤墒情、降雨量、施肥量")
    assert {f["input"]: f["how"] for f in result["fields"]}["施肥量"] == "partial"
    s18 = next(s for s in result["scenarios"] if s["number"] == 18)
    needs = {m["label"]["zh"] for m in s18["missing"]}
    assert {"肥料种类", "施肥时间", "肥料用量"} <= needs
    assert [m["relation"] for m in s18["matches"] if m["input"] == "施肥量"] == ["same"]
    whole = index.match("施肥系统数据")
    assert {f["input"]: f["how"] for f in whole["fields"]}["施肥系统数据"] == "label"
    s18 = next(s for s in whole["scenarios"] if s["number"] == 18)
    assert not {"肥料种类", "施肥时间", "肥料用量"} & {m["label"]["zh"] for m in s18["missing"]}


def test_match_explains_through_the_vocabulary(index):
    result = index.match("温度\n用电量数据\nxyzzy")
    fields = {f["input"]: f for f in result["fields"]}
    assert fields["用电量数据"]["concept"]["iri"].endswith("/electricity-consumption")
    assert fields["用电量数据"]["how"] == "altLabel"
    assert result["unmatched"] == ["xyzzy"]
    s18 = next(s for s in result["scenarios"] if s["number"] == 18)
    air = next(m for m in s18["matches"] if m["input"] == "温度")
    assert air["relation"] == "narrower" and [c["label"]["zh"] for c in air["path"]] == [
        "温度",
        "气温",
    ]
    # a broad area (a top concept) is no bridge: 物理与化学量 matches nothing by itself
    assert index.match("物理与化学量")["scenarios"] == []


def test_match_input_is_bounded(index):
    with pytest.raises(SearchError, match="at most"):
        index.match("、".join(f"字段{i}" for i in range(60)))
    with pytest.raises(SearchError, match="at most 2000"):
        index.match("x" * 2001)
    assert index.match("")["scenarios"] == []
    # one name longer than a search may be is left unmatched; the others still match (the
    # search's own limit failed the whole list with "the query is 300 characters long")
    for long in ("数据" * 150, "\u3392" * 100):  # (100 of ㎒ are 300 characters as searched)
        result = index.match("温度\n" + long)
        assert [f["input"] for f in result["fields"] if f["concept"]] == ["温度"]
        assert result["unmatched"] == [long]


def test_a_search_has_a_time_limit(index, monkeypatch):
    monkeypatch.setattr(search_index, "TIME_LIMIT", 0.0)
    with pytest.raises(search_index.SearchTimeout, match="took longer than"):
        index.search("数据")
    monkeypatch.undo()
    assert index.search("数据")["total"] > 0  # the next query is unaffected


# -- the build's segmenter against jieba with its whole dictionary -------------------------------

# words of the graph's texts and of jieba's dictionary, several the start of another (jieba
# walks a sentence along the prefixes of its words), some long; and single characters
WORDS = (
    "温度 温湿度 温度计 传感器 传感 降雨 降雨量 雨量 数据 数据库 电力 消耗 生产 生产工艺 工艺 "
    "优化 交通 车流量 流量 信号灯 信号 游客 门票 价格 土壤 墒情 施肥 病人 心率 血压 牛舍 "
    "中华人民共和国 人民 共和国 计算机 计算机网络 网络 空气质量 质量 监测 温度传感器 交通信号 "
    "侵华日军南京大屠杀遇难同胞纪念馆 南京 纪念馆"  # jieba's longest words have 16 characters
).split()
ALPHABET = "".join(sorted(set("".join(WORDS)))) + "的和与"
pieces = st.one_of(st.sampled_from(WORDS), st.text(ALPHABET, min_size=1, max_size=3))
texts_of_words = st.lists(pieces, min_size=1, max_size=10).map("".join)


@pytest.fixture(scope="module")
def jieba_whole():
    """jieba as it comes: its whole dictionary loaded by its own ``initialize()``."""
    import jieba

    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def whole_with(jieba_whole, words):
    """jieba with its whole dictionary and the vocabulary's ``words``, as the build made it
    before it held only the words its texts need (the reference to hold Segmenter to): a
    Segmenter whose tokenizer has the whole dictionary and adds nothing per text."""
    import jieba

    from kg.search import Segmenter

    reference = Segmenter(words)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(jieba_whole.FREQ), jieba_whole.total
    tokenizer.initialized = True
    for word in sorted(reference._own):  # the vocabulary's words Segmenter took
        tokenizer.add_word(word, freq=100000)
    reference.tokenizer = tokenizer
    reference._cover = lambda run: None
    return reference.terms


def test_the_segmenter_cuts_the_graphs_texts_as_jieba_with_its_whole_dictionary(
    build_result, jieba_whole
):
    import pyoxigraph

    from kg.search import Segmenter

    store = pyoxigraph.Store.read_only(str(build_result.release / "store"))
    texts = sorted(
        {
            s["o"].value
            for s in store.query('SELECT DISTINCT ?o WHERE { ?s ?p ?o FILTER(lang(?o) = "zh") }')
        }
    )
    labels = sorted(
        {
            s["o"].value
            for s in store.query(
                "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT DISTINCT ?o "
                '{ ?c skos:prefLabel|skos:altLabel ?o FILTER(lang(?o) = "zh") }'
            )
        }
    )
    assert len(texts) > 500 and len(labels) > 100
    segmenter, reference = Segmenter(labels), whole_with(jieba_whole, labels)
    for text in texts:
        assert segmenter.terms(text) == reference(text), text
    # what it holds: the words of these texts, not jieba's ~500,000 words and prefixes
    assert len(segmenter.tokenizer.FREQ) < len(jieba_whole.FREQ) / 20


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.one_of(pieces, texts_of_words), max_size=8),
    texts=st.lists(st.one_of(texts_of_words, st.text(ALPHABET + " ab")), min_size=1, max_size=6),
)
def test_any_texts_cut_as_jieba_with_its_whole_dictionary(jieba_whole, words, texts):
    from kg.search import Segmenter

    segmenter, reference = Segmenter(words), whole_with(jieba_whole, words)
    for text in texts:  # one segmenter for them all, as a build does
        assert segmenter.terms(text) == reference(text)
    assert segmenter.tokenizer.total == jieba_whole.total + 100000 * len(
        {w for w in words if len(w) <= LONGEST}
    )


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (["传感器"], "温度传感器"),  # a label that is a dictionary word keeps its own weight
        (["交通"], "温度交通信号"),
        ([], "侵华日军南京大屠杀遇难同胞纪念馆"),  # jieba's longest words, whole
        (["南京"], "在侵华日军南京大屠杀遇难同胞纪念馆"),
    ],
)
def test_cuts_that_hang_on_one_entry(jieba_whole, words, text):
    from kg.search import Segmenter

    assert Segmenter(words).terms(text) == whole_with(jieba_whole, words)(text)


@pytest.mark.parametrize(
    "text",
    [
        "数据 3 n\n温度 5 n\n数据 2 n\n传感器 4 n\n",  # the shape jieba ships
        "数据 3\n温度 5 n\n数据 2\n传感器 4 n",  # tags missing, no final newline
        "数据 3 n x\n温度 5\n数据 2 n\n传感器 4 n",  # three tokens a line on average only
        "数据 3 n x\n110 2\n数据 2 n\n传感器 4 n\n温度 5 n\n",  # the same, 110 a word
    ],
)
def test_a_dictionary_reads_as_jiebas_own_reader_does(text):
    from kg.search import read_dictionary

    words, total, longest = read_dictionary(text)
    expected = {"数据": 2, "温度": 5, "传感器": 4}  # the last line of a word wins
    if "110" in text:
        expected["110"] = 2
    assert dict(words) == expected
    assert (total, longest) == (sum((3, *expected.values())), 3)


def test_segmenters_share_jiebas_dictionary_but_not_their_words(jieba_whole):
    """The dictionary is read once per process; a vocabulary word added by one build's
    segmenter is not in the next one's, which cuts as a fresh jieba does."""
    import kg.search
    from kg.search import Segmenter

    text = "牛舍温湿度传感器"
    expected = [t for t in jieba_whole.cut_for_search(text) if t.strip()]
    with_word = Segmenter(["牛舍温湿度传感器"])
    assert "牛舍温湿度传感器" in with_word.terms(text)
    plain = Segmenter([])
    assert plain.terms(text) == expected
    assert "牛舍温湿度传感器" not in plain.terms(text)
    assert plain.tokenizer.total == jieba_whole.total
    assert kg.search._dictionary.cache_info().misses == 1
    assert plain.tokenizer.FREQ is not with_word.tokenizer.FREQ
