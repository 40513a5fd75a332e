"""The EU vocabulary concepts the record may use (build/catalog/eu-vocabularies.ttl).

Every EU authority-table concept the record names (languages, file types, themes, access
rights, …) is checked against the shipped file, and the record then carries the concepts it
used and their schemes, so that a harvester needs no network to label them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import rdflib

from dipkg.core.errors import ConfigError
from dipkg.core.terms import IRI, Block, Term
from kg.catalog.namespaces import AUTHORITY, RDF, SKOS
from kg.graphs import term_from_rdflib
from kg.paths import display

#: The EU vocabulary concepts (and the schemes) the record may use; see that file's header.
EU_VOCABULARIES = Path("catalog") / "eu-vocabularies.ttl"


def load_eu_vocabularies(inputs_dir: Path) -> rdflib.Graph:
    path = inputs_dir / EU_VOCABULARIES
    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError:
        raise ConfigError(
            "the EU vocabulary concepts file is missing", file=display(path)
        ) from None
    return graph


def _rdflib_term(term: rdflib.term.Node) -> Term:
    if isinstance(term, rdflib.BNode):
        raise ConfigError(f"blank nodes are not allowed in the EU vocabulary file ({term})")
    return term_from_rdflib(term)


class EuConcepts:
    """The shipped concepts, and the ones the record has used so far."""

    def __init__(self, inputs_dir: Path) -> None:
        self.vocab = load_eu_vocabularies(inputs_dir)
        self.file = display(inputs_dir / EU_VOCABULARIES)
        self.used: set[str] = set()

    def concept(self, iri: str, what: str) -> IRI:
        """``iri``, once checked to be shipped; ``what`` names it in the error."""
        if (rdflib.URIRef(iri), rdflib.URIRef(SKOS + "inScheme"), None) not in self.vocab:
            raise ConfigError(
                f"{what} <{iri}> is not among the EU vocabulary concepts shipped for the record",
                file=self.file,
            )
        self.used.add(iri)
        return IRI(iri)

    def code(self, scheme: str, code: str, what: str) -> IRI:
        return self.concept(AUTHORITY + f"{scheme}/{code}", what)

    def blocks(self) -> Iterator[Block]:
        """The used concepts and their schemes, sorted, each with sorted pairs."""
        vocab = self.vocab
        schemes = {
            str(o)
            for s in self.used
            for o in vocab.objects(rdflib.URIRef(s), rdflib.URIRef(SKOS + "inScheme"))
        }
        for iri in sorted(schemes) + sorted(self.used):
            pairs = sorted(
                (
                    (IRI(str(p)), _rdflib_term(o))
                    for p, o in vocab.predicate_objects(rdflib.URIRef(iri))
                ),
                key=lambda po: (po[0].value != RDF + "type", po[0].value, str(po[1])),
            )
            yield IRI(iri), pairs
