"""The direct lane (sparql_api.lane): which queries it takes, and that its answers are
a worker's, byte for byte."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import URIRef, Variable

from dipkg.core.iris import PREFIXES
from dipkg.core.release import open_release
from sparql_api import lane
from sparql_api.results import Job
from sparql_api.workers import WorkerPool
from tests.endpoint.conftest import start_server, stop_server

S01 = "https://w3id.org/dipkg/scenario/guizhou-b1-s01"
DIP = "PREFIX dip: <https://w3id.org/dipkg/ontology#> "
RDFS = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "

ACCEPTED = [
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }}",
    f"select * {{ <{S01}> ?p ?o . }}",
    f"SELECT ?o WHERE {{ <{S01}> a ?o }} LIMIT 3",
    f"SELECT ?l WHERE {{ <{S01}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}",
    RDFS + f"SELECT ?l {{ <{S01}> rdfs:label ?l }} LIMIT 0",
    DIP + "SELECT ?p ?o WHERE { <https://w3id.org/dipkg/domain/industry> ?p ?o }",
    f"ASK {{ <{S01}> a <https://w3id.org/dipkg/ontology#Scenario> }}",
    f"ASK WHERE {{ <{S01}> ?p 1 }}",
    f'SELECT ?p WHERE {{ <{S01}> ?p "电解铝"@zh }}',
    f'SELECT ?p WHERE {{ <{S01}> ?p "x"^^<http://www.w3.org/2001/XMLSchema#string> }}',
    f"# a comment\nSELECT ?p ?o ?unused WHERE {{ <{S01}> ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }}",
]

REFUSED = [
    "SELECT * WHERE { ?s ?p ?o }",  # variable subject
    "SELECT * WHERE { _:b ?p ?o }",
    "SELECT * WHERE { [] ?p ?o }",
    f"SELECT DISTINCT ?p WHERE {{ <{S01}> ?p ?o }}",
    f"SELECT REDUCED ?p WHERE {{ <{S01}> ?p ?o }}",
    f"SELECT (COUNT(*) AS ?n) WHERE {{ <{S01}> ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} ORDER BY ?o",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} OFFSET 5",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} LIMIT 1.5",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} GROUP BY ?p",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} VALUES ?p {{ <http://e/> }}",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o FILTER(?o > 1) }}",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o . ?o ?q ?r }}",  # two patterns
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o ; ?q ?r }}",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o , ?r }}",
    f"SELECT ?o WHERE {{ <{S01}> <http://e/p>+ ?o }}",  # property paths
    f"SELECT ?o WHERE {{ <{S01}> <http://e/p>* ?o }}",
    f"SELECT ?o WHERE {{ <{S01}> <http://e/p>/<http://e/q> ?o }}",
    f"SELECT ?o WHERE {{ <{S01}> ^<http://e/p> ?o }}",
    f"SELECT ?o WHERE {{ <{S01}> !<http://e/p> ?o }}",
    f"SELECT ?o WHERE {{ <{S01}> (<http://e/p>) ?o }}",
    f"SELECT ?o WHERE {{ <{S01}> <http://e/p>|<http://e/q> ?o }}",
    f"SELECT ?x WHERE {{ <{S01}> ?x ?x }}",  # each row costs a scan of all edges
    f"SELECT ?p ?o WHERE {{ GRAPH ?g {{ <{S01}> ?p ?o }} }}",
    f"SELECT ?p ?o WHERE {{ {{ <{S01}> ?p ?o }} }}",
    f"SELECT ?p ?o WHERE {{ OPTIONAL {{ <{S01}> ?p ?o }} }}",
    f"SELECT ?p ?o FROM <http://e/g> WHERE {{ <{S01}> ?p ?o }}",
    f"BASE <http://e/> SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }}",
    f"CONSTRUCT {{ <{S01}> ?p ?o }} WHERE {{ <{S01}> ?p ?o }}",
    f"DESCRIBE <{S01}>",
    "PREFIX ex: <http://e/> SELECT ?o WHERE { ex:a.b ?p ?o }",  # dotted local name
    f"SELECT ?o WHERE {{ <{S01}> ?p '\\u0022' }}",  # escapes: read apart by parsers
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} LIMIT 1 LIMIT 2",
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }} }}",
    f"SELECT ?o WHERE {{ <{S01}> ?p -1 }}",
    f"SELECT ?o WHERE {{ <{S01}> ?p true }}",
    "SELECT ?o WHERE { <" + "x" * 5000 + "> ?p ?o }",  # over the text limit
    f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o BIND(1 AS ?x) }}",
    "PREFIX : SELECT ?o WHERE { :a ?p ?o }",
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_takes_point_lookups(query: str) -> None:
    assert lane.bounded(query) in ("select", "ask")
    _one_constant_subject_pattern(query)


@pytest.mark.parametrize("query", REFUSED)
def test_leaves_everything_else(query: str) -> None:
    assert lane.bounded(query) is None


def _one_constant_subject_pattern(query: str) -> None:
    """rdflib's reading of ``query``: one BGP of one triple, constant subject, a plain
    predicate (no path), distinct variables, nothing else but projection and a slice."""
    algebra = prepareQuery(query).algebra
    node = algebra.p
    names = []
    while True:
        names.append(node.name)
        if node.name == "BGP":
            break
        assert node.name in ("Project", "Slice", "ToMultiSet"), names
        node = node.p
    (triple,) = node.triples
    s, p, o = triple
    assert isinstance(s, URIRef), triple
    assert isinstance(p, (URIRef, Variable)), triple
    assert not (isinstance(o, Variable) and o == p), triple


_TOKENS = [
    "SELECT",
    "ASK",
    "CONSTRUCT",
    "WHERE",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "FILTER",
    "OPTIONAL",
    "GRAPH",
    "PREFIX",
    "ex:",
    "ex:a",
    "ex:a.b",
    "a",
    "*",
    "{",
    "}",
    "(",
    ")",
    ".",
    ";",
    ",",
    "/",
    "+",
    "^",
    "|",
    "!",
    "?s",
    "?p",
    "?o",
    "<http://e/s>",
    "<http://e/p>",
    '"v"',
    "@en",
    "1",
    "2.5",
    "_:b",
    "[]",
    "#c\n",
]
_SEED = "PREFIX ex: <http://e/> SELECT ?p ?o WHERE { <http://e/s> ?p ?o } LIMIT 1".split()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SEED)), st.sampled_from(_TOKENS), st.booleans()),
        max_size=4,
    )
)
def test_whatever_it_takes_is_one_bounded_pattern(edits: list[tuple[int, str, bool]]) -> None:
    """Mutations of a point lookup (tokens inserted or replaced): whenever the lane takes
    the text, an independent parser reads one constant-subject pattern in it."""
    words = list(_SEED)
    for at, token, replace in edits:
        at = min(at, len(words) - (1 if replace else 0))
        if replace and words:
            words[at] = token
        else:
            words.insert(at, token)
    query = " ".join(words)
    if lane.bounded(query) is None:
        return
    try:
        prepareQuery(query)
    except Exception:  # noqa: BLE001  (not SPARQL: the engine refuses it, cheaply)
        with pytest.raises(SyntaxError):
            ox.Store().query(query)
        return
    _one_constant_subject_pattern(query)


# --- answers: the lane's against a worker's ------------------------------------


@pytest.fixture(scope="module")
def store_dir(endpoint_data: Path) -> Path:
    return open_release(endpoint_data).store_dir


def _jobs() -> list[Job]:
    jobs = []
    for query in ACCEPTED:
        for fmt in ("json", "xml", "csv", "tsv"):
            jobs.append(Job(query, fmt, None, 1000))
    jobs.append(Job(ACCEPTED[0], "json", None, 3))  # truncated at the row cap
    jobs.append(Job(ACCEPTED[0], "csv", None, 3))
    return jobs


def test_answers_are_a_workers(store_dir: Path) -> None:
    store = ox.Store.read_only(str(store_dir))
    prefixes = dict(PREFIXES)

    async def compare() -> None:
        pool = WorkerPool(store_dir, size=1, timeout=10, prefixes=prefixes, sandbox=False)
        await pool.start()
        try:
            for job in _jobs():
                ours = lane.answer(store, job, prefixes)
                assert ours is not None, job
                theirs = await pool.run(job)
                assert ours.header == theirs.header, job
                assert ours.body == theirs.body, job
        finally:
            await pool.stop()

    asyncio.run(compare())
    truncated = lane.answer(store, Job(ACCEPTED[0], "json", None, 3), prefixes)
    assert truncated is not None and truncated.header["truncated"]
    assert json.loads(truncated.body)["truncated"] is True


def test_hands_over_what_it_cannot_answer_whole(store_dir: Path) -> None:
    big = ox.Store()
    subject = ox.NamedNode("http://e/s")
    for i in range(lane.MAX_ROWS + 1):
        big.add(ox.Quad(subject, ox.NamedNode(f"http://e/p{i}"), ox.Literal(str(i))))
    query = "SELECT ?p ?o WHERE { <http://e/s> ?p ?o }"
    assert lane.answer(big, Job(query, "json", None, 10_000)) is None  # more than the lane's
    # the row cap below the lane's: its truncated answer is the whole answer
    capped = lane.answer(big, Job(query, "json", None, 5))
    assert capped is not None and capped.header["truncated"] and capped.header["rows"] == 5
    assert lane.answer(big, Job(query + " LIMIT 10", "json", None, 10_000)) is not None
    # too many bytes for the lane; a dataset; an error; no format: a worker answers
    long = ox.Store()
    long.add(ox.Quad(subject, ox.NamedNode("http://e/p"), ox.Literal("x" * lane.MAX_BYTES)))
    assert lane.answer(long, Job(query, "json", None, 10_000)) is None
    assert lane.answer(big, Job(query, "json", None, 5, default_graph=["http://e/g"])) is None
    assert lane.answer(big, Job("SELECT ?o WHERE { ex:s ?p ?o }", "json", None, 5)) is None
    assert lane.answer(big, Job(query, None, "turtle", 5)) is None
    assert lane.answer(None, Job(query, "json", None, 5)) is None  # a closed describer


def test_served_point_lookups_skip_the_workers(endpoint_data: Path, tmp_path: Path) -> None:
    """On the real server: /health counts the lane's answers; a join still goes to a
    worker; with DIPKG_DIRECT_LANE=false every query does."""

    def direct(url: str) -> int:
        return httpx.get(url + "/health", timeout=10).json()["queries"]["direct"]

    for enabled in ("true", "false"):
        srv = start_server(
            endpoint_data, tmp_path, DIPKG_QUERY_WORKERS="1", DIPKG_DIRECT_LANE=enabled
        )
        try:
            accept = {"Accept": "application/sparql-results+json"}
            r = httpx.get(srv.sparql, params={"query": ACCEPTED[0]}, headers=accept, timeout=10)
            assert r.status_code == 200 and r.json()["results"]["bindings"]
            join = DIP + "SELECT ?s WHERE { ?s a dip:Scenario ; dip:domain ?d } LIMIT 3"
            r = httpx.get(srv.sparql, params={"query": join}, headers=accept, timeout=10)
            assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 3
            if enabled == "true":
                assert direct(srv.url) == 1
            else:
                assert "direct" not in httpx.get(srv.url + "/health", timeout=10).json()["queries"]
        finally:
            stop_server(srv)
