"""The query UI, the static files, and the wiring of the linked-data routers.

* ``/query`` and ``/sparql`` (GET without a query, the client prefers HTML — the
  endpoint's ``set_sparql_page`` hook): a page with YASGUI (syntax-highlighted
  editor, results table, downloads) posting to ``/sparql``, the example questions
  the build wrote into the release (``Release.queries()``),
  and, without JavaScript or without the vendor files, a plain form: "Run" shows the results
  on the page itself
  (``/query?q=…&run=1``; not ``query=``, which makes /query the endpoint;
  the query sent through the app's own ``/sparql``, so the same guard, limits and cache apply)
  as a table whose IRIs link to their pages, and
  errors as readable messages in the page's language (:func:`sparql_api.i18n.describe_error`);
  "Download" (``/query?q=…&download=1&as=csv``; ``format=`` would select a format of /query itself)
  redirects to ``/sparql`` in that format. The format list and the download links offer what
  /sparql offers for the query's form (:func:`download_offers`), labelled as what they answer;
  a format it does not offer is refused on the page, as a readable error (406).
* ``/static/{file}``: site.css, query.js and ``vendor/yasgui/`` (copied from the
  npm package by ``make install``; git-ignored; never a CDN).
* :func:`install` adds everything to an app made by ``create_app``: static, dumps,
  pages — the resource catch-all last (and it only ever matches as a fallback).
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from dipkg.core.errors import DipkgError
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import changes, datamap, dumps, find, http, sitemap
from sparql_api.describe import Describer
from sparql_api.endpoint import check
from sparql_api.errors import NotAcceptable, quoted
from sparql_api.i18n import CLIENT_STRINGS, YASGUI_ZH, describe_error
from sparql_api.i18n import t as tr
from sparql_api.negotiation import HTML, Offer, by_name, not_acceptable, query_offers
from sparql_api.pages import routes as pages
from sparql_api.pages.site import PageContext, language, make_site, not_found
from sparql_api.protocol import client_address, site_root, vary_origin
from sparql_api.state import context, set_sparql_page

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor" / "yasgui"
VENDOR_FILES = ("yasgui.min.js", "yasgui.min.css")


@dataclass(frozen=True)
class Example:
    id: str
    title_zh: str
    title_en: str
    query: str
    description_zh: str = ""
    description_en: str = ""

    def title(self, lang: str) -> str:
        return (self.title_en if lang == "en" else self.title_zh) or self.title_zh or self.title_en

    def description(self, lang: str) -> str:
        return (self.description_en if lang == "en" else self.description_zh) or ""


#: the query in the form when the release has no example questions
DEFAULT_QUERY = "SELECT * WHERE { ?s ?p ?o } LIMIT 10"


def load_examples(release: Release) -> list[Example]:
    """The example questions of the query page, as the build wrote them into the release
    (``site/queries.json``, from build/queries: kg/queries.py)."""
    return [
        Example(
            id=q.id,
            title_zh=q.titles.get("zh", ""),
            title_en=q.titles.get("en", ""),
            query=q.query,
            description_zh=q.descriptions.get("zh", ""),
            description_en=q.descriptions.get("en", ""),
        )
        for q in release.queries()
    ]


#: most rows the plain form shows on the page (downloads have them all, up to the endpoint's cap)
SHOWN_ROWS = 500
#: most bytes of a graph's Turtle the page shows (the rest is a download away)
SHOWN_GRAPH_BYTES = 256 * 1024
_RESULTS_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"


#: the IRIs the results table links to (any other is shown as text): a query is the
#: client's, from the page's URL, so <javascript:...> in an answer must not be a link
_LINKED = re.compile(r"https?://", re.IGNORECASE)


def _cell(term: dict[str, Any], base: str, root: str) -> dict[str, Any]:
    """A SPARQL JSON term for the results table: its text, and a link for an http(s) IRI
    (an IRI below the base IRI links to its page on this site)."""
    value = str(term.get("value", ""))
    if term.get("type") == "uri":
        if base and value.startswith(base):
            href: str | None = root + "/" + value[len(base) :]
        else:
            href = value if _LINKED.match(value) else None
        return {"text": value, "href": href, "kind": "iri", "note": ""}
    lang, datatype = term.get("xml:lang"), term.get("datatype")
    return {
        "text": value,
        "href": None,
        "kind": "literal",
        "note": f"@{lang}" if lang else (datatype.rsplit("#", 1)[-1] if datatype else ""),
    }


async def run_for_page(
    request: Request, query: str, base: str, root: str, lang: str
) -> dict[str, Any]:
    """Send ``query`` through this app's own /sparql (the same guard, limits and cache as
    any client) and shape the answer for the page: a table, a boolean, a graph, or an error."""
    import httpx  # lazy: only this page's server-side answer needs it (memory of `dipkg serve`)

    # the inner request is this client's, for its per-client share of the workers (not 127.0.0.1's)
    transport = httpx.ASGITransport(app=request.app, client=(client_address(request), 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        reply = await client.post(
            "/sparql", data={"query": query}, headers={"Accept": _RESULTS_ACCEPT}
        )
    kind = reply.headers.get("content-type", "").split(";")[0]
    if reply.status_code >= 400:
        try:
            error = reply.json()
        except ValueError:
            error = {"error": "http", "status": reply.status_code, "message": reply.text[:500]}
        return {"error": describe_error(error, lang), "status": reply.status_code}
    if kind == "text/turtle":
        body = reply.content
        if len(body) <= SHOWN_GRAPH_BYTES:
            return {"graph": body.decode("utf-8")}
        cut = body.rfind(b"\n", 0, SHOWN_GRAPH_BYTES) + 1 or SHOWN_GRAPH_BYTES
        shown = body[:cut].decode("utf-8", "ignore")
        return {"graph": shown, "graph_cut": SHOWN_GRAPH_BYTES // 1024}
    # a large answer (up to the endpoint's result cap, 64 MiB) is parsed off the event loop:
    # the other requests of the process wait for nothing but this page's own
    if len(reply.content) > 256 * 1024:
        data = await anyio.to_thread.run_sync(reply.json)
    else:
        data = reply.json()
    if "boolean" in data:
        return {"boolean": bool(data["boolean"])}
    names = list(data.get("head", {}).get("vars", []))
    bindings = data.get("results", {}).get("bindings", [])
    rows = [
        [_cell(b[v], base, root) if v in b else None for v in names] for b in bindings[:SHOWN_ROWS]
    ]
    return {
        "vars": names,
        "rows": rows,
        "count": len(bindings),
        "shown": len(rows),
        "truncated": reply.headers.get("x-dipkg-truncated") == "true" or len(bindings) > SHOWN_ROWS,
    }


async def download_offers(query: str, named_graphs: bool) -> tuple[Offer, ...]:
    """The formats /sparql offers for ``query``: those of its form, as the guard tells it
    (:func:`sparql_api.negotiation.query_offers`, the endpoint's own choice); none when the
    guard refuses the query or cannot tell its form (no format would answer it)."""
    try:
        checked = await check(query)
    except DipkgError:
        return ()
    return query_offers(checked.kind, named_graphs)


def download_format(asked: str, offers: tuple[Offer, ...]) -> str:
    """The ``format=`` for /sparql of a download ``as=`` ``asked`` (empty: the default),
    checked as /sparql reads it (:func:`sparql_api.negotiation.by_name`): a
    :class:`NotAcceptable` naming the formats offered when it is not one of ``offers``."""
    if not asked.strip():
        return offers[0].names[0]
    try:
        by_name([asked], offers)
    except NotAcceptable:
        shown = ", ".join(f"{o.label} ({o.names[0]})" for o in offers)
        named = quoted(asked, 40)
        raise not_acceptable(
            offers, f"the format {named!r} is not offered for this query; offered: {shown}"
        ) from None
    return asked


#: ``/robots.txt``: the query services are not for crawlers (RFC 9309); ``root`` is the
#: site's public root (behind a trusted proxy, its public address)
ROBOTS = """\
# dipkg: every resource page, the catalogue and the dumps may be crawled; the
# query services may not (each answer is computed). Linked-data clients: the
# VoID description is at {root}/.well-known/void
User-agent: *
Disallow: /sparql
Disallow: /query
Disallow: /search
Disallow: /match

Sitemap: {root}/sitemap.xml
"""


def vendor_ready() -> bool:
    return all((VENDOR / name).is_file() for name in VENDOR_FILES)


def make_router(
    settings: Settings, release: Release, *, site: PageContext | None = None
) -> APIRouter:
    """``/static/{file}``, ``/favicon.ico`` and ``/robots.txt``."""
    router = APIRouter()
    site = site or make_site(settings, release)

    @router.get("/static/{name:path}", include_in_schema=False)
    async def static(name: str, request: Request) -> Response:
        try:
            target = (STATIC / name).resolve()
            found = target.is_relative_to(STATIC) and target.is_file()
        except (OSError, ValueError):  # e.g. a name longer than the OS allows (ENAMETOOLONG)
            found = False
        if not found:
            return not_found(site, request)
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if media.startswith("text/") or media in ("application/javascript", "application/json"):
            media += "; charset=utf-8"
        stat = target.stat()
        tag = http.etag("static", name, str(stat.st_size), str(int(stat.st_mtime)))
        headers = {"ETag": tag, "Cache-Control": "public, max-age=3600"}
        if http.not_modified(request.headers, tag, site.last_modified) and request.headers.get(
            "if-none-match"
        ):
            return Response(status_code=304, headers=headers)
        return FileResponse(target, media_type=media, headers=headers)

    @router.get("/favicon.ico", include_in_schema=False)
    async def favicon(request: Request) -> Response:
        """Browsers ask for /favicon.ico whatever the page says: the site's SVG icon."""
        return await static("favicon.svg", request)

    @router.get("/robots.txt", include_in_schema=False)
    async def robots(request: Request) -> Response:
        """Crawlers may read every page and dump, not the query services: each page links
        example queries and searches, and a crawler following them (or making up its own
        parameters) spends the endpoint's workers on answers no one reads."""
        body = ROBOTS.format(root=site_root(request)).encode()
        return Response(
            body,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600", "Vary": vary_origin(request)},
        )

    return router


def make_query_page(
    release: Release, site: PageContext
) -> Callable[[Request], Awaitable[Response]]:
    """The query page for people: GET /sparql without a query (browsers), and /query."""
    examples = load_examples(release)

    async def page(request: Request) -> Response:
        lang, explicit = language(request)
        root = site_root(request)
        wanted = request.query_params.get("example")
        chosen = next((e for e in examples if e.id == wanted), examples[0] if examples else None)
        query = chosen.query if chosen is not None else DEFAULT_QUERY
        asked = request.query_params.get("q")
        outcome: dict[str, Any] | None = None
        if asked:
            query = asked
        named = bool(context(request).named_graphs)
        offers = await download_offers(query, named)
        if asked and request.query_params.get("download"):
            if not offers:  # the query itself is refused: its error, as "Run" shows it
                outcome = await run_for_page(request, asked, release.base_iri, root, lang)
            else:
                try:
                    fmt = download_format(request.query_params.get("as", ""), offers)
                except NotAcceptable as err:
                    outcome = {"error": describe_error(err.to_dict(), lang), "status": err.status}
                else:
                    return RedirectResponse(
                        f"{root}/sparql?" + urlencode({"query": asked, "format": fmt}),
                        status_code=303,
                    )
        elif asked and request.query_params.get("run"):
            outcome = await run_for_page(request, asked, release.base_iri, root, lang)
            if "error" in outcome and outcome["status"] == 400:
                offers = ()  # the query is wrong (a syntax error): no format would answer it
        downloads = [
            (o, f"{root}/sparql?" + urlencode({"query": query, "format": o.names[0]}))
            for o in offers
        ]
        body = site.render(
            "query.html",
            request,
            lang,
            explicit,
            examples=examples,
            query=query,
            examples_json=json.dumps(
                [{"id": e.id, "title": e.title(lang), "query": e.query} for e in examples],
                ensure_ascii=False,
            ).replace("</", "<\\/"),
            vendor=vendor_ready(),
            result_offers=offers,
            downloads=downloads,
            download_formats=json.dumps(  # query.js: the links of the query in the editor
                {
                    kind: [
                        {"format": o.names[0], "label": o.label} for o in query_offers(kind, named)
                    ]
                    for kind in ("table", "graph")
                },
                ensure_ascii=False,
            ).replace("</", "<\\/"),
            explicit_lang=explicit,
            endpoint=root + "/sparql",
            outcome=outcome,
            client_strings=json.dumps(
                {
                    **{k: tr(k, lang) for k in CLIENT_STRINGS},
                    "yasgui": YASGUI_ZH if lang == "zh" else {},
                },
                ensure_ascii=False,
            ).replace("</", "<\\/"),
        )
        status = outcome.get("status", 200) if outcome else 200
        return Response(
            body,
            status_code=status,
            media_type=HTML.content_type(),
            headers={
                "Vary": "Accept, Accept-Language",
                "Cache-Control": "no-cache",
                "Content-Language": "zh-Hans" if lang == "zh" else "en",
                "Content-Security-Policy": http.QUERY_PAGE_POLICY,
            },
        )

    return page


def install(
    app: FastAPI, settings: Settings, release: Release, describer: Describer | None = None
) -> None:
    """Add the query UI, static files, dumps and pages (resource catch-all last) to ``app``
    (``describer``: the pages' lookups, from :mod:`sparql_api.backends`; default local)."""
    site = make_site(settings, release, describer)
    app.state.dipkg.site = site  # the catalogue page (sparql_api/catalog_routes.py) renders with it
    ui = make_router(settings, release, site=site)
    app.include_router(ui)
    app.include_router(dumps.make_router(settings, release, site=site))
    app.include_router(changes.make_router(settings, release, site=site))  # /changes, /changes.json
    app.include_router(
        datamap.make_router(settings, release, site=site)
    )  # /map, /map.{svg,csv,json}
    app.include_router(find.make_router(site))
    app.include_router(sitemap.make_router(site))  # /sitemap.xml, /sitemap-{n}.xml
    app.include_router(pages.make_router(settings, release, site=site))
    page = make_query_page(release, site)
    set_sparql_page(app, page)
    if not any(getattr(r, "path", None) == "/query" for r in app.router.routes):
        app.add_api_route("/query", page, methods=["GET"], include_in_schema=False)
