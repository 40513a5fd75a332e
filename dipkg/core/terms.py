"""RDF terms for the streaming writers (the build's dumps, the web's JSON-LD): pyoxigraph's.

A term is a ``pyoxigraph.NamedNode`` (:data:`IRI`), ``BlankNode`` (:data:`BNode`) or
``Literal`` (made by :func:`Literal`, :func:`zh`, :func:`en`, :func:`integer`), so the
graph the build emits goes into the store, the SPARQL results and the pages
without a converter. A graph is a sequence of *subject blocks*
``(subject, [(predicate, object), ...])`` in a deterministic order, so every writer
(kg/serialize.py: Turtle, N-Triples; dipkg/core/jsonld.py: JSON-LD) produces the
same bytes for the same input without holding more than one block at a time.
pyoxigraph checks an IRI when it is made (``ValueError``), not when it is written.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_INTEGER = XSD + "integer"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

IRI = ox.NamedNode
BNode = ox.BlankNode
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Subject = ox.NamedNode | ox.BlankNode
Block = tuple[Subject, list[tuple[ox.NamedNode, Term]]]

_INTEGER = ox.NamedNode(XSD_INTEGER)
_DATATYPES: dict[str, ox.NamedNode] = {XSD_INTEGER: _INTEGER}


def Literal(
    value: str, language: str | None = None, datatype: str | ox.NamedNode = XSD_STRING
) -> ox.Literal:
    """A ``pyoxigraph.Literal``: plain, language-tagged (lower-cased), or of ``datatype``
    (an IRI string or a NamedNode); a language tag wins over a datatype."""
    if language is not None:
        return ox.Literal(value, language=language)
    if isinstance(datatype, str):
        if datatype == XSD_STRING:
            return ox.Literal(value)
        node = _DATATYPES.get(datatype)
        if node is None:
            node = _DATATYPES.setdefault(datatype, ox.NamedNode(datatype))
        return ox.Literal(value, datatype=node)
    return ox.Literal(value, datatype=datatype)


def zh(text: str) -> ox.Literal:
    return ox.Literal(text, language="zh")


def en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def integer(value: int) -> ox.Literal:
    return ox.Literal(str(int(value)), datatype=_INTEGER)


_STRING_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')


def escape_string(value: str) -> str:
    """A string's body in N-Triples and Turtle (the escapes pyoxigraph writes too)."""
    if not _NEEDS_ESCAPE.search(value):
        return value
    out = []
    for char in value:
        escaped = _STRING_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def grouped(pairs: list[tuple[ox.NamedNode, Term]]) -> list[tuple[ox.NamedNode, list[Term]]]:
    """A block's pairs grouped by predicate, predicates in their first order."""
    order: dict[ox.NamedNode, list[Term]] = {}
    for predicate, obj in pairs:
        order.setdefault(predicate, []).append(obj)
    return list(order.items())
