"""``/catalog`` and ``/.well-known/void``: the release's catalogue record, content-negotiated.

The build writes the record (DCAT-AP 3 + VoID, see kg/catalog/) to ``catalog.ttl``
in the release. This router checks at startup that the release has one (the router's
lifespan, merged into the app's); the first request for the record reads it, serialises
every offered format once (:mod:`sparql_api.catalog_record`, with rdflib: loaded then,
not at start-up, to keep ``dipkg serve`` light), and from then on only picks bytes:

* ``GET /catalog``: the whole record: Turtle (default), N-Triples, JSON-LD, RDF/XML.
* ``GET /.well-known/void``: the VoID description (RFC 5785 well-known URI, as the
  VoID guide recommends): the dataset's VoID statements and its class and property
  partitions, same formats.

``?format=`` (ttl, nt, jsonld, rdf, or a media type) overrides ``Accept``; a format
nobody offers is a 406 with the error shape of the app. Include it with
``create_app(settings, release, routers=[catalog_routes.router])`` or
``app.include_router(catalog_routes.router)``.

One record served three ways (the record, VoID, the readable page), all from the same
parsed graph read once per release.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import pyoxigraph
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dipkg.core import catalog_cn as cn
from dipkg.core.errors import StoreError
from dipkg.core.release import Release
from sparql_api import http, i18n
from sparql_api.errors import HttpError, NotAcceptable
from sparql_api.negotiation import (
    GRAPH_OFFERS,
    HTML,
    Choice,
    Offer,
    by_name,
    negotiate,
)
from sparql_api.pages.links import twin_links
from sparql_api.pages.site import language, not_acceptable_response
from sparql_api.protocol import site_root, vary_origin
from sparql_api.state import AppContext, context

if TYPE_CHECKING:  # the record's module (and rdflib) loads on first use: load_catalog
    from sparql_api.catalog_record import CatalogDocs, Document

_loading = threading.Lock()


def check(release: Release) -> None:
    """:class:`StoreError` when the release has no catalogue record or one that does not
    parse (at startup: such a release fails there, and a live server keeps the release it
    serves, not a 500 on the record's routes). Parsed with pyoxigraph, already loaded and
    fast; the record is read into the pages' form (rdflib) on its first use."""
    path = release.catalog_file
    if not path.is_file():
        raise StoreError(f"the release has no catalogue record ({path.name})", file=str(path))
    try:
        for _ in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
            pass
    except SyntaxError as exc:
        raise StoreError(
            f"the release's catalogue record does not parse: {exc}", file=str(path)
        ) from None
    except OSError as exc:
        raise StoreError(
            f"the release's catalogue record cannot be read: {exc.strerror or exc}",
            file=str(path),
        ) from None


def load_catalog(release: Release) -> CatalogDocs:
    """Read and serialise the release's catalogue record (once per app)."""
    # rdflib and the parsed record load on the first request for the record, not at start-up
    # (lazy, for the memory of `dipkg serve`: tests/test_serve_imports.py)
    from sparql_api import catalog_record

    path = release.catalog_file
    try:
        turtle = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(
            f"the release has no catalogue record ({path.name})", file=str(path)
        ) from None
    return catalog_record.load(turtle)


def _docs(ctx: AppContext) -> CatalogDocs:
    docs = ctx.catalog
    if docs is None:  # the first request for the record (or the page) reads it, once
        with _loading:
            docs = ctx.catalog
            if docs is None:
                docs = ctx.catalog = load_catalog(ctx.release)
    return docs


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # check at startup: a release without a record fails here, not on a request
    check(app.state.dipkg.release)
    yield


router = APIRouter(lifespan=_lifespan, tags=["catalogue"])


def _validators(ctx: AppContext, etag: str) -> dict[str, str]:
    """The record's validators: its tag, and the release's Last-Modified (as every other
    document of the release), so If-Modified-Since revalidates too."""
    return {
        "ETag": etag,
        "Last-Modified": http.http_date(ctx.last_modified),
        "Cache-Control": "public, max-age=300",
    }


def _fixed(request: Request, ctx: AppContext, doc: Document, offer: Offer) -> Response:
    """One document URL, one type (the target of /catalog's 303)."""
    choice = by_name([offer.extension], GRAPH_OFFERS)
    assert choice is not None
    etag = f'W/"{doc.etag}-{offer.extension}"'  # weak: gzipped or not, the same document
    headers = _validators(ctx, etag)
    headers["Link"] = twin_links("catalog", offer)  # its twins, as a resource's documents
    if http.not_modified(request.headers, etag, ctx.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(doc.variants[choice.key], media_type=choice.content_type, headers=headers)


def _respond(
    request: Request, ctx: AppContext, doc: Document, named: Choice | None = None
) -> Response:
    """``doc`` in the format ``named`` (``?format=``, read by the caller), else by Accept."""
    choice = (
        named
        or by_name(request.query_params.getlist("format"), GRAPH_OFFERS)
        or negotiate(request.headers.get("accept"), GRAPH_OFFERS)
    )
    etag = f'W/"{doc.etag}-{choice.offer.extension}"'  # (weak: as every tag of the app)
    headers = {"Vary": "Accept", **_validators(ctx, etag)}
    if http.not_modified(request.headers, etag, ctx.last_modified):
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
    """Like every resource: 303 to the document of the negotiated type, HTML among the RDF
    types by their weights (browsers get the page; a client preferring Turtle to HTML, the
    Turtle). Turtle by default, so a harvester sending */* or nothing gets the record.
    ``?format=`` answers directly (200)."""
    formats = request.query_params.getlist("format")
    named = by_name(formats, (*GRAPH_OFFERS, HTML))  # (a 406 lists what its error says)
    if named is not None and named.offer is not HTML:
        return _respond(request, ctx, _docs(ctx).record, named)
    if named is not None:  # ?format=html: the page, as the 406 offers it
        extension = HTML.extension
    else:
        accept = request.headers.get("accept")
        try:  # HTML weighed against every RDF type; */* or no Accept: Turtle, the first
            extension = negotiate(accept, (*GRAPH_OFFERS, HTML)).offer.extension
        except NotAcceptable:
            return not_acceptable_response(GRAPH_OFFERS + (HTML,), accept)
    target = f"{site_root(request)}/catalog.{extension}"
    query = request.url.query  # as every resource's 303 (e.g. the language switch's ?lang=en)
    if named is not None:  # less the format, which the page would not know
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "format"])
    if query:
        target += "?" + query
    return RedirectResponse(
        target,
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
        return _fixed(request, ctx, _docs(ctx).record, offer)


for _offer in GRAPH_OFFERS:
    _document_route(_offer)


# --- the readable page -----------------------------------------------------------------------
CN_RECORD = (cn.JSON_FILE, cn.XLSX_FILE)  # written by kg/catalog_cn.py
CN_SCHEMA_PATH = cn.SCHEMA_URL_PATH


@router.get(
    f"/{CN_SCHEMA_PATH}",
    summary="JSON Schema of the Chinese resource-catalogue record",
    response_class=Response,
    tags=["catalogue"],
)
def cn_schema(request: Request) -> Response:
    body, etag = _cn_schema()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if http.none_match(request.headers, etag):
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
    tag = http.etag(ctx.release.tag, "catalog.html", lang, root, "explicit" if explicit else "")
    headers = site.headers(tag, "Accept-Language")
    headers["Content-Language"] = i18n.HTML_LANG[lang]
    headers["Link"] = twin_links("catalog", HTML)
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
        # a format named: followed by a browser, /.well-known/void would negotiate its
        # Accept (application/xml;q=0.9) to RDF/XML, shown as XML
        void_href=f"{root}/.well-known/void?format=ttl",
    )
    return Response(body, media_type=HTML.content_type(), headers=headers)


def _view(ctx: AppContext, lang: str) -> dict[str, Any]:
    """The page's view of the record, made once per release (the app) and language."""
    views = ctx.catalog_views
    if lang not in views:
        from sparql_api.catalog_record import catalog_view  # lazy: see load_catalog

        views[lang] = catalog_view(_docs(ctx).graph, lang)
    return views[lang]


@functools.cache
def _cn_schema() -> tuple[bytes, str]:
    """The schema file and its ETag, read once (it ships with the code)."""
    body = cn.SCHEMA_PATH.read_bytes()
    return body, f'W/"{hashlib.sha256(body).hexdigest()[:20]}"'  # weak: gzip or identity


@router.get(
    "/.well-known/void",
    summary="The VoID description of the dataset",
    response_class=Response,
    responses=_RESPONSES,
)
def well_known_void(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
    return _respond(request, ctx, _docs(ctx).void)
