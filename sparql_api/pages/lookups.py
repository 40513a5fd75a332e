"""The SPARQL lookups behind the parts of a page: a scenario's tree of data items, the
items of a data kind (and of the kinds below it), a scheme's tree of concepts, the
scenarios of a domain or guide. A mixin of :class:`sparql_api.pages.views.Pages`."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from dipkg.core.iris import DIP, PREFIXES
from sparql_api import i18n
from sparql_api.describe import Describer
from sparql_api.pages.links import Linker, curie
from sparql_api.pages.model import Facts, Value

RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
OWL = PREFIXES["owl"]
#: the labels and qualifiers of an item ``?i`` and the labels of its scenario ``?s``, both
#: languages, as :meth:`Lookups._items` reads them
_ITEM_LABELS = """
            OPTIONAL { ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?i rdfs:label ?en FILTER(lang(?en)="en") }
            OPTIONAL { ?i dip:qualifier ?qzh FILTER(lang(?qzh)="zh") }
            OPTIONAL { ?i dip:qualifier ?qen FILTER(lang(?qen)="en") }
            OPTIONAL { ?s rdfs:label ?szh FILTER(lang(?szh)="zh") }
            OPTIONAL { ?s rdfs:label ?sen FILTER(lang(?sen)="en") }
"""
USES_SHOWN = (
    1000  # a concept page lists at most this many of its uses (and says how many there are)
)


class Lookups:
    """Queries over the release's store (through :attr:`describer`), shaped for templates."""

    describer: Describer

    def _lab(self, row: dict[str, Any], lang: str, zh: str = "zh", en: str = "en") -> str:
        chosen = self._lab_value(row, lang, zh, en)
        return chosen.text if chosen else ""

    def _lab_value(
        self, row: dict[str, Any], lang: str, zh: str = "zh", en: str = "en"
    ) -> Value | None:
        """The row's ``zh`` or ``en`` column in the page's language (else Chinese, else
        English: :func:`i18n.pick`), with the language it is in; None if both are unbound."""
        values = {}
        if row.get(zh) is not None:
            values["zh"] = row[zh].value
        if row.get(en) is not None:
            values["en"] = row[en].value
        tag = i18n.pick_language(values, lang)
        return Value(values[tag], lang=tag) if tag else None

    def _scenarios(
        self, link: Linker, lang: str, domain: str | None = None, guide: str | None = None
    ) -> list[dict[str, Any]]:
        # a constant pattern; the IRI is bound by substitution (a bound variable is projected)
        where, bound = "", {}
        if domain:
            where, bound = "?s dip:domain ?domain .", {"domain": ox.NamedNode(domain)}
        if guide:
            where, bound = "?s dcterms:source ?guide .", {"guide": ox.NamedNode(guide)}
        project = " ".join(f"?{name}" for name in bound)
        rows = self.describer.select(
            f"""SELECT {project} ?s ?n ?zh ?en ?d ?dzh ?den WHERE {{
            ?s a dip:Scenario ; dip:number ?n ; dip:domain ?d . {where}
            OPTIONAL {{ ?s rdfs:label ?zh FILTER(lang(?zh)="zh") }}
            OPTIONAL {{ ?s rdfs:label ?en FILTER(lang(?en)="en") }}
            OPTIONAL {{ ?d rdfs:label ?dzh FILTER(lang(?dzh)="zh") }}
            OPTIONAL {{ ?d rdfs:label ?den FILTER(lang(?den)="en") }}
        }} ORDER BY ?n ?s""",
            substitutions=bound,
        )
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
                "qualifier": self._lab_value(r, lang, "qzh", "qen"),
                "scenario": f"{r['n'].value}. {self._lab(r, lang, 'szh', 'sen')}"
                if r.get("n")
                else None,
                "scenario_href": link.href(r["s"].value) if r.get("s") else None,
            }
            for r in rows
        ]

    def _children(self, iri: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select(
            """SELECT ?parent ?i ?t ?zh ?en ?qzh ?qen ?pos WHERE {
            ?i dcterms:isPartOf ?parent ; a ?t ; schema:position ?pos .
            OPTIONAL { ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?i rdfs:label ?en FILTER(lang(?en)="en") }
            OPTIONAL { ?i dip:qualifier ?qzh FILTER(lang(?qzh)="zh") }
            OPTIONAL { ?i dip:qualifier ?qen FILTER(lang(?qen)="en") }
        } ORDER BY ?pos""",
            substitutions={"parent": ox.NamedNode(iri)},
        )
        return self._items(rows, link, lang)

    def _items_of_kind(
        self, kind_iri: str, link: Linker, lang: str, exclude: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self.describer.select(
            """SELECT ?kind ?i ?t ?zh ?en ?qzh ?qen ?s ?n ?szh ?sen WHERE {
            ?i dip:dataKind ?kind ; a ?t ; dip:scenario ?s . ?s dip:number ?n .
            """
            + _ITEM_LABELS
            + """
        } ORDER BY ?n ?i LIMIT 500""",
            substitutions={"kind": ox.NamedNode(kind_iri)},
        )
        return [r for r in self._items(rows, link, lang) if r["iri"] != exclude]

    def _count_under_kind(self, kind_iri: str) -> int:
        rows = self.describer.select(
            """SELECT ?kind (COUNT(DISTINCT ?i) AS ?n) WHERE {
            ?k skos:broader* ?kind . ?i dip:dataKind ?k } GROUP BY ?kind""",
            substitutions={"kind": ox.NamedNode(kind_iri)},
        )
        return int(rows[0]["n"].value) if rows else 0

    def _items_under_kind(self, kind_iri: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        """The data items of this kind or of a narrower one (``skos:broader*``), each with the
        path of kinds from this one down to its own (empty for a direct use). Counted the way
        the data-kinds page counts a concept (:meth:`_scheme_tree`)."""
        rows = self.describer.select(
            """SELECT DISTINCT ?kind ?i ?t ?zh ?en ?qzh ?qen ?s ?n ?szh ?sen ?k WHERE {
            ?k skos:broader* ?kind .
            ?i dip:dataKind ?k ; a ?t ; dip:scenario ?s . ?s dip:number ?n .
            """
            + _ITEM_LABELS
            + """
        } ORDER BY ?n ?i LIMIT """
            + str(USES_SHOWN),
            substitutions={"kind": ox.NamedNode(kind_iri)},
        )
        links = self.describer.select(
            """SELECT DISTINCT ?kind ?c ?b ?zh ?en WHERE {
            ?c skos:broader* ?kind ; skos:broader ?b . ?b skos:broader* ?kind .
            OPTIONAL { ?c skos:prefLabel ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?c skos:prefLabel ?en FILTER(lang(?en)="en") }
        }""",
            substitutions={"kind": ox.NamedNode(kind_iri)},
        )
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

    def _items_in_sensitive_category(
        self, category: str, link: Linker, lang: str
    ) -> list[dict[str, Any]]:
        """The data items whose kind is of the sensitive personal-information ``category``
        (``dip:dataKind/dip:sensitiveCategory``, as the example query 06 reads it), each
        with its kind as its path. A category of the PIPL scheme has no items of its own
        kind: its page listed none (found in a UX review)."""
        rows = self.describer.select(
            """SELECT DISTINCT ?c ?i ?t ?zh ?en ?qzh ?qen ?s ?n ?szh ?sen ?k ?kzh ?ken WHERE {
            ?k dip:sensitiveCategory ?c .
            ?i dip:dataKind ?k ; a ?t ; dip:scenario ?s . ?s dip:number ?n .
            """
            + _ITEM_LABELS
            + """
            OPTIONAL { ?k skos:prefLabel ?kzh FILTER(lang(?kzh)="zh") }
            OPTIONAL { ?k skos:prefLabel ?ken FILTER(lang(?ken)="en") }
        } ORDER BY ?n ?i LIMIT """
            + str(USES_SHOWN),
            substitutions={"c": ox.NamedNode(category)},
        )
        items = []
        for r in rows:
            item = self._items([r], link, lang)[0]
            kind = r["k"].value
            item["path"] = [Value(self._lab(r, lang, "kzh", "ken"), link.href(kind), iri=kind)]
            items.append(item)
        return items

    def _in_sensitive_scheme(self, concept: str) -> bool:
        """Whether ``concept`` is in the scheme of the sensitive categories (a scheme some
        data kind's ``dip:sensitiveCategory`` names a concept of)."""
        return bool(
            self.describer.select(
                """SELECT ?c WHERE { ?c skos:inScheme ?scheme . ?x skos:inScheme ?scheme .
                ?k dip:sensitiveCategory ?x } LIMIT 1""",
                substitutions={"c": ox.NamedNode(concept)},
            )
        )

    def _tree(self, scenario: str, link: Linker, lang: str) -> list[dict[str, Any]]:
        rows = self.describer.select(
            """SELECT ?scenario ?i ?p ?t ?zh ?en ?qzh ?qen ?pos ?k ?kzh ?ken WHERE {
            ?i dip:scenario ?scenario ; dcterms:isPartOf ?p ; a ?t ; schema:position ?pos .
            OPTIONAL { ?i rdfs:label ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?i rdfs:label ?en FILTER(lang(?en)="en") }
            OPTIONAL { ?i dip:qualifier ?qzh FILTER(lang(?qzh)="zh") }
            OPTIONAL { ?i dip:qualifier ?qen FILTER(lang(?qen)="en") }
            OPTIONAL { ?i dip:dataKind ?k }
        }""",
            substitutions={"scenario": ox.NamedNode(scenario)},
        )
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
        # A concept with two broader concepts in the scheme (SKOS allows it; 29 data kinds
        # have two) is drawn under each: the tree does not depend on the rows' order.
        rows = self.describer.select(
            """SELECT ?scheme ?c ?b ?zh ?en (COUNT(DISTINCT ?i) AS ?uses) WHERE {
            ?c skos:inScheme ?scheme .
            OPTIONAL { ?c skos:broader ?b . ?b skos:inScheme ?scheme }
            OPTIONAL { ?c skos:prefLabel ?zh FILTER(lang(?zh)="zh") }
            OPTIONAL { ?c skos:prefLabel ?en FILTER(lang(?en)="en") }
            OPTIONAL { ?i dip:dataKind|dip:domain ?c }
        } GROUP BY ?scheme ?c ?b ?zh ?en""",
            substitutions={"scheme": ox.NamedNode(scheme)},
        )
        nodes: dict[str, dict[str, Any]] = {}
        parents: dict[str, set[str]] = {}
        for r in rows:
            c = r["c"].value
            nodes[c] = {
                "label": self._lab(r, lang),
                "href": link.href(c),
                "iri": c,
                "uses": int(r["uses"].value),
                "children": [],
            }
            broader = parents.setdefault(c, set())
            if r.get("b") is not None:
                broader.add(r["b"].value)
        roots = []
        for c, node in nodes.items():
            above = sorted(p for p in parents[c] if p in nodes)
            for p in above:
                nodes[p]["children"].append(node)
            if not above:
                roots.append(node)
        # the data items of a concept or of anything below it (skos:broader*), each counted once
        # even when it is reached by two paths: the count its concept page lists
        totals = {
            r["c"].value: int(r["n"].value)
            for r in self.describer.select(
                """
            SELECT ?scheme ?c (COUNT(DISTINCT ?i) AS ?n) WHERE {
              ?c skos:inScheme ?scheme . ?k skos:broader* ?c . ?i dip:dataKind|dip:domain ?k
            } GROUP BY ?scheme ?c""",
                substitutions={"scheme": ox.NamedNode(scheme)},
            )
        }
        for c, node in nodes.items():
            node["total"] = totals.get(c, 0)
        # most used first, then by label: a stable order that shows what matters
        for node in nodes.values():
            node["children"].sort(key=lambda x: (-x["total"], x["label"]))
        roots.sort(key=lambda x: (-x["total"], x["label"]))
        return roots

    def _no_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        return {}

    def _ontology_parts(self, iri: str, f: Facts) -> dict[str, Any]:
        """The ontology's page: its classes and properties, each with its labels and links."""
        own, lang = f.own, f.lang
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
                return [f.value(o) for o in props.get(p, []) if isinstance(o, ox.NamedNode)]

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

        return {
            "classes": classes,
            "properties": properties,
            "description": f.lit(DCT + "description"),
            "version": f.lit(OWL + "versionInfo"),
            "namespace": DIP,
            "prefix": "dip",
            "licence": (own.get(DCT + "license") or [None])[0],
        }
