"""The fast path: repeat GETs answered from finished responses, before any routing.

The data is immutable per build, so a GET whose answer the app marked cacheable
(status 200 with an ``ETag`` and ``Cache-Control: public``) gets the same bytes
every time for the same request. This outermost ASGI middleware keys such
answers on everything a response here may depend on — path, raw query string,
Accept, Accept-Encoding, Accept-Language, Host and the X-Forwarded-* headers —
and serves repeats without entering FastAPI, the other middlewares or a worker.
For cheap queries the framework, not the engine, is the cost (see
../shared/PERFORMANCE-NOTES.md), so this is where a Python endpoint catches up
with ``oxigraph serve``.

Conditional (If-None-Match, If-Modified-Since) and Range requests, HEAD, other
methods and anything the app did not mark cacheable always go to the app, and so does a
request that repeats one of the keyed headers (the app reads the first of each: a key of
either copy could serve one client the answer made for another). The X-Forwarded-*
headers are part of the key only from a trusted proxy: from anyone else the app ignores
them, and so does the key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from sparql_api.cache import Entry, ResponseCache
from sparql_api.protocol import trusted_peer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

#: the request headers an answer here may depend on: part of the key (a request with one
#: of them twice is not kept)
KEYED = (
    b"accept",
    b"accept-encoding",
    b"accept-language",
    b"host",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-forwarded-prefix",
)
_UNSET = (b"",) * len(KEYED)  # (what a key has for a header the request has not)
#: the keyed headers that count only from a trusted proxy (sparql_api.protocol.forwarded_trusted)
FORWARDED = frozenset(name for name in KEYED if name.startswith(b"x-forwarded-"))
#: headers that send a request past the cache (to a conditional answer, or a private one)
BYPASS = frozenset(
    (b"if-none-match", b"if-modified-since", b"if-range", b"range", b"authorization", b"cookie")
)


class FastPath:
    def __init__(
        self, app: ASGIApp, cache: ResponseCache | None = None, trusted: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.trusted = trusted  # Settings.trusted_proxies
        # shared with the app context, so a hook that changes answers can clear it
        self.cache = (
            cache
            if cache is not None
            else ResponseCache(max_bytes=8 * 1024 * 1024, max_entry_bytes=1024 * 1024)
        )

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in BYPASS:
                await self.app(scope, receive, send)
                return
            if name in KEYED:
                if name in found:  # twice: see the module's text
                    await self.app(scope, receive, send)
                    return
                found[name] = value
        key = key_of(scope, found, self.trusted)
        hit = self.cache.get(key)
        if hit is not None:
            await send({"type": "http.response.start", "status": 200, "headers": hit.headers})
            await send({"type": "http.response.body", "body": hit.body})
            return
        await self.app(scope, receive, recording(self.cache, key, send))


def recording(
    cache: ResponseCache, key: tuple, send: Callable[[Message], Awaitable[None]]
) -> Callable[[Message], Awaitable[None]]:
    """``send``, keeping the response under ``key`` in ``cache`` when it is
    :func:`cacheable` and within the cache's entry limit (and from its ``min_uses``-th
    time: :class:`sparql_api.cache.ResponseCache`)."""
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    keep = True
    max_entry_bytes = cache.max_entry_bytes

    async def recording_send(message: Message) -> None:
        nonlocal start, size, keep
        if message["type"] == "http.response.start":
            start = message
            keep = message.get("status") == 200 and cacheable(message.get("headers", ()))
        elif message["type"] == "http.response.body" and keep:
            body = message.get("body", b"")
            size += len(body)
            if size > max_entry_bytes:
                keep = False
                chunks.clear()
            else:
                chunks.append(body)
            if not message.get("more_body", False) and keep and start is not None:
                cache.put(key, Entry(b"".join(chunks), list(start["headers"])))
        await send(message)

    return recording_send


def key_of(scope: Scope, found: dict[bytes, bytes], trusted: Sequence[str] = ()) -> tuple:
    """The cache key of a GET: its path, raw query string and the :data:`KEYED` headers
    ``found`` in it (each once), the X-Forwarded-* ones only from a ``trusted`` proxy."""
    if not FORWARDED.isdisjoint(found):
        client = scope.get("client")
        if not trusted_peer(client[0] if client else None, trusted):
            found = {name: value for name, value in found.items() if name not in FORWARDED}
    return (
        scope.get("root_path", ""),
        scope["path"],
        scope["query_string"],
        *map(found.get, KEYED, _UNSET),
    )


def cacheable(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a 200 response with ``headers`` may be kept: an ETag, ``Cache-Control:
    public`` (without no-store or private) and no cookie."""
    etag = public = False
    for name, value in headers:
        name = name.lower()
        if name == b"etag":
            etag = True
        elif name == b"cache-control":
            directives = value.lower()
            public = (
                b"public" in directives
                and b"no-store" not in directives
                and b"private" not in directives
            )
        elif name == b"set-cookie":
            return False
    return etag and public
