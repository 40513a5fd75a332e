"""Deterministic streaming writers: Turtle, N-Triples and compacted JSON-LD.

Each writer consumes subject blocks of pyoxigraph terms (:mod:`kg.terms`) one at a
time, so memory stays bounded by the largest block, and the same blocks always give
the same bytes. JSON-LD is compacted with the project's context (ontology/context.jsonld),
which is written inline so the dump parses offline.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES
from kg.terms import RDF_TYPE, XSD_INTEGER, XSD_STRING, Block, Term, escape_string

_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_CHUNK = 1 << 16


def curie(iri: str) -> str | None:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and _LOCAL.match(iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return None


def _grouped(pairs: list[tuple[ox.NamedNode, Term]]) -> list[tuple[ox.NamedNode, list[Term]]]:
    order: dict[ox.NamedNode, list[Term]] = {}
    for predicate, obj in pairs:
        order.setdefault(predicate, []).append(obj)
    return list(order.items())


# -- N-Triples ---------------------------------------------------------------
def write_ntriples(blocks: Iterable[Block], out: IO[str]) -> int:
    count = 0
    for subject, pairs in blocks:
        s = str(subject)
        for predicate, obj in pairs:
            out.write(f"{s} {predicate} {obj} .\n")
        count += len(pairs)
    return count


# -- Turtle ------------------------------------------------------------------
def _ttl_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        value = term.value
        return curie(value) or f"<{value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    value = term.value
    language = term.language
    if language:
        return f'"{escape_string(value)}"@{language}'
    datatype = term.datatype.value
    if datatype == XSD_STRING:
        return f'"{escape_string(value)}"'
    if datatype == XSD_INTEGER and _INTEGER.match(value):
        return value
    return f'"{escape_string(value)}"^^{curie(datatype) or f"<{datatype}>"}'


def write_turtle(blocks: Iterable[Block], out: IO[str], header: str = "") -> None:
    for line in header.splitlines():
        out.write(f"# {line}\n" if line else "#\n")
    if header:
        out.write("\n")
    for prefix, ns in PREFIXES.items():
        out.write(f"@prefix {prefix}: <{ns}> .\n")
    verbs: dict[ox.NamedNode, str] = {}  # a graph has few predicates: each written once
    for subject, pairs in blocks:
        out.write(f"\n{_ttl_term(subject)}\n")
        groups = _grouped(pairs)
        for index, (predicate, objects) in enumerate(groups):
            verb = verbs.get(predicate)
            if verb is None:
                verb = verbs[predicate] = (
                    "a" if predicate.value == RDF_TYPE else _ttl_term(predicate)
                )
            values = ", ".join(_ttl_term(o) for o in objects)
            end = " ." if index == len(groups) - 1 else " ;"
            out.write(f"    {verb} {values}{end}\n")


# -- JSON-LD -----------------------------------------------------------------
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
        for prefix, ns in self.prefixes.items():
            if iri.startswith(ns) and _LOCAL.match(iri[len(ns) :]):
                return f"{prefix}:{iri[len(ns) :]}"
        return iri

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
        for predicate, objects in _grouped(pairs):
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
                            ]  # type: ignore[union-attr]
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


# -- files -------------------------------------------------------------------
def gzip_file(source: Path, target: Path) -> None:
    """Deterministic gzip: no file name, mtime 0."""
    with source.open("rb") as src, target.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            shutil.copyfileobj(src, gz, _CHUNK)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def term_json(term: Any) -> dict[str, Any]:
    """A term in SPARQL 1.1 (1.2) Query Results JSON."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            if term.direction is not None:
                out["its:dir"] = str(term.direction)
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": term_json(term.subject),
                "predicate": term_json(term.predicate),
                "object": term_json(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")
