"""The build's one term model (pyoxigraph's, dipkg/core/terms.py) and the writers that read it.

The dumps' bytes are pinned by tests/test_golden.py and their graph by
tests/test_build.py (every dump isomorphic to the store); this pins the terms
themselves and the N-Triples writer against pyoxigraph's own serializer.
"""

from __future__ import annotations

import io

import pyoxigraph as ox
import pytest

from dipkg.core.iris import PREFIXES, curie
from dipkg.core.jsonld import JsonLdCompactor
from dipkg.core.settings import Settings
from dipkg.core.terms import IRI, XSD, XSD_INTEGER, BNode, Literal, en, integer, zh
from kg.build import Graph
from kg.serialize import write_ntriples, write_turtle
from sparql_api.pages import links

EX = "https://example.org/"
TRICKY = 'a "quoted"\\ line\nbreak\ttab\b\f\x01\x7f 数据 é'


def test_the_build_makes_pyoxigraph_terms():
    assert IRI is ox.NamedNode and BNode is ox.BlankNode
    assert zh("数据") == ox.Literal("数据", language="zh")
    assert en("data") == ox.Literal("data", language="en")
    assert Literal("x", "ZH-Hans").language == "zh-hans"  # lower-cased, as before
    assert Literal("x") == ox.Literal("x")
    assert Literal("x", datatype=XSD + "string") == ox.Literal("x")
    assert Literal("2026-01-01", datatype=XSD + "date").datatype == ox.NamedNode(XSD + "date")
    assert integer(7) == ox.Literal("7", datatype=ox.NamedNode(XSD_INTEGER))
    assert Literal("x", "en", datatype=XSD + "date") == en("x")  # a language wins


def test_a_bad_iri_is_refused_where_it_is_made():
    with pytest.raises(ValueError):
        IRI("https://example.org/a b")
    IRI("https://example.org/a%20b")  # the good twin


def _blocks():
    s, b = IRI(EX + "s"), BNode("b0")
    return [
        (
            s,
            [
                (IRI(EX + "p"), Literal(TRICKY)),
                (IRI(EX + "p"), zh(TRICKY)),
                (IRI(EX + "p"), Literal(TRICKY, datatype=EX + "dt")),
                (IRI(EX + "p"), integer(-3)),
                (IRI(EX + "q"), b),
            ],
        ),
        (b, [(IRI(EX + "p"), IRI(EX + "o"))]),
    ]


def test_ntriples_are_pyoxigraphs_bytes():
    out = io.StringIO()
    assert write_ntriples(_blocks(), out) == 6
    triples = [ox.Triple(s, p, o) for s, pairs in _blocks() for p, o in pairs]
    assert out.getvalue().encode("utf-8") == ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def test_turtle_reads_the_terms():
    out = io.StringIO()
    write_turtle([(IRI(EX + "s"), [(IRI(EX + "p"), integer(3)), (IRI(EX + "p"), zh("甲"))])], out)
    assert out.getvalue().endswith(f'\n<{EX}s>\n    <{EX}p> 3, "甲"@zh .\n')
    out = io.StringIO()
    write_turtle(_blocks(), out)
    parsed = ox.parse(out.getvalue().encode("utf-8"), format=ox.RdfFormat.TURTLE)
    assert len(list(parsed)) == 6


def test_jsonld_reads_the_terms():
    compactor = JsonLdCompactor({"ex": EX, "label": {"@id": "ex:p", "@container": "@language"}})
    node = compactor.node(IRI(EX + "s"), [(IRI(EX + "p"), zh("甲")), (IRI(EX + "q"), BNode("b1"))])
    assert node == {"id": EX + "s", "label": {"zh": "甲"}, "ex:q": {"@id": "_:b1"}}


def test_the_whole_graph_is_pyoxigraph_terms():
    graph = Graph(Settings(), lambda _: None)
    kinds = set()
    for subject, pairs in graph.blocks():
        kinds.add(type(subject))
        for predicate, obj in pairs:
            assert isinstance(predicate, ox.NamedNode)
            kinds.add(type(obj))
    assert kinds == {ox.NamedNode, ox.BlankNode, ox.Literal}  # the ontology has blank nodes


# (IRI, the writers' prefixed name, the pages' prefixed name): '.' is the difference
CURIES = [
    (PREFIXES["dip"] + "Scenario", "dip:Scenario", "dip:Scenario"),
    (PREFIXES["dcterms"] + "title", "dcterms:title", "dcterms:title"),
    (PREFIXES["dip"] + "v1.2", None, "dip:v1.2"),  # '.' only on the pages
    (PREFIXES["dip"] + "1st", None, None),  # a local name starts with a letter or '_'
    (PREFIXES["dip"] + "a/b", None, None),
    (EX + "thing", None, None),  # no prefix for it
]


@pytest.mark.parametrize(("iri", "written", "shown"), CURIES)
def test_one_curie_for_the_writers_and_the_pages(iri: str, written, shown) -> None:
    """dipkg.core.iris.curie is the one rule: the Turtle and JSON-LD writers and the pages
    all use it (before, each had its own copy, the pages' with '.' allowed)."""
    assert curie(iri, turtle=True) == written
    assert curie(iri, turtle=False) == shown
    assert links.curie(iri) == (shown or iri)
    compactor = JsonLdCompactor({k: v for k, v in PREFIXES.items() if k != "dcterms"})
    assert compactor.compact_iri(iri) == (
        curie(iri, turtle=True, prefixes=compactor.prefixes) or iri
    )
    out = io.StringIO()
    write_turtle([(ox.NamedNode(EX + "s"), [(ox.NamedNode(iri), ox.Literal("x"))])], out)
    assert f"{written or f'<{iri}>'} " in out.getvalue()


def test_the_json_ld_writer_uses_its_contexts_prefixes() -> None:
    compactor = JsonLdCompactor({"ex": EX, "dip": PREFIXES["dip"]})
    assert compactor.compact_iri(EX + "thing") == "ex:thing"
    assert compactor.compact_iri(PREFIXES["dcterms"] + "title") == PREFIXES["dcterms"] + "title"
    assert curie(EX + "thing", turtle=True, prefixes={"ex": EX}) == "ex:thing"
