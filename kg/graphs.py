"""Turtle files (the ontology, curated vocabularies) as deterministic subject blocks.

rdflib reads them (its canonical blank-node labels keep the blocks stable); its terms
become the build's pyoxigraph terms (:mod:`dipkg.core.terms`) here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.compare import to_canonical_graph

from dipkg.core.errors import SourceError
from dipkg.core.terms import RDF_TYPE, XSD_STRING, Block, Literal, Term
from kg.paths import display

_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_LANG_ORDER = {"zh": 0, "en": 1}


def term_from_rdflib(node: rdflib.term.Node) -> Term:
    if isinstance(node, rdflib.URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, rdflib.BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, rdflib.Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        return Literal(str(node), datatype=str(node.datatype) if node.datatype else XSD_STRING)
    raise TypeError(f"unsupported RDF term {node!r}")


def _object_key(term: Term) -> tuple:
    if isinstance(term, ox.Literal):
        language = term.language or ""
        datatype = term.datatype.value
        return (1, _LANG_ORDER.get(language, 2), language, datatype, term.value)
    if isinstance(term, ox.NamedNode):
        return (0, 0, "", "", term.value)
    return (2, 0, "", "", term.value)


def _predicate_key(predicate: str) -> tuple:
    if predicate == RDF_TYPE:
        return (0, predicate)
    if predicate == _RDFS_LABEL:
        return (1, predicate)
    return (2, predicate)


def graph_blocks(graph: rdflib.Graph) -> Iterator[Block]:
    """Blocks of ``graph`` in a stable order, with canonical blank-node labels."""
    canonical = (
        to_canonical_graph(graph)
        if any(isinstance(n, rdflib.BNode) for t in graph for n in t)
        else graph
    )
    subjects: dict[Term, list[tuple[ox.NamedNode, Term]]] = {}
    for s, p, o in canonical:
        subjects.setdefault(term_from_rdflib(s), []).append(
            (ox.NamedNode(str(p)), term_from_rdflib(o))
        )

    def subject_key(term: Term) -> tuple:
        return (0 if isinstance(term, ox.NamedNode) else 1, term.value)

    for subject in sorted(subjects, key=subject_key):
        pairs = sorted(
            subjects[subject], key=lambda po: (_predicate_key(po[0].value), _object_key(po[1]))
        )
        yield subject, pairs  # type: ignore[misc]


def load_turtle(path: Path) -> rdflib.Graph:
    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError:
        raise SourceError("file is missing", file=display(path)) from None
    except Exception as exc:  # rdflib raises several parser error types
        raise SourceError(f"not valid Turtle: {exc}", file=display(path)) from None
    return graph
