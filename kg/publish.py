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
from urllib.parse import unquote, urlsplit, urlunsplit

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


class _FileBody:
    """A request body read from a file in chunks; re-iterable, so an authentication
    round trip (401, then the same request with credentials) can send it again."""

    def __init__(self, path: Path, progress: Callable[[int], None]) -> None:
        self.path = path
        self.progress = progress

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                self.progress(len(chunk))
                yield chunk


def redact(url: str) -> str:
    """The URL without its user:password part, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def publish(
    release: Release,
    url: str,
    *,
    graph: str | None = None,
    timeout: float = 300.0,
    auth: str = "basic",
    progress: Callable[[Upload, int], None] | None = None,
) -> list[tuple[Upload, int]]:
    """PUT each graph; return (upload, HTTP status) pairs; raise :class:`PublishError` on failure.

    Credentials go in the URL (``http://user:password@host/...``), sent as HTTP basic
    or, with ``auth="digest"``, digest authentication (Virtuoso's
    /sparql-graph-crud-auth wants digest). Messages never show the password.
    """
    if not url.startswith(("http://", "https://")):
        raise PublishError(f"--to must be an http(s) URL of a Graph Store Protocol endpoint, not {redact(url)!r}")
    if auth not in ("basic", "digest"):
        raise PublishError(f"--auth must be basic or digest, not {auth!r}")
    parts = urlsplit(url)
    credentials: httpx.Auth | None = None
    if parts.username is not None:
        user, password = unquote(parts.username), unquote(parts.password or "")
        credentials = httpx.DigestAuth(user, password) if auth == "digest" else httpx.BasicAuth(user, password)
        url = redact(url)
    shown = redact(url)
    done = []
    with httpx.Client(timeout=timeout, follow_redirects=False, auth=credentials) as client:
        uploads = plan(release, graph)
        if auth == "digest" and credentials is not None:
            # learn the digest challenge with a bodiless request first, so each PUT goes out
            # authenticated at once instead of being sent twice
            try:
                client.head(url, params={"graph": uploads[0].graph})
            except httpx.HTTPError as exc:
                raise PublishError(f"could not reach {shown}: {type(exc).__name__}") from None
        for upload in uploads:
            report = (lambda n, u=upload: progress(u, n)) if progress else (lambda n: None)
            try:
                response = client.put(
                    url,
                    params={"graph": upload.graph},
                    content=_FileBody(upload.path, report),
                    headers={
                        "Content-Type": upload.media_type,
                        "Content-Length": str(upload.path.stat().st_size),
                    },
                )
            except httpx.HTTPError as exc:
                raise PublishError(f"could not reach {shown}: {type(exc).__name__}") from None
            if response.status_code not in (200, 201, 204):
                body = " ".join(response.text.split())[:300]
                raise PublishError(
                    f"{shown} refused graph <{upload.graph}>: HTTP {response.status_code} {response.reason_phrase}"
                    + (f": {body}" if body else "")
                )
            done.append((upload, response.status_code))
    return done
