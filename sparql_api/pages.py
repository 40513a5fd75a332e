"""Dereferenceable IRIs and the pages for people.

Every resource IRI below the release's base is served at the same path on this
server (the base maps to the server root: the Host header, or X-Forwarded-Host/
Proto/Prefix from a trusted proxy, ``Settings.trusted_proxies``).
The ontology (``https://w3id.org/dipkg/ontology`` and its hash terms) is served
at ``/ontology`` whatever the base.

The IRI names the thing (a scenario, a field), not a web page, so it answers
**303 See Other** to a document chosen by content negotiation::

    GET /scenario/guizhou-b1-s01           -> 303 /scenario/guizhou-b1-s01.html  (browsers)
    Accept: text/turtle                    -> 303 /scenario/guizhou-b1-s01.ttl
    GET /scenario/guizhou-b1-s01.jsonld    -> 200 application/ld+json

Documents: ``.html``, ``.ttl``, ``.jsonld`` (compacted with the project context),
``.nt``, ``.rdf``. ``Vary: Accept`` on every negotiated response (the 303 too),
``Vary: Accept-Language`` on pages; 406 (JSON, listing the offers) when nothing
fits; a 404 page (HTML for browsers, the JSON error otherwise) for unknown IRIs.
Rendered responses are cached (bounded LRU) with an ETag from build, path,
variant and language; Last-Modified is the manifest's ``modified``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import Match
from starlette.types import Scope

from dipkg import __version__
from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES, Minter
from dipkg.core.jsonld import write_jsonld
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from dipkg.core.terms import IRI, XSD_STRING, BNode, Literal
from kg.paths import ONTOLOGY_DIR
from sparql_api import charts, http, i18n
from sparql_api.cache import Entry, ResponseCache
from sparql_api.describe import Describer, Description
from sparql_api.errors import HttpError, NotAcceptable
from sparql_api.negotiation import (
    HTML,
    RESOURCE_OFFERS,
    Offer,
    negotiate,
    not_acceptable,
    wants_html,
)
from sparql_api.protocol import site_root, vary_origin

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"

#: The HTML page of a resource; with the graph offers of the endpoint's table.
BY_EXTENSION = {o.extension: o for o in RESOURCE_OFFERS}

RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
OWL = PREFIXES["owl"]
SCHEMA = PREFIXES["schema"]
FOAF = PREFIXES["foaf"]
USES_SHOWN = (
    1000  # a concept page lists at most this many of its uses (and says how many there are)
)
LABEL_PREDICATES = (RDFS + "label", SKOS + "prefLabel", DCT + "title", FOAF + "name")
_GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


def _docx_cell(locator: str | None) -> dict[str, str] | None:
    """dip:sourceCell ``table=T;row=R;column=C`` as {table, row, column} for the page; None if absent."""
    if not locator:
        return None
    parts = dict(part.partition("=")[::2] for part in locator.split(";"))
    return parts if set(parts) == {"table", "row", "column"} else None


# --- where things are ---------------------------------------------------------
@dataclass
class Linker:
    """Maps IRIs to links on this server (base -> root; ontology terms -> /ontology#Term)."""

    base: str
    root: str
    lang: str | None = None  # set: links carry ?lang= (the visible switch remembers nothing)

    def href(self, iri: str) -> str:
        if iri == ONTOLOGY_IRI:
            return self.with_lang(self.root + "/ontology")
        if iri.startswith(DIP):
            return self.with_lang(self.root + "/ontology") + "#" + iri[len(DIP) :]
        if iri.startswith(self.base):
            return self.with_lang(self.root + "/" + iri[len(self.base) :])
        return iri

    def local(self, iri: str) -> bool:
        return iri == ONTOLOGY_IRI or iri.startswith(DIP) or iri.startswith(self.base)

    def with_lang(self, url: str) -> str:
        return f"{url}?{urlencode({'lang': self.lang})}" if self.lang else url

    def path(self, path: str) -> str:
        return self.with_lang(self.root + path)


def iri_for_path(path: str, base: str) -> str:
    """The resource IRI a server path stands for (path without leading '/')."""
    if path == "ontology":
        return ONTOLOGY_IRI
    return base + path


def split_extension(path: str) -> tuple[str, Offer | None]:
    stem, dot, ext = path.rpartition(".")
    if dot and ext in BY_EXTENSION and stem and "/" not in ext:
        return stem, BY_EXTENSION[ext]
    return path, None


def curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


# --- serialisation ------------------------------------------------------------------
def _kg_term(term: Any) -> Any:
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, term.language)
    return Literal(term.value, datatype=term.datatype.value if term.datatype else XSD_STRING)


def serialize(desc: Description, key: str, context: dict[str, Any]) -> bytes:
    if key == "jsonld":
        blocks: dict[str, tuple[Any, list]] = {}
        for t in desc.triples:
            s = str(t.subject)
            if s not in blocks:
                blocks[s] = (_kg_term(t.subject), [])
            blocks[s][1].append((IRI(t.predicate.value), _kg_term(t.object)))
        out = io.StringIO()
        write_jsonld(blocks.values(), out, context)
        return out.getvalue().encode("utf-8")
    return ox.serialize(
        desc.triples,
        format=_GRAPH_FORMATS[key],
        prefixes=dict(PREFIXES) if key != "ntriples" else None,
    )


# --- view models for the pages ------------------------------------------------------
@dataclass
class Value:
    text: str
    href: str | None = None
    lang: str | None = None
    iri: str | None = None


@dataclass
class View:
    """What a template needs: the labels in one language, links on this server."""

    iri: str
    kind: str
    label: str
    labels: dict[str, str]
    types: list[Value]
    statements: list[tuple[Value, list[Value]]]
    incoming: list[tuple[Value, list[Value]]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def statement_count(self) -> int:
        return sum(len(values) for _, values in self.statements + self.incoming)


class LabelIndex:
    """Labels of the IRIs in a description (and of ontology terms), by language."""

    def __init__(self, triples: list[ox.Triple], ontology: dict[str, dict[str, str]]) -> None:
        self.labels: dict[str, dict[str, str]] = {}
        for iri, labels in ontology.items():
            self.labels[iri] = dict(labels)
        for t in triples:
            if (
                t.predicate.value in LABEL_PREDICATES
                and isinstance(t.subject, ox.NamedNode)
                and isinstance(t.object, ox.Literal)
                and t.object.language
            ):
                self.labels.setdefault(t.subject.value, {}).setdefault(
                    t.object.language, t.object.value
                )

    def get(self, iri: str, lang: str) -> str:
        labels = self.labels.get(iri)
        return i18n.pick(labels, lang) if labels else curie(iri)


def literal_text(lit: ox.Literal) -> str:
    return lit.value


class Pages:
    """Renders views (runs in a worker thread: store lookups and Jinja are blocking)."""

    def __init__(self, settings: Settings, release: Release, describer: Describer) -> None:
        self.settings = settings
        self.release = release
        self.describer = describer
        self.base = release.base_iri
        self.minter = Minter(self.base)
        self.context = json.loads((ONTOLOGY_DIR / "context.jsonld").read_text(encoding="utf-8"))[
            "@context"
        ]
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["t"] = i18n.t
        self.env.globals["version"] = __version__
        self.env.filters["filesize"] = filesize
        self.env.globals["domain_bars"] = charts.domain_bars
        self.env.globals["kind_bars"] = charts.kind_bars
        self.env.globals["chart_word"] = charts.w
        self.ontology_labels = self._ontology_labels()

    # -- data -------------------------------------------------------------------
    def _ontology_labels(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for row in self.describer.select(
            "SELECT ?s ?l WHERE { ?s rdfs:isDefinedBy|^rdfs:isDefinedBy ?o ; rdfs:label ?l }"
        ):
            lit = row["l"]
            if isinstance(row["s"], ox.NamedNode) and isinstance(lit, ox.Literal) and lit.language:
                out.setdefault(row["s"].value, {})[lit.language] = lit.value
        for row in self.describer.select(
            "SELECT ?s ?l WHERE { ?s a skos:ConceptScheme ; rdfs:label ?l }"
        ):
            lit = row["l"]
            if isinstance(lit, ox.Literal) and lit.language:
                out.setdefault(row["s"].value, {})[lit.language] = lit.value
        return out

    def value(self, term: Any, labels: LabelIndex, link: Linker, lang: str) -> Value:
        if isinstance(term, ox.NamedNode):
            return Value(labels.get(term.value, lang), link.href(term.value), iri=term.value)
        if isinstance(term, ox.BlankNode):
            return Value("[…]")
        return Value(term.value, lang=term.language)

    def view(self, desc: Description, link: Linker, lang: str) -> View:
        labels = LabelIndex(desc.triples, self.ontology_labels)
        node = ox.NamedNode(desc.iri)
        own: dict[str, list[Any]] = {}
        inc: dict[str, list[Any]] = {}
        for t in desc.triples:
            if t.subject == node:
                own.setdefault(t.predicate.value, []).append(t.object)
            elif t.object == node:
                inc.setdefault(t.predicate.value, []).append(t.subject)
        mine = {
            lit.language: lit.value
            for p in LABEL_PREDICATES
            for lit in own.get(p, [])
            if isinstance(lit, ox.Literal) and lit.language
        }
        label = i18n.pick(mine, lang) if mine else curie(desc.iri)

        def group(table: dict[str, list[Any]]) -> list[tuple[Value, list[Value]]]:
            out = []
            for p, objects in table.items():
                values = [self.value(o, labels, link, lang) for o in objects]
                if all(v.lang for v in values):  # language-tagged: the page's language first
                    values.sort(key=lambda v: (v.lang != lang, v.lang != "zh", v.lang or ""))
                out.append((Value(labels.get(p, lang), link.href(p), iri=p), values))
            return out

        types = [self.value(ox.NamedNode(ty), labels, link, lang) for ty in desc.types]
        kind = _kind(desc.types, desc.iri)
        view = View(
            iri=desc.iri,
            kind=kind,
            label=label,
            labels=mine,
            types=types,
            statements=group(own),
            incoming=group(inc),
        )
        view.extra = self._extra(kind, desc, own, labels, link, lang)
        return view

    def _lab(self, row: dict[str, Any], lang: str, zh: str = "zh", en: str = "en") -> str:
        values = {}
        if row.get(zh) is not None:
            values["zh"] = row[zh].value
        if row.get(en) is not None:
            values["en"] = row[en].value
        return i18n.pick(values, lang)

    def _extra(
        self,
        kind: str,
        desc: Description,
        own: dict[str, list[Any]],
        labels: LabelIndex,
        link: Linker,
        lang: str,
    ) -> dict[str, Any]:
        iri = desc.iri
        sel = self.describer.select
        first = lambda p: own.get(p, [None])[0]  # noqa: E731

        def lit(p: str) -> str | None:
            values = {
                o.language or "": o.value for o in own.get(p, []) if isinstance(o, ox.Literal)
            }
            return i18n.pick(values, lang) if values else None

        def lit_lang(p: str) -> Value | None:
            values = [o for o in own.get(p, []) if isinstance(o, ox.Literal)]
            if not values:
                return None
            chosen = next((o for o in values if o.language == lang), None) or next(
                (o for o in values if o.language == "zh"), values[0]
            )
            return Value(chosen.value, lang=chosen.language)

        def ref(p: str) -> Value | None:
            o = first(p)
            return self.value(o, labels, link, lang) if o is not None else None

        extra: dict[str, Any] = {}
        if kind == "scenario":
            extra.update(
                number=lit(DIP + "number"),
                domain=ref(DIP + "domain"),
                guide=ref(DCT + "source"),
                application=lit_lang(DIP + "application"),
                example=lit_lang(DIP + "exampleContext"),
                data_text=lit_lang(DIP + "dataText"),
                source_line=lit(DIP + "sourceLine"),
                source_cell=_docx_cell(lit(DIP + "sourceCell")),
                tree=self._tree(iri, link, lang),
            )
        elif kind in ("category", "field"):
            rows = sel(f"""SELECT ?s ?n ?szh ?sen ?p ?pzh ?pen ?k ?kzh ?ken ?q WHERE {{
                <{iri}> dip:scenario ?s ; dcterms:isPartOf ?p .
                ?s dip:number ?n . OPTIONAL {{ ?s rdfs:label ?szh FILTER(lang(?szh)="zh") }}
                OPTIONAL {{ ?s rdfs:label ?sen FILTER(lang(?sen)="en") }}
                OPTIONAL {{ ?p rdfs:label ?pzh FILTER(lang(?pzh)="zh") }}
                OPTIONAL {{ ?p rdfs:label ?pen FILTER(lang(?pen)="en") }}
                OPTIONAL {{ <{iri}> dip:dataKind ?k . OPTIONAL {{ ?k skos:prefLabel ?kzh FILTER(lang(?kzh)="zh") }}
                           OPTIONAL {{ ?k skos:prefLabel ?ken FILTER(lang(?ken)="en") }} }}
                OPTIONAL {{ <{iri}> dip:qualifier ?q FILTER(lang(?q)="zh") }}
            }} LIMIT 1""")
            if rows:
                r = rows[0]
                extra["scenario"] = Value(
                    f"{r['n'].value}. {self._lab(r, lang, 'szh', 'sen')}",
                    link.href(r["s"].value),
                    iri=r["s"].value,
                )
                if r["p"] != r["s"]:
                    extra["parent"] = Value(
                        self._lab(r, lang, "pzh", "pen"), link.href(r["p"].value), iri=r["p"].value
                    )
                if r.get("k") is not None:
                    extra["kind"] = Value(
                        self._lab(r, lang, "kzh", "ken"), link.href(r["k"].value), iri=r["k"].value
                    )
                if r.get("q") is not None:
                    extra["qualifier"] = r["q"].value
            if kind == "category":
                extra["children"] = self._children(iri, link, lang)
            if extra.get("kind"):
                extra["same_kind"] = self._items_of_kind(extra["kind"].iri, link, lang, exclude=iri)
        elif kind in ("concept", "domain"):
            if kind == "domain":
                extra["scenarios"] = self._scenarios(link, lang, domain=iri)
            extra["definition"] = lit_lang(SKOS + "definition")
            extra["notation"] = lit(SKOS + "notation")
            extra["scheme"] = ref(SKOS + "inScheme")
            extra["broader"] = [
                self.value(o, labels, link, lang) for o in own.get(SKOS + "broader", [])
            ]
            extra["narrower"] = [
                self.value(o, labels, link, lang) for o in own.get(SKOS + "narrower", [])
            ]
            extra["matches"] = [
                Value(o.value, o.value, iri=o.value)
                for p in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
                for o in own.get(SKOS + p, [])
                if isinstance(o, ox.NamedNode)
            ]
            pi = first(DIP + "personalInformation")
            extra["personal"] = pi is not None and pi.value == "true"
            extra["sensitive"] = [
                self.value(o, labels, link, lang) for o in own.get(DIP + "sensitiveCategory", [])
            ]
            if kind == "concept":
                extra["used_by"] = self._items_under_kind(iri, link, lang)
                extra["used_total"] = self._count_under_kind(iri)
                extra["scenario_bars"] = charts.kind_scenarios(self.describer, iri, link, lang)
        elif kind == "scheme":
            extra["definition"] = lit_lang(SKOS + "definition")
            extra["tree"] = self._scheme_tree(iri, link, lang)
        elif kind == "guide":
            extra["citation"] = lit_lang(DCT + "bibliographicCitation")
            extra["scenarios"] = self._scenarios(link, lang, guide=iri)
        elif kind == "ontology":
            extra.update(self._ontology(own, labels, link, lang))
        return extra

    def _scenarios(
        self, link: Linker, lang: str, domain: str | None = None, guide: str | None = None
    ) -> list[dict[str, Any]]:
        where = ""
        if domain:
            where = f"?s dip:domain <{domain}> ."
        if guide:
            where = f"?s dcterms:source <{guide}> ."
        rows = self.describer.select(f"""SELECT ?s ?n ?zh ?en ?d ?dzh ?den WHERE {{
            ?s a dip:Scenario ; dip:number ?n ; dip:domain ?d . {where}
            OPTIONAL {{ ?s rdfs:label ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?s rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?d rdfs:label ?dzh FILTER(lang(?dzh)="zh") }} OPTIONAL {{ ?d rdfs:label ?den FILTER(lang(?den)="en") }}
        }} ORDER BY ?n ?s""")
        return [
            {
                "number": r["n"].value,
                "label": self._lab(r, lang),
                "href": link.href(r["s"].value),
                "iri": r["s"].value,
                "domain": self._lab(r, lang, "dzh", "den"),
                "domain_href": link.href(r["d"].value),
                "domain_iri": r["d"].value,
            }
            for r in rows
        ]

    def domains(self, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select("""SELECT ?d ?zh ?en (MIN(?o) AS ?first) WHERE {
            ?d a dip:Domain . OPTIONAL { ?d rdfs:label ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?d rdfs:label ?en FILTER(lang(?en)="en") }
            OPTIONAL { ?s dip:domain ?d ; dip:number ?o } } GROUP BY ?d ?zh ?en ORDER BY ?first""")
        scenarios = self._scenarios(link, lang)
        out = []
        for r in rows:
            mine = [s for s in scenarios if s["domain_iri"] == r["d"].value]
            out.append(
                {
                    "label": self._lab(r, lang),
                    "href": link.href(r["d"].value),
                    "iri": r["d"].value,
                    "scenarios": mine,
                }
            )
        return out

    def _items(self, rows: list[dict[str, Any]], link: Linker, lang: str) -> list[dict[str, Any]]:
        return [
            {
                "label": self._lab(r, lang),
                "href": link.href(r["i"].value),
                "iri": r["i"].value,
                "kind": "category" if r["t"].value.endswith("DataCategory") else "field",
                "qualifier": r["q"].value if r.get("q") is not None else None,
                "scenario": f"{r['n'].value}. {self._lab(r, lang, 'szh', 'sen')}"
                if r.get("n")
                else None,
                "scenario_href": link.href(r["s"].value) if r.get("s") else None,
            }
            for r in rows
        ]

    def _children(self, iri: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select(f"""SELECT ?i ?t ?zh ?en ?q ?pos WHERE {{
            ?i dcterms:isPartOf <{iri}> ; a ?t ; schema:position ?pos .
            OPTIONAL {{ ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?i rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?i dip:qualifier ?q FILTER(lang(?q)="zh") }}
        }} ORDER BY ?pos""")
        return self._items(rows, link, lang)

    def _items_of_kind(
        self, kind_iri: str, link: Linker, lang: str, exclude: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self.describer.select(f"""SELECT ?i ?t ?zh ?en ?q ?s ?n ?szh ?sen WHERE {{
            ?i dip:dataKind <{kind_iri}> ; a ?t ; dip:scenario ?s . ?s dip:number ?n .
            OPTIONAL {{ ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?i rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?i dip:qualifier ?q FILTER(lang(?q)="zh") }}
            OPTIONAL {{ ?s rdfs:label ?szh FILTER(lang(?szh)="zh") }} OPTIONAL {{ ?s rdfs:label ?sen FILTER(lang(?sen)="en") }}
        }} ORDER BY ?n ?i LIMIT 500""")
        return [r for r in self._items(rows, link, lang) if r["iri"] != exclude]

    def _count_under_kind(self, kind_iri: str) -> int:
        rows = self.describer.select(f"""SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE {{
            ?k skos:broader* <{kind_iri}> . ?i dip:dataKind ?k }}""")
        return int(rows[0]["n"].value) if rows else 0

    def _items_under_kind(self, kind_iri: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        """The data items of this kind or of a narrower one (``skos:broader*``), each with the
        path of kinds from this one down to its own (empty for a direct use). Counted the way
        the data-kinds page counts a concept (:meth:`_scheme_tree`)."""
        rows = self.describer.select(f"""SELECT DISTINCT ?i ?t ?zh ?en ?q ?s ?n ?szh ?sen ?k WHERE {{
            ?k skos:broader* <{kind_iri}> . ?i dip:dataKind ?k ; a ?t ; dip:scenario ?s . ?s dip:number ?n .
            OPTIONAL {{ ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?i rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?i dip:qualifier ?q FILTER(lang(?q)="zh") }}
            OPTIONAL {{ ?s rdfs:label ?szh FILTER(lang(?szh)="zh") }} OPTIONAL {{ ?s rdfs:label ?sen FILTER(lang(?sen)="en") }}
        }} ORDER BY ?n ?i LIMIT {USES_SHOWN}""")
        links = self.describer.select(f"""SELECT DISTINCT ?c ?b ?zh ?en WHERE {{
            ?c skos:broader* <{kind_iri}> ; skos:broader ?b . ?b skos:broader* <{kind_iri}> .
            OPTIONAL {{ ?c skos:prefLabel ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?c skos:prefLabel ?en FILTER(lang(?en)="en") }}
        }}""")
        parents: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for r in links:
            parents.setdefault(r["c"].value, []).append(r["b"].value)
            names[r["c"].value] = self._lab(r, lang)
        for ps in parents.values():
            ps.sort()

        def path(k: str) -> list[Value]:  # kinds from just below ``kind_iri`` down to ``k``
            out: list[Value] = []
            seen: set[str] = set()
            while k != kind_iri and k in parents and k not in seen:
                seen.add(k)
                out.append(Value(names.get(k, curie(k)), link.href(k), iri=k))
                k = next((p for p in parents[k] if p == kind_iri), parents[k][0])
            return out[::-1]

        items, seen_items = [], set()
        for r in rows:
            if r["i"].value in seen_items:  # an item appears once, with its first path
                continue
            seen_items.add(r["i"].value)
            item = self._items([r], link, lang)[0]
            item["path"] = path(r["k"].value)
            items.append(item)
        return items

    def _tree(self, scenario: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select(f"""SELECT ?i ?p ?t ?zh ?en ?q ?pos ?k ?kzh ?ken WHERE {{
            ?i dip:scenario <{scenario}> ; dcterms:isPartOf ?p ; a ?t ; schema:position ?pos .
            OPTIONAL {{ ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?i rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?i dip:qualifier ?q FILTER(lang(?q)="zh") }}
            OPTIONAL {{ ?i dip:dataKind ?k }}
        }}""")
        nodes: dict[str, dict[str, Any]] = {}
        for r in rows:
            item = self._items([r], link, lang)[0]
            item.update(parent=r["p"].value, position=int(r["pos"].value), children=[])
            nodes[item["iri"]] = item
        roots: list[dict[str, Any]] = []
        for item in nodes.values():
            (nodes[item["parent"]]["children"] if item["parent"] in nodes else roots).append(item)
        for item in nodes.values():
            item["children"].sort(key=lambda x: x["position"])
        roots.sort(key=lambda x: x["position"])
        return roots

    def _scheme_tree(self, scheme: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select(f"""SELECT ?c ?b ?zh ?en (COUNT(DISTINCT ?i) AS ?uses) WHERE {{
            ?c skos:inScheme <{scheme}> .
            OPTIONAL {{ ?c skos:broader ?b . ?b skos:inScheme <{scheme}> }}
            OPTIONAL {{ ?c skos:prefLabel ?zh FILTER(lang(?zh)="zh") }} OPTIONAL {{ ?c skos:prefLabel ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?i dip:dataKind|dip:domain ?c }}
        }} GROUP BY ?c ?b ?zh ?en""")
        nodes: dict[str, dict[str, Any]] = {}
        parents: dict[str, str | None] = {}
        for r in rows:
            c = r["c"].value
            nodes[c] = {
                "label": self._lab(r, lang),
                "href": link.href(c),
                "iri": c,
                "uses": int(r["uses"].value),
                "children": [],
            }
            parents[c] = r["b"].value if r.get("b") is not None else None
        roots = []
        for c, node in nodes.items():
            p = parents[c]
            (nodes[p]["children"] if p in nodes else roots).append(node)
        # the data items of a concept or of anything below it (skos:broader*), each counted once
        # even when it is reached by two paths: the count its concept page lists
        totals = {
            r["c"].value: int(r["n"].value)
            for r in self.describer.select(f"""
            SELECT ?c (COUNT(DISTINCT ?i) AS ?n) WHERE {{
              ?c skos:inScheme <{scheme}> . ?k skos:broader* ?c . ?i dip:dataKind|dip:domain ?k
            }} GROUP BY ?c""")
        }
        for c, node in nodes.items():
            node["total"] = totals.get(c, 0)
        # most used first, then by label: a stable order that shows what matters
        for node in nodes.values():
            node["children"].sort(key=lambda x: (-x["total"], x["label"]))
        roots.sort(key=lambda x: (-x["total"], x["label"]))
        return roots

    def _ontology(
        self, own: dict[str, list[Any]], labels: LabelIndex, link: Linker, lang: str
    ) -> dict[str, Any]:
        rows = self.describer.select("""SELECT ?term ?type ?p ?o WHERE {
            ?term rdfs:isDefinedBy <https://w3id.org/dipkg/ontology> ; a ?type ; ?p ?o }""")
        terms: dict[str, dict[str, Any]] = {}
        for r in rows:
            term = r["term"].value
            entry = terms.setdefault(
                term,
                {
                    "iri": term,
                    "local": term[len(DIP) :] if term.startswith(DIP) else term,
                    "types": set(),
                    "props": {},
                },
            )
            entry["types"].add(r["type"].value)
            values = entry["props"].setdefault(r["p"].value, [])
            if r["o"] not in values:  # one row per (type, p, o): a term with two types repeats
                values.append(r["o"])
        classes, properties = [], []
        for term, entry in sorted(terms.items(), key=lambda kv: kv[1]["local"].lower()):
            props = entry["props"]

            def pick(p: str, props: dict = props) -> str | None:
                values = {
                    o.language: o.value
                    for o in props.get(p, [])
                    if isinstance(o, ox.Literal) and o.language
                }
                return i18n.pick(values, lang) if values else None

            def refs(p: str, props: dict = props) -> list[Value]:
                return [
                    self.value(o, labels, link, lang)
                    for o in props.get(p, [])
                    if isinstance(o, ox.NamedNode)
                ]

            row = {
                "iri": term,
                "local": entry["local"],
                "curie": curie(term),
                "label_zh": i18n.pick(
                    {
                        o.language: o.value
                        for o in props.get(RDFS + "label", [])
                        if isinstance(o, ox.Literal) and o.language == "zh"
                    },
                    "zh",
                ),
                "label_en": i18n.pick(
                    {
                        o.language: o.value
                        for o in props.get(RDFS + "label", [])
                        if isinstance(o, ox.Literal) and o.language == "en"
                    },
                    "en",
                ),
                "definition": pick(SKOS + "definition"),
                "types": [curie(ty) for ty in sorted(entry["types"])],
                "domain": refs(RDFS + "domain"),
                "range": refs(RDFS + "range"),
                "subclass": refs(RDFS + "subClassOf"),
                "subproperty": refs(RDFS + "subPropertyOf"),
            }
            if OWL + "Class" in entry["types"]:
                classes.append(row)
            else:
                properties.append(row)

        def lit(p: str) -> str | None:
            values = {
                o.language or "": o.value for o in own.get(p, []) if isinstance(o, ox.Literal)
            }
            return i18n.pick(values, lang) if values else None

        return {
            "classes": classes,
            "properties": properties,
            "description": lit(DCT + "description"),
            "version": lit(OWL + "versionInfo"),
            "namespace": DIP,
            "prefix": "dip",
            "licence": (own.get(DCT + "license") or [None])[0],
        }


def _kind(types: list[str], iri: str) -> str:
    if iri == ONTOLOGY_IRI or OWL + "Ontology" in types:
        return "ontology"
    for ty, kind in (
        (DIP + "Scenario", "scenario"),
        (DIP + "Domain", "domain"),
        (DIP + "DataCategory", "category"),
        (DIP + "DataField", "field"),
        (DIP + "Guide", "guide"),
        (SKOS + "ConceptScheme", "scheme"),
        (SKOS + "Concept", "concept"),
    ):
        if ty in types:
            return kind
    return "resource"


#: the template of each kind of resource (a field's page is laid out like a category's)
TEMPLATE_OF = {
    "scenario": "scenario.html",
    "domain": "domain.html",
    "category": "category.html",
    "field": "category.html",
    "guide": "guide.html",
    "scheme": "scheme.html",
    "concept": "concept.html",
    "ontology": "ontology.html",
}


def filesize(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# --- the HTTP side ----------------------------------------------------------------
@dataclass
class Site:
    """Everything the page routes share (one per app)."""

    settings: Settings
    release: Release
    pages: Pages
    cache: ResponseCache
    last_modified: Any
    schema_org: Callable[[Linker], str | None]

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
            settings=self.settings,
            release=self.release,
            manifest=self.release.manifest,
            **values,
        )


def _with_query(request: Request, **params: str) -> str:
    """This page's own path with ``params`` set in its query: always a path on this site
    (``//evil.example/x`` or ``/\\evil.example`` would be read as another host)."""
    query = dict(request.query_params)
    query.update(params)
    return local_path(request.url.path) + "?" + urlencode(query)


def local_path(path: str) -> str:
    """``path`` as an absolute-path reference that cannot leave the site: one leading '/',
    percent-encoded (no '\\', no scheme-relative '//host')."""
    return "/" + quote(path.lstrip("/\\"), safe="/-._~!$'()*+,;=:@")


def language(request: Request) -> tuple[str, bool]:
    return i18n.choose_language(
        request.query_params.get("lang"), request.headers.get("accept-language")
    )


def not_found(site: Site, request: Request) -> Response:
    message = f"no resource at {request.url.path}"
    vary = "Accept, Accept-Language"
    if wants_html(request.headers.get("accept")):
        lang, explicit = language(request)
        body = site.render("404.html", request, lang, explicit, path=request.url.path)
        return Response(
            body, status_code=404, media_type="text/html; charset=utf-8", headers={"Vary": vary}
        )
    err = HttpError(message, status=404, code="not-found")
    return JSONResponse(err.to_dict(), status_code=404, headers={"Vary": vary})


def not_acceptable_response(offers: tuple[Offer, ...], accept: str | None) -> Response:
    err = not_acceptable(
        offers, f"none of the offered media types is acceptable (Accept: {accept})"
    )
    return JSONResponse(err.to_dict(), status_code=406, headers={"Vary": "Accept"})


async def document(site: Site, request: Request, iri: str, offer: Offer, path: str) -> Response:
    """The 200 answer for one document (resource + format), cached."""
    lang, explicit = language(request) if offer is HTML else ("", False)
    root = site_root(request) if offer is HTML else ""
    variant = offer.extension
    tag = http.etag(
        site.release.build_id, path, variant, lang, root, "explicit" if explicit else ""
    )
    # a document's type is fixed by its extension: only a page's language is negotiated
    vary = "Accept-Language" if offer is HTML else ""
    headers = site.headers(tag, vary)
    headers["Content-Type"] = offer.content_type()
    if offer is HTML:
        headers["Content-Language"] = i18n.HTML_LANG[lang]
    if http.not_modified(request.headers, tag, site.last_modified):
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
        return not_found(site, request)
    site.cache.put(key, Entry(body, {}))
    return Response(body, headers=headers)


class FallbackRoute(APIRoute):
    """A route that only ever matches as a fallback: a full match is reported as partial,
    so any other route of the app — registered before or after it — wins."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.PARTIAL, child) if match == Match.FULL else (match, child)


def make_router(settings: Settings, release: Release, *, site: Site | None = None) -> APIRouter:
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
        tag = http.etag(release.build_id, "/", "html", lang, root, "explicit" if explicit else "")
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
            guides = site.pages.describer.select("""SELECT ?g ?czh ?cen ?tzh ?ten WHERE { ?g a dip:Guide .
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
                schema_org=site.schema_org(link),
                twins=twins,
                dataset_href=link.href(dataset),
                catalog_href=link.href(site.pages.minter.catalog()),
                counts=release.manifest.get("counts", {}),
            ).encode("utf-8")

        body = await anyio.to_thread.run_sync(work)
        site.cache.put(key, Entry(body, {}))
        return Response(body, headers=headers)

    @fallback.get("/{path:path}", include_in_schema=False)
    async def resource(path: str, request: Request) -> Response:
        if not path or path.endswith("/") or "//" in path or path.startswith("."):
            return not_found(site, request)
        stem, offer = split_extension(path)
        iri = iri_for_path(stem, site.base)
        if offer is not None:
            return await document(site, request, iri, offer, stem)
        exists = await anyio.to_thread.run_sync(site.pages.describer.exists, iri)
        if not exists:
            return not_found(site, request)
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
    router.site = site  # type: ignore[attr-defined]
    return router


def make_site(settings: Settings, release: Release, describer: Describer | None = None) -> Site:
    catalog_graph = (release.manifest.get("catalog") or {}).get("graph")
    describer = describer or Describer(release.store_dir, [catalog_graph] if catalog_graph else [])
    pages = Pages(settings, release, describer)
    return Site(
        settings=settings,
        release=release,
        pages=pages,
        cache=ResponseCache(max_bytes=32 * 1024 * 1024),
        last_modified=http.last_modified(release.manifest, release.root / "manifest.json"),
        schema_org=_schema_org_factory(settings, release),
    )


def _schema_org_factory(settings: Settings, release: Release) -> Callable[[Linker], str | None]:
    """The schema.org Dataset JSON-LD of the landing page (kg.catalog.schema_org_dataset)."""
    from kg.catalog import schema_org_dataset

    minter = Minter(release.base_iri)
    text = json.dumps(
        schema_org_dataset(release.manifest, settings, minter), ensure_ascii=False, indent=2
    )
    text = text.replace("</", "<\\/")  # never close the <script> early

    def build(link: Linker) -> str | None:
        return text

    return build
