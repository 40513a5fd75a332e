"""A tiny RDF term model for the build's streaming writers.

Terms are plain immutable values; a graph is a sequence of *subject blocks*
``(subject, [(predicate, object), ...])`` in a deterministic order, so every
writer (Turtle, N-Triples, JSON-LD) produces the same bytes for the same input
without holding more than one block at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_INTEGER = XSD + "integer"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@dataclass(frozen=True, order=True)
class IRI:
    value: str

    def nt(self) -> str:
        return f"<{_escape_iri(self.value)}>"


@dataclass(frozen=True, order=True)
class BNode:
    id: str

    def nt(self) -> str:
        return f"_:{self.id}"


@dataclass(frozen=True, order=True)
class Literal:
    value: str
    language: str | None = None
    datatype: str = XSD_STRING

    def __post_init__(self) -> None:
        if self.language is not None:
            object.__setattr__(self, "language", self.language.lower())
            object.__setattr__(self, "datatype", RDF_LANGSTRING)

    def nt(self) -> str:
        body = f'"{escape_string(self.value)}"'
        if self.language:
            return f"{body}@{self.language}"
        if self.datatype != XSD_STRING:
            return f"{body}^^<{_escape_iri(self.datatype)}>"
        return body


Term = IRI | BNode | Literal
Subject = IRI | BNode
Block = tuple[Subject, list[tuple[IRI, Term]]]


def zh(text: str) -> Literal:
    return Literal(text, "zh")


def en(text: str) -> Literal:
    return Literal(text, "en")


def integer(value: int) -> Literal:
    return Literal(str(int(value)), datatype=XSD_INTEGER)


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
_BAD_IRI = re.compile(r'[<>"{}|^`\\\x00-\x20]')


def escape_string(value: str) -> str:
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


def _escape_iri(value: str) -> str:
    if _BAD_IRI.search(value):
        raise ValueError(f"not a valid IRI: {value!r}")
    return value
