"""Deterministic streaming writers of the build's dumps: Turtle and N-Triples, and gzip.

Each writer consumes subject blocks of pyoxigraph terms (:mod:`dipkg.core.terms`) one
at a time, so memory stays bounded by the largest block, and the same blocks always
give the same bytes.
Compacted JSON-LD, which the web app writes too, is :mod:`dipkg.core.jsonld`; file
digests and SPARQL JSON terms are :mod:`dipkg.core.serialize`.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES, curie
from dipkg.core.terms import (
    RDF_TYPE,
    XSD_INTEGER,
    XSD_STRING,
    Block,
    Term,
    escape_string,
    grouped,
)

_INTEGER = re.compile(r"^[+-]?\d+$")
_CHUNK = 1 << 16


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
        return curie(value, turtle=True) or f"<{value}>"
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
    return f'"{escape_string(value)}"^^{curie(datatype, turtle=True) or f"<{datatype}>"}'


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
        groups = grouped(pairs)
        for index, (predicate, objects) in enumerate(groups):
            verb = verbs.get(predicate)
            if verb is None:
                verb = verbs[predicate] = (
                    "a" if predicate.value == RDF_TYPE else _ttl_term(predicate)
                )
            values = ", ".join(_ttl_term(o) for o in objects)
            end = " ." if index == len(groups) - 1 else " ;"
            out.write(f"    {verb} {values}{end}\n")


# -- files -------------------------------------------------------------------
def gzip_file(source: Path, target: Path) -> None:
    """Deterministic gzip: no file name, mtime 0."""
    with source.open("rb") as src, target.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            shutil.copyfileobj(src, gz, _CHUNK)
