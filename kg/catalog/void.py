"""The VoID description of the dataset: counts over the store's default graph (the data),
the vocabularies it uses, and one partition per class and per property.

Each count is the answer of a SPARQL query (:func:`void_queries`), so anyone can check it
against the endpoint (tests/catalog/test_void.py does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph

from dipkg.core import formats
from dipkg.core.iris import DIP, ONTOLOGY_IRI, PREFIXES, Minter
from dipkg.core.manifest import DumpEntry
from dipkg.core.terms import IRI, Block, Literal, Term
from kg.catalog.namespaces import VOID, A, p, slug, typed


def void_queries(base: str) -> dict[str, str]:
    """The SPARQL queries whose answers the VoID counts are (default graph = the data)."""
    return {
        "triples": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "entities": (
            "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE "
            f'{{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{base}")) }}'
        ),
        "classes": "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }",
        "properties": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }",
        "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }",
        "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }",
    }


VOID_CLASS_PARTITIONS = (
    "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } "
    "GROUP BY ?c ORDER BY ?c"
)
VOID_PROPERTY_PARTITIONS = (
    "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ns) (COUNT(DISTINCT ?o) AS ?no) "
    "WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p"
)


def _select(store: pyoxigraph.Store, query: str) -> pyoxigraph.QuerySolutions:
    solutions = store.query(query)
    assert isinstance(solutions, pyoxigraph.QuerySolutions)  # the queries here are SELECTs
    return solutions


def _void_counts(store: pyoxigraph.Store, base: str) -> dict[str, Any]:
    def one(query: str) -> int:
        return int(next(iter(_select(store, query)))[0].value)

    out: dict[str, Any] = {key: one(q) for key, q in void_queries(base).items()}
    out["class_partitions"] = [
        (row[0].value, int(row[1].value)) for row in _select(store, VOID_CLASS_PARTITIONS)
    ]
    out["property_partitions"] = [
        (row[0].value, int(row[1].value), int(row[2].value), int(row[3].value))
        for row in _select(store, VOID_PROPERTY_PARTITIONS)
    ]
    return out


def _term_slug(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and iri != ns:
            local = iri[len(ns) :]
            return slug(f"{prefix}-{local}") or prefix
    return slug(iri.split("://", 1)[-1])


def _namespace(iri: str) -> str:
    for ns in sorted(PREFIXES.values(), key=len, reverse=True):
        if iri.startswith(ns):
            return ns
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


def _vocabulary_iri(ns: str) -> str:
    """The vocabulary a namespace belongs to: without a trailing '#' (VoID's own examples)."""
    if ns == DIP:
        return ONTOLOGY_IRI
    return ns[:-1] if ns.endswith("#") else ns


def _partition_slugs(iris: list[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    out = {}
    for iri in iris:
        name = _term_slug(iri)
        if name in seen:
            n = 2
            while f"{name}-{n}" in seen:
                n += 1
            name = f"{name}-{n}"
        seen[name] = iri
        out[iri] = name
    return out


@dataclass(frozen=True)
class Void:
    """The counts of one store, and the partitions' IRI segments."""

    minter: Minter
    counts: dict[str, Any]
    class_slugs: dict[str, str]
    property_slugs: dict[str, str]

    @classmethod
    def of(cls, store: pyoxigraph.Store, minter: Minter) -> Void:
        counts = _void_counts(store, minter.base)
        return cls(
            minter,
            counts,
            _partition_slugs([c for c, _ in counts["class_partitions"]]),
            _partition_slugs([q for q, *_ in counts["property_partitions"]]),
        )

    def dataset_pairs(self, service: IRI, dumps: Sequence[DumpEntry]) -> list[tuple[IRI, Term]]:
        """The dataset's VoID statements (its counts are over the store's default graph)."""
        m, counts = self.minter, self.counts
        pairs: list[tuple[IRI, Term]] = [
            (p(VOID, "uriSpace"), Literal(m.base)),
            (p(VOID, "sparqlEndpoint"), service),
            *(
                (p(VOID, "dataDump"), IRI(m.dump(d.file)))
                for d in dumps
                if formats.by_name(d.format).is_rdf
            ),
            (p(VOID, "triples"), typed(counts["triples"], "integer")),
            (p(VOID, "entities"), typed(counts["entities"], "integer")),
            (p(VOID, "classes"), typed(counts["classes"], "integer")),
            (p(VOID, "properties"), typed(counts["properties"], "integer")),
            (p(VOID, "distinctSubjects"), typed(counts["distinctSubjects"], "integer")),
            (p(VOID, "distinctObjects"), typed(counts["distinctObjects"], "integer")),
        ]
        vocabularies = sorted(
            {_vocabulary_iri(_namespace(c)) for c, _ in counts["class_partitions"]}
            | {_vocabulary_iri(_namespace(q)) for q, *_ in counts["property_partitions"]}
        )
        pairs.extend((p(VOID, "vocabulary"), IRI(v)) for v in vocabularies)
        pairs.extend(
            (p(VOID, "classPartition"), IRI(m.partition("class", self.class_slugs[c])))
            for c, _ in counts["class_partitions"]
        )
        pairs.extend(
            (p(VOID, "propertyPartition"), IRI(m.partition("property", self.property_slugs[q])))
            for q, *_ in counts["property_partitions"]
        )
        return pairs

    def partition_blocks(self) -> Iterator[Block]:
        for cls, n in self.counts["class_partitions"]:
            yield (
                IRI(self.minter.partition("class", self.class_slugs[cls])),
                [
                    (A, p(VOID, "Dataset")),
                    (p(VOID, "class"), IRI(cls)),
                    (p(VOID, "entities"), typed(n, "integer")),
                ],
            )
        for prop, n, ns, no in self.counts["property_partitions"]:
            yield (
                IRI(self.minter.partition("property", self.property_slugs[prop])),
                [
                    (A, p(VOID, "Dataset")),
                    (p(VOID, "property"), IRI(prop)),
                    (p(VOID, "triples"), typed(n, "integer")),
                    (p(VOID, "distinctSubjects"), typed(ns, "integer")),
                    (p(VOID, "distinctObjects"), typed(no, "integer")),
                ],
            )
