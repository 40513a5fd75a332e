"""The release's catalogue record, parsed and served three ways: the record itself, its VoID
part and the readable page's view (:mod:`sparql_api.catalog_routes` serves them).

Kept apart from the routes so that rdflib, which parses the record and writes its
N-Triples, JSON-LD and RDF/XML, is loaded by ``dipkg serve`` only when the record is
first asked for (a rare route), not at start-up: the routes import this module lazily.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import rdflib

from dipkg.core import formats
from dipkg.core.iris import PREFIXES
from sparql_api.negotiation import GRAPH_OFFERS

VOID = rdflib.Namespace(PREFIXES["void"])
DCT = rdflib.Namespace(PREFIXES["dcterms"])
FOAF = rdflib.Namespace(PREFIXES["foaf"])
# What the VoID document keeps of the dataset besides the void: statements.
_VOID_KEEP = {
    rdflib.RDF.type,
    DCT.title,
    DCT.description,
    DCT.license,
    DCT.publisher,
    DCT.modified,
    DCT.source,
}


@dataclass(frozen=True)
class Document:
    """One RDF document, serialised in every offered format (bytes by offer key)."""

    variants: dict[str, bytes]
    etag: str


@dataclass(frozen=True)
class CatalogDocs:
    record: Document
    void: Document
    graph: rdflib.Graph  # the record, parsed (the readable page reads it)


def void_graph(record: rdflib.Graph) -> rdflib.Graph:
    """The VoID part of a catalogue record: void:Dataset descriptions and their partitions."""
    out = rdflib.Graph()
    for prefix, ns in PREFIXES.items():
        out.bind(prefix, ns)
    datasets = set(record.subjects(rdflib.RDF.type, VOID.Dataset))
    partitions = {
        o
        for s in datasets
        for p in (VOID.classPartition, VOID.propertyPartition)
        for o in record.objects(s, p)
    }
    for s in datasets - partitions:
        for p, o in record.predicate_objects(s):
            if str(p).startswith(str(VOID)) or p in _VOID_KEEP:
                out.add((s, p, o))
    for s in partitions:
        for p, o in record.predicate_objects(s):
            out.add((s, p, o))
    return out


def _document(graph: rdflib.Graph, turtle: bytes | None = None) -> Document:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, replace=True)
    variants: dict[str, bytes] = {}
    for offer in GRAPH_OFFERS:
        if offer.key == "turtle" and turtle is not None:
            variants[offer.key] = turtle  # the build's own deterministic Turtle, byte for byte
            continue
        assert offer.format is not None and offer.format.rdflib is not None, offer
        fmt = offer.format.rdflib  # dipkg/core/formats.py: rdflib's serializer
        if fmt == "nt":
            text = "".join(sorted(graph.serialize(format="nt").splitlines(keepends=True)))
            variants[offer.key] = text.encode("utf-8")
        elif fmt == "json-ld":
            context = {p: ns for p, ns in PREFIXES.items()}
            variants[offer.key] = graph.serialize(
                format="json-ld", context=context, indent=2
            ).encode("utf-8")
        else:
            variants[offer.key] = graph.serialize(format=fmt, encoding="utf-8")
    digest = hashlib.sha256(
        variants.get("turtle") or graph.serialize(format="nt").encode()
    ).hexdigest()[:20]
    return Document(variants, digest)


def load(turtle: bytes) -> CatalogDocs:
    """Parse the release's record (``catalog.ttl``'s bytes) and serialise it in every offered
    format, the record and its VoID part."""
    graph = rdflib.Graph()
    graph.parse(data=turtle.decode("utf-8"), format="turtle")
    return CatalogDocs(
        record=_document(graph, turtle), void=_document(void_graph(graph)), graph=graph
    )


# --- the readable page -----------------------------------------------------------------------
DCAT = rdflib.Namespace(PREFIXES["dcat"])
VCARD = rdflib.Namespace(PREFIXES["vcard"])
SPDX = rdflib.Namespace(PREFIXES["spdx"])
SKOS = rdflib.Namespace(PREFIXES["skos"])
IANA = formats.IANA


def _text(graph: rdflib.Graph, subject: Any, prop: Any, lang: str) -> str:
    """The literal in ``lang``, else in the other language, else any ("" if none)."""
    values = [o for o in graph.objects(subject, prop) if isinstance(o, rdflib.Literal)]
    for wanted in (lang, "en" if lang == "zh" else "zh", None):
        for o in sorted(values):
            if wanted is None or o.language == wanted:
                return str(o)
    return ""


def _distribution(graph: rdflib.Graph, d: Any, lang: str) -> dict[str, Any]:
    url = graph.value(d, DCAT.downloadURL) or graph.value(d, DCAT.accessURL)
    fmt = graph.value(d, DCT["format"])
    media = graph.value(d, DCAT.mediaType)
    checksum = graph.value(d, SPDX.checksum)
    size = graph.value(d, DCAT.byteSize)
    return {
        "iri": str(d),
        "title": _text(graph, d, DCT.title, lang),
        "url": str(url) if url else "",
        "format": _text(graph, fmt, SKOS.prefLabel, "en") if fmt is not None else "",
        "media_type": str(media)[len(IANA) :]
        if media is not None and str(media).startswith(IANA)
        else "",
        "gzip": graph.value(d, DCAT.compressFormat) is not None,
        "bytes": int(size) if size is not None else None,
        "sha256": str(graph.value(checksum, SPDX.checksumValue) or "")
        if checksum is not None
        else "",
        "service": graph.value(d, DCAT.accessService) is not None,
    }


def _dataset(graph: rdflib.Graph, ds: Any, lang: str) -> dict[str, Any]:
    distributions = [_distribution(graph, d, lang) for d in graph.objects(ds, DCAT.distribution)]
    distributions.sort(key=lambda d: (d["service"], d["url"]))
    keywords = sorted(
        str(k) for k in graph.objects(ds, DCAT.keyword) if getattr(k, "language", None) == lang
    )
    return {
        "iri": str(ds),
        "title": _text(graph, ds, DCT.title, lang),
        "description": _text(graph, ds, DCT.description, lang),
        "version": str(graph.value(ds, DCAT.version) or ""),
        "issued": str(graph.value(ds, DCT.issued) or ""),
        "modified": str(graph.value(ds, DCT.modified) or ""),
        "keywords": keywords,
        "distributions": distributions,
        "publisher": _text(graph, graph.value(ds, DCT.publisher), FOAF.name, lang)
        if graph.value(ds, DCT.publisher) is not None
        else "",
    }


def catalog_view(graph: rdflib.Graph, lang: str) -> dict[str, Any]:
    """What the readable /catalog page shows, read from the record itself (one source of truth)."""
    catalog = next(graph.subjects(rdflib.RDF.type, DCAT.Catalog))
    main = graph.value(catalog, DCAT.dataset)
    publisher = graph.value(catalog, DCT.publisher)
    contact = graph.value(main, DCAT.contactPoint)
    licence = graph.value(catalog, DCT.license)
    service = graph.value(catalog, DCAT.service)
    email = str(graph.value(contact, VCARD.hasEmail) or "") if contact is not None else ""
    sources = sorted(graph.objects(main, DCT.source))
    return {
        "iri": str(catalog),
        "title": _text(graph, catalog, DCT.title, lang),
        "description": _text(graph, catalog, DCT.description, lang),
        "modified": str(graph.value(catalog, DCT.modified) or ""),
        "publisher": {
            "iri": str(publisher),
            "name": _text(graph, publisher, FOAF.name, lang),
            "homepage": str(graph.value(publisher, FOAF.homepage) or ""),
        },
        "contact": {
            "name": _text(graph, contact, VCARD.fn, lang),
            "email": email.removeprefix("mailto:"),
            "url": str(graph.value(contact, VCARD.hasURL) or ""),
        }
        if contact is not None
        else None,
        "licence": {
            "iri": str(licence),
            "title": _text(graph, licence, DCT.title, lang),
            "identifier": str(graph.value(licence, DCT.identifier) or ""),
        },
        "dataset": _dataset(graph, main, lang),
        "sources": [_dataset(graph, ds, lang) for ds in sources],
        "service": {
            "iri": str(service),
            "title": _text(graph, service, DCT.title, lang),
            "endpoint": str(graph.value(service, DCAT.endpointURL) or ""),
        }
        if service is not None
        else None,
    }
