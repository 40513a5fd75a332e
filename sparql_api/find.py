"""Finding things without SPARQL: ``/search`` and ``/match`` (pages, with JSON twins).

* ``GET /search?q=`` — scenarios, categories, fields and data kinds, ranked, with facets
  (``kind``, ``domain``, ``pi=yes|no``) and highlighted matches. JSON at ``/search.json``
  or with ``Accept: application/json``. ``GET /search/suggest?q=`` — labels for the
  search box (JSON; the box works without it).
* ``/match`` — "which scenarios fit my data?": ``GET /match?fields=…`` or ``POST /match``
  (form field ``fields``, or JSON ``{"fields": "…" | [...]}``); JSON at ``/match.json``,
  with ``Accept: application/json``, and for a POST unless the client prefers HTML (a
  browser's form). Not in the OpenAPI document (parameters are read by hand, bounded).

Everything is answered from the release's search index (:mod:`dipkg.core.search_index`), in a worker
thread, each query with its time limit: no request reaches SPARQL.
A query longer than :data:`dipkg.core.search_index.MAX_QUERY` is refused
(400: the one JSON error shape, or a page saying so); an empty one gets a page of hints.

Why one module of ~420 lines: /search and /match share one index, one error shape
and one page layout, each route with its JSON twin; the reading is
dipkg/core/search_index.py.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dipkg.core.errors import DipkgError
from dipkg.core.search_index import (
    KINDS,
    MAX_MATCH_FIELDS,
    MAX_MATCH_INPUT,
    MAX_QUERY,
    IndexMissing,
    SearchError,
    SearchIndex,
)
from sparql_api import i18n
from sparql_api.errors import QueryError, quoted
from sparql_api.negotiation import HTML, JSON, wants_html
from sparql_api.pages.links import Linker
from sparql_api.pages.site import PageContext, language
from sparql_api.protocol import parse_params, read_capped_body, site_root

EXAMPLES = ("温度", "血压", "temperature", "游客")
MATCH_EXAMPLES = (
    "土壤墒情、降雨量、施肥量",
    "blood pressure, heart rate",
    "电力消耗，库存，生产计划",
)
MAX_BODY = 16 * 1024


def _wants_json(request: Request, suffix: bool) -> bool:
    """``.json``; else a GET is a page unless JSON is asked for, a POST is JSON unless the
    client prefers HTML (a browser's form)."""
    if suffix:
        return True
    accept = request.headers.get("accept") or ""
    if request.method == "POST":
        return not wants_html(accept)
    return "json" in accept.lower() and not wants_html(accept)


def _error(exc: DipkgError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers={"Vary": "Accept"})


def _pick(labels: dict[str, str], lang: str) -> str:
    return i18n.pick({k: v for k, v in labels.items() if v}, lang)


class Finder:
    """The search index is read on the first search or match, not at start-up: its vocabulary
    (a few MB in memory) is no use to a server that is only asked SPARQL queries."""

    def __init__(self, site: PageContext) -> None:
        self.site = site
        self.index: SearchIndex | None = None
        self.missing: IndexMissing | None = None
        self._lock = threading.Lock()

    def need(self) -> SearchIndex:
        with self._lock:
            if self.index is None and self.missing is None:
                try:
                    self.index = SearchIndex.load(self.site.release.root)
                except IndexMissing as exc:
                    self.missing = exc
            if self.index is None:
                raise self.missing or IndexMissing("no search index")
            return self.index

    async def ready(self) -> SearchIndex:
        """:meth:`need` from the event loop: the first read runs off it."""
        if self.index is not None:
            return self.index
        return await anyio.to_thread.run_sync(self.need)

    # -- view models: labels in the page's language, links on this server ---------
    def _concept(self, c: dict[str, Any], link: Linker, lang: str) -> dict[str, str]:
        return {"label": _pick(c["label"], lang), "href": link.href(c["iri"])}

    def search_view(
        self, result: dict[str, Any], link: Linker, lang: str, request: Request
    ) -> dict[str, Any]:
        rows = []
        for r in result["results"]:
            pieces = (
                r["highlight"].get(lang)
                or r["highlight"].get("zh")
                or [[_pick(r["label"], lang), False]]
            )
            row = {
                "kind": r["kind"],
                "href": link.href(r["iri"]),
                "pieces": pieces,
                "pi": r["personal_information"],
                "domains": [
                    {"label": _pick(d["label"], lang), "marked": d["matched"]} for d in r["domains"]
                ],
                # the other names that matched, each in its own language (a Chinese name
                # typed on an English page is marked lang="zh-Hans")
                "alt": [{"text": a, "lang": i18n.text_lang(a)} for a in r.get("alt", [])],
                "via": [[_pick(c["label"], lang) for c in path] for path in r.get("via", [])],
            }
            if r.get("scenario"):
                s = r["scenario"]
                row["scenario"] = {
                    "label": f"{s['number']}. {_pick(s['label'], lang)}",
                    "href": link.href(s["iri"]),
                }
            if r.get("category"):
                c = r["category"]
                row["category"] = {"label": _pick(c["label"], lang), "href": link.href(c["iri"])}
            if r["kind"] == "scenario":
                row["number"] = r["number"]
            rows.append(row)
        chosen = {k: request.query_params.get(k) for k in ("kind", "domain", "pi")}
        # ``domain=industry`` names the facet whose value is the domain's IRI
        chosen["domain"] = self.need().domain_iri(chosen["domain"] or None)

        def facet_url(name: str, value: str | None) -> str:
            params = {k: v for k, v in request.query_params.items() if k not in (name, "offset")}
            if value is not None:
                params[name] = value
            return _site_path(request) + "/search?" + urlencode(params)

        facets = {
            "kind": [
                {
                    "label": i18n.t(f["value"], lang),
                    "count": f["count"],
                    "href": facet_url("kind", f["value"]),
                    "current": chosen["kind"] == f["value"],
                }
                for f in result["facets"]["kind"]
            ],
            "domain": [
                {
                    "label": _pick(f["label"], lang),
                    "count": f["count"],
                    "href": facet_url("domain", f["value"]),
                    "current": chosen["domain"] == f["value"],
                }
                for f in result["facets"]["domain"]
            ],
            "pi": [
                {
                    "label": i18n.t("pi_" + f["value"], lang),
                    "count": f["count"],
                    "href": facet_url("pi", f["value"]),
                    "current": chosen["pi"] == f["value"],
                }
                for f in result["facets"]["pi"]
            ],
        }
        unfilter = {k: facet_url(k, None) for k in chosen if chosen[k]}
        # "which scenarios need 温度?": the scenarios among the results, one link at the top
        # (ranked below the data kinds and fields that name the words, they were a filter away)
        scenarios = next((f for f in result["facets"]["kind"] if f["value"] == "scenario"), None)
        only = (
            {"count": scenarios["count"], "href": facet_url("kind", "scenario")}
            if scenarios and not chosen["kind"] and scenarios["count"] < result["total"]
            else None
        )
        return {"rows": rows, "facets": facets, "unfilter": unfilter, "scenarios_only": only}

    def match_view(self, result: dict[str, Any], link: Linker, lang: str) -> dict[str, Any]:
        fields = [
            {
                "input": f["input"],
                "how": f["how"],
                "concept": self._concept(f["concept"], link, lang) if f["concept"] else None,
            }
            for f in result["fields"]
        ]
        scenarios = []
        for s in result["scenarios"]:
            scenarios.append(
                {
                    "number": s["number"],
                    "label": _pick(s["label"], lang),
                    "href": link.href(s["iri"]),
                    "domains": [_pick(d["label"], lang) for d in s["domains"]],
                    "matched": s["matched"],
                    "coverage": round(100 * s["coverage"]),
                    "matches": [
                        {
                            "input": m["input"],
                            "concept": self._concept(m["concept"], link, lang),
                            "item": {
                                "label": _pick(m["item"]["label"], lang),
                                "href": link.href(m["item"]["iri"]),
                            },
                            "kind": self._concept(m["item"]["data_kind"], link, lang),
                            "relation": m["relation"],
                            "path": [self._concept(c, link, lang) for c in m["path"]],
                        }
                        for m in s["matches"]
                    ],
                    "missing": [self._concept(c, link, lang) for c in s["missing"]],
                    "missing_more": s["missing_total"] - len(s["missing"]),
                }
            )
        return {"fields": fields, "scenarios": scenarios}


def _site_path(request: Request) -> str:
    """The site's path prefix ("" or a trusted proxy's X-Forwarded-Prefix): links within
    the site stay relative to the host, and right behind a prefix."""
    return urlsplit(site_root(request)).path.rstrip("/")


def _said(exc: DipkgError, lang: str) -> str:
    """A refused search or match as its page says it: in English the error's own message;
    in Chinese the cases a person meets (too long, too many names, too slow, no index) in
    Chinese, any other (a parameter edited in the URL) after a Chinese lead."""
    allowed = exc.details.get("allowed")
    if exc.code == "bad-search" and allowed:
        return _bad_filter(exc, allowed, lang)
    if lang == "en":
        return exc.message
    bound = exc.details.get("max")
    if exc.code == "bad-search" and bound is not None:
        key = "find_too_many" if bound == MAX_MATCH_FIELDS else "find_too_long"
        return i18n.t(key, lang).format(max=bound)
    if exc.code in ("timeout", "no-search-index"):
        return i18n.t("find_" + exc.code.replace("-", "_"), lang)
    return i18n.t("find_refused", lang) + exc.message


def _bad_filter(exc: DipkgError, allowed: list[str], lang: str) -> str:
    """A filter's value edited in the URL, said with the filter and its values as the page
    names them (a Chinese page said it in English, with the index's own names)."""
    name = exc.details["parameter"]
    labels = exc.details.get("labels", {})

    def shown(value: str) -> str:
        label = labels.get(value, {}).get(lang)
        if name == "kind":
            label = i18n.t(value, lang)
        elif name == "pi":
            label = i18n.t("pi_yes" if value == "yes" else "pi_no", lang)
        if not label:
            return value
        return f"{label}（{value}）" if lang == "zh" else f"{label} ({value})"

    sep = "、" if lang == "zh" else ", "
    return i18n.t("find_bad_filter", lang).format(
        filter=i18n.t(_FILTER_NAMES[name], lang), values=sep.join(map(shown, allowed))
    )


#: the i18n key of each filter's heading, for the message naming a filter's values
_FILTER_NAMES = {"kind": "facet_kind", "domain": "facet_domain", "pi": "facet_pi"}


def _strict_params(request: Request) -> None:
    """The URL's parameters read as /sparql reads them (:func:`parse_params`): a byte that
    is not UTF-8 (``%ff``) is a 400 naming it, not a U+FFFD searched for."""
    try:
        parse_params(request.scope.get("query_string", b""))
    except QueryError as exc:
        raise SearchError(exc.message) from None


def _json_links(result: dict[str, Any], link: Linker) -> dict[str, Any]:
    """Add ``href`` (this server's page) next to every ``iri`` of a JSON answer."""

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            out = {k: walk(v) for k, v in x.items()}
            if isinstance(x.get("iri"), str):
                out["href"] = link.href(x["iri"])
            return out
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(result)


def make_router(site: PageContext) -> APIRouter:
    router = APIRouter()
    finder = Finder(site)

    def page(request: Request, name: str, status: int = 200, **values: Any) -> Response:
        lang, explicit = language(request)
        body = site.render(name, request, lang, explicit, **values)
        return Response(
            body,
            status_code=status,
            media_type=HTML.content_type(),
            headers={
                "Vary": "Accept, Accept-Language",
                "Cache-Control": "no-cache",
                "Content-Language": i18n.HTML_LANG[lang],
                "X-Dipkg-Build": site.release.build_id,
            },
        )

    def linker(request: Request) -> tuple[Linker, str]:
        lang, explicit = language(request)
        return Linker(site.base, site_root(request), lang if explicit else None), lang

    async def search(request: Request, suffix: bool) -> Response:
        as_json = _wants_json(request, suffix)
        q = request.query_params.get("q", "")
        kind = request.query_params.get("kind") or None
        domain = request.query_params.get("domain") or None
        pi_param = request.query_params.get("pi") or None
        link, lang = linker(request)
        try:
            _strict_params(request)
            index = await finder.ready()
            if pi_param not in (None, "yes", "no"):
                raise SearchError(
                    f"pi must be yes or no, not {quoted(pi_param, 20)!r}",
                    details={"parameter": "pi", "allowed": ["yes", "no"]},
                )
            try:
                limit = int(request.query_params.get("limit", "20"))
                offset = max(0, min(int(request.query_params.get("offset", "0")), 10000))
            except ValueError:
                raise SearchError("limit and offset must be whole numbers") from None
            result = await anyio.to_thread.run_sync(
                functools.partial(
                    index.search,
                    q,
                    kind=kind,
                    domain=domain,
                    pi=None if pi_param is None else pi_param == "yes",
                    limit=limit,
                    offset=offset,
                )
            )
        except DipkgError as exc:
            if as_json:
                return _error(exc)
            return page(
                request,
                "search.html",
                status=exc.status,
                q=q[:MAX_QUERY],
                error=_said(exc, lang),
                result=None,
                examples=EXAMPLES,
                max_query=MAX_QUERY,
                kinds=KINDS,
            )
        if as_json:
            return JSONResponse(
                _json_links(result, link), headers={"Vary": "Accept", "Cache-Control": "no-cache"}
            )
        view = finder.search_view(result, link, lang, request)
        more = previous = None
        if result["offset"] + result["limit"] < result["total"]:
            params = dict(request.query_params)
            params["offset"] = str(result["offset"] + result["limit"])
            more = _site_path(request) + "/search?" + urlencode(params)
        if result["offset"] > 0 and result["total"]:  # back a page (past the end: the last)
            params = dict(request.query_params)
            last = (result["total"] - 1) // result["limit"] * result["limit"]
            back = min(max(0, result["offset"] - result["limit"]), last)
            params.pop("offset", None)
            if back:
                params["offset"] = str(back)
            previous = _site_path(request) + "/search?" + urlencode(params)
        # the page's data twin: the same search, filters and page included
        twin = {k: v for k, v in request.query_params.items() if k != "lang"}
        json_url = _site_path(request) + "/search.json?" + urlencode(twin)
        return page(
            request,
            "search.html",
            q=q,
            error=None,
            result=result,
            view=view,
            examples=EXAMPLES,
            max_query=MAX_QUERY,
            more=more,
            previous=previous,
            kinds=KINDS,
            json_url=json_url,
            twins=[(JSON, json_url)],
        )

    @router.get("/search", include_in_schema=False)
    async def search_page(request: Request) -> Response:
        return await search(request, False)

    @router.get("/search.json", include_in_schema=False)
    async def search_json(request: Request) -> Response:
        return await search(request, True)

    @router.get("/search/suggest", include_in_schema=False)
    async def suggest(request: Request) -> Response:
        try:
            index = await finder.ready()
        except DipkgError as exc:
            return _error(exc)
        q = request.query_params.get("q", "")
        try:
            _strict_params(request)  # %ff: said, as /search says it, not suggested for as U+FFFD
            suggestions = await anyio.to_thread.run_sync(index.suggest, q)
        except DipkgError as exc:
            return _error(exc)
        return JSONResponse(
            {"query": q[:MAX_QUERY], "suggestions": suggestions},
            headers={"Cache-Control": "public, max-age=60"},
        )

    async def match(request: Request, suffix: bool) -> Response:
        as_json = _wants_json(request, suffix)
        link, lang = linker(request)
        text = request.query_params.get("fields", "")
        try:
            _strict_params(request)
            index = await finder.ready()
            if request.method == "POST":
                ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
                body = await read_capped_body(
                    request, MAX_BODY
                )  # never more than MAX_BODY in memory
                if ctype == "application/json":
                    try:
                        data = json.loads(body.decode("utf-8"))
                    except json.JSONDecodeError as exc:  # its own words: what, where
                        raise SearchError(f"the body is not JSON: {exc}") from None
                    except UnicodeDecodeError:
                        raise SearchError("the body is not JSON: not UTF-8") from None
                    except ValueError:  # Python's own limits (a 5,000-digit number): not said
                        raise SearchError("the body is not JSON this server reads") from None
                    except RecursionError:  # ([[[[… nested past the parser's stack)
                        raise SearchError("the body is not JSON: nested too deep") from None
                    fields = data.get("fields") if isinstance(data, dict) else None
                    if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
                        text = "\n".join(fields)
                    elif isinstance(fields, str):
                        text = fields
                    else:
                        raise SearchError('send {"fields": "…"} or {"fields": ["…", …]}')
                    try:  # JSON may carry a lone surrogate (\ud800): no text of ours
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        raise SearchError("the fields are not valid Unicode text") from None
                elif ctype in ("application/x-www-form-urlencoded", ""):
                    try:
                        form = parse_qs(body.decode("utf-8"), max_num_fields=20)
                    except (UnicodeDecodeError, ValueError) as exc:
                        raise SearchError(f"the form is unreadable: {exc}") from None
                    text = (form.get("fields") or [""])[0]
                else:
                    raise SearchError(
                        f"send a form (application/x-www-form-urlencoded) or JSON, not {ctype}"
                    )
            result = await anyio.to_thread.run_sync(index.match, text) if text.strip() else None
        except DipkgError as exc:
            if as_json:
                return _error(exc)
            return page(
                request,
                "match.html",
                status=exc.status,
                fields=text[:MAX_MATCH_INPUT],
                error=_said(exc, lang),
                view=None,
                result=None,
                examples=MATCH_EXAMPLES,
                max_input=MAX_MATCH_INPUT,
            )
        if as_json:
            if result is None:
                return _error(
                    SearchError(
                        "no fields given: send fields=土壤墒情、降雨量 (one per line, or "
                        "separated by 、，,;)"
                    )
                )
            return JSONResponse(
                _json_links(result, link), headers={"Vary": "Accept", "Cache-Control": "no-cache"}
            )
        view = finder.match_view(result, link, lang) if result else None
        # the page's data twin, as the search page has one: the same names, as a GET (a
        # form's POST too, so the answer can be kept and shared)
        json_url = (
            _site_path(request) + "/match.json?" + urlencode({"fields": text}) if view else None
        )
        return page(
            request,
            "match.html",
            fields=text,
            error=None,
            view=view,
            result=result,
            examples=MATCH_EXAMPLES,
            max_input=MAX_MATCH_INPUT,
            json_url=json_url,
            twins=[(JSON, json_url)] if json_url else [],
        )

    @router.get("/match", include_in_schema=False)
    async def match_get(request: Request) -> Response:
        return await match(request, False)

    @router.post("/match", include_in_schema=False)
    async def match_post(request: Request) -> Response:
        return await match(request, False)

    @router.get("/match.json", include_in_schema=False)
    async def match_json(request: Request) -> Response:
        return await match(request, True)

    @router.post("/match.json", include_in_schema=False)
    async def match_json_post(request: Request) -> Response:
        return await match(request, True)

    return router
