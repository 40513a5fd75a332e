"""Deterministic streaming writers of the build's dumps: Turtle and N-Triples, and gzip.

Each writer consumes subject blocks (:mod:`dipkg.core.terms`) one at a time, so memory
stays bounded by the largest block, and the same blocks always give the same bytes.
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

from dipkg.core.iris import PREFIXES
from dipkg.core.terms import (
    IRI,
    RDF_TYPE,
    XSD_INTEGER,
    XSD_STRING,
    Block,
    BNode,
    Term,
    escape_string,
    grouped,
)

_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_CHUNK = 1 << 16


def curie(iri: str) -> str | None:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and _LOCAL.match(iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return None


# -- N-Triples ---------------------------------------------------------------
def write_ntriples(blocks: Iterable[Block], out: IO[str]) -> int:
    count = 0
    for subject, pairs in blocks:
        s = subject.nt()
        for predicate, obj in pairs:
            out.write(f"{s} {predicate.nt()} {obj.nt()} .\n")
            count += 1
    return count


# -- Turtle ------------------------------------------------------------------
def _ttl_term(term: Term) -> str:
    if isinstance(term, IRI):
        return curie(term.value) or term.nt()
    if isinstance(term, BNode):
        return term.nt()
    if term.language:
        return f'"{escape_string(term.value)}"@{term.language}'
    if term.datatype == XSD_STRING:
        return f'"{escape_string(term.value)}"'
    if term.datatype == XSD_INTEGER and _INTEGER.match(term.value):
        return term.value
    datatype = curie(term.datatype) or f"<{term.datatype}>"
    return f'"{escape_string(term.value)}"^^{datatype}'


def write_turtle(blocks: Iterable[Block], out: IO[str], header: str = "") -> None:
    for line in header.splitlines():
        out.write(f"# {line}\n" if line else "#\n")
    if header:
        out.write("\n")
    for prefix, ns in PREFIXES.items():
        out.write(f"@prefix {prefix}: <{ns}> .\n")
    for subject, pairs in blocks:
        out.write(f"\n{_ttl_term(subject)}\n")
        groups = grouped(pairs)
        for index, (predicate, objects) in enumerate(groups):
            verb = "a" if predicate.value == RDF_TYPE else _ttl_term(predicate)
            values = ", ".join(_ttl_term(o) for o in objects)
            end = " ." if index == len(groups) - 1 else " ;"
            out.write(f"    {verb} {values}{end}\n")


# -- files -------------------------------------------------------------------
def gzip_file(source: Path, target: Path) -> None:
    """Deterministic gzip: no file name, mtime 0."""
    with source.open("rb") as src, target.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            shutil.copyfileobj(src, gz, _CHUNK)
