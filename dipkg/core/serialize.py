"""Small serialisation helpers both sides use: file digests and SPARQL JSON terms.

:func:`sha256_file` gives the checksums the build writes into the manifest and the
catalogue and the web app sends as ETags; :func:`term_json` is a pyoxigraph term in
SPARQL Query Results JSON, as the endpoint answers and the change set stores it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from dipkg.core.iris import PREFIXES

_CHUNK = 1 << 16


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


_XSD_STRING = PREFIXES["xsd"] + "string"


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
        elif term.datatype.value != _XSD_STRING:
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
