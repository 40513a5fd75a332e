"""The page routes: the landing page and the resource catch-all (303 to a negotiated
document; each document a cached 200)."""

from __future__ import annotations

from urllib.parse import quote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import http, i18n
from sparql_api.cache import Entry
from sparql_api.errors import NotAcceptable
from sparql_api.negotiation import HTML, RESOURCE_OFFERS, Offer, negotiate
from sparql_api.pages.documents import serialize
from sparql_api.pages.links import Linker, iri_for_path, split_extension, twin_links
from sparql_api.pages.site import (
    PageContext,
    absent,
    language,
    make_site,
    not_acceptable_response,
    not_found,
)
from sparql_api.pages.views import TEMPLATE_OF
from sparql_api.protocol import site_root, vary_origin


async def document(
    site: PageContext, request: Request, iri: str, offer: Offer, path: str
) -> Response:
    """The 200 answer for one document (resource + format), cached."""
    lang, explicit = language(request) if offer is HTML else ("", False)
    root = site_root(request) if offer is HTML else ""
    variant = offer.extension
    tag = http.etag(site.release.tag, path, variant, lang, root, "explicit" if explicit else "")
    # a document's type is fixed by its extension: only a page's language is negotiated
    vary = "Accept-Language" if offer is HTML else ""
    headers = site.headers(tag, vary)
    headers["Content-Type"] = offer.content_type()
    headers["Link"] = twin_links(path, offer)
    if offer is HTML:
        headers["Content-Language"] = i18n.HTML_LANG[lang]
    # a 304 says the client's copy is current: only of a document that is there
    if http.not_modified(request.headers, tag, site.last_modified):
        if await anyio.to_thread.run_sync(site.pages.describer.exists, iri):
            return Response(status_code=304, headers=headers)
    key = ("doc", path, variant, lang, root, explicit)
    cached = site.cache.get(key)
    if cached is not None:
        return Response(cached.body, headers=headers)

    def work() -> bytes | None:
        desc = site.pages.describer.describe(iri)
        if desc is None:
            return None
        if offer is not HTML:
            return serialize(desc, offer.key, site.pages.context)
        link = Linker(site.base, root, lang if explicit else None)
        view = site.pages.view(desc, link, lang)
        stem = "/" + path
        twins = [
            (o, site_root(request) + stem + "." + o.extension)
            for o in RESOURCE_OFFERS
            if o is not HTML
        ]
        return site.render(
            TEMPLATE_OF.get(view.kind, "resource.html"),
            request,
            lang,
            explicit,
            view=view,
            twins=twins,
            pages=site.pages,
            resource_path=stem,
        ).encode("utf-8")

    body = await anyio.to_thread.run_sync(work)
    if body is None:
        return absent(site, request, iri)
    site.cache.put(key, Entry(body, {}))
    return Response(body, headers=headers)


class FallbackRoute(APIRoute):
    """A route that only ever matches as a fallback: a full match is reported as partial,
    so any other route of the app — registered before or after it — wins."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.PARTIAL, child) if match == Match.FULL else (match, child)


def make_router(
    settings: Settings, release: Release, *, site: PageContext | None = None
) -> APIRouter:
    """The landing page and the resource catch-all (a :class:`FallbackRoute`: include it last)."""
    router = APIRouter()
    site = site or make_site(settings, release)
    fallback = APIRouter(route_class=FallbackRoute)

    @router.get("/", include_in_schema=False)
    async def landing(request: Request) -> Response:
        accept = request.headers.get("accept")
        try:
            wanted = negotiate(accept, RESOURCE_OFFERS).offer
        except NotAcceptable:
            wanted = HTML  # the home page is a page whatever the client says
        dataset = site.pages.minter.dataset()
        if wanted is not HTML and dataset.startswith(site.base):
            target = f"{site_root(request)}/{dataset[len(site.base) :]}.{wanted.extension}"
            return RedirectResponse(
                target,
                status_code=303,
                headers={"Vary": vary_origin(request, "Accept", "Accept-Language")},
            )
        lang, explicit = language(request)
        root = site_root(request)
        tag = http.etag(release.tag, "/", "html", lang, root, "explicit" if explicit else "")
        headers = site.headers(tag, "Accept, Accept-Language")
        headers["Content-Type"] = HTML.content_type()
        headers["Content-Language"] = i18n.HTML_LANG[lang]
        if http.not_modified(request.headers, tag, site.last_modified):
            return Response(status_code=304, headers=headers)
        key = ("landing", lang, root, explicit)
        cached = site.cache.get(key)
        if cached is not None:
            return Response(cached.body, headers=headers)

        def work() -> bytes:
            link = Linker(site.base, root, lang if explicit else None)
            domains = site.pages.domains(link, lang)
            guides = site.pages.describer.select("""SELECT ?g ?czh ?cen ?tzh ?ten WHERE {
                ?g a dip:Guide .
                OPTIONAL { ?g dcterms:bibliographicCitation ?czh FILTER(lang(?czh)="zh") }
                OPTIONAL { ?g dcterms:bibliographicCitation ?cen FILTER(lang(?cen)="en") }
                OPTIONAL { ?g dcterms:title ?tzh FILTER(lang(?tzh)="zh") }
                OPTIONAL { ?g dcterms:title ?ten FILTER(lang(?ten)="en") } } ORDER BY ?g""")
            cites = [
                {
                    "href": link.href(g["g"].value),
                    "title": site.pages._lab(g, lang, "tzh", "ten"),
                    "citation": site.pages._lab(g, lang, "czh", "cen"),
                }
                for g in guides
            ]
            dataset = site.pages.minter.dataset()
            twins = (
                [
                    (o, link.root + "/" + dataset[len(site.base) :] + "." + o.extension)
                    for o in RESOURCE_OFFERS
                    if o is not HTML
                ]
                if dataset.startswith(site.base)
                else []
            )
            return site.render(
                "landing.html",
                request,
                lang,
                explicit,
                domains=domains,
                guides=cites,
                schema_org=site.schema_org,
                twins=twins,
                dataset_href=link.href(dataset),
                catalog_href=link.href(site.pages.minter.catalog()),
                counts=release.manifest.counts.to_json(),
            ).encode("utf-8")

        body = await anyio.to_thread.run_sync(work)
        site.cache.put(key, Entry(body, {}))
        return Response(body, headers=headers)

    @fallback.get("/{path:path}", include_in_schema=False)
    async def resource(path: str, request: Request) -> Response:
        if (
            path.endswith("/")
            and path.strip("/")
            and "//" not in path
            and path[0] != "/"
            and await anyio.to_thread.run_sync(
                site.pages.describer.exists,
                iri_for_path(split_extension(path.rstrip("/"))[0], site.base),
            )
        ):
            # /scenario/x/ is /scenario/x (a crawler or a hand-typed address), when that is a
            # resource: said once, for good, on this site (the target is this site's root)
            target = site_root(request) + "/" + quote(path.rstrip("/"), safe="/.-_~")
            if request.url.query:
                target += "?" + request.url.query
            return RedirectResponse(
                target,
                status_code=301,
                headers={"Cache-Control": "public, max-age=3600", "Vary": vary_origin(request)},
            )
        if not path or path.endswith("/") or "//" in path or path.startswith("."):
            return not_found(site, request)
        stem, offer = split_extension(path)
        iri = iri_for_path(stem, site.base)
        if offer is not None:
            return await document(site, request, iri, offer, stem)
        exists = await anyio.to_thread.run_sync(site.pages.describer.exists, iri)
        catalog = site.pages.minter.catalog()
        graph = site.release.manifest.catalog.graph
        if not exists and iri == graph and catalog.startswith(site.base):
            # the named graph the record is loaded into (the service description's sd:name):
            # what it holds is the record, so its documents are the record's
            stem = catalog[len(site.base) :]
        elif not exists:
            # the ontology's version IRI names the ontology as served: its documents
            describer = site.pages.describer
            if not await anyio.to_thread.run_sync(describer.is_ontology_version, iri):
                return absent(site, request, iri)
            stem = "ontology"
        accept = request.headers.get("accept")
        try:
            choice = negotiate(accept, RESOURCE_OFFERS)
        except NotAcceptable:
            return not_acceptable_response(RESOURCE_OFFERS, accept)
        target = site_root(request) + "/" + quote(stem, safe="/.-_~") + "." + choice.offer.extension
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(
            target,
            status_code=303,
            headers={
                "Vary": vary_origin(request, "Accept", "Accept-Language"),
                "Cache-Control": "public, max-age=3600",
            },
        )

    router.include_router(fallback)
    return router
