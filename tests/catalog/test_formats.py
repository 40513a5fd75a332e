"""The one format registry (dipkg/core/formats.py) against the tables that read it: the app's
content negotiation, the real build's dumps, the catalogue record and the dump server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import QueryResultsFormat, RdfFormat
from rdflib import URIRef

from dipkg.core import formats
from dipkg.core.errors import StoreError
from dipkg.core.iris import PREFIXES, Minter
from dipkg.core.release import read_release
from sparql_api import negotiation as neg
from sparql_api import results
from sparql_api.dumps import dump_files
from sparql_api.errors import NotAcceptable
from sparql_api.remote import answers

DCAT = rdflib.Namespace(PREFIXES["dcat"])
DCT = rdflib.Namespace(PREFIXES["dcterms"])
#: Every table of offers the app negotiates with.
OFFER_TABLES = {
    "results": neg.RESULT_OFFERS,
    "graphs": neg.graph_offers(named_graphs=True),
    "resources": neg.RESOURCE_OFFERS,
    "errors": neg.ERROR_OFFERS,
}
#: The formats the endpoint can write: each must be offered somewhere.
SERIALISED = [f for f in formats.FORMATS if f.rdf is not None or f.results is not None]


def test_names_are_unique_and_every_field_is_filled() -> None:
    assert len(formats.BY_NAME) == len(formats.FORMATS)
    for f in formats.FORMATS:
        assert f.media_type == f.media_type.lower() and ";" not in f.media_type, f.name
        assert f.extension and not f.extension.startswith("."), f.name
        assert f.label_en and f.label_zh, f.name
        assert f.iana == formats.IANA + f.media_type


@pytest.mark.parametrize("fmt", SERIALISED, ids=lambda f: f.name)
def test_every_served_format_is_offered_by_its_registry_entry(fmt: formats.Format) -> None:
    offers = [o for table in OFFER_TABLES.values() for o in table if o.format is fmt]
    assert offers, f"{fmt.name} is in the registry but no negotiation table offers it"
    assert all(o == neg.Offer.of(fmt) for o in offers)  # built from the entry, nothing by hand


@pytest.mark.parametrize(
    "table, offer",
    [(name, o) for name, table in OFFER_TABLES.items() for o in table],
    ids=lambda v: v if isinstance(v, str) else v.media_type,
)
def test_media_types_and_names_round_trip_through_negotiation(table: str, offer: neg.Offer) -> None:
    offers = OFFER_TABLES[table]
    fmt = offer.format
    assert fmt is not None, f"{offer.media_type} in {table} has no registry entry"
    choice = neg.negotiate(fmt.media_type, offers)
    assert choice.offer is offer and choice.content_type == fmt.content_type()
    for alias in fmt.aliases:  # named explicitly: the body labelled with the alias asked for
        choice = neg.negotiate(alias, offers)
        assert (choice.offer.format, choice.media_type) == (fmt, alias)
    for name in fmt.names:
        choice = neg.by_name([name], offers)
        assert choice is not None and choice.offer.format is fmt, name


def test_a_media_type_the_registry_lacks_is_not_acceptable() -> None:
    trix = dataclasses.replace(
        formats.TURTLE, name="TriX", media_type="application/trix", aliases=()
    )
    with pytest.raises(NotAcceptable):  # known-bad: not registered, so not offered
        neg.negotiate(trix.media_type, neg.GRAPH_OFFERS)
    assert neg.Offer.of(trix) not in neg.GRAPH_OFFERS


def test_n3_is_answered_with_turtle_labelled_n3() -> None:
    """N3 is a superset of Turtle: a client asking only for text/n3 (IANA's N3 type) gets the
    Turtle body labelled text/n3, not a 406."""
    choice = neg.negotiate("text/n3", neg.GRAPH_OFFERS)
    assert choice.offer.format is formats.TURTLE
    assert choice.content_type == "text/n3; charset=utf-8"
    assert neg.negotiate("text/turtle;q=0.5, text/n3", neg.GRAPH_OFFERS).media_type == "text/n3"


def test_every_dump_in_the_manifest_has_its_registry_entry(build_result) -> None:
    dumps = build_result.manifest.dumps
    assert dumps
    for entry in dumps:
        fmt = formats.for_dump(entry)
        suffix = f".{fmt.extension}" + (".gz" if entry.encoding == "gzip" else "")
        assert entry.file.endswith(suffix), entry.file
        assert fmt.gzip_twin or entry.encoding is None, entry.file
    rdf = {e.format for e in dumps if formats.by_name(e.format).is_rdf}
    assert rdf == {"Turtle", "JSON-LD", "N-Triples"}


@pytest.mark.parametrize(
    "change, says",
    [
        ({"format": "Parquet"}, "the format 'Parquet', which dipkg/core/formats.py does not know"),
        ({"format": ""}, "does not know"),
        ({"media_type": "text/plain"}, "says media type 'text/plain'; its format Turtle is"),
    ],
)
def test_a_dump_the_registry_does_not_know_is_a_clear_error(
    build_result, change: dict, says: str
) -> None:
    turtle = build_result.manifest.dump("dipkg.ttl")
    with pytest.raises(StoreError, match=says) as caught:
        formats.for_dump(dataclasses.replace(turtle, **change))  # known-bad
    assert caught.value.file == "dipkg.ttl"


def test_the_record_describes_each_dump_with_its_registry_entry(
    manifest: dict, record: rdflib.Graph, minter: Minter
) -> None:
    for entry in manifest["dumps"]:
        fmt = formats.by_name(entry["format"])
        (distribution,) = record.subjects(DCAT.downloadURL, URIRef(minter.dump(entry["file"])))
        assert record.value(distribution, DCAT.mediaType) == URIRef(fmt.iana)
        assert record.value(distribution, DCT["format"]) == URIRef(
            formats.FILE_TYPE + str(fmt.file_type)
        )
        gz = record.value(distribution, DCAT.compressFormat)
        assert gz == (URIRef(formats.GZIP.iana) if entry["encoding"] == "gzip" else None)


def test_the_dump_server_labels_each_file_as_the_registry_says(release: Path) -> None:
    files = dump_files(read_release(release))
    for name, f in files.items():
        if name == "SHA256SUMS":
            continue
        fmt = formats.GZIP if f.encoding == "gzip" else formats.for_dump(f.entry)
        assert f.content_type == fmt.content_type(), name
    assert files["dipkg-tables.xlsx"].content_type == formats.XLSX.media_type  # no charset


def test_the_engine_and_page_tables_agree_with_the_registry() -> None:
    """Until sparql_api/results.py reads the registry (its branch), its own tables must say
    what it says: same key, same pyoxigraph format."""
    assert results.RESULT_FORMATS == {f.key: f.results for f in formats.FORMATS if f.results}
    assert results.GRAPH_FORMATS == {f.key: f.rdf for f in formats.FORMATS if f.rdf}
    assert {f.key for f in formats.FORMATS if f.prefixes} == results.WITH_PREFIXES


def test_the_remote_backends_parsers_are_the_registrys() -> None:
    """The remote backend reads an answer by the registry's entry of the format it asked for
    (sparql_api/remote/answers.py; the known-bad: before, it kept its own tables), under
    exactly the media types it read before: the canonical type and the read aliases."""
    assert answers.ASKED_RESULTS == (formats.SPARQL_JSON, formats.SPARQL_XML)
    assert answers.ASKED_GRAPHS == (formats.N_TRIPLES, formats.TURTLE, formats.RDF_XML)
    assert answers.RESULT_PARSERS == {
        "application/sparql-results+json": QueryResultsFormat.JSON,
        "application/json": QueryResultsFormat.JSON,
        "application/sparql-results+xml": QueryResultsFormat.XML,
        "application/xml": QueryResultsFormat.XML,
    }
    assert answers.GRAPH_PARSERS == {
        "application/n-triples": RdfFormat.N_TRIPLES,
        "text/plain": RdfFormat.N_TRIPLES,
        "text/ntriples": RdfFormat.N_TRIPLES,
        "text/turtle": RdfFormat.TURTLE,
        "application/x-turtle": RdfFormat.TURTLE,
        "application/rdf+xml": RdfFormat.RDF_XML,
    }
    # what it does not read from a backend, though the registry knows it
    for media in ("application/turtle", "application/ld+json", "text/csv"):
        assert media not in answers.GRAPH_PARSERS and media not in answers.RESULT_PARSERS
    assert answers.ACCEPT_TABLE == (
        "application/sparql-results+json, application/sparql-results+xml;q=0.5"
    )
    assert answers.ACCEPT_GRAPH == (
        "application/n-triples, text/plain;q=0.9, text/turtle;q=0.5, application/rdf+xml;q=0.3"
    )
