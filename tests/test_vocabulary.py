"""The shared vocabulary of data kinds (build/vocabulary/, kg/vocabulary.py).

* Completeness: every category and field of every scenario has exactly one
  dip:dataKind, the build reports no unmapped item, and every row of
  mapping.tsv is used.
* Vocabulary QA: SPARQL queries over the real built store that list offenders
  and must return zero rows. Each also runs over a tiny bad graph where it must
  find the planted offender, so a query that checks nothing cannot pass.
* The tables: bad rows fail with a one-line SourceError naming file and line;
  an item no row maps fails the build, naming the label and the scenario.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest
import yaml

from dipkg.core.errors import SourceError
from dipkg.core.iris import PREFIXES, Minter
from dipkg.core.settings import Settings
from kg.build import build
from kg.paths import INPUTS_DIR
from kg.translations import load_translations
from kg.vocabulary import Vocabulary

GOLDEN = Path(__file__).parent / "golden" / "extraction.yaml"
PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
BASE = "https://w3id.org/dipkg/"


@pytest.fixture(scope="module")
def store(build_result) -> pyoxigraph.Store:
    return pyoxigraph.Store.read_only(str(build_result.release / "store"))


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load(
        INPUTS_DIR, Minter(BASE), load_translations(INPUTS_DIR / "translations.tsv")
    )


def sid(number: int) -> str:
    """The identifier of batch 1's scenario ``number`` (mapping rows are scoped by it)."""
    return f"guizhou-b1-s{number:02d}"


def golden_items() -> list[tuple[int, tuple[int, ...], str, bool]]:
    """(scenario, path, label, is_category) for every item of the golden extraction."""
    out: list[tuple[int, tuple[int, ...], str, bool]] = []

    def walk(number: int, items: list, path: tuple[int, ...]) -> None:
        for position, item in enumerate(items, start=1):
            here = (*path, position)
            if isinstance(item, dict):
                out.append((number, here, item["category"], True))
                walk(number, item.get("items") or [], here)
            else:
                out.append((number, here, item, False))

    for scenario in yaml.safe_load(GOLDEN.read_text(encoding="utf-8")):
        walk(scenario["number"], scenario["categories"], ())
    return out


def select(store: pyoxigraph.Store, query: str) -> list[tuple[str, ...]]:
    result = store.query(PROLOGUE + query)
    return sorted(tuple(t.value if t is not None else "" for t in row) for row in result)


def bad_store(turtle: str) -> pyoxigraph.Store:
    store = pyoxigraph.Store()
    prefixes = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())
    store.load(
        (prefixes + "@base <https://w3id.org/dipkg/> .\n" + turtle).encode("utf-8"),
        format=pyoxigraph.RdfFormat.TURTLE,
    )
    return store


# -- completeness --------------------------------------------------------------------


def test_every_category_and_field_has_one_data_kind(store, build_result):
    assert build_result.manifest.counts.unmapped_items == 0
    missing = select(
        store,
        """SELECT ?item WHERE {
            VALUES ?class { dip:DataCategory dip:DataField }
            ?item a ?class .
            FILTER NOT EXISTS { ?item dip:dataKind ?kind . ?kind a dip:DataKind }
        }""",
    )
    assert missing == []
    twice = select(store, "SELECT ?item WHERE { ?item dip:dataKind ?a , ?b . FILTER (?a != ?b) }")
    assert twice == []
    items = golden_items()
    assert sum(1 for i in items if i[3]) == 126 and sum(1 for i in items if not i[3]) == 453
    linked = select(store, "SELECT (COUNT(?item) AS ?n) WHERE { ?item dip:dataKind ?kind }")
    assert linked == [(str(126 + 453),)]


def test_graph_links_each_item_to_the_mapped_concept(store, vocabulary):
    """The concept in the graph is the one mapping.tsv gives for the golden's label and place."""
    found = {
        (int(n), tuple(int(p) for p in path.split(".")), label): kind
        for n, path, label, kind in select(
            store,
            """SELECT ?n ?path ?label ?kind WHERE {
                ?item dip:dataKind ?kind ; dip:scenario ?s ; rdfs:label ?label .
                FILTER (lang(?label) = "zh")
                ?s dip:number ?n .
                BIND (STRAFTER(STR(?item), "/data/") AS ?path)
            }""",
        )
    }
    expected = {}
    for number, path, label, _ in golden_items():
        row = vocabulary.row_for(label, sid(number), path)
        assert row is not None, (number, path, label)
        expected[(number, path, label)] = vocabulary.concept_iri(row.concept)
    assert found == expected


def test_every_mapping_row_is_used(vocabulary):
    """Every row of mapping.tsv maps some item of the golden. The only exception is
    the default row of a label that also has scoped rows (e.g. 时间 -> time, beside
    时间 in scenario 2 -> reaction time): it is the fallback for other places."""
    used = {
        vocabulary.row_for(label, sid(number), path).line
        for number, path, label, _ in golden_items()
    }
    scoped = {r.zh for r in vocabulary.mapping if r.scenario is not None}
    unused = [
        r.describe()
        for r in vocabulary.mapping
        if r.line not in used and not (r.scenario is None and r.zh in scoped)
    ]
    assert unused == []
    defaults = [r for r in vocabulary.mapping if r.line not in used]
    assert all(r.scenario is None and r.zh in scoped for r in defaults)


def test_same_kind_of_data_gets_the_same_concept(vocabulary):
    def kind(label: str, number: int, path: tuple[int, ...]) -> str:
        return vocabulary.row_for(label, sid(number), path).concept

    temperature = {
        kind("温度", n, p)
        for n, p in ((3, (1, 4)), (3, (3, 2)), (5, (1, 2, 1)), (7, (4, 1)), (19, (2, 3)))
    }
    assert temperature == {"temperature"}
    assert (
        kind("设备运行数据", 1, (3,))
        == kind("设备运行数据", 2, (3,))
        == kind("设备运行状态数据", 3, (3,))
    )
    electricity = {
        kind("电力消耗", 1, (4, 1)),
        kind("电力消耗", 2, (5, 1)),
        kind("电耗", 6, (1, 4)),
        kind("用电量数据", 16, (1, 1)),
    }
    assert electricity == {"electricity-consumption"}
    by_slug = {c.slug: c for c in vocabulary.concepts}
    for label, number, path, broader in (
        ("电解质温度", 1, (1, 4), "temperature"),
        ("牛舍温度", 17, (2, 1), "temperature"),
        ("铁路货运量", 4, (1, 1), "freight-volume"),
        ("公路货运量", 4, (1, 2), "freight-volume"),
        ("各生产线/车间实时用电量", 6, (1, 1), "electricity-consumption"),
    ):
        assert broader in by_slug[kind(label, number, path)].broader, label
    # The same words, different kinds: the cattle's age and weight are not a person's.
    assert kind("年龄", 17, (1, 2)) == "livestock-age" and kind("年龄", 15, (1, 1)) == "age"
    assert (
        kind("体重", 17, (5, 2)) == "livestock-body-weight"
        and kind("体重", 22, (2, 5)) == "body-weight"
    )
    assert not by_slug["livestock-age"].pi and by_slug["age"].pi


def test_personal_information_flags(vocabulary):
    by_slug = {c.slug: c for c in vocabulary.concepts}
    assert by_slug["vehicle-gps-track"].sensitive == "whereabouts"
    assert by_slug["personal-credit-data"].sensitive == "financial-account"
    assert by_slug["medical-history"].sensitive == "medical-health"
    assert by_slug["enterprise-credit-data"].pi is False
    assert (
        by_slug["medical-knowledge-data"].pi is False
    )  # knowledge about diseases, not about a person
    assert all(c.pi for c in vocabulary.concepts if c.sensitive)
    assert {s.slug for s in vocabulary.sensitive} == {
        "biometrics",
        "religious-belief",
        "specific-identity",
        "medical-health",
        "financial-account",
        "whereabouts",
        "minor",
    }


# -- vocabulary QA: SPARQL that must return zero rows -----------------------------------

QA: dict[str, tuple[str, str]] = {
    "concept without both labels": (
        """SELECT ?c WHERE {
            ?c a dip:DataKind .
            FILTER (NOT EXISTS { ?c skos:prefLabel ?zh .
                                 FILTER (lang(?zh) = "zh" && STRLEN(?zh) > 0) }
                 || NOT EXISTS { ?c skos:prefLabel ?en .
                                 FILTER (lang(?en) = "en" && STRLEN(?en) > 0) })
        }""",
        '<concept/a> a dip:DataKind , skos:Concept ; skos:prefLabel "甲"@zh .',
    ),
    "skos:broader cycle": (
        "SELECT DISTINCT ?c WHERE { ?c a dip:DataKind ; skos:broader+ ?c }",
        "<concept/a> a dip:DataKind ; skos:broader <concept/b> . "
        "<concept/b> a dip:DataKind ; skos:broader <concept/a> .",
    ),
    "concept used by nothing": (
        """SELECT ?c WHERE {
            ?c a dip:DataKind .
            FILTER NOT EXISTS { ?item dip:dataKind/skos:broader* ?c }
        }""",
        "<concept/a> a dip:DataKind . <concept/b> a dip:DataKind . "
        "<item/1> dip:dataKind <concept/b> .",
    ),
    "two concepts with the same zh prefLabel": (
        """SELECT ?a ?b WHERE {
            ?a a dip:DataKind ; skos:prefLabel ?label ; skos:inScheme ?scheme .
            ?b a dip:DataKind ; skos:prefLabel ?label ; skos:inScheme ?scheme .
            FILTER (lang(?label) = "zh" && STR(?a) < STR(?b))
        }""",
        '<concept/a> a dip:DataKind ; skos:prefLabel "温度"@zh ; skos:inScheme <scheme/s> . '
        '<concept/b> a dip:DataKind ; skos:prefLabel "温度"@zh ; skos:inScheme <scheme/s> .',
    ),
    "zh label on two concepts (prefLabel of one, altLabel of another)": (
        """SELECT ?a ?b WHERE {
            ?a a dip:DataKind ; skos:prefLabel|skos:altLabel ?label .
            ?b a dip:DataKind ; skos:altLabel ?label .
            FILTER (lang(?label) = "zh" && ?a != ?b)
        }""",
        '<concept/a> a dip:DataKind ; skos:prefLabel "温度"@zh . '
        '<concept/b> a dip:DataKind ; skos:altLabel "温度"@zh .',
    ),
    "broader pointing outside the scheme": (
        """SELECT ?c ?parent WHERE {
            ?c a dip:DataKind ; skos:inScheme ?scheme ; skos:broader ?parent .
            FILTER NOT EXISTS { ?parent skos:inScheme ?scheme }
        }""",
        "<concept/a> a dip:DataKind ; skos:inScheme <scheme/s> ; skos:broader <concept/b> . "
        "<concept/b> a dip:DataKind ; skos:inScheme <scheme/other> .",
    ),
    "sensitive category without the pi flag": (
        """SELECT ?c WHERE {
            ?c a dip:DataKind ; dip:sensitiveCategory ?category .
            FILTER NOT EXISTS { ?c dip:personalInformation true }
        }""",
        "<concept/a> a dip:DataKind ; dip:sensitiveCategory <concept/pipl-medical-health> .",
    ),
    "sensitive category outside the PIPL scheme": (
        """SELECT ?c ?category WHERE {
            ?c a dip:DataKind ; dip:sensitiveCategory ?category .
            FILTER NOT EXISTS { ?category a skos:Concept ; skos:inScheme ?pipl .
                                FILTER STRENDS(STR(?pipl), "/scheme/pipl-sensitive") }
        }""",
        "<concept/a> a dip:DataKind ; dip:personalInformation true ; "
        "dip:sensitiveCategory <concept/b> . "
        "<concept/b> a dip:DataKind ; skos:inScheme <scheme/data-kinds> .",
    ),
    "narrower not the inverse of broader": (
        """SELECT ?c ?other WHERE {
            ?c a dip:DataKind .
            { ?c skos:broader ?other FILTER NOT EXISTS { ?other skos:narrower ?c } }
            UNION { ?c skos:narrower ?other FILTER NOT EXISTS { ?other skos:broader ?c } }
        }""",
        "<concept/a> a dip:DataKind ; skos:broader <concept/b> . <concept/b> a dip:DataKind .",
    ),
    "hierarchy deeper than three levels": (
        "SELECT DISTINCT ?c WHERE"
        " { ?c a dip:DataKind ; skos:broader/skos:broader/skos:broader ?top }",
        "<concept/a> skos:broader <concept/b> . <concept/b> skos:broader <concept/c> . "
        "<concept/c> skos:broader <concept/d> . <concept/a> a dip:DataKind .",
    ),
    "top concept not listed by its scheme": (
        """SELECT ?c WHERE {
            ?c a dip:DataKind ; skos:inScheme ?scheme .
            FILTER NOT EXISTS { ?c skos:broader ?any }
            FILTER NOT EXISTS { ?scheme skos:hasTopConcept ?c . ?c skos:topConceptOf ?scheme }
        }""",
        "<concept/a> a dip:DataKind ; skos:inScheme <scheme/s> .",
    ),
    "exact match that is not a verified QUDT quantity kind": (
        """SELECT ?c ?match WHERE {
            ?c a dip:DataKind ; skos:exactMatch ?match .
            FILTER (!STRSTARTS(STR(?match), "http://qudt.org/vocab/quantitykind/"))
        }""",
        "<concept/a> a dip:DataKind ; skos:exactMatch <http://example.org/guessed> .",
    ),
}


@pytest.mark.parametrize("name", sorted(QA), ids=str)
def test_vocabulary_qa_finds_nothing_in_the_build(store, name):
    query, _ = QA[name]
    assert select(store, query) == [], name


@pytest.mark.parametrize("name", sorted(QA), ids=str)
def test_vocabulary_qa_finds_the_planted_offender(name):
    query, bad = QA[name]
    assert select(bad_store(bad), query) != [], (
        f"{name}: the QA query finds nothing in a graph made to fail it"
    )


def test_qa_runs_on_the_whole_vocabulary(store):
    """Guard against QA queries that pass because there is nothing to check."""
    concepts = select(
        store,
        "SELECT (COUNT(?c) AS ?n) WHERE { ?c a dip:DataKind , skos:Concept ; skos:inScheme ?s }",
    )
    assert int(concepts[0][0]) > 300
    tops = select(store, "SELECT ?c WHERE { ?c a dip:DataKind ; skos:topConceptOf ?s }")
    assert 10 <= len(tops) <= 20
    pipl = select(
        store,
        """SELECT ?c ?zh ?en WHERE {
            ?c skos:inScheme ?s ; skos:prefLabel ?zh , ?en ; skos:definition ?dzh , ?den .
            ?s a skos:ConceptScheme .
            FILTER (STRENDS(STR(?s), "/scheme/pipl-sensitive")
                    && lang(?zh) = "zh" && lang(?en) = "en"
                    && lang(?dzh) = "zh" && lang(?den) = "en")
        }""",
    )
    assert len(pipl) == 7


# -- the tables --------------------------------------------------------------------------


def load(inputs: Path) -> Vocabulary:
    return Vocabulary.load(inputs, Minter(BASE), load_translations(inputs / "translations.tsv"))


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first line containing ``old``; return its 1-based line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, start=1):
        if old in line:
            lines[number - 1] = line.replace(old, new, 1)
            path.write_text("\n".join(lines), encoding="utf-8")
            return number
    raise AssertionError(f"{old!r} not in {path}")


CONCEPTS = "vocabulary/concepts.tsv"
MAPPING = "vocabulary/mapping.tsv"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            CONCEPTS,
            "temperature\t温度\tTemperature",
            "Temperature\t温度\tTemperature",
            "lower-case ASCII slug",
        ),
        (CONCEPTS, "humidity\t湿度\t", "temperature\t湿度\t", "already defined"),
        (CONCEPTS, "humidity\t湿度\t", "humidity\t温度\t", "already a label of 'temperature'"),
        (
            CONCEPTS,
            "electrolyte-temperature\t电解质温度\tElectrolyte temperature\ttemperature",
            "electrolyte-temperature\t电解质温度\tElectrolyte temperature\ttemprature",
            "unknown broader 'temprature'",
        ),
        (
            CONCEPTS,
            "age\t年龄\tAge\tpersonal-information\t\t\tyes",
            "age\t年龄\tAge\tpersonal-information\t\t\tmaybe",
            "'yes' or 'no'",
        ),
        (CONCEPTS, "\tyes\twhereabouts\t", "\tno\twhereabouts\t", "not marked pi=yes"),
        (CONCEPTS, "\tyes\twhereabouts\t", "\tyes\tlocation\t", "unknown sensitive category"),
        (
            CONCEPTS,
            "http://qudt.org/vocab/quantitykind/Temperature",
            "qudt:Temperature",
            "not an http",
        ),
        (
            CONCEPTS,
            "physical-chemical-quantities\t物理与化学量\tPhysical and chemical quantities\t",
            "physical-chemical-quantities\t物理与化学量\t"
            "Physical and chemical quantities\ttemperature",
            "cycle",
        ),
        (
            MAPPING,
            "牛舍温度\tcattle-shed-temperature",
            "牛舍温度\tcattle-shed-temp",
            "unknown concept 'cattle-shed-temp'",
        ),
        (
            MAPPING,
            "品种\tlivestock-breed\tguizhou-b1-s17",
            "品种\tlivestock-breed\t17",
            "scenario identifier",
        ),
        (
            MAPPING,
            "品种\tlivestock-breed\tguizhou-b1-s17\t",
            "品种\tlivestock-breed\tguizhou-b1-s17\t1.x",
            "positions like",
        ),
        (
            MAPPING,
            "品种\tagricultural-product-variety\tguizhou-b1-s20",
            "品种\tlivestock-breed\tguizhou-b1-s17",
            "mapped twice",
        ),
        (
            MAPPING,
            "牛舍温度\tcattle-shed-temperature",
            "牛舍温度\tcattle-shed-temperature\t\t\t\textra",
            "columns",
        ),
        (
            CONCEPTS,
            "humidity\t湿度\t",
            "humidity\t湿\u202e度\t",
            r"U\+202E \(RIGHT-TO-LEFT OVERRIDE\)",
        ),
        (
            MAPPING,
            "牛舍温度\tcattle-shed-temperature",
            "牛舍温度\x1b\tcattle-shed-temperature",
            r"U\+001B \(ESC\)",
        ),
    ],
)
def test_bad_table_rows_name_file_and_line(inputs_copy, file, old, new, message):
    line = edit(inputs_copy / file, old, new)
    with pytest.raises(SourceError, match=message) as caught:
        load(inputs_copy)
    error = caught.value
    assert error.file is not None and error.file.endswith(file)
    if "cycle" not in message:
        assert error.line == line
    assert "\n" not in str(error)


def test_missing_or_headerless_tables(inputs_copy):
    (inputs_copy / MAPPING).write_text("label\tconcept\n", encoding="utf-8")
    with pytest.raises(SourceError, match="header") as caught:
        load(inputs_copy)
    assert caught.value.line == 1
    (inputs_copy / CONCEPTS).unlink()
    with pytest.raises(SourceError, match="missing"):
        load(inputs_copy)


def test_an_unmapped_item_fails_the_build(inputs_copy, tmp_path):
    path = inputs_copy / MAPPING
    path.write_text(
        "\n".join(
            line
            for line in path.read_text(encoding="utf-8").split("\n")
            if not line.startswith("牛舍温度\t")
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        SourceError, match=r"'牛舍温度' \(scenario guizhou-b1-s17, item 2\.1\)"
    ) as caught:
        build(tmp_path / "data", Settings(inputs_dir=inputs_copy))
    assert caught.value.file is not None and caught.value.file.endswith(MAPPING)
    assert not (tmp_path / "data" / "current").exists()


def test_blocks_are_deterministic_and_in_table_order(vocabulary):
    first, second = list(vocabulary.blocks()), list(vocabulary.blocks())
    assert first == second
    concept_subjects = [
        s.value for s, _ in first if "/concept/" in s.value and "/concept/pipl-" not in s.value
    ]
    assert concept_subjects == [vocabulary.concept_iri(c.slug) for c in vocabulary.concepts]


def test_empty_vocabulary_maps_nothing():
    empty = Vocabulary(Minter(BASE))
    assert empty.data_kind("温度", sid(3), (1, 4)) is None
    assert list(empty.blocks()) == []


def test_most_specific_mapping_row_wins():
    from kg.vocabulary import Concept, MappingRow

    def concept(slug: str) -> Concept:
        return Concept(slug, slug, slug, (), (), (), False, None, None, "", 0)

    rows = [
        MappingRow("时间", "time", None, None, "", 2),
        MappingRow("时间", "reaction-time", sid(2), None, "", 3),
        MappingRow("时间", "accident-time", sid(2), (6, 3), "", 4),
    ]
    vocabulary = Vocabulary(
        Minter(BASE),
        [concept("time"), concept("reaction-time"), concept("accident-time")],
        rows,
        strict=True,
    )
    assert vocabulary.data_kind("时间", sid(2), (6, 3)) == BASE + "concept/accident-time"
    assert vocabulary.data_kind("时间", sid(2), (2, 3)) == BASE + "concept/reaction-time"
    assert vocabulary.data_kind("时间", sid(9), (1, 1)) == BASE + "concept/time"
    assert vocabulary.unused_rows() == []
    with pytest.raises(SourceError, match=r"'温度' \(scenario guizhou-b1-s09, item 1\.1\)"):
        vocabulary.data_kind("温度", sid(9), (1, 1))
