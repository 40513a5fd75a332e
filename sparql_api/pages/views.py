"""The view of a resource for its page: its statements in one language with links on this
server, plus the parts its kind of page shows (a scenario's tree, a concept's uses, ...)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dipkg import __version__
from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES, Minter
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from sparql_api import charts, i18n
from sparql_api.describe import Describer, Description
from sparql_api.pages.links import Linker, curie
from sparql_api.pages.lookups import Lookups
from sparql_api.pages.model import LABEL_PREDICATES, Facts, LabelIndex, Value, View

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
OWL = PREFIXES["owl"]


def _docx_cell(locator: str | None) -> dict[str, str] | None:
    """dip:sourceCell ``table=T;row=R;column=C`` as {table, row, column} for the page; None if
    absent."""
    if not locator:
        return None
    parts = dict(part.partition("=")[::2] for part in locator.split(";"))
    return parts if set(parts) == {"table", "row", "column"} else None


class Pages(Lookups):
    """Renders views (runs in a worker thread: store lookups and Jinja are blocking)."""

    def __init__(self, settings: Settings, release: Release, describer: Describer) -> None:
        self.settings = settings
        self.release = release
        self.describer = describer
        self.base = release.base_iri
        self.minter = Minter(self.base)
        self.context = release.context()  # ontology/context.jsonld, as the build used it
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["t"] = i18n.t
        self.env.globals["text_lang"] = i18n.text_lang
        self.env.globals["mark_zh"] = i18n.mark_zh
        self.env.globals["version"] = __version__
        self.env.filters["filesize"] = filesize
        self.env.globals["domain_bars"] = charts.domain_bars
        self.env.globals["kind_bars"] = charts.kind_bars
        self.env.globals["chart_word"] = charts.w
        if describer.lookups_at_start:  # a remote backend: its first lookups, now
            _ = self.ontology_labels

    # -- data -------------------------------------------------------------------
    @functools.cached_property
    def ontology_labels(self) -> dict[str, dict[str, str]]:
        """The ontology's and the concept schemes' labels, read on the first page that needs
        them (not at start-up: that would open the store in the web process for nothing)."""
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

    def _extra(
        self,
        kind: str,
        desc: Description,
        own: dict[str, list[Any]],
        labels: LabelIndex,
        link: Linker,
        lang: str,
    ) -> dict[str, Any]:
        facts = Facts(self, own, labels, link, lang)
        return KIND_NAMED[kind].parts(self, desc.iri, facts)

    # -- the parts of each kind of page (one entry each in RESOURCE_KINDS) -------------
    def _scenario_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return {
            "number": f.lit(DIP + "number"),
            "domain": f.ref(DIP + "domain"),
            "guide": f.ref(DCT + "source"),
            "application": f.lit_lang(DIP + "application"),
            "example": f.lit_lang(DIP + "exampleContext"),
            "data_text": f.lit_lang(DIP + "dataText"),
            "source_line": f.lit(DIP + "sourceLine"),
            "source_cell": _docx_cell(f.lit(DIP + "sourceCell")),
            "tree": self._tree(iri, f.link, f.lang),
        }

    def _item_parts(self, iri: str, f: Facts, *, children: bool) -> dict[str, Any]:
        """A data category's or data field's page (``children``: a category's own items)."""
        link, lang = f.link, f.lang
        extra: dict[str, Any] = {}
        rows = self.describer.select(
            """SELECT ?item ?s ?n ?szh ?sen ?p ?pzh ?pen ?k ?kzh ?ken ?qzh ?qen WHERE {
                ?item dip:scenario ?s ; dcterms:isPartOf ?p .
                ?s dip:number ?n . OPTIONAL { ?s rdfs:label ?szh FILTER(lang(?szh)="zh") }
                OPTIONAL { ?s rdfs:label ?sen FILTER(lang(?sen)="en") }
                OPTIONAL { ?p rdfs:label ?pzh FILTER(lang(?pzh)="zh") }
                OPTIONAL { ?p rdfs:label ?pen FILTER(lang(?pen)="en") }
                OPTIONAL { ?item dip:dataKind ?k .
                           OPTIONAL { ?k skos:prefLabel ?kzh FILTER(lang(?kzh)="zh") }
                           OPTIONAL { ?k skos:prefLabel ?ken FILTER(lang(?ken)="en") } }
                OPTIONAL { ?item dip:qualifier ?qzh FILTER(lang(?qzh)="zh") }
                OPTIONAL { ?item dip:qualifier ?qen FILTER(lang(?qen)="en") }
            } LIMIT 1""",
            substitutions={"item": ox.NamedNode(iri)},
        )
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
            qualifier = self._lab_value(r, lang, "qzh", "qen")
            if qualifier is not None:
                extra["qualifier"] = qualifier
        if children:
            extra["children"] = self._children(iri, link, lang)
        if extra.get("kind"):
            extra["same_kind"] = self._items_of_kind(extra["kind"].iri, link, lang, exclude=iri)
        return extra

    def _category_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return self._item_parts(iri, f, children=True)

    def _field_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return self._item_parts(iri, f, children=False)

    def _concept_facts(self, f: Facts) -> dict[str, Any]:
        """What a concept's page and a domain's page both show (a domain is a concept)."""
        pi = f.first(DIP + "personalInformation")
        return {
            "definition": f.lit_lang(SKOS + "definition"),
            "notation": f.lit(SKOS + "notation"),
            "scheme": f.ref(SKOS + "inScheme"),
            "broader": f.refs(SKOS + "broader"),
            "narrower": f.refs(SKOS + "narrower"),
            "matches": [
                Value(o.value, o.value, iri=o.value)
                for p in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
                for o in f.own.get(SKOS + p, [])
                if isinstance(o, ox.NamedNode)
            ],
            "personal": pi is not None and pi.value == "true",
            "sensitive": f.refs(DIP + "sensitiveCategory"),
        }

    def _domain_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return {"scenarios": self._scenarios(f.link, f.lang, domain=iri), **self._concept_facts(f)}

    def _concept_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        used_by = self._items_under_kind(iri, f.link, f.lang)
        sensitive = [] if used_by else self._items_in_sensitive_category(iri, f.link, f.lang)
        if sensitive or (not used_by and self._in_sensitive_scheme(iri)):
            # a sensitive personal-information category: the data of its kinds (none for a
            # category no kind is in yet, still badged as what it is)
            return {
                **self._concept_facts(f),
                "used_by": sensitive,
                "used_total": len(sensitive),
                "category_of": True,
                "scenario_bars": None,
            }
        return {
            **self._concept_facts(f),
            "used_by": used_by,
            "used_total": self._count_under_kind(iri),
            "scenario_bars": charts.kind_scenarios(self.describer, iri, f.link, f.lang),
        }

    def _scheme_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return {
            "definition": f.lit_lang(SKOS + "definition"),
            "tree": self._scheme_tree(iri, f.link, f.lang),
        }

    def _guide_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return {
            "citation": f.lit_lang(DCT + "bibliographicCitation"),
            "scenarios": self._scenarios(f.link, f.lang, guide=iri),
        }


@dataclass(frozen=True)
class ResourceKind:
    """One kind of resource page: the rdf:type that makes it, its template, its parts."""

    name: str
    type: str
    template: str
    parts: Callable[[Pages, str, Facts], dict[str, Any]]


#: the kinds of resource page, the first matching type wins (a domain is also a skos:Concept)
RESOURCE_KINDS = (
    ResourceKind("ontology", OWL + "Ontology", "ontology.html", Pages._ontology_parts),
    ResourceKind("scenario", DIP + "Scenario", "scenario.html", Pages._scenario_parts),
    ResourceKind("domain", DIP + "Domain", "domain.html", Pages._domain_parts),
    ResourceKind("category", DIP + "DataCategory", "category.html", Pages._category_parts),
    # a field's page is laid out like a category's
    ResourceKind("field", DIP + "DataField", "category.html", Pages._field_parts),
    ResourceKind("guide", DIP + "Guide", "guide.html", Pages._guide_parts),
    ResourceKind("scheme", SKOS + "ConceptScheme", "scheme.html", Pages._scheme_parts),
    ResourceKind("concept", SKOS + "Concept", "concept.html", Pages._concept_parts),
)
#: any other resource: its statements only
OTHER_KIND = ResourceKind("resource", "", "resource.html", Pages._no_parts)
KIND_NAMED = {kind.name: kind for kind in (*RESOURCE_KINDS, OTHER_KIND)}
#: the template of each kind of resource
TEMPLATE_OF = {kind.name: kind.template for kind in RESOURCE_KINDS}


def _kind(types: list[str], iri: str) -> str:
    if iri == ONTOLOGY_IRI:
        return "ontology"
    return next((kind.name for kind in RESOURCE_KINDS if kind.type in types), OTHER_KIND.name)


def filesize(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
