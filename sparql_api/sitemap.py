"""``/sitemap.xml``: every page of the release, for crawlers (the sitemaps.org 0.9 protocol).

The build lists the release's pages (``site/pages.txt``, dipkg/core/sitemap.py); this
router puts each under the site's root as the request sees it (behind a proxy, its public
address), in both languages: one ``<url>`` per page and language (``?lang=zh``,
``?lang=en``), each naming the other as its ``hreflang`` alternate (and the page without a
language as ``x-default``), dated with the release's ``dct:modified``. More than
:data:`~dipkg.core.sitemap.MAX_URLS` URLs are served in parts (``/sitemap-1.xml``…) under a
sitemap index at ``/sitemap.xml``. ``/robots.txt`` names it (sparql_api/ui.py).

A part of 50,000 URLs is ~20 MB of XML: it is streamed in pieces (gzipped here when the
client takes gzip), one piece made at a time whatever the number of crawlers, and the
release's list is read once.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from xml.sax.saxutils import escape, quoteattr

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from dipkg.core.sitemap import MAX_URLS, SITE_PAGES
from sparql_api import http
from sparql_api.pages.site import PageContext, not_found
from sparql_api.protocol import site_root, vary_origin

XML = "application/xml; charset=utf-8"
NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml"'
)
#: the languages of every page: (?lang= value, hreflang)
LANGUAGES = (("zh", "zh-Hans"), ("en", "en"))


def page_urls(root: str, paths: list[str], start: int, stop: int) -> Iterator[str]:
    """The URLs ``start`` to ``stop`` of the pages without a language (the site's own, then
    the resources'), made as they are written (a part's 25,000 are never held at once)."""
    own = len(SITE_PAGES)
    for i in range(start, min(stop, own + len(paths))):
        yield f"{root}/{SITE_PAGES[i]}" if i < own else f"{root}/{paths[i - own]}.html"


def urlset(urls: Iterator[str], modified: str | None) -> Iterator[str]:
    """A sitemap of ``urls``: each page once per language, with its alternates."""
    lastmod = f"<lastmod>{escape(modified)}</lastmod>" if modified else ""
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS}>\n'
    for url in urls:
        hrefs = [(tag, f"{url}?lang={code}") for code, tag in LANGUAGES] + [("x-default", url)]
        alternates = "".join(
            f'<xhtml:link rel="alternate" hreflang="{tag}" href={quoteattr(href)}/>'
            for tag, href in hrefs
        )
        for code, _ in LANGUAGES:
            yield f"<url><loc>{escape(f'{url}?lang={code}')}</loc>{lastmod}{alternates}</url>\n"
    yield "</urlset>\n"


def index(root: str, parts: int, modified: str | None) -> Iterator[str]:
    lastmod = f"<lastmod>{escape(modified)}</lastmod>" if modified else ""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    for n in range(1, parts + 1):
        yield f"<sitemap><loc>{escape(f'{root}/sitemap-{n}.xml')}</loc>{lastmod}</sitemap>\n"
    yield "</sitemapindex>\n"


#: the body is sent in pieces of about this many characters (a part of 50,000 URLs is ~20 MB:
#: never held whole)
CHUNK = 64 * 1024


def encoded(pieces: Iterator[str], gzip: bool) -> Iterator[bytes]:
    """``pieces`` as UTF-8 in chunks of about :data:`CHUNK`, gzipped when ``gzip`` (the
    app's gzip leaves a streamed body as it is)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            data = "".join(buffer).encode("utf-8")
            buffer, size = [], 0
            out = packer.compress(data) if packer is not None else data
            if out:
                yield out
    data = "".join(buffer).encode("utf-8")
    out = packer.compress(data) + packer.flush() if packer is not None else data
    if out:
        yield out


def make_router(site: PageContext, *, max_urls: int = MAX_URLS) -> APIRouter:
    """``/sitemap.xml`` and its parts, at most ``max_urls`` URLs a file (a test's fewer)."""
    per_part = max(1, max_urls // len(LANGUAGES))  # pages a file
    router = APIRouter()
    release = site.release
    modified = release.manifest.modified
    # the release's list, read and checked once (on the first request: a server no crawler
    # asks never holds it); the sitemaps are made one piece at a time, one piece at once
    listed: list[list[str]] = []
    lock = threading.Lock()
    one_at_a_time = anyio.CapacityLimiter(1)

    def paths() -> list[str]:
        with lock:
            if not listed:
                listed.append(release.page_paths())
            return listed[0]

    async def answer(request: Request, part: int | None) -> Response:
        root = site_root(request)
        gzip = http.accepts_gzip(request.headers.get("accept-encoding"))
        tag = http.etag(release.tag, "sitemap", str(part), root)
        headers = site.headers(tag, vary_origin(request, "Accept-Encoding"))
        headers["Cache-Control"] = "public, max-age=3600"
        if http.not_modified(request.headers, tag, site.last_modified):
            return Response(status_code=304, headers=headers)
        listing = await anyio.to_thread.run_sync(paths)
        pages = len(SITE_PAGES) + len(listing)
        parts = -(-pages // per_part)
        if part is None and parts <= 1:
            pieces = urlset(page_urls(root, listing, 0, pages), modified)
        elif part is None:
            pieces = index(root, parts, modified)
        elif parts > 1 and 1 <= part <= parts:
            pieces = urlset(
                page_urls(root, listing, (part - 1) * per_part, part * per_part), modified
            )
        else:
            return not_found(site, request)
        if gzip:
            headers["Content-Encoding"] = "gzip"
        if request.scope.get(http.HEAD_OF):  # a HEAD: the GET's headers, nothing made
            head = Response(media_type=XML, headers=headers)
            del head.headers["content-length"]  # (the GET's body is streamed: it has none)
            return head
        chunks = encoded(pieces, gzip)

        async def body() -> AsyncIterator[bytes]:
            while True:
                chunk = await anyio.to_thread.run_sync(next, chunks, None, limiter=one_at_a_time)
                if chunk is None:
                    return
                yield chunk

        return StreamingResponse(body(), media_type=XML, headers=headers)

    @router.get("/sitemap.xml", include_in_schema=False)
    async def sitemap(request: Request) -> Response:
        return await answer(request, None)

    @router.get("/sitemap-{part:int}.xml", include_in_schema=False)
    async def sitemap_part(part: int, request: Request) -> Response:
        return await answer(request, part)

    return router
