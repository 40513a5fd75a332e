"""bench/synth.py: synthetic inputs with the real graph's shape, over many provinces and batches."""

from __future__ import annotations

import pytest

from bench.synth import PROVINCES, chinese_number, generate, guide_of
from dipkg.core.settings import Settings
from kg.build import build
from sparql_api.query import open_store

REAL = {"scenarios": 23, "categories": 126, "fields": 453}


@pytest.mark.parametrize(
    ("n", "text"), [(1, "一"), (2, "二"), (10, "十"), (11, "十一"), (20, "二十"), (34, "三十四")]
)
def test_batch_numbers_are_written_as_in_titles(n, text):
    assert chinese_number(n) == text


def test_guides_take_provinces_in_turn_then_the_next_batch():
    assert guide_of(1)[0] == "yunnan-b1"
    assert guide_of(len(PROVINCES))[3] == 1
    assert guide_of(len(PROVINCES) + 1)[0] == "yunnan-b2"


def test_thirteen_guides_build_to_thirteen_times_the_real_graph(tmp_path):
    inputs = generate(tmp_path / "inputs", 13)
    result = build(tmp_path / "data", Settings(inputs_dir=inputs))
    counts = result.manifest.counts
    assert counts.guides == 13
    assert {k: getattr(counts, k) for k in REAL} == {k: 13 * v for k, v in REAL.items()}
    assert len(result.manifest.corrections) == 13 * 13 and all(
        c.fired for c in result.manifest.corrections
    )
    rows = open_store(tmp_path / "data").query(
        """SELECT ?id ?title WHERE {
             ?g a <https://w3id.org/dipkg/ontology#Guide> ;
                <http://purl.org/dc/terms/identifier> ?id ;
                <http://purl.org/dc/terms/title> ?title FILTER (lang(?title) = "zh")
             } ORDER BY ?id""",
    )
    titles = {r["id"].value: r["title"].value for r in rows}
    assert len({t for t in titles.values()}) == 13  # every guide has its own title
    assert titles["yunnan-b2"] == "第二批云南省数据知识产权应用场景指引"
    assert titles["sichuan-b1"] == "第一批四川省数据知识产权应用场景指引"
