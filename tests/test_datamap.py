"""The map of shared data (dipkg/core/datamap.py) in a real build: ``map.json`` in the release,
recorded in the manifest, deterministic, and equal to what an independent reading of
the N-Triples dump (rdflib, plain Python, no SPARQL) says the scenarios share."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import pyoxigraph
import pytest
import rdflib
from rdflib import RDF, URIRef
from rdflib.namespace import SKOS

from dipkg.core import datamap
from dipkg.core.iris import DIP


@pytest.fixture(scope="module")
def shared(build_result) -> dict:
    return json.loads((build_result.release / datamap.MAP_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(build_result) -> dict[tuple[str, str], set[str]]:
    """(scenario, kind) -> fields of that kind or a narrower one, read from the dump by hand."""
    g = rdflib.Graph().parse(build_result.release / "dumps" / "dipkg.nt", format="nt")
    broader: dict[str, set[str]] = defaultdict(set)
    for s, o in g.subject_objects(SKOS.broader):
        broader[str(s)].add(str(o))

    def up(kind: str) -> set[str]:
        seen, todo = {kind}, [kind]
        while todo:
            for b in broader[todo.pop()]:
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    for field in g.subjects(RDF.type, URIRef(DIP + "DataField")):
        scenario = str(g.value(field, URIRef(DIP + "scenario")))
        for kind in g.objects(field, URIRef(DIP + "dataKind")):
            for k in up(str(kind)):
                cells[(scenario, k)].add(str(field))
    return cells


def test_the_release_holds_the_map_and_the_manifest_records_it(build_result, shared):
    raw = (build_result.release / datamap.MAP_FILE).read_bytes()
    entry = build_result.manifest.map
    assert entry.file == datamap.MAP_FILE
    assert entry.sha256 == hashlib.sha256(raw).hexdigest()
    assert entry.cells == len(shared["cells"]) > 100
    assert entry.kinds == sum(len(g["kinds"]) for g in shared["groups"])
    assert shared["format"] == datamap.MAP_FORMAT


def test_the_map_is_deterministic(build_result):
    """The same store gives the same bytes (the build's rebuild test covers the whole release)."""
    store = pyoxigraph.Store.read_only(str(build_result.release / "store"))
    again = datamap.to_json(datamap.compute(store))
    assert again.encode("utf-8") == (build_result.release / datamap.MAP_FILE).read_bytes()


def test_rows_are_every_scenario_grouped_by_domain(shared):
    rows = [s for d in shared["domains"] for s in d["scenarios"]]
    assert len(shared["domains"]) == 5
    assert len(rows) == 23
    assert [s["number"] for s in rows] == sorted(s["number"] for s in rows)
    assert all(s["label"]["zh"] and s["label"]["en"] for s in rows)


def test_cells_match_an_independent_reading_of_the_dump(shared, truth):
    columns = {k["iri"] for g in shared["groups"] for k in g["kinds"]}
    got = {(c["scenario"], c["kind"]): {f["iri"] for f in c["fields"]} for c in shared["cells"]}
    expected = {key: fields for key, fields in truth.items() if key[1] in columns}
    assert got == expected
    users = defaultdict(set)
    for scenario, kind in truth:
        users[kind].add(scenario)
    for g in shared["groups"]:
        for k in g["kinds"]:
            assert k["scenarios"] == len(users[k["iri"]]) >= datamap.MIN_SCENARIOS
    # a kind only one scenario uses is no column (known bad: it exists in the data)
    lonely = sorted(k for k, ss in users.items() if len(ss) == 1)
    assert lonely and not columns & set(lonely)
    # the top-level kinds head their groups: not columns when something narrower is shared
    assert all(
        g["iri"] not in {k["iri"] for k in g["kinds"]}
        for g in shared["groups"]
        if len(g["kinds"]) > 1
    )
    temperature = next(
        k for g in shared["groups"] for k in g["kinds"] if k["iri"].endswith("/concept/temperature")
    )
    assert temperature["label"] == {"zh": "温度", "en": "Temperature"}


def test_csv_has_one_row_per_cell(shared):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(datamap.to_csv(shared))))
    assert len(rows) == len(shared["cells"])
    assert list(rows[0]) == datamap.CSV_COLUMNS
    total = sum(len(c["fields"]) for c in shared["cells"])
    assert sum(int(r["fields"]) for r in rows) == total
    assert all(len(r["field_iris"].split()) == int(r["fields"]) for r in rows)
