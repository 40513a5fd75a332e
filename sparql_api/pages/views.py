"""The view of a resource for its page: its statements in one language with links on this
server, plus the parts its kind of page shows (a scenario's tree, a concept's uses, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dipkg import __version__
from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES, Minter
from dipkg.core.release import Release
from dipkg.core.settings import Settings
from kg.paths import ONTOLOGY_DIR
from sparql_api import charts, i18n
from sparql_api.describe import Describer, Description
from sparql_api.pages.links import Linker, curie
from sparql_api.pages.lookups import Lookups
from sparql_api.pages.model import LABEL_PREDICATES, LabelIndex, Value, View

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
OWL = PREFIXES["owl"]


def _docx_cell(locator: str | None) -> dict[str, str] | None:
    """dip:sourceCell ``table=T;row=R;column=C`` as {table, row, column} for the page; None if absent."""
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
