"""The query lane: ``dipkg serve``'s query requests answered in one step, outside every layer.

Measured against a floor (bench/floor.py, bench/PROFILE.md "The floor of a Python
front"), the web process's time on a cold query went less to any one part than to the
layers a request crosses on its way: the access log and request id
(:class:`sparql_api.logs.RequestLog`), the release binding
(:class:`sparql_api.live.LiveApp`), Starlette's entry, the fast path, the bare path, each
wrapping ``send``. The lane is the app uvicorn calls (sparql_api/server.py): for the
requests the bare path takes (:func:`sparql_api.hotpath.takes`: a query by GET or POST at
``/sparql`` or ``/query``) it does the work of all of those at once, with their own code:

* the request id and the access line (:func:`sparql_api.logs.request_id_for`,
  :func:`sparql_api.logs.log_request`), the release's requests in flight, the fast path's
  cache (a GET's repeat; a cold answer kept as the fast path keeps it), the bare path's
  answer (:func:`sparql_api.hotpath.respond`) and its way out (:func:`sparql_api.http.whole`),
  sent to uvicorn's connection in one write (sparql_api/connections.py ``SEND_WHOLE``;
  elsewhere, as two ASGI messages).

Everything else goes through the layers as before (``app``: the access log around the
release binding), and so do the lane's own shapes when the bare path is off
(``DIPKG_SPARQL_HOT_PATH=false``), the app has a ``root_path``, or a telemetry provider
is set (its spans cover every request). tests/endpoint/test_hotpath.py compares the two
ways byte for byte on real servers.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from sparql_api.cache import Entry
from sparql_api.connections import SEND_WHOLE
from sparql_api.errors import internal_error
from sparql_api.fastpath import cacheable, key_of, recording
from sparql_api.hotpath import PATHS, Heads, complete, read_heads, respond, takes
from sparql_api.http import Ready, accepts_gzip, cors_send, error_response, gzip_send, whole
from sparql_api.logs import log_request, request_id, request_id_for

if TYPE_CHECKING:
    from sparql_api.live import LiveApp
    from sparql_api.state import AppContext

log = logging.getLogger("sparql_api")  # the app's own logger for unexpected errors


class QueryLane:
    """The outermost ASGI app of ``dipkg serve``: see the module's text. ``app`` is the
    layered stack for the rest, ``live`` the :class:`sparql_api.live.LiveApp` inside it."""

    def __init__(self, app: ASGIApp, live: LiveApp, *, access_log: bool = True) -> None:
        self.app = app
        self.live = live
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        generation = self.live.current  # taken once: the whole answer comes from it
        inner = generation.app
        heads = read_heads(scope)
        if not (inner.bare() and takes(scope, heads)):
            await self.app(scope, receive, send)
            return
        rid = request_id_for(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        seen = [0, 0]  # status, body bytes
        to_the_layers = False
        generation.enter()
        try:
            answered = await self._answer(
                inner.state.dipkg, scope, receive, send, heads, rid, seen, generation.stamp
            )
            to_the_layers = not answered
        finally:
            generation.leave()
            if not to_the_layers:  # (raised before a response: the server answers 500)
                log_request(scope, rid, seen[0] or 500, seen[1], started, self.access_log)
            request_id.reset(token)
        if to_the_layers:  # a GET without a query: the service description, the query page
            await self.app(scope, receive, send)

    async def _answer(
        self,
        ctx: AppContext,
        scope: Scope,
        receive: Receive,
        send: Send,
        heads: Heads,
        rid: str,
        seen: list[int],
        release: tuple[bytes, bytes],
    ) -> bool:
        """Answer the request (True), or leave it to the layers (False: a GET without a
        query). ``seen`` gets the status and body bytes sent; ``release`` is the release's
        ``X-Dipkg-Build`` header (:attr:`sparql_api.live.Generation.stamp`)."""
        stamp = (b"x-request-id", rid.encode("ascii"))
        fast = ctx.fast_cache
        key = None
        if scope["method"] == "GET" and not heads.uncached:
            key = key_of(scope, heads.keyed, ctx.settings.trusted_proxies)
            hit = fast.get(key)
            if hit is not None:
                seen[:] = 200, len(hit.body)
                await _send(scope, send, 200, [*hit.headers, stamp], hit.body)
                return True
        try:
            # a GET the fast path keeps is kept there only (one cache's room, not two)
            response = await respond(ctx, scope, receive, heads, keep=key is None)
        except Exception:
            # as the app's outermost error middleware: logged, a bare 500, raised on
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            failed = error_response(internal_error())
            seen[:] = 500, len(failed.body)
            named = [*failed.raw_headers, release, stamp]
            await _send(scope, send, 500, named, failed.body)
            raise
        if response is None:
            return False
        wants = accepts_gzip(heads.first.get(b"accept-encoding"))
        status = response.status_code
        if complete(response):
            ready = type(response) is Ready  # (cacheable by construction)
            headers, body = await whole(
                status, response.raw_headers, response.body, wants, ready=ready
            )
            if not ready and not any(name == b"x-dipkg-build" for name, _ in headers):
                headers = [*headers, release]  # an error names its release too (as live.py)
            if key is not None and status == 200 and (ready or cacheable(headers)):
                fast.put(key, Entry(body, list(headers)))
            seen[:] = status, len(body)
            await _send(scope, send, status, [*headers, stamp], body)
            return True

        async def stamped(message: dict[str, Any]) -> None:  # as RequestLog's
            if message["type"] == "http.response.start":
                seen[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), stamp]}
            elif message["type"] == "http.response.body":
                seen[1] += len(message.get("body", b""))
            await send(message)

        # a streamed body (a large result from its spool file): the gzip step inside the
        # CORS one, kept as the fast path would keep it (gzipped, it may fit its limit)
        out = stamped if key is None else recording(fast, key, stamped)
        await response(scope, receive, gzip_send(cors_send(out), wants))
        return True


async def _send(
    scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """A complete answer: in one write where the server offers it (``dipkg serve``:
    sparql_api/connections.py ``SEND_WHOLE``) and the headers give its length, else as
    two ASGI messages (a repeat of a streamed answer from the fast path's cache has no
    length: the server frames it, chunked, as it did the first time)."""
    extensions = scope.get("extensions")
    whole = extensions.get(SEND_WHOLE) if extensions else None
    if whole is not None and any(name == b"content-length" for name, _ in headers):
        await whole(status, headers, body)
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
