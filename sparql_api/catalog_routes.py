"""``/catalog`` and ``/.well-known/void``: the release's catalogue record, content-negotiated.

The build writes the record (DCAT-AP 3 + VoID, see kg/catalog/) to ``catalog.ttl``
in the release. This router reads it once, at startup (the router's lifespan, merged
into the app's), serialises every offered format once, and then only picks bytes:

* ``GET /catalog``: the whole record: Turtle (default), N-Triples, JSON-LD, RDF/XML.
* ``GET /.well-known/void``: the VoID description (RFC 5785 well-known URI, as the
  VoID guide recommends): the dataset's VoID statements and its class and property
  partitions, same formats.

``?format=`` (ttl, nt, jsonld, rdf, or a media type) overrides ``Accept``; a format
nobody offers is a 406 with the error shape of the app. Include it with
``create_app(settings, release, routers=[catalog_routes.router])`` or
``app.include_router(catalog_routes.router)``.

Why one module of ~400 lines: one record served three ways (the record, VoID, the
readable page), all from the same parsed graph read once per release.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import rdflib
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dipkg.core import catalog_cn as cn
from dipkg.core import formats
from dipkg.core.errors import StoreError
from dipkg.core.iris import PREFIXES
from dipkg.core.release import Release
from sparql_api import http, i18n
from sparql_api.errors import HttpError
from sparql_api.negotiation import GRAPH_OFFERS, HTML, Offer, by_name, negotiate, wants_html
from sparql_api.pages.site import language
from sparql_api.protocol import site_root, vary_origin
from sparql_api.state import AppContext, context

CATALOG_FILE = "catalog.ttl"
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


def load_catalog(release: Release) -> CatalogDocs:
    """Read and serialise the release's catalogue record (once per app)."""
    path = release.root / CATALOG_FILE
    try:
        turtle = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(
            "the release has no catalogue record (catalog.ttl)", file=str(path)
        ) from None
    graph = rdflib.Graph()
    graph.parse(data=turtle.decode("utf-8"), format="turtle")
    return CatalogDocs(
        record=_document(graph, turtle), void=_document(void_graph(graph)), graph=graph
    )


def _docs(ctx: AppContext) -> CatalogDocs:
    docs = ctx.catalog
    if docs is None:  # an app whose lifespan did not run (e.g. TestClient without `with`)
        docs = ctx.catalog = load_catalog(ctx.release)
    return docs


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # load at startup: a release without a record fails here, not on a request
    _docs(app.state.dipkg)
    yield


router = APIRouter(lifespan=_lifespan, tags=["catalogue"])


def _fixed(request: Request, doc: Document, offer: Offer) -> Response:
    """One document URL, one type (the target of /catalog's 303)."""
    choice = by_name([offer.extension], GRAPH_OFFERS)
    assert choice is not None
    etag = f'"{doc.etag}-{offer.extension}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(doc.variants[choice.key], media_type=choice.content_type, headers=headers)


def _respond(request: Request, doc: Document) -> Response:
    choice = by_name(request.query_params.getlist("format"), GRAPH_OFFERS) or negotiate(
        request.headers.get("accept"), GRAPH_OFFERS
    )
    etag = f'"{doc.etag}-{choice.offer.extension}"'
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(doc.variants[choice.key], media_type=choice.content_type, headers=headers)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The RDF document in the negotiated format.",
        "content": {o.media_type: {"schema": {"type": "string"}} for o in GRAPH_OFFERS},
    },
    406: {"description": "None of the offered formats is acceptable (JSON error object)."},
}


@router.get(
    "/catalog",
    summary="The catalogue record (DCAT-AP 3 and VoID): 303 to a document",
    response_class=Response,
    responses={303: {"description": "See /catalog.{html,ttl,jsonld,nt,rdf}"}, **_RESPONSES},
)
def catalog(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
    """Like every resource: 303 to the document of the negotiated type. Browsers (that name
    text/html) get the page; everything else gets RDF, Turtle by default, so a harvester
    sending */* or nothing gets the record. ``?format=`` answers directly (200)."""
    if request.query_params.getlist("format"):
        return _respond(request, _docs(ctx).record)
    accept = request.headers.get("accept")
    extension = "html" if wants_html(accept) else negotiate(accept, GRAPH_OFFERS).offer.extension
    return RedirectResponse(
        f"{site_root(request)}/catalog.{extension}",
        status_code=303,
        headers={"Vary": vary_origin(request, "Accept"), "Cache-Control": "public, max-age=3600"},
    )


def _document_route(offer: Offer) -> None:
    @router.get(
        f"/catalog.{offer.extension}",
        summary=f"The catalogue record as {offer.label}",
        response_class=Response,
        responses={200: {"content": {offer.media_type: {"schema": {"type": "string"}}}}},
    )
    def document(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
        return _fixed(request, _docs(ctx).record, offer)


for _offer in GRAPH_OFFERS:
    _document_route(_offer)


# --- the readable page -----------------------------------------------------------------------
DCAT = rdflib.Namespace(PREFIXES["dcat"])
VCARD = rdflib.Namespace(PREFIXES["vcard"])
SPDX = rdflib.Namespace(PREFIXES["spdx"])
SKOS = rdflib.Namespace(PREFIXES["skos"])
IANA = formats.IANA
CN_RECORD = (cn.JSON_FILE, cn.XLSX_FILE)  # written by kg/catalog_cn.py
CN_SCHEMA_PATH = cn.SCHEMA_URL_PATH


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


@router.get(
    f"/{CN_SCHEMA_PATH}",
    summary="JSON Schema of the Chinese resource-catalogue record",
    response_class=Response,
    tags=["catalogue"],
)
def cn_schema(request: Request) -> Response:
    body, etag = _cn_schema()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/schema+json", headers=headers)


@router.get(
    "/catalog.html",
    summary="The catalogue record as a page for people",
    response_class=Response,
    include_in_schema=False,
)
def catalog_page(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
    site = ctx.site  # set by sparql_api.ui.install
    if site is None:  # an app without the pages (create_app always installs them)
        err = HttpError(
            "this app serves no pages; the record is at /catalog.ttl", status=404, code="not-found"
        )
        return JSONResponse(err.to_dict(), status_code=404)
    lang, explicit = language(request)
    root = site_root(request)
    tag = http.etag(
        ctx.release.build_id, "catalog.html", lang, root, "explicit" if explicit else ""
    )
    headers = site.headers(tag, "Accept-Language")
    headers["Content-Language"] = i18n.HTML_LANG[lang]
    if http.not_modified(request.headers, tag, site.last_modified):
        return Response(status_code=304, headers=headers)
    files = ctx.release.manifest.dump_files
    twins = [(o, f"{root}/catalog.{o.extension}") for o in GRAPH_OFFERS]
    records = [(name, f"{root}/dumps/{name}") for name in CN_RECORD if name in files]
    if records:
        records.append(("JSON Schema", f"{root}/{CN_SCHEMA_PATH}"))
    body = site.render(
        "catalog.html",
        request,
        lang,
        explicit,
        view=_view(ctx, lang),
        twins=twins,
        cn_records=records,
        void_href=f"{root}/.well-known/void",
    )
    return Response(body, media_type=HTML.content_type(), headers=headers)


def _view(ctx: AppContext, lang: str) -> dict[str, Any]:
    """The page's view of the record, made once per release (the app) and language."""
    views = ctx.catalog_views
    if lang not in views:
        views[lang] = catalog_view(_docs(ctx).graph, lang)
    return views[lang]


@functools.cache
def _cn_schema() -> tuple[bytes, str]:
    """The schema file and its ETag, read once (it ships with the code)."""
    body = cn.SCHEMA_PATH.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:20]}"'


@router.get(
    "/.well-known/void",
    summary="The VoID description of the dataset",
    response_class=Response,
    responses=_RESPONSES,
)
def well_known_void(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
    return _respond(request, _docs(ctx).void)
