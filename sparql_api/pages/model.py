"""The view model of a page: values with their link and language, a resource's statements,
the labels of the IRIs it mentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES
from sparql_api import i18n
from sparql_api.pages.links import Linker, curie

if TYPE_CHECKING:
    from sparql_api.pages.views import Pages

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


class Facts:
    """A resource's own statements read for one page: literals in the page's language (else
    Chinese), the first value of a property, values as links on this server."""

    def __init__(
        self,
        pages: Pages,
        own: dict[str, list[Any]],
        labels: LabelIndex,
        link: Linker,
        lang: str,
    ) -> None:
        self.pages = pages
        self.own = own
        self.labels = labels
        self.link = link
        self.lang = lang

    def first(self, p: str) -> Any:
        return self.own.get(p, [None])[0]

    def literal(self, p: str) -> Any:
        """The literal of ``p`` in the page's language, by the one rule labels are picked by
        (:func:`sparql_api.i18n.pick_language`: the language, else zh, else en...); the
        first of each language tag ("": none); None when ``p`` has no literal."""
        by_tag: dict[str, Any] = {}
        for o in self.own.get(p, []):
            if isinstance(o, ox.Literal):
                by_tag.setdefault(o.language or "", o)
        tag = i18n.pick_language(by_tag, self.lang)
        return None if tag is None else by_tag[tag]

    def lit(self, p: str) -> str | None:
        chosen = self.literal(p)
        return None if chosen is None else chosen.value

    def lit_lang(self, p: str) -> Value | None:
        """:meth:`literal` with its language, for the page's ``lang`` attribute."""
        chosen = self.literal(p)
        return None if chosen is None else Value(chosen.value, lang=chosen.language)

    def ref(self, p: str) -> Value | None:
        o = self.first(p)
        return self.value(o) if o is not None else None

    def refs(self, p: str) -> list[Value]:
        return [self.value(o) for o in self.own.get(p, [])]

    def value(self, term: Any) -> Value:
        return self.pages.value(term, self.labels, self.link, self.lang)
