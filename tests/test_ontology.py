"""Quality checks of the ontology (ontology/dipkg.ttl), vocabulary-QA style.

Each check is a SPARQL query over the ontology graph that lists offenders and
must return zero rows. The dip: terms the shapes use are passed in with VALUES,
so a shape cannot rely on a term the ontology does not define.
"""

from __future__ import annotations

import pytest
import rdflib

from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES
from kg.paths import ONTOLOGY_DIR

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
DECLARED = "VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty }"


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "dipkg.ttl")


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl")


def dip_terms_in(graph: rdflib.Graph) -> set[rdflib.URIRef]:
    return {
        node
        for triple in graph
        for node in triple
        if isinstance(node, rdflib.URIRef) and str(node).startswith(DIP) and str(node) != DIP
    }


def offenders(
    graph: rdflib.Graph, query: str, terms: set[rdflib.URIRef] | None = None
) -> list[str]:
    values = ""
    if terms is not None:
        values = "VALUES ?term { " + " ".join(f"<{t}>" for t in sorted(terms)) + " }"
    rows = graph.query(PROLOGUE + query.replace("#TERMS#", values))
    return sorted(" ".join(str(v) for v in row) for row in rows)


# Checks over the terms the ontology declares (#TERMS# empty: ?term comes from the graph).
DECLARED_TERM_CHECKS = {
    "label-zh": "has no rdfs:label in Chinese (@zh)",
    "label-en": "has no rdfs:label in English (@en)",
    "definition-zh": "has no skos:definition in Chinese (@zh)",
    "definition-en": "has no skos:definition in English (@en)",
}
ANNOTATION = {
    "label-zh": ("rdfs:label", "zh"),
    "label-en": ("rdfs:label", "en"),
    "definition-zh": ("skos:definition", "zh"),
    "definition-en": ("skos:definition", "en"),
}


def annotation_query(prop: str, lang: str, declared_only: bool) -> str:
    source = f"?term a ?kind . {DECLARED} FILTER (isIRI(?term))" if declared_only else "#TERMS#"
    return f"""
        SELECT ?term WHERE {{
            {source}
            FILTER NOT EXISTS {{
                ?term {prop} ?text .
                FILTER (langMatches(lang(?text), "{lang}") && STRLEN(STR(?text)) > 0)
            }}
        }}"""


@pytest.mark.parametrize("check", sorted(ANNOTATION), ids=str)
def test_declared_terms_are_annotated(ontology, check):
    prop, lang = ANNOTATION[check]
    found = offenders(ontology, annotation_query(prop, lang, declared_only=True))
    assert not found, f"declared terms that {DECLARED_TERM_CHECKS[check]}: {found}"


@pytest.mark.parametrize("check", sorted(ANNOTATION), ids=str)
def test_terms_used_by_shapes_are_annotated(ontology, shapes, check):
    prop, lang = ANNOTATION[check]
    used = dip_terms_in(shapes)
    assert used, "shapes.ttl uses no dip: terms?"
    found = offenders(ontology, annotation_query(prop, lang, declared_only=False), used)
    assert not found, f"dip: terms used in shapes.ttl that {DECLARED_TERM_CHECKS[check]}: {found}"


QUERIES: dict[str, tuple[str, str]] = {
    "declared-terms-defined-by": (
        "declared terms without rdfs:isDefinedBy <https://w3id.org/dipkg/ontology>",
        f"""SELECT ?term WHERE {{
            ?term a ?kind . {DECLARED} FILTER (isIRI(?term))
            FILTER NOT EXISTS {{ ?term rdfs:isDefinedBy <{ONTOLOGY_IRI}> }}
        }}""",
    ),
    "declared-terms-in-dip-namespace": (
        "terms declared (or marked rdfs:isDefinedBy) here that are not in the dip: namespace; "
        "reused terms must not be re-declared",
        f"""SELECT ?term WHERE {{
            {{ ?term a ?kind . {DECLARED} }} UNION {{ ?term rdfs:isDefinedBy <{ONTOLOGY_IRI}> }}
            FILTER (isIRI(?term) && !STRSTARTS(STR(?term), "{DIP}"))
        }}""",
    ),
    "dip-terms-declared": (
        "dip: terms mentioned in the ontology but not declared as a class or property",
        f"""SELECT DISTINCT ?term WHERE {{
            {{ ?term ?p ?o }} UNION {{ ?s ?term ?o }} UNION {{ ?s ?p ?term }}
            FILTER (isIRI(?term) && STRSTARTS(STR(?term), "{DIP}"))
            FILTER NOT EXISTS {{ ?term a ?kind . {DECLARED} }}
        }}""",
    ),
    "one-label-per-language": (
        "terms with more than one rdfs:label or skos:definition in one language",
        f"""SELECT ?term ?prop ?lang WHERE {{
            ?term a ?kind . {DECLARED}
            VALUES ?prop {{ rdfs:label skos:definition }}
            ?term ?prop ?a , ?b .
            BIND (lang(?a) AS ?lang)
            FILTER (?a != ?b && lang(?a) = lang(?b))
        }} GROUP BY ?term ?prop ?lang""",
    ),
    "properties-have-domain-and-range": (
        "properties without rdfs:domain or rdfs:range",
        f"""SELECT ?term WHERE {{
            ?term a ?kind . VALUES ?kind {{ owl:ObjectProperty owl:DatatypeProperty }}
            FILTER (STRSTARTS(STR(?term), "{DIP}"))
            FILTER (NOT EXISTS {{ ?term rdfs:domain ?d }} || NOT EXISTS {{ ?term rdfs:range ?r }})
        }}""",
    ),
    "object-properties-range-classes": (
        "object properties whose range is a datatype, or datatype properties whose range is not",
        """SELECT ?term ?range WHERE {
            { ?term a owl:ObjectProperty ; rdfs:range ?range .
              FILTER (STRSTARTS(STR(?range), STR(xsd:)) || ?range = rdf:langString) }
            UNION
            { ?term a owl:DatatypeProperty ; rdfs:range ?range .
              FILTER (!(STRSTARTS(STR(?range), STR(xsd:))
                        || ?range IN (rdf:langString, rdfs:Literal))) }
        }""",
    ),
    "ontology-metadata": (
        "the ontology lacks one of: owl:versionIRI, owl:versionInfo, dcterms:license, "
        "dcterms:created, "
        "dcterms:title @zh/@en, rdfs:label @zh/@en, dcterms:description @zh/@en",
        f"""SELECT ?missing WHERE {{
            VALUES (?missing ?prop ?lang) {{
                ("versionIRI" owl:versionIRI "")
                ("versionInfo" owl:versionInfo "")
                ("license" dcterms:license "")
                ("created" dcterms:created "")
                ("title@zh" dcterms:title "zh") ("title@en" dcterms:title "en")
                ("label@zh" rdfs:label "zh") ("label@en" rdfs:label "en")
                ("description@zh" dcterms:description "zh")
                ("description@en" dcterms:description "en")
            }}
            FILTER NOT EXISTS {{
                <{ONTOLOGY_IRI}> a owl:Ontology ; ?prop ?value .
                FILTER (?lang = "" || langMatches(lang(?value), ?lang))
            }}
        }}""",
    ),
    "ontology-version": (
        "the ontology's owl:versionIRI is not <ontology>/<owl:versionInfo>",
        f"""SELECT ?versionIRI ?versionInfo WHERE {{
            <{ONTOLOGY_IRI}> owl:versionIRI ?versionIRI ; owl:versionInfo ?versionInfo .
            FILTER (STR(?versionIRI) != CONCAT("{ONTOLOGY_IRI}/", STR(?versionInfo)))
        }}""",
    ),
    "ontology-license": (
        "the ontology's dcterms:license is not CC BY 4.0",
        f"""SELECT ?license WHERE {{
            <{ONTOLOGY_IRI}> dcterms:license ?license .
            FILTER (?license != <https://creativecommons.org/licenses/by/4.0/>)
        }}""",
    ),
    "ontology-creator": (
        "the ontology has no dcterms:creator IRI typed foaf:Organization"
        " with a foaf:name @en and @zh",
        f"""SELECT ?problem WHERE {{
            BIND ("creator" AS ?problem)
            FILTER NOT EXISTS {{
                <{ONTOLOGY_IRI}> dcterms:creator ?creator .
                FILTER (isIRI(?creator))
                ?creator a foaf:Organization ; foaf:name ?en , ?zh .
                FILTER (langMatches(lang(?en), "en") && langMatches(lang(?zh), "zh"))
            }}
        }}""",
    ),
    "ontology-namespace": (
        "vann:preferredNamespacePrefix/Uri are not dip / the dip: namespace of dipkg/core/iris.py",
        f"""SELECT ?problem WHERE {{
            BIND ("vann" AS ?problem)
            FILTER NOT EXISTS {{
                <{ONTOLOGY_IRI}> vann:preferredNamespacePrefix ?prefix ;
                    vann:preferredNamespaceUri ?uri .
                FILTER (STR(?prefix) = "dip" && STR(?uri) = "{DIP}")
            }}
        }}""",
    ),
}


@pytest.mark.parametrize("name", list(QUERIES), ids=str)
def test_ontology_query_returns_no_rows(ontology, name):
    message, query = QUERIES[name]
    found = offenders(ontology, query)
    assert not found, f"{message}: {found}"


def test_expected_terms_declared(ontology):
    expected = {
        "Guide", "Domain", "Scenario", "DataCategory", "DataField",
        "domain", "number", "application", "dataText", "exampleContext", "sourceLine",
        "hasCategory", "hasSubCategory", "hasField", "qualifier", "scenario", "dataKind",
    }  # fmt: skip
    declared = {str(t)[len(DIP) :] for t in dip_terms_in(ontology)}
    assert expected <= declared, f"missing: {sorted(expected - declared)}"


def test_shapes_use_only_declared_terms(ontology, shapes):
    used = dip_terms_in(shapes)
    found = offenders(
        ontology,
        f"SELECT ?term WHERE {{ #TERMS# FILTER NOT EXISTS {{ ?term a ?kind . {DECLARED} }} }}",
        used,
    )
    assert not found, f"dip: terms used in shapes.ttl but not declared in dipkg.ttl: {found}"


def test_the_checks_catch_offenders(ontology):
    """The queries are not vacuous: an undocumented term is reported."""
    broken = rdflib.Graph()
    for triple in ontology:
        broken.add(triple)
    bad = rdflib.URIRef(DIP + "undocumented")
    broken.add((bad, rdflib.RDF.type, rdflib.OWL.Class))
    assert offenders(broken, annotation_query("rdfs:label", "zh", declared_only=True)) == [str(bad)]
    assert offenders(broken, QUERIES["declared-terms-defined-by"][1]) == [str(bad)]
