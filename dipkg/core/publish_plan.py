"""Where ``dipkg publish`` puts a release in a SPARQL store: one named graph per file.

The data (the N-Triples dump) goes into the project's data graph (``{base}graph/data``,
or the one ``--graph`` names), the catalogue record (``catalog.ttl``, when the release
has one) into ``{base}graph/catalog``. ``dipkg publish`` (kg/publish.py) sends the files
there; the web app in remote mode (sparql_api/remote/) queries the same graphs. Both
import this module, which imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dipkg.core.errors import ConfigError
from dipkg.core.iris import Minter
from dipkg.core.release import NT_DUMP, Release
from dipkg.core.terms import IRI


@dataclass(frozen=True)
class Upload:
    graph: str
    path: Path
    media_type: str


def plan(release: Release, graph: str | None = None) -> list[Upload]:
    minter = Minter(release.base_iri)
    uploads = [
        Upload(graph or minter.graph("data"), release.dumps_dir / NT_DUMP, "application/n-triples")
    ]
    catalog = release.root / release.manifest.catalog.file
    if catalog.exists() and catalog.stat().st_size:
        uploads.append(Upload(minter.graph("catalog"), catalog, "text/turtle"))
    for upload in uploads:
        try:
            IRI(upload.graph)
        except ValueError as exc:
            raise ConfigError(
                f"the graph name is not an absolute IRI: {upload.graph!r} ({exc})"
            ) from None
    return uploads
