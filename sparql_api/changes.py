"""What changed: ``/changes`` (HTML or JSON by Accept) and its data twin ``/changes.json``.

The data is the release's ``changes.json`` (named in dipkg/core/changeset.py; kg/changes.py writes
it: the change set against the release ``current`` pointed to before it), served
byte for byte; the page lists the scenarios, categories and fields added,
removed and changed, in Chinese or English, with links to the pages of what is
still there. A release built before change sets existed answers 404.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response

from dipkg.core.changeset import CHANGES_FILE, KINDS
from dipkg.core.errors import StoreError
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import http, i18n
from sparql_api.dumps import JSON
from sparql_api.errors import NotAcceptable
from sparql_api.negotiation import HTML, negotiate
from sparql_api.pages.links import Linker, curie
from sparql_api.pages.site import (
    PageContext,
    language,
    make_site,
    not_acceptable_response,
    not_found,
)
from sparql_api.protocol import site_root

OFFERS = (HTML, JSON)
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


HEADINGS = {
    "scenarios": {"zh": "场景", "en": "Scenarios"},
    "categories": {"zh": "数据类别", "en": "Data categories"},
    "fields": {"zh": "数据项", "en": "Data fields"},
}


def _value(term: dict[str, str], link: Linker, gone: set[str]) -> dict[str, Any]:
    if term["type"] == "uri":
        iri = term["value"]
        if iri in gone:  # removed in this release: nothing to link to
            return {"text": curie(iri), "href": None, "lang": None}
        return {
            "text": curie(iri),
            "href": link.href(iri) if link.local(iri) else iri,
            "lang": None,
        }
    text = term["value"]
    if "datatype" in term:
        text = f"{text} ({curie(term['datatype'])})"
    return {"text": text, "href": None, "lang": term.get("xml:lang")}


def view(
    changes: dict[str, Any], link: Linker, lang: str, labels: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The change set as the template needs it: labels in one language, links on this server."""
    gone = {item["iri"] for key, *_ in KINDS for item in changes[key]["removed"]}
    groups = []
    for key, *_ in KINDS:
        rows: dict[str, list[dict[str, Any]]] = {}
        for group in ("added", "removed", "changed"):
            rows[group] = []
            for item in changes[key][group]:
                iri = item["iri"]
                label = i18n.pick(item["label"], lang) if item["label"] else curie(iri)
                row = {
                    "iri": iri,
                    "label": label,
                    "href": None if group == "removed" else link.href(iri),
                    "scenario": None,
                    "changes": [],
                }
                if item.get("scenario"):
                    s = item["scenario"]
                    row["scenario"] = {
                        "label": i18n.pick(labels.get(s, {}), lang) if labels.get(s) else curie(s),
                        "href": link.href(s),
                    }
                for change in item.get("changes", []):
                    p = change["property"]
                    row["changes"].append(
                        {
                            "property": labels.get(p) and i18n.pick(labels[p], lang) or curie(p),
                            "property_href": link.href(p) if link.local(p) else p,
                            "removed": [_value(v, link, gone) for v in change["removed"]],
                            "added": [_value(v, link, gone) for v in change["added"]],
                        }
                    )
                rows[group].append(row)
        groups.append(
            {"key": key, "name": HEADINGS[key][lang], "summary": changes["summary"][key], **rows}
        )
    return {
        "old": changes.get("old"),
        "new": changes["new"],
        "triples": changes["triples"],
        "groups": groups,
    }


def make_router(
    settings: Settings, release: Release, *, site: PageContext | None = None
) -> APIRouter:
    router = APIRouter()
    site = site or make_site(settings, release)
    path = Path(release.root) / CHANGES_FILE
    body = path.read_bytes() if path.is_file() else None
    try:
        data = json.loads(body) if body is not None else None
        if data is not None and not all(isinstance(data.get(k), dict) for k, *_ in KINDS):
            raise ValueError("no scenarios, categories or fields")
    except (ValueError, AttributeError) as exc:
        raise StoreError(f"the release's change set is unreadable: {exc}", file=str(path)) from None
    modified = site.last_modified
    made: list[dict[str, dict[str, str]]] = []  # the labels, once made whole

    def scenario_labels() -> dict[str, dict[str, str]]:
        """zh/en labels of the scenarios the change set names (for its grouping), and of
        properties. Made in a worker thread, so two first requests may make them at once:
        each fills its own dict and the first finished is kept whole (a dict filled in
        place was returned half-filled to the second request, and its page cached)."""
        if made:
            return made[0]
        labels: dict[str, dict[str, str]] = {}
        if data is None:
            return labels
        for key, *_ in KINDS:
            for group in ("added", "removed", "changed"):
                for item in data[key][group]:
                    if key == "scenarios" and item["label"]:
                        labels.setdefault(item["iri"], item["label"])
        wanted = {
            item.get("scenario")
            for key, *_ in KINDS
            for g in ("added", "removed", "changed")
            for item in data[key][g]
            if item.get("scenario")
        } - set(labels)
        for iri in sorted(wanted):
            rows = site.pages.describer.select(
                "SELECT ?s ?l WHERE { ?s rdfs:label ?l "
                'FILTER(lang(?l) = "zh" || lang(?l) = "en") }',
                substitutions={"s": ox.NamedNode(iri)},
            )
            labels[iri] = {r["l"].language: r["l"].value for r in rows}
        for iri, names in site.pages.ontology_labels.items():
            labels.setdefault(iri, names)
        labels.setdefault(LABEL, {"zh": "标签", "en": "label"})
        made.append(labels)
        return made[0]

    def json_response(request: Request) -> Response:
        tag = http.etag(release.tag, "changes.json")
        headers = {
            "ETag": tag,
            "Last-Modified": http.http_date(modified),
            "Vary": "Accept",
            "Cache-Control": "public, no-cache",
            "X-Dipkg-Build": release.build_id,
        }
        if http.not_modified(request.headers, tag, modified):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    @router.get(
        "/changes",
        tags=["changes"],
        summary="What changed since the previous release (HTML or JSON by Accept)",
    )
    async def changes_page(request: Request) -> Response:
        if body is None:
            return not_found(site, request)
        accept = request.headers.get("accept")
        try:
            choice = negotiate(accept, OFFERS)
        except NotAcceptable:
            return not_acceptable_response(OFFERS, accept)
        if choice.offer is JSON:
            return json_response(request)
        lang, explicit = language(request)
        root = site_root(request)
        tag = http.etag(release.tag, "changes", lang, root, "explicit" if explicit else "")
        headers = site.headers(tag, "Accept, Accept-Language")
        headers["Content-Language"] = i18n.HTML_LANG[lang]
        if http.not_modified(request.headers, tag, modified):
            return Response(status_code=304, headers=headers)
        link = Linker(site.base, root, lang if explicit else None)
        # the labels are looked up once (memoised), off the event loop: a remote backend's
        # lookups run their own loop, and a local one must not block this one
        names = await anyio.to_thread.run_sync(scenario_labels)
        page = site.render(
            "changes.html",
            request,
            lang,
            explicit,
            changes=view(data, link, lang, names),
            twins=[(JSON, root + "/changes.json")],
        )
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    @router.get(
        "/changes.json",
        tags=["changes"],
        summary="What changed since the previous release, as JSON",
    )
    async def changes_json(request: Request) -> Response:
        if body is None:
            return not_found(site, request)
        return json_response(request)

    return router
