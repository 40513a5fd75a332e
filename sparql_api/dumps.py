"""The dumps: ``/dumps/`` (listing, HTML or JSON), ``/dumps/index.json``, ``/dumps/{file}``.

Files are the exact bytes the build produced, read from the release's dumps
folder; only files named in the manifest (or ``SHA256SUMS``) are served, so no
request can reach a path outside it. Each answer has Content-Length, a strong
ETag (the file's SHA-256), Last-Modified, 304 on a matching validator, a single
``Range`` (206; 416 when unsatisfiable; ``If-Range`` honoured) and HEAD. The
``.gz`` files are served as what they are (``application/gzip``) and never get
a ``Content-Encoding``; the body is streamed so the app's gzip middleware leaves
every file untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from dipkg.core import dump_titles, formats
from dipkg.core.manifest import DumpEntry
from dipkg.core.release import Release
from dipkg.core.serialize import sha256_file
from dipkg.core.settings import Settings
from sparql_api import http
from sparql_api.errors import NotAcceptable
from sparql_api.negotiation import HTML, JSON, negotiate
from sparql_api.pages.site import (
    PageContext,
    language,
    make_site,
    not_acceptable_response,
    not_found,
)
from sparql_api.protocol import site_root, vary_origin

LISTING_OFFERS = (HTML, JSON)
CHUNK = 1 << 16
SUMS = "SHA256SUMS"
_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
#: a position past any file: what a longer number reads as (int() of 4,300 digits raises)
_PAST_ANY_FILE = 10**18


def _position(digits: str) -> int:
    digits = digits.lstrip("0")
    return _PAST_ANY_FILE if len(digits) > 18 else int(digits or "0")


@dataclass(frozen=True)
class DumpFile:
    name: str
    path: Path
    size: int
    sha256: str
    media_type: str  # what the body is (application/gzip for .gz)
    format: str
    content_media_type: str  # what it holds once decompressed
    encoding: str | None
    entry: DumpEntry | None  # None: SHA256SUMS
    title: tuple[str, str]  # what the file is (zh, en): the catalogue's distribution title
    format_label: tuple[str, str]  # its format's name (zh, en)

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    @property
    def content_type(self) -> str:
        if formats.is_text(self.media_type):  # dipkg/core/formats.py: the text formats
            return f"{self.media_type}; charset=utf-8"
        return self.media_type


def _format_label(name: str) -> tuple[str, str]:
    fmt = formats.BY_NAME.get(name)
    return (fmt.label_zh, fmt.label_en) if fmt is not None else (name, name)


def dump_files(release: Release) -> dict[str, DumpFile]:
    """The servable files: the manifest's dumps, plus SHA256SUMS when present."""
    out: dict[str, DumpFile] = {}
    folder = release.dumps_dir
    for entry in release.manifest.dumps:
        name = entry.file
        if "/" in name or name.startswith(".") or not (folder / name).is_file():
            continue
        gz = entry.encoding == "gzip"
        media = entry.media_type or "application/octet-stream"
        out[name] = DumpFile(
            name=name,
            path=folder / name,
            size=(folder / name).stat().st_size,
            sha256=entry.sha256 or sha256_file(folder / name),
            media_type=formats.GZIP.media_type if gz else media,
            format=entry.format,
            content_media_type=media,
            encoding=entry.encoding,
            entry=entry,
            title=dump_titles.title(entry),
            format_label=_format_label(entry.format),
        )
    sums = folder / SUMS
    if sums.is_file():
        out[SUMS] = DumpFile(
            name=SUMS,
            path=sums,
            size=sums.stat().st_size,
            sha256=sha256_file(sums),
            media_type="text/plain",
            format="SHA-256 checksums",
            content_media_type="text/plain",
            encoding=None,
            entry=None,
            title=dump_titles.SUMS_TITLE,
            format_label=("SHA-256 校验和（sha256sum 格式）", "SHA-256 checksums (sha256sum)"),
        )
    return out


class FileBody(Response):
    """Streams ``length`` bytes of ``path`` from ``start`` (always in more than one message)."""

    def __init__(
        self, path: Path, start: int, length: int, status_code: int, headers: dict[str, str]
    ) -> None:
        super().__init__(status_code=status_code, headers=headers)
        self.path, self.start, self.length = path, start, length
        self.headers["content-length"] = str(length)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") != "HEAD" and not scope.get(http.HEAD_OF):  # HEAD: headers only
            async with await anyio.open_file(self.path, "rb") as handle:
                await handle.seek(self.start)
                left = self.length
                while left > 0:
                    chunk = await handle.read(min(CHUNK, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive), None to ignore the header, or "unsatisfiable"."""
    value = header.strip().replace(" ", "")
    if "," in value:  # several ranges: answer the whole file (allowed by RFC 9110)
        return None
    match = _RANGE.match(value)
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = _position(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = _position(first)
    end = _position(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignore
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def make_router(
    settings: Settings, release: Release, *, site: PageContext | None = None
) -> APIRouter:
    router = APIRouter()
    files = dump_files(release)
    site = site or make_site(settings, release)
    modified = site.last_modified
    modified_text = http.http_date(modified)

    def listing(root: str) -> dict[str, Any]:
        return {
            "build_id": release.build_id,
            "modified": release.manifest.modified,
            "dumps": [
                {
                    "file": f.name,
                    "url": f"{root}/dumps/{f.name}",
                    "title": {"zh": f.title[0], "en": f.title[1]},
                    "format": f.format,
                    "media_type": f.content_media_type,
                    "encoding": f.encoding,
                    "bytes": f.size,
                    "sha256": f.sha256,
                    **(
                        {"triples": f.entry.triples}
                        if f.entry and f.entry.triples is not None
                        else {}
                    ),
                    **({"rows": f.entry.rows} if f.entry and f.entry.rows is not None else {}),
                }
                for f in files.values()
            ],
        }

    def index_json(request: Request) -> Response:
        headers = {
            "Vary": "Accept",
            "Last-Modified": modified_text,
            "ETag": http.etag(release.tag, "dumps-index", site_root(request)),
        }
        if http.not_modified(request.headers, headers["ETag"], modified):
            return Response(status_code=304, headers=headers)
        body = json.dumps(listing(site_root(request)), ensure_ascii=False, indent=2).encode("utf-8")
        return Response(body, media_type="application/json", headers=headers)

    @router.get("/dumps", include_in_schema=False)
    async def dumps_redirect(request: Request) -> Response:
        target = (
            site_root(request) + "/dumps/" + ("?" + request.url.query if request.url.query else "")
        )
        return RedirectResponse(target, status_code=301, headers={"Vary": vary_origin(request)})

    @router.get("/dumps/", tags=["dumps"], summary="The list of dumps (HTML or JSON by Accept)")
    async def dumps_index(request: Request) -> Response:
        accept = request.headers.get("accept")
        try:
            choice = negotiate(accept, LISTING_OFFERS)
        except NotAcceptable:
            return not_acceptable_response(LISTING_OFFERS, accept)
        if choice.offer is JSON:
            return index_json(request)
        lang, explicit = language(request)
        root = site_root(request)
        body = site.render(
            "dumps.html",
            request,
            lang,
            explicit,
            listing=listing(root)["dumps"],
            files=files,
            twins=[(JSON, root + "/dumps/index.json")],
        )
        tag = http.etag(release.tag, "dumps", lang, root, "explicit" if explicit else "")
        headers = site.headers(tag, "Accept, Accept-Language")
        headers["Content-Language"] = "zh-Hans" if lang == "zh" else "en"
        if http.not_modified(request.headers, tag, modified):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/dumps/index.json", tags=["dumps"], summary="The list of dumps as JSON")
    async def dumps_index_json(request: Request) -> Response:
        return index_json(request)

    @router.get(
        "/dumps/{name}", tags=["dumps"], summary="One dump file, byte for byte (Range, ETag, HEAD)"
    )
    async def dump(name: str, request: Request) -> Response:
        f = files.get(name)
        if f is None:
            return not_found(site, request)
        headers = {
            "ETag": f.etag,
            "Last-Modified": modified_text,
            "Accept-Ranges": "bytes",
            "Content-Type": f.content_type,
            "Cache-Control": "public, max-age=3600",
            "Content-Disposition": f'attachment; filename="{f.name}"',
            "X-Dipkg-Build": release.build_id,
        }
        if http.not_modified(request.headers, f.etag, modified):
            return Response(
                status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"}
            )
        rng = request.headers.get("range")
        if rng:
            if_range = request.headers.get("if-range")
            if if_range and if_range.strip() not in (f.etag, modified_text):
                rng = None
        if rng:
            parsed = parse_range(rng, f.size)
            if parsed == "unsatisfiable":
                return JSONResponse(
                    {
                        "error": "range-not-satisfiable",
                        "status": 416,
                        "message": f"the range {rng!r} is outside the file ({f.size} bytes)",
                    },
                    status_code=416,
                    headers={
                        "Content-Range": f"bytes */{f.size}",
                        "ETag": f.etag,
                        "Accept-Ranges": "bytes",
                    },
                )
            if isinstance(parsed, tuple):
                start, end = parsed
                headers["Content-Range"] = f"bytes {start}-{end}/{f.size}"
                return FileBody(f.path, start, end - start + 1, 206, headers)
        return FileBody(f.path, 0, f.size, 200, headers)

    return router
