"""``dipkg publish --to URL``: load the built graph into any store that speaks the
SPARQL 1.1 Graph Store HTTP Protocol.

Each graph goes in ONE ``PUT {url}?graph={iri}`` request (the protocol's
"replace this graph"), streamed from the release's N-Triples dump, so readers of
the target store see the old graph or the new one, never a mix. The data goes
into the project's named graph (default ``{base}graph/data``), the catalogue
record into ``{base}graph/catalog``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from kg.errors import DipkgError
from kg.iris import Minter
from kg.layout import Release
from kg.terms import IRI

_CHUNK = 1 << 16


class PublishError(DipkgError):
    code = "publish"
    status = 502


@dataclass(frozen=True)
class Upload:
    graph: str
    path: Path
    media_type: str


def plan(release: Release, graph: str | None = None) -> list[Upload]:
    minter = Minter(release.base_iri)
    uploads = [
        Upload(graph or minter.graph("data"), release.dumps_dir / "dipkg.nt", "application/n-triples")
    ]
    catalog = release.root / release.manifest.get("catalog", {}).get("file", "catalog.ttl")
    if catalog.exists() and catalog.stat().st_size:
        uploads.append(Upload(minter.graph("catalog"), catalog, "text/turtle"))
    for upload in uploads:
        IRI(upload.graph).nt()  # raises on an invalid graph IRI
    return uploads


def _stream(path: Path, progress: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            progress(len(chunk))
            yield chunk


def publish(
    release: Release,
    url: str,
    *,
    graph: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[Upload, int], None] | None = None,
) -> list[tuple[Upload, int]]:
    """PUT each graph; return (upload, HTTP status) pairs; raise :class:`PublishError` on failure."""
    if not url.startswith(("http://", "https://")):
        raise PublishError(f"--to must be an http(s) URL of a Graph Store Protocol endpoint, not {url!r}")
    done = []
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for upload in plan(release, graph):
            report = (lambda n, u=upload: progress(u, n)) if progress else (lambda n: None)
            try:
                response = client.put(
                    url,
                    params={"graph": upload.graph},
                    content=_stream(upload.path, report),
                    headers={
                        "Content-Type": upload.media_type,
                        "Content-Length": str(upload.path.stat().st_size),
                    },
                )
            except httpx.HTTPError as exc:
                raise PublishError(f"could not reach {url}: {exc}") from None
            if response.status_code not in (200, 201, 204):
                body = " ".join(response.text.split())[:300]
                raise PublishError(
                    f"{url} refused graph <{upload.graph}>: HTTP {response.status_code} {response.reason_phrase}"
                    + (f": {body}" if body else "")
                )
            done.append((upload, response.status_code))
    return done
