"""What every page route shares: one :class:`PageContext` per app (templates, the rendered-response
cache, validators), the language of a request, and the 404 and 406 answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import http, i18n
from sparql_api.cache import ResponseCache
from sparql_api.describe import Describer
from sparql_api.errors import HttpError, quoted
from sparql_api.negotiation import Offer, not_acceptable, wants_html
from sparql_api.pages.links import Linker, local_path
from sparql_api.pages.views import Pages
from sparql_api.protocol import site_root


@dataclass
class PageContext:
    """Everything the page routes share (one per app)."""

    release: Release
    pages: Pages
    cache: ResponseCache
    last_modified: Any
    schema_org: str  # the landing page's schema.org JSON-LD, safe inside <script>
    #: what earlier releases published and this one does not: IRI -> the change set's item
    #: (:meth:`dipkg.core.release.Release.gone`), answered 410 Gone
    gone: dict[str, dict[str, Any]]

    @property
    def base(self) -> str:
        return self.release.base_iri

    def headers(self, tag: str, vary: str) -> dict[str, str]:
        out = {
            "ETag": tag,
            "Last-Modified": http.http_date(self.last_modified),
            "Cache-Control": "public, no-cache",
            "X-Dipkg-Build": self.release.build_id,
        }
        if vary:
            out["Vary"] = vary
        return out

    def render(self, name: str, request: Request, lang: str, explicit: bool, **values: Any) -> str:
        root = site_root(request)
        link = Linker(self.base, root, lang if explicit else None)
        switch = {code: _with_query(request, lang=code) for code in i18n.LANGUAGES}
        template = self.pages.env.get_template(name)
        return template.render(
            lang=lang,
            html_lang=i18n.HTML_LANG[lang],
            link=link,
            root=root,
            switch=switch,
            release=self.release,
            manifest=self.release.manifest,
            **values,
        )


def _with_query(request: Request, **params: str) -> str:
    """This page's own path with ``params`` set in its query: always a path on this site
    (``//evil.example/x`` or ``/\\evil.example`` would be read as another host), behind the
    site's prefix (a trusted proxy's X-Forwarded-Prefix, the app's root path) as every
    other link."""
    query = dict(request.query_params)
    query.update(params)
    prefix = urlsplit(site_root(request)).path.rstrip("/")
    return prefix + local_path(request.url.path) + "?" + urlencode(query)


def language(request: Request) -> tuple[str, bool]:
    return i18n.choose_language(
        request.query_params.get("lang"), request.headers.get("accept-language")
    )


def not_found(site: PageContext, request: Request) -> Response:
    message = f"no resource at {request.url.path}"
    vary = "Accept, Accept-Language"
    if wants_html(request.headers.get("accept")):
        lang, explicit = language(request)
        body = site.render("404.html", request, lang, explicit, path=request.url.path)
        return Response(
            body,
            status_code=404,
            media_type="text/html; charset=utf-8",
            headers={"Vary": vary, "Content-Language": i18n.HTML_LANG[lang]},
        )
    err = HttpError(message, status=404, code="not-found")
    return JSONResponse(err.to_dict(), status_code=404, headers={"Vary": vary})


def absent(site: PageContext, request: Request, iri: str) -> Response:
    """The answer for a resource ``iri`` this release does not have: 410 Gone, saying which
    release removed it, for one an earlier release published; else 404."""
    item = site.gone.get(iri)
    if item is None:
        return not_found(site, request)
    removed = item["removed_in"]
    version, date = str(removed.get("version") or "?"), str(removed.get("modified") or "")
    vary = "Accept, Accept-Language"
    if wants_html(request.headers.get("accept")):
        lang, explicit = language(request)
        labels = item["label"]
        body = site.render(
            "410.html",
            request,
            lang,
            explicit,
            iri=iri,
            label=labels.get(lang) or labels.get("zh") or labels.get("en") or iri,
            version=version,
            date=date,
        )
        return Response(
            body,
            status_code=410,
            media_type="text/html; charset=utf-8",
            headers={"Vary": vary, "Content-Language": i18n.HTML_LANG[lang]},
        )
    err = HttpError(
        f"{iri} was removed in release {version}" + (f" ({date})" if date else ""),
        status=410,
        code="gone",
        details={"iri": iri, "label": item["label"], "removed_in": removed},
    )
    return JSONResponse(err.to_dict(), status_code=410, headers={"Vary": vary})


def not_acceptable_response(offers: tuple[Offer, ...], accept: str | None) -> Response:
    err = not_acceptable(
        offers, f"none of the offered media types is acceptable (Accept: {quoted(accept or '')})"
    )
    return JSONResponse(err.to_dict(), status_code=406, headers={"Vary": "Accept"})


def make_site(
    settings: Settings, release: Release, describer: Describer | None = None
) -> PageContext:
    describer = describer or Describer.of(release)
    pages = Pages(settings, release, describer)
    return PageContext(
        release=release,
        pages=pages,
        # a quarter of DIPKG_RESPONSE_CACHE_MB; pages up to 512 KiB
        cache=ResponseCache(max_bytes=settings.cache_bytes(0.25), max_entry_bytes=512 * 1024),
        last_modified=http.last_modified(release.manifest.modified, release.manifest_path),
        schema_org=_schema_org_script(release),
        gone=release.gone(),
    )


def _schema_org_script(release: Release) -> str:
    """The schema.org Dataset JSON-LD of the landing page, as the build wrote it into the
    release (site/schema-org.jsonld: the build's settings, so it agrees with catalog.ttl)."""
    text = json.dumps(release.schema_org(), ensure_ascii=False, indent=2)
    return text.replace("</", "<\\/")  # never close the <script> early
