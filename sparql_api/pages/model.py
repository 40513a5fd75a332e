"""The view model of a page: values with their link and language, a resource's statements,
the labels of the IRIs it mentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES
from sparql_api import i18n
from sparql_api.pages.links import curie

RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
FOAF = PREFIXES["foaf"]
LABEL_PREDICATES = (RDFS + "label", SKOS + "prefLabel", DCT + "title", FOAF + "name")


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
