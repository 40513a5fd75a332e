"""The map of shared data for people: ``/map`` (HTML), ``/map.svg``, ``/map.csv``, ``/map.json``.

The data is the release's ``map.json`` (dipkg/core/datamap.py, written by the build and
served byte for byte as ``/map.json``); a release built before the map existed
gets it computed once, on first use, from the store with the same bounded
queries. The picture is drawn here as SVG on the server (no JavaScript: it
prints and screenshots as it is): rows are scenarios grouped by domain, columns
data kinds grouped by their top-level kind, a cell's shade the number of the
scenario's fields of that kind; every label and cell links to its page.
``/map`` negotiates HTML (default), JSON, CSV and SVG by ``Accept``.
The small pictures of other pages are in sparql_api/charts.py.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from dipkg.core import datamap, formats
from dipkg.core.errors import StoreError
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import http, i18n
from sparql_api.cache import Entry
from sparql_api.charts import ACCENT, FONT, INK, LINE, MUTED, SHADES, WASH, fit, text_width, w
from sparql_api.charts import a as _a
from sparql_api.errors import NotAcceptable
from sparql_api.negotiation import HTML, JSON, Offer, negotiate
from sparql_api.pages.links import Linker
from sparql_api.pages.site import PageContext, language, make_site, not_acceptable_response
from sparql_api.protocol import site_root

log = logging.getLogger("sparql_api.datamap")

CSV = Offer.of(formats.CSV)
SVG = Offer("image/svg+xml", "svg", "svg", label="SVG")
OFFERS = (HTML, JSON, CSV, SVG)


# --- the map ---------------------------------------------------------------------------------
CELL = 18
LABEL_W = 300
HEAD_H = 150
COLUMN_TEXT = 150


def shade(n: int) -> tuple[str, str]:
    fill, colour = SHADES[0][1], SHADES[0][2]
    for low, f, c in SHADES:
        if n >= low:
            fill, colour = f, c
    return fill, colour


def svg_map(data: dict[str, Any], link: Linker, lang: str, *, standalone: bool) -> str:
    """The matrix as SVG text; ``standalone`` adds the XML namespace declarations of a file."""
    pick = i18n.pick
    cells = {(c["scenario"], c["kind"]): c for c in data["cells"]}
    columns: list[
        tuple[float, dict[str, Any] | None, dict[str, Any]]
    ] = []  # (x, kind or None=group head, group)
    x = LABEL_W
    for g in data["groups"]:
        columns.append((x, None, g))
        x += CELL
        for k in g["kinds"]:
            columns.append((x, k, g))
            x += CELL
    width = x + COLUMN_TEXT * 0.65 + 10
    rows: list[tuple[float, dict[str, Any] | None, dict[str, Any]]] = []
    y = HEAD_H
    for d in data["domains"]:
        rows.append((y, None, d))
        y += CELL + 6
        for s in d["scenarios"]:
            rows.append((y, s, d))
            y += CELL
        y += 4
    legend_y = y + 16
    height = legend_y + CELL + 14
    n_kinds = sum(len(g["kinds"]) for g in data["groups"])
    n_scen = sum(len(d["scenarios"]) for d in data["domains"])
    title = w("title", lang) + "：" if lang == "zh" else w("title", lang) + ": "
    title += w(
        "summary", lang, s=n_scen, k=n_kinds, m=data.get("min_scenarios", datamap.MIN_SCENARIOS)
    )
    out = []
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out.append(
        f'<svg{ns} class="datamap" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="group" aria-labelledby="map-title map-desc" '
        f'font-family={_a(FONT)} font-size="12" lang="{i18n.HTML_LANG[lang]}">'
    )
    out.append(f'<title id="map-title">{escape(title)}</title>')
    out.append(f'<desc id="map-desc">{escape(w("desc", lang))}</desc>')
    out.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    top, bottom = HEAD_H, y - 4
    # column bands and heads
    for cx, k, g in columns:
        if k is None:  # the group's head: a gap column with the top-level kind's name
            label = pick(g["label"], lang)
            out.append(
                f'<line x1="{cx + CELL / 2}" y1="{top - 4}" x2="{cx + CELL / 2}" y2="{bottom}" '
                f'stroke="{LINE}" stroke-width="1"/>'
            )
            out.append(
                f'<a href={_a(link.href(g["iri"]))}><text class="group" x="{cx + 4}" y="{top - 6}" '
                f'transform="rotate(-55 {cx + 4} {top - 6})" font-weight="700" fill="{INK}">'
                f"<title>{escape(label)}</title>{escape(fit(label, 12, COLUMN_TEXT))}</text></a>"
            )
            continue
        label = pick(k["label"], lang)
        tip = w("column", lang, k=label, n=k["scenarios"])
        out.append(
            f"<a href={_a(link.href(k['iri']))} aria-label={_a(tip)}>"
            f'<text x="{cx + 5}" y="{top - 6}" '
            f'transform="rotate(-55 {cx + 5} {top - 6})" '
            f'fill="{ACCENT}"><title>{escape(tip)}</title>'
            f"{escape(fit(label, 12, COLUMN_TEXT))}</text></a>"
        )
    # rows
    for ry, s, d in rows:
        if s is None:
            label = pick(d["label"], lang)
            out.append(
                f'<a href={_a(link.href(d["iri"]))}><text class="domain" x="4" y="{ry + CELL - 2}" '
                f'font-weight="700" font-size="13" fill="{INK}">{escape(label)} '
                f"({len(d['scenarios'])})</text></a>"
            )
            out.append(
                f'<line x1="0" y1="{ry + CELL + 2}" x2="{x:.0f}" y2="{ry + CELL + 2}" '
                f'stroke="{LINE}"/>'
            )
            continue
        name = f"{s['number']}. {pick(s['label'], lang)}"
        out.append(
            f'<a href={_a(link.href(s["iri"]))}><text x="14" y="{ry + CELL - 5}" fill="{ACCENT}">'
            f"<title>{escape(name)}</title>{escape(fit(name, 12, LABEL_W - 22))}</text></a>"
        )
        for cx, k, _g in columns:
            if k is None:
                continue
            cell = cells.get((s["iri"], k["iri"]))
            if cell is None:
                out.append(
                    f'<rect x="{cx + 1}" y="{ry + 1}" width="{CELL - 2}" height="{CELL - 2}" '
                    f'fill="{WASH}"/>'
                )
                continue
            n = len(cell["fields"])
            fill, colour = shade(n)
            tip = w("cell", lang, s=name, k=pick(k["label"], lang), n=n)
            fields = "; ".join(pick(f["label"], lang) or f["iri"] for f in cell["fields"][:12])
            if len(cell["fields"]) > 12:
                fields += "; …"
            out.append(
                f'<a class="cell" href={_a(link.href(k["iri"]))} aria-label={_a(tip)} '
                f"data-scenario={_a(s['iri'])} data-kind={_a(k['iri'])}>"
                f'<rect x="{cx + 1}" y="{ry + 1}" width="{CELL - 2}" height="{CELL - 2}" rx="2" '
                f'fill="{fill}">'
                f"<title>{escape(tip)} — {escape(fields)}</title></rect>"
                f'<text x="{cx + CELL / 2}" y="{ry + CELL - 5}" text-anchor="middle" '
                'font-size="10" '
                f'fill="{colour}" aria-hidden="true">{n}</text></a>'
            )
    # legend
    lx = 14
    out.append(
        f'<text x="{lx}" y="{legend_y + CELL - 5}" '
        f'fill="{MUTED}">{escape(w("legend", lang))}</text>'
    )
    lx += text_width(w("legend", lang), 12) + 10
    for i, (low, fill, colour) in enumerate(SHADES):
        high = SHADES[i + 1][0] - 1 if i + 1 < len(SHADES) else None
        label = str(low) if high == low else (f"{low}–{high}" if high else f"{low}+")
        out.append(
            f'<rect x="{lx:.0f}" y="{legend_y}" width="{CELL * 2}" height="{CELL}" rx="2" '
            f'fill="{fill}"/>'
            f'<text x="{lx + CELL:.0f}" y="{legend_y + CELL - 5}" text-anchor="middle" '
            'font-size="10" '
            f'fill="{colour}">{label}</text>'
        )
        lx += CELL * 2 + 4
    out.append("</svg>")
    return "\n".join(out)


def as_rows(data: dict[str, Any], link: Linker, lang: str) -> list[dict[str, Any]]:
    """The map as nested lists for the page's table: domain > scenario > kind > fields, with
    links."""
    pick = i18n.pick
    order = {k["iri"]: (i, k) for i, k in enumerate(k for g in data["groups"] for k in g["kinds"])}
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for c in data["cells"]:
        by_scenario.setdefault(c["scenario"], []).append(c)
    out = []
    for d in data["domains"]:
        scenarios = []
        for s in d["scenarios"]:
            cells = sorted(by_scenario.get(s["iri"], []), key=lambda c: order[c["kind"]][0])
            scenarios.append(
                {
                    "label": f"{s['number']}. {pick(s['label'], lang)}",
                    "href": link.href(s["iri"]),
                    "kinds": [
                        {
                            "label": pick(order[c["kind"]][1]["label"], lang),
                            "href": link.href(c["kind"]),
                            "fields": [
                                {
                                    "label": pick(f["label"], lang) or f["iri"],
                                    "href": link.href(f["iri"]),
                                }
                                for f in c["fields"]
                            ],
                        }
                        for c in cells
                    ],
                }
            )
        out.append(
            {"label": pick(d["label"], lang), "href": link.href(d["iri"]), "scenarios": scenarios}
        )
    return out


# --- the routes ---------------------------------------------------------------------------------
class _Parsed:
    """One reading of the map, shared by the renderings that use it at the same time."""

    __slots__ = ("data", "__weakref__")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data


class MapData:
    """The release's map.json, or the map computed once from the store (a release built
    before map.json existed).

    The file is checked when the release is opened (a broken one is a clear error then,
    not at the first request), then not held: ``/map.json`` is its bytes, read for each
    answer, and the other renderings parse it again inside :meth:`use`, one parse shared
    by those running at once (a weak reference: freed when the last is done). The pages'
    cache keeps the renderings it can hold (up to its entry size: at 100x synthetic
    scale map.json is 18 MB, and its parse 79 MB of Python objects that the web process
    held for the release's whole life, twice while a new release takes over)."""

    def __init__(self, release: Release, site: PageContext) -> None:
        self.path = Path(release.root) / datamap.MAP_FILE
        self.site = site
        self._lock = threading.Lock()
        self._computed: tuple[_Parsed, bytes] | None = None
        self._shared: weakref.ref[_Parsed] | None = None
        self._file = self.path.is_file()
        if self._file:
            try:
                body = self.path.read_bytes()
            except OSError as exc:
                raise StoreError(
                    f"the release's map of shared data is unreadable: {exc}",
                    file=str(self.path),
                ) from None
            self._parse(body)

    def _parse(self, body: bytes) -> _Parsed:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not all(
                isinstance(data.get(k), list) for k in ("domains", "groups", "cells")
            ):
                raise ValueError("no domains, groups or cells")
        except ValueError as exc:
            raise StoreError(
                f"the release's map of shared data is unreadable: {exc}", file=str(self.path)
            ) from None
        return _Parsed(data)

    def _read(self) -> bytes:
        """map.json's bytes at request time; a file gone meanwhile (removed by hand) is a
        store error that names no server path (the path is logged)."""
        try:
            return self.path.read_bytes()
        except OSError as exc:
            log.error("the release's map.json cannot be read: %s", exc)
            raise StoreError("the release's map of shared data cannot be read") from None

    def _compute(self) -> tuple[_Parsed, bytes]:
        if self._computed is None:
            data = datamap.compute(self.site.pages.describer)
            self._computed = _Parsed(data), datamap.to_json(data).encode("utf-8")
        return self._computed

    def body(self) -> bytes:
        """The map as JSON: map.json's bytes (checked when the release was opened)."""
        if self._file:
            return self._read()
        with self._lock:
            return self._compute()[1]

    @contextmanager
    def use(self) -> Iterator[dict[str, Any]]:
        """The map, parsed, for the block's time (one parse shared with the renderings
        that use it meanwhile)."""
        with self._lock:
            parsed: _Parsed | None
            if not self._file:
                parsed = self._compute()[0]
            else:
                parsed = self._shared() if self._shared is not None else None
                if parsed is None:
                    body = self._read()  # (a file gone: logged, no path in the error)
                    try:
                        parsed = self._parse(body)
                    except StoreError as exc:  # (checked at opening: a file changed by hand)
                        log.error("the release's map.json: %s", exc.message)
                        raise StoreError(exc.message) from None
                    self._shared = weakref.ref(parsed)
        yield parsed.data  # ``parsed`` lives here until the block ends


def make_router(
    settings: Settings, release: Release, *, site: PageContext | None = None
) -> APIRouter:
    router = APIRouter()
    site = site or make_site(settings, release)
    data = MapData(release, site)

    async def answer(request: Request, offer: Offer, vary: str) -> Response:
        lang, explicit = language(request) if offer in (HTML, SVG) else ("", False)
        root = site_root(request) if offer in (HTML, SVG) else ""
        tag = http.etag(
            release.tag, "map", offer.extension, lang, root, "explicit" if explicit else ""
        )
        varies = ", ".join(v for v in (vary, "Accept-Language" if lang else "") if v)
        headers = site.headers(tag, varies)
        headers["Content-Type"] = offer.content_type()
        if lang:
            headers["Content-Language"] = i18n.HTML_LANG[lang]
        if http.not_modified(request.headers, tag, site.last_modified):
            return Response(status_code=304, headers=headers)
        key = ("map", offer.extension, lang, root, explicit)
        cached = site.cache.get(key)
        if cached is not None:
            return Response(cached.body, headers=headers)

        def work() -> bytes:
            if offer is JSON:
                return data.body()
            with data.use() as table:
                return render(table)

        def render(table: dict[str, Any]) -> bytes:
            if offer is CSV:
                # with a BOM, as the build's CSV tables: Excel reads a CSV without one in
                # the system's code page (GBK on Chinese Windows); CSV readers drop it
                return datamap.to_csv(table).encode("utf-8-sig")
            link = Linker(site.base, root, lang if explicit else None)
            if offer is SVG:
                return (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    + svg_map(table, link, lang, standalone=True)
                    + "\n"
                ).encode("utf-8")
            twins = [(o, f"{root}/map.{o.extension}") for o in (JSON, CSV, SVG)]
            n_kinds = sum(len(g["kinds"]) for g in table["groups"])
            n_scen = sum(len(d["scenarios"]) for d in table["domains"])
            return site.render(
                "map.html",
                request,
                lang,
                explicit,
                twins=twins,
                rows=as_rows(table, link, lang),
                svg=Markup(svg_map(table, link, lang, standalone=False)),
                title=w("title", lang),
                desc=w("desc", lang),
                summary=w(
                    "summary",
                    lang,
                    s=n_scen,
                    k=n_kinds,
                    m=table.get("min_scenarios", datamap.MIN_SCENARIOS),
                ),
            ).encode("utf-8")

        body = await anyio.to_thread.run_sync(work)
        site.cache.put(key, Entry(body, {}))
        return Response(body, headers=headers)

    @router.get(
        "/map",
        tags=["map"],
        summary="The map of shared data: scenarios × data kinds (HTML, JSON, CSV or SVG by Accept)",
    )
    async def map_page(request: Request) -> Response:
        accept = request.headers.get("accept")
        try:
            choice = negotiate(accept, OFFERS)
        except NotAcceptable:
            return not_acceptable_response(OFFERS, accept)
        return await answer(request, choice.offer, "Accept")

    @router.get(
        "/map.json", tags=["map"], summary="The map of shared data as JSON (the release's map.json)"
    )
    async def map_json(request: Request) -> Response:
        return await answer(request, JSON, "")

    @router.get(
        "/map.csv",
        tags=["map"],
        summary="The map of shared data as CSV (one row per scenario × kind)",
    )
    async def map_csv(request: Request) -> Response:
        return await answer(request, CSV, "")

    @router.get("/map.svg", tags=["map"], summary="The map of shared data as an SVG picture")
    async def map_svg(request: Request) -> Response:
        return await answer(request, SVG, "")

    return router
