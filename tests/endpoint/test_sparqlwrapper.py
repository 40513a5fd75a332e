"""What real clients do: SPARQLWrapper against the real server, GET and POST, every
query form and every result format it supports."""

from __future__ import annotations

import csv
import io
import warnings

import pytest
import rdflib
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

from tests.endpoint.conftest import Server

SCHEME = "http://www.w3.org/2004/02/skos/core#ConceptScheme"
SELECT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 7"
ASK = "ASK { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 7"
DESCRIBE = "DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1"

METHODS = [
    pytest.param((GET, URLENCODED), id="GET"),
    pytest.param((POST, URLENCODED), id="POST-form"),
    pytest.param((POST, POSTDIRECTLY), id="POST-direct"),
]


def wrapper(server: Server, method: tuple[str, str], fmt: str, query: str) -> SPARQLWrapper:
    sw = SPARQLWrapper(server.sparql)
    sw.setMethod(method[0])
    sw.setRequestMethod(method[1])
    sw.setReturnFormat(fmt)
    sw.setQuery(query)
    sw.setTimeout(30)
    return sw


@pytest.mark.parametrize("method", METHODS)
def test_select_json(server: Server, method: tuple[str, str]) -> None:
    res = wrapper(server, method, JSON, SELECT).query()
    assert res.response.headers["Content-Type"].startswith("application/sparql-results+json")
    data = res.convert()
    assert data["head"]["vars"] == ["s", "p", "o"]
    assert len(data["results"]["bindings"]) == 7


@pytest.mark.parametrize("method", METHODS)
def test_select_xml(server: Server, method: tuple[str, str]) -> None:
    res = wrapper(server, method, XML, SELECT).query()
    assert res.response.headers["Content-Type"].startswith("application/sparql-results+xml")
    doc = res.convert()  # xml.dom.minidom Document
    assert len(doc.getElementsByTagName("result")) == 7


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "fmt,delim,ctype", [(CSV, ",", "text/csv"), (TSV, "\t", "text/tab-separated-values")]
)
def test_select_csv_tsv(
    server: Server, method: tuple[str, str], fmt: str, delim: str, ctype: str
) -> None:
    res = wrapper(server, method, fmt, SELECT).query()
    assert res.response.headers["Content-Type"].startswith(ctype)
    text = res.convert().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header = [h.lstrip("?") for h in rows[0]]
    assert header == ["s", "p", "o"] and len([r for r in rows[1:] if r]) == 7


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_ask(server: Server, method: tuple[str, str], fmt: str) -> None:
    res = wrapper(server, method, fmt, ASK).query()
    out = res.convert()
    if fmt == JSON:
        assert out["boolean"] is True
    elif fmt == XML:
        assert out.getElementsByTagName("boolean")[0].firstChild.data == "true"
    else:
        assert out.strip() == b"true"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["CONSTRUCT", "DESCRIBE"])
@pytest.mark.parametrize(
    "fmt,ctype",
    [
        (TURTLE, "text/turtle"),
        (N3, "text/turtle"),
        (RDFXML, "application/rdf+xml"),
        (XML, "application/rdf+xml"),
        (JSONLD, "application/ld+json"),
    ],
)
def test_graphs(server: Server, method: tuple[str, str], query: str, fmt: str, ctype: str) -> None:
    res = wrapper(server, method, fmt, query).query()
    assert res.response.headers["Content-Type"].startswith(ctype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = res.convert()
    if isinstance(out, bytes):
        parse_as = {"text/turtle": "turtle", "application/ld+json": "json-ld"}[ctype]
        graph = rdflib.Graph().parse(data=out, format=parse_as)
    else:
        graph = out
    assert isinstance(graph, rdflib.Graph) and len(graph) >= 1


@pytest.mark.parametrize("method", METHODS)
def test_n_triples_by_accept(server: Server, method: tuple[str, str]) -> None:
    # SPARQLWrapper has no N-Triples return format: ask with the header only
    sw = wrapper(server, method, TURTLE, CONSTRUCT)
    sw.setOnlyConneg(True)
    sw.addCustomHttpHeader("Accept", "application/n-triples")
    res = sw.query()
    assert res.response.headers["Content-Type"].startswith("application/n-triples")
    body = res.response.read()
    assert len(rdflib.Graph().parse(data=body, format="nt")) == 7


def test_update_through_sparqlwrapper_is_refused(server: Server) -> None:
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    sw = SPARQLWrapper(server.sparql)
    sw.setMethod(POST)
    sw.setQuery("INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }")
    with pytest.raises((SPARQLWrapperException, Exception)) as info:
        sw.query()
    assert (
        "403" in str(info.value)
        or "Forbidden" in str(info.value)
        or "update" in str(info.value).lower()
    )


def test_bad_query_through_sparqlwrapper(server: Server) -> None:
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    sw = SPARQLWrapper(server.sparql)
    sw.setQuery("SELECT * WHERE { ?s ?p }")
    sw.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed) as info:
        sw.query()
    assert "query-syntax" in str(info.value)
