"""VoID counts equal what a SPARQL query on the built store answers (default graph = the data),
and what the store's catalogue named graph says is the same record."""

from __future__ import annotations

import pyoxigraph
import pytest
import rdflib
from rdflib import URIRef

VOID = rdflib.Namespace("http://rdfs.org/ns/void#")


def ask_int(store: pyoxigraph.Store, query: str) -> int:
    return int(next(iter(store.query(query)))[0].value)


def void_int(record: rdflib.Graph, subject: str, prop: str) -> int:
    values = list(record.objects(URIRef(subject), VOID[prop]))
    assert len(values) == 1, f"{subject} has {len(values)} void:{prop}"
    return int(values[0])


@pytest.mark.parametrize(
    "prop, query",
    [
        ("triples", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"),
        ("classes", "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }"),
        ("properties", "SELECT (COUNT(DISTINCT ?p) AS ?n) { ?s ?p ?o }"),
        ("distinctSubjects", "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }"),
        ("distinctObjects", "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }"),
    ],
)
def test_dataset_counts(prop: str, query: str, record, store, minter) -> None:
    assert void_int(record, minter.dataset(), prop) == ask_int(store, query)


def test_entities_are_the_iris_in_the_uri_space(record, store, minter) -> None:
    space = str(record.value(URIRef(minter.dataset()), VOID.uriSpace))
    assert space == minter.base
    n = ask_int(
        store,
        f'SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{space}")) }}',
    )
    assert void_int(record, minter.dataset(), "entities") == n
    assert n >= 23


def test_triples_match_the_manifest(record, manifest, minter) -> None:
    assert void_int(record, minter.dataset(), "triples") == manifest["counts"]["triples"]


def test_class_partitions(record, store, minter) -> None:
    parts = list(record.objects(URIRef(minter.dataset()), VOID.classPartition))
    got = {str(record.value(p, VOID["class"])): void_int(record, str(p), "entities") for p in parts}
    expected = {
        row[0].value: int(row[1].value)
        for row in store.query("SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c } GROUP BY ?c")
    }
    assert got == expected
    assert got["https://w3id.org/dipkg/ontology#Scenario"] == 23
    assert len(parts) == void_int(record, minter.dataset(), "classes")


def test_property_partitions(record, store, minter) -> None:
    parts = list(record.objects(URIRef(minter.dataset()), VOID.propertyPartition))
    got = {
        str(record.value(p, VOID.property)): (
            void_int(record, str(p), "triples"),
            void_int(record, str(p), "distinctSubjects"),
            void_int(record, str(p), "distinctObjects"),
        )
        for p in parts
    }
    expected = {}
    for row in store.query(
        "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ns) (COUNT(DISTINCT ?o) AS ?no)"
        " { ?s ?p ?o } GROUP BY ?p"
    ):
        expected[row[0].value] = (int(row[1].value), int(row[2].value), int(row[3].value))
    assert got == expected
    assert sum(t for t, _, _ in got.values()) == void_int(record, minter.dataset(), "triples")


def test_endpoint_dumps_vocabularies(record, manifest, minter) -> None:
    dataset = URIRef(minter.dataset())
    assert record.value(dataset, VOID.sparqlEndpoint) == URIRef(minter.sparql_service())
    dumps = {str(o) for o in record.objects(dataset, VOID.dataDump)}
    rdf_dumps = {
        minter.dump(d["file"])
        for d in manifest["dumps"]
        if d["format"] in ("Turtle", "JSON-LD", "N-Triples")
    }
    assert dumps == rdf_dumps and len(dumps) == 6
    vocabularies = {str(o) for o in record.objects(dataset, VOID.vocabulary)}
    assert {
        "https://w3id.org/dipkg/ontology",
        "http://www.w3.org/2004/02/skos/core",
        "http://purl.org/dc/terms/",
    } <= vocabularies


def test_the_named_graph_holds_the_same_counts(store, record, minter, manifest) -> None:
    graph = manifest["catalog"]["graph"]
    n = ask_int(
        store, f"SELECT ?n {{ GRAPH <{graph}> {{ <{minter.dataset()}> <{VOID.triples}> ?n }} }}"
    )
    assert n == void_int(record, minter.dataset(), "triples")
    in_graph = ask_int(store, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert in_graph == len(record)
