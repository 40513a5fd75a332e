"""HTTP plumbing shared by every route: CORS, HEAD, gzip, validators (ETag/Last-Modified).

Pure ASGI middlewares (no BaseHTTPMiddleware: they would break disconnect
detection and buffer twice):

* :class:`CORSMiddleware`  ``Access-Control-Allow-Origin: *`` without credentials;
  a preflight ``OPTIONS`` is answered 204 with the allowed methods and headers.
* :class:`HeadMiddleware`  HEAD on every GET route: run as GET, send no body
  (headers, Content-Length included, are those of the GET).
* :class:`GZipMiddleware`  gzip a complete body when the client accepts it;
  ``Vary: Accept-Encoding`` is always set once.

Why not Starlette's own: its CORSMiddleware answers a preflight 200 (ours 204, with
``Allow`` and a ``Vary``, and any OPTIONS, not only a well-formed preflight), and its
GZipMiddleware sets ``Vary: Accept-Encoding`` only for clients that accept gzip and
compresses streamed bodies (ours: every response varies, a streamed file passes through
untouched, bytes reproducible with ``mtime=0``). Either would change responses that
tests/endpoint/test_http.py pins. The static files (``sparql_api/ui.py``) stay a route
for the same reason: their ETag, ``Cache-Control``, charset and the 404 page.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dipkg import __version__
from dipkg.core.errors import DipkgError

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS = (
    "Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since, Cache-Control"
)
#: the response headers a script on another origin may read besides the CORS-safelisted
#: ones: validators, a dump's Range answer (Content-Range holds the file's size), a 503's
#: Retry-After, a document's Link to its format twins, and dipkg's own
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Content-Disposition, Accept-Ranges, Content-Range, Retry-After, "
    "Link, X-Dipkg-Truncated, X-Dipkg-Rows, X-Dipkg-Max-Rows, X-Dipkg-Build"
)


class CORSMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            requested = headers.get("access-control-request-headers")
            allow_headers = ALLOWED_HEADERS
            if requested:
                # echo what was asked (all safe: no credentials are ever allowed)
                allow_headers = ", ".join(
                    h.strip() for h in requested.split(",") if h.strip() and h.strip().isascii()
                )
            out = [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", allow_headers.encode("latin-1", "replace")),
                (b"access-control-max-age", b"86400"),
                (b"allow", ALLOWED_METHODS.encode()),
                (b"vary", b"Origin, Access-Control-Request-Headers"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return

        await self.app(scope, receive, cors_send(send, scope))


#: what a document a browser renders (HTML, SVG) is sent with: its scripts, styles,
#: images, fonts and requests come from this site only (the pages load nothing from
#: elsewhere: tests/test_no_cdn.py), no plug-ins, no <base> or form elsewhere; the
#: browser takes the media type as sent; a link followed to another site tells it the
#: origin only. Inline <script> data blocks (JSON, JSON-LD) are not scripts to CSP.
PAGE_POLICY = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
#: the query page's: YASGUI (its editor, result tables and charts) sets inline styles
QUERY_PAGE_POLICY = PAGE_POLICY["content-security-policy"].replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
_RENDERED = ("text/html", "image/svg+xml", "application/xhtml+xml")


#: set in a request's scope by whatever reads its origin to build a URL
#: (sparql_api.protocol.endpoint_url): the request headers read, which :func:`cors_send`
#: adds to the response's ``Vary``
ORIGIN_READ = "dipkg.origin"


def cors_send(send: Send, scope: Scope | None = None) -> Send:
    """``send`` with the CORS headers of an answer (not a preflight) added to its start,
    :data:`PAGE_POLICY` to a document a browser renders, and to ``Vary`` the headers its
    URLs were built from (:data:`ORIGIN_READ` in ``scope``): a page, a twin, a redirect or
    an error page whose links name ``Host: evil.example`` must not be served from a shared
    cache to a request naming another (found in a security review: a list of routes each
    setting it had fallen behind)."""

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["access-control-allow-origin"] = "*"
            headers["access-control-expose-headers"] = EXPOSED_HEADERS
            if headers.get("content-type", "").startswith(_RENDERED):
                for name, value in PAGE_POLICY.items():
                    headers.setdefault(name, value)
            if scope is not None and (read := scope.get(ORIGIN_READ)):
                add_vary(headers, *read)
        await send(message)

    return send_with_cors


#: set in the scope of a HEAD that HeadMiddleware passes on as a GET
HEAD_OF = "dipkg.head"


class HeadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # the app answers a GET; a body it streams from a file need not be read (HEAD_OF)
        scope = dict(scope, method="GET")
        scope[HEAD_OF] = True

        async def send_no_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app(scope, receive, send_no_body)


def accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            q = 1.0
            for p in params.split(";"):
                k, _, v = p.partition("=")
                if k.strip().lower() == "q":
                    try:
                        q = float(v)
                    except ValueError:
                        q = 0.0
            if q > 0:
                return True
    return False


def add_vary(headers: MutableHeaders, *names: str) -> None:
    present = [v.strip() for v in ",".join(headers.getlist("vary")).split(",") if v.strip()]
    lower = {v.lower() for v in present}
    for name in names:
        if name.lower() not in lower:
            present.append(name)
            lower.add(name.lower())
    if present:
        headers["vary"] = ", ".join(present)


class GZipMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 512, level: int = 6) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wants = accepts_gzip(Headers(scope=scope).get("accept-encoding"))
        await self.app(scope, receive, gzip_send(send, wants, self.minimum_size, self.level))


def _gzip(body: bytes, level: int) -> bytes:
    """``body`` compressed, the same bytes every time (no timestamp in the header)."""
    return gzip.compress(body, level, mtime=0)


#: media types of bodies compressed already (a workbook is a zip archive): never gzipped
PACKED = (
    "application/vnd.openxmlformats-officedocument.",
    "application/zip",
    "application/gzip",
)


def packed(content_type: str) -> bool:
    """Whether a body of ``content_type`` is compressed already (gzip would gain nothing
    but cost a CPU's time on a large one)."""
    return content_type.strip().lower().startswith(PACKED)


def gzip_send(send: Send, wants: bool, minimum_size: int = 512, level: int = 6) -> Send:
    """``send`` as :class:`GZipMiddleware` changes it: a complete body gets ``Vary:
    Accept-Encoding`` and, when the client ``wants`` it and it is worth it, gzip; a streamed
    body (or one already encoded) passes through untouched."""
    start: Message | None = None
    passthrough = False

    async def send_maybe_gzip(message: Message) -> None:
        nonlocal start, passthrough
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or passthrough:
            await send(message)
            return
        assert start is not None
        headers = MutableHeaders(scope=start)
        body = message.get("body", b"")
        if message.get("more_body", False) or "content-encoding" in headers:
            # a streamed body (e.g. a file): passed through untouched
            passthrough = True
            await send(start)
            await send(message)
            return
        add_vary(headers, "Accept-Encoding")
        if (
            wants
            and len(body) >= minimum_size
            and start["status"] not in (204, 304)
            and not packed(headers.get("content-type", ""))
        ):
            if len(body) > 256 * 1024:
                body = await anyio.to_thread.run_sync(_gzip, body, level)
            else:
                body = _gzip(body, level)
            headers["content-encoding"] = "gzip"
            headers["content-length"] = str(len(body))
            message = {"type": "http.response.body", "body": body}
        await send(start)
        await send(message)

    return send_maybe_gzip


def _set(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> None:
    """``MutableHeaders.__setitem__`` on a raw list (``name`` in lower case): the first
    ``name`` takes ``value`` in place and the others go, or it is appended."""
    first = -1
    for i in range(len(headers) - 1, -1, -1):
        if headers[i][0] == name:
            if first != -1:
                del headers[first]
            first = i
    if first == -1:
        headers.append((name, value))
    else:
        headers[first] = (name, value)


_EXPOSED = EXPOSED_HEADERS.encode("latin-1")
#: what :func:`cors_send` adds to a response that has neither
_CORS = ((b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", _EXPOSED))


async def whole(
    status: int,
    raw_headers: list[tuple[bytes, bytes]],
    body: bytes,
    wants: bool,
    minimum_size: int = 512,
    level: int = 6,
    ready: bool = False,
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body a complete response (``status``, its raw headers, its
    ``body``) leaves with through ``gzip_send(cors_send(send), wants)``: ``Vary:
    Accept-Encoding`` and, when the client ``wants`` it and it is worth it, gzip (unless
    the body is already encoded), then the CORS headers. The bare path's way out
    (sparql_api/hotpath.py); tests/endpoint/test_http.py compares it with the layers.
    ``ready``: the headers are a :class:`Ready` response's (only the CORS headers to add
    when the client does not take gzip)."""
    if ready and not wants:
        return [*raw_headers, *_CORS], body
    headers = list(raw_headers)
    encoded = False
    vary: list[str] = []
    for name, value in headers:
        if name == b"content-encoding":
            encoded = True
        elif name == b"vary":
            vary.append(value.decode("latin-1"))
        elif name == b"content-type" and packed(value.decode("latin-1")):
            wants = False  # (still Vary: Accept-Encoding, as gzip_send says it)
    if not encoded:  # gzip_send: add_vary(headers, "Accept-Encoding"), maybe gzip
        present = [v.strip() for v in ",".join(vary).split(",") if v.strip()]
        if "accept-encoding" not in {v.lower() for v in present}:
            present.append("Accept-Encoding")
        _set(headers, b"vary", ", ".join(present).encode("latin-1"))
        if wants and len(body) >= minimum_size and status not in (204, 304):
            if len(body) > 256 * 1024:
                body = await anyio.to_thread.run_sync(_gzip, body, level)
            else:
                body = _gzip(body, level)
            _set(headers, b"content-encoding", b"gzip")
            _set(headers, b"content-length", str(len(body)).encode("latin-1"))
    _set(headers, b"access-control-allow-origin", b"*")  # cors_send
    _set(headers, b"access-control-expose-headers", _EXPOSED)
    return headers, body


async def send_whole(
    send: Send,
    status: int,
    raw_headers: list[tuple[bytes, bytes]],
    body: bytes,
    wants: bool,
    minimum_size: int = 512,
    level: int = 6,
) -> None:
    """Send a complete response as a plain Starlette ``Response`` would through
    ``gzip_send(cors_send(send), wants)``: :func:`whole`'s headers and body."""
    headers, body = await whole(status, raw_headers, body, wants, minimum_size, level)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Ready(Response):
    """A complete response whose raw headers come made: names in lower case and values
    as bytes, in the order Starlette's ``Response`` would have put a header dict's (the
    ``content-length`` last). A query answer's are built from a head encoded once per
    release (sparql_api/endpoint.py), not encoded again for every answer. Its headers
    already vary on ``Accept-Encoding`` and hold no ``Content-Encoding`` nor CORS header,
    so that, not gzipped, it leaves the gzip and CORS steps with the CORS headers added
    and nothing else changed (:func:`whole` with ``ready``); they carry an ETag and
    ``Cache-Control: public`` and no cookie, so the fast path may keep it
    (sparql_api/fastpath.py ``cacheable``)."""

    def __init__(
        self, body: bytes, raw_headers: list[tuple[bytes, bytes]], status_code: int = 200
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = raw_headers


def error_response(err: DipkgError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape (``err.to_dict()``) as a response, with ``Retry-After`` on 429
    and 503, ``Allow`` on 405 and ``Vary: Accept`` on 406 (the answer depends on Accept)."""
    out = dict(headers or {})
    if err.status == 406 and not any(k.lower() == "vary" for k in out):
        out["Vary"] = "Accept"
    if err.status in (429, 503):
        out.setdefault("Retry-After", "5")
    if err.status == 405 and err.details.get("allow"):
        out["Allow"] = ", ".join(err.details["allow"])
    return JSONResponse(err.to_dict(), status_code=err.status, headers=out)


# --- validators --------------------------------------------------------------


def last_modified(value: str | None, manifest_path: Path | None = None) -> datetime:
    """When the served data last changed: the later of the manifest's ``modified`` (the
    catalogue's declared date, ISO date or datetime) and the time the release was written
    (its manifest file's mtime). A rebuild keeps the declared date, so without the second
    a client's If-Modified-Since would get 304 for a release it has never seen."""
    declared: datetime | None = None
    if isinstance(value, str):
        try:
            declared = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                d = date.fromisoformat(value)
                declared = datetime(d.year, d.month, d.day)
            except ValueError:
                declared = None
        if declared is not None:
            if declared.tzinfo is None:
                declared = declared.replace(tzinfo=UTC)
            declared = declared.astimezone(UTC).replace(microsecond=0)
    written: datetime | None = None
    if manifest_path is not None:
        try:
            written = datetime.fromtimestamp(int(manifest_path.stat().st_mtime), UTC)
        except OSError:
            written = None
    found = [dt for dt in (declared, written) if dt is not None]
    return max(found) if found else datetime(2000, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=64)  # a release's Last-Modified, on every response
def http_date(dt: datetime) -> str:
    return email.utils.format_datetime(dt.astimezone(UTC), usegmt=True)


def etag(*parts: str) -> str:
    """A weak validator (the same for gzip and identity encodings), of ``parts`` and this
    dipkg's version (a new version may render the same release differently)."""
    digest = hashlib.sha256("\x1f".join((__version__, *parts)).encode("utf-8")).hexdigest()[:32]
    return f'W/"{digest}"'


def none_match(headers: Headers, tag: str) -> bool:
    """Whether If-None-Match names ``tag`` or is ``*`` (RFC 9110 §13.1.2: the weak
    comparison, so a tag a proxy weakened when it compressed the answer still matches)."""
    inm = headers.get("if-none-match")
    if inm is None:
        return False
    if inm.strip() == "*":
        return True
    return tag.removeprefix("W/") in {t.strip().removeprefix("W/") for t in inm.split(",")}


def not_modified(headers: Headers, tag: str, modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it."""
    if headers.get("if-none-match") is not None:
        return none_match(headers, tag)
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError, OverflowError):  # (a year of 20 digits)
            return False
        if since is None:
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False


__all__ = [
    "CORSMiddleware",
    "HeadMiddleware",
    "GZipMiddleware",
    "accepts_gzip",
    "add_vary",
    "cors_send",
    "error_response",
    "gzip_send",
    "send_whole",
    "whole",
    "etag",
    "last_modified",
    "http_date",
    "none_match",
    "not_modified",
]
