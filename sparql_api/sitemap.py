"""``/sitemap.xml``: every page of the release, for crawlers (the sitemaps.org 0.9 protocol).

The build lists the release's pages (``site/pages.txt``, dipkg/core/sitemap.py); this
router puts each under the site's root as the request sees it (behind a proxy, its public
address), in both languages: one ``<url>`` per page and language (``?lang=zh``,
``?lang=en``), each naming the other as its ``hreflang`` alternate (and the page without a
language as ``x-default``), dated with the release's ``dct:modified``. More than
:data:`~dipkg.core.sitemap.MAX_URLS` URLs are served in parts (``/sitemap-1.xml``…) under a
sitemap index at ``/sitemap.xml``. ``/robots.txt`` names it (sparql_api/ui.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import escape, quoteattr

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

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


def page_urls(root: str, paths: list[str]) -> list[str]:
    """The URL of each page without a language: the site's own, then the resources'."""
    return [f"{root}/{p}" for p in SITE_PAGES] + [f"{root}/{p}.html" for p in paths]


def urlset(urls: list[str], modified: str | None) -> Iterator[str]:
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


def make_router(site: PageContext, *, max_urls: int = MAX_URLS) -> APIRouter:
    """``/sitemap.xml`` and its parts, at most ``max_urls`` URLs a file (a test's fewer)."""
    per_part = max(1, max_urls // len(LANGUAGES))  # pages a file
    router = APIRouter()
    release = site.release
    modified = release.manifest.modified

    async def answer(request: Request, part: int | None) -> Response:
        root = site_root(request)
        vary = vary_origin(request)
        tag = http.etag(release.tag, "sitemap", str(part), root)
        headers = site.headers(tag, vary)
        headers["Cache-Control"] = "public, max-age=3600"
        if http.not_modified(request.headers, tag, site.last_modified):
            return Response(status_code=304, headers=headers)

        def work() -> str | None:
            urls = page_urls(root, release.page_paths())
            parts = -(-len(urls) // per_part)
            if part is None:
                chunks = index(root, parts, modified) if parts > 1 else urlset(urls, modified)
            elif parts > 1 and 1 <= part <= parts:
                chunks = urlset(urls[(part - 1) * per_part : part * per_part], modified)
            else:
                return None
            return "".join(chunks)

        body = await anyio.to_thread.run_sync(work)
        if body is None:
            return not_found(site, request)
        return Response(body.encode("utf-8"), media_type=XML, headers=headers)

    @router.get("/sitemap.xml", include_in_schema=False)
    async def sitemap(request: Request) -> Response:
        return await answer(request, None)

    @router.get("/sitemap-{part:int}.xml", include_in_schema=False)
    async def sitemap_part(part: int, request: Request) -> Response:
        return await answer(request, part)

    return router
