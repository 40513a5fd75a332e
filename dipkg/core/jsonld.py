"""Compacted JSON-LD from subject blocks, with the project's context: one writer for both sides.

The build writes the ``dipkg.jsonld`` dump with it (kg/build.py) and the web app each
resource's JSON-LD page (sparql_api/pages/documents.py), so a resource reads the same in both.
It consumes subject blocks of pyoxigraph terms (:mod:`dipkg.core.terms`) one at a time,
so memory stays bounded by the largest block, and the same blocks always give the same bytes. The
context (ontology/context.jsonld) is written inline so the document parses offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import IO, Any

import pyoxigraph as ox

from dipkg.core.iris import curie
from dipkg.core.terms import RDF_TYPE, XSD_INTEGER, XSD_STRING, Block, Term, grouped

_INTEGER = re.compile(r"^[+-]?\d+$")


class JsonLdCompactor:
    """Compacts subject blocks into node objects with a fixed context."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        self.prefixes = {
            k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("#", "/"))
        }
        self.by_property: dict[str, tuple[str, dict[str, Any]]] = {}
        self.class_terms: dict[str, str] = {}
        for term, definition in context.items():
            if term.startswith("@") or term in self.prefixes:
                continue
            if isinstance(definition, str):
                if definition.startswith("@"):
                    continue
                iri = self.expand(definition)
                self.by_property.setdefault(iri, (term, {}))
                if term[:1].isupper():
                    self.class_terms[iri] = term
            else:
                self.by_property.setdefault(self.expand(definition["@id"]), (term, definition))

    def expand(self, value: str) -> str:
        prefix, sep, local = value.partition(":")
        if sep and prefix in self.prefixes:
            return self.prefixes[prefix] + local
        return value

    def compact_iri(self, iri: str) -> str:
        """``prefix:local`` by the context's prefixes (the writers' rule), else ``iri``."""
        return curie(iri, turtle=True, prefixes=self.prefixes) or iri

    @staticmethod
    def _node_id(term: ox.NamedNode | ox.BlankNode) -> str:
        return term.value if isinstance(term, ox.NamedNode) else f"_:{term.value}"

    def _expanded(self, term: Term) -> dict[str, Any]:
        # each pyoxigraph getter makes a new str: read each field once
        if isinstance(term, ox.NamedNode):
            return {"@id": self.compact_iri(term.value)}
        if isinstance(term, ox.BlankNode):
            return {"@id": f"_:{term.value}"}
        language = term.language
        if language:
            return {"@value": term.value, "@language": language}
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return {"@value": term.value}
        return {"@value": term.value, "@type": self.compact_iri(datatype)}

    @staticmethod
    def _one_or_many(values: list[Any]) -> Any:
        return values[0] if len(values) == 1 else values

    def _plain(self, term: Term) -> Any:
        """A value for a term with no coercion: native JSON where lossless."""
        if isinstance(term, ox.Literal):
            language = term.language
            if language:
                return {"@value": term.value, "@language": language}
            value = term.value
            datatype = term.datatype.value
            if datatype == XSD_STRING:
                return value
            if datatype == XSD_INTEGER and _INTEGER.match(value) and value == str(int(value)):
                return int(value)
            return {"@value": value, "@type": self.compact_iri(datatype)}
        return self._expanded(term)

    def node(
        self, subject: ox.NamedNode | ox.BlankNode, pairs: list[tuple[ox.NamedNode, Term]]
    ) -> dict[str, Any]:
        node: dict[str, Any] = {"id": self._node_id(subject)}
        for predicate, objects in grouped(pairs):
            iri = predicate.value
            if iri == RDF_TYPE and all(isinstance(o, ox.NamedNode) for o in objects):
                classes = [o.value for o in objects]
                node["type"] = self._one_or_many(
                    [self.class_terms.get(c) or self.compact_iri(c) for c in classes]
                )
                continue
            term, definition = self.by_property.get(iri, (None, {}))
            key, value = None, None
            if term is not None:
                container = definition.get("@container")
                coerce = definition.get("@type")
                if container == "@language":
                    tagged = [(o.language, o) for o in objects if isinstance(o, ox.Literal)]
                    if len(tagged) == len(objects) and all(lang for lang, _ in tagged):
                        # a language map; two values in one language make an array there
                        by_lang: dict[str, list[str]] = {}
                        for lang, o in tagged:
                            by_lang.setdefault(lang, []).append(o.value)  # type: ignore[arg-type]
                        key, value = (
                            term,
                            {lang: self._one_or_many(v) for lang, v in by_lang.items()},
                        )
                elif coerce == "@id":
                    if all(isinstance(o, ox.NamedNode | ox.BlankNode) for o in objects):
                        key = term
                        value = self._one_or_many(
                            [
                                self.compact_iri(o.value)
                                if isinstance(o, ox.NamedNode)
                                else f"_:{o.value}"
                                for o in objects
                            ]
                        )
                elif coerce is None:
                    key, value = term, self._one_or_many([self._plain(o) for o in objects])
            if key is None:
                key = self.compact_iri(iri)
                value = self._one_or_many([self._expanded(o) for o in objects])
            if key in node:  # two predicates compacting to one key cannot happen; guard anyway
                raise ValueError(f"JSON-LD key clash on {key!r}")
            node[key] = value
        return node


def write_jsonld(blocks: Iterable[Block], out: IO[str], context: dict[str, Any]) -> None:
    compactor = JsonLdCompactor(context)
    context_text = json.dumps(context, ensure_ascii=False, indent=2).replace("\n", "\n  ")
    out.write('{\n  "@context": ')
    out.write(context_text)
    out.write(',\n  "@graph": [')
    first = True
    for subject, pairs in blocks:
        text = json.dumps(compactor.node(subject, pairs), ensure_ascii=False, indent=2)
        out.write("\n    " if first else ",\n    ")
        out.write(text.replace("\n", "\n    "))
        first = False
    out.write("\n  ]\n}\n")
