"""A resource's description as a document: Turtle, N-Triples, RDF/XML (pyoxigraph) or
JSON-LD compacted with the project context (the build's writer, so pages match the dumps)."""

from __future__ import annotations

import io
from typing import Any

import pyoxigraph as ox

from dipkg.core import formats
from dipkg.core.iris import PREFIXES
from dipkg.core.jsonld import write_jsonld
from sparql_api.describe import Description

#: the RDF formats a page is offered in, by serialiser key (the registry's)
_GRAPH_FORMATS = {f.key: f for f in formats.FORMATS if f.rdf is not None}


def serialize(desc: Description, key: str, context: dict[str, Any]) -> bytes:
    if key == "jsonld":
        blocks: dict[str, tuple[Any, list]] = {}
        for t in desc.triples:
            s = str(t.subject)
            if s not in blocks:
                blocks[s] = (t.subject, [])
            blocks[s][1].append((t.predicate, t.object))
        out = io.StringIO()
        write_jsonld(blocks.values(), out, context)
        return out.getvalue().encode("utf-8")
    fmt = _GRAPH_FORMATS[key]
    return ox.serialize(
        desc.triples, format=fmt.rdf, prefixes=dict(PREFIXES) if fmt.prefixes else None
    )
