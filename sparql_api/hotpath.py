"""The bare path: a SPARQL query at ``/sparql`` answered without the web framework.

A cold query (one the fast path, sparql_api/fastpath.py, has not seen) otherwise goes
through FastAPI's error and telemetry middlewares, routing, parameter validation and
dependency injection, a Request object, and the CORS, HEAD and gzip middlewares: most
of the parent process's time on a cheap query (bench/PROFILE.md). This ASGI middleware,
just inside the fast path, takes the common shapes of a query request itself:

* ``GET /sparql?query=...`` (a GET without ``query`` is the service description or the
  query page: the app's);
* ``POST /sparql`` with ``application/x-www-form-urlencoded`` or
  ``application/sparql-query``;

and the same at ``/query`` (oxigraph serve's path, the same route). It reads the request
with the endpoint's own code (:func:`sparql_api.protocol.parse_request`), answers it with
the endpoint's (:func:`sparql_api.endpoint.answer`: guard, negotiation, ETag, the response
cache, a worker watched for the client's disconnect), turns refusals into the app's one
error shape (:func:`sparql_api.http.error_response`) and sends the answer through the
gzip and CORS steps the middlewares use (:func:`sparql_api.http.gzip_send`,
:func:`sparql_api.http.cors_send`; a complete body through
:func:`sparql_api.http.send_whole`, the two in one step): the bytes are those the app
would send. Everything
else goes to the app: other paths and methods (HEAD, OPTIONS...), another Content-Type,
a conditional request (If-None-Match, If-Modified-Since: its 304 is the app's), a
``root_path``. What wraps the app is untouched: the fast path records the answer (so a
repeat is warm), and outside the app the access log, the release binding and the
connection limits (sparql_api/server.py). ``DIPKG_SPARQL_HOT_PATH=false`` turns it off;
tests/endpoint/test_hotpath.py checks both give the same responses.

Under ``dipkg serve`` the query lane (sparql_api/lane.py) takes these requests before
all of those layers, with this module's :func:`read_heads`, :func:`takes` and
:func:`respond`; the middleware here answers them when the app runs without the lane
(in process, or with a telemetry provider, whose spans cover the framework).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dipkg.core.errors import DipkgError
from sparql_api.endpoint import answer
from sparql_api.errors import client_disconnected, internal_error
from sparql_api.fastpath import BYPASS, KEYED
from sparql_api.http import accepts_gzip, cors_send, error_response, gzip_send, send_whole
from sparql_api.protocol import (
    FORM,
    SPARQL_QUERY,
    client_of,
    media_type,
    parse_request,
    receive_body,
)
from sparql_api.state import AppContext

log = logging.getLogger("sparql_api")  # the app's own logger for unexpected errors

#: the endpoint's query routes (sparql_api/endpoint.py: /sparql, and /query as oxigraph serve)
PATHS = frozenset(("/sparql", "/query"))
#: request bodies the bare path reads; others (an update, none, anything odd) go to the app
BODY_TYPES = frozenset((FORM, SPARQL_QUERY))
#: the request headers the endpoint reads (the first of each)
READ = frozenset((b"accept", b"accept-encoding", b"content-type", b"content-length"))
#: headers that send a request to the app: its validators answer them (304)
TO_THE_APP = frozenset((b"if-none-match", b"if-modified-since", b"if-range", b"range"))


class Heads(NamedTuple):
    """What the bare path reads of a request's headers, in one pass."""

    #: the headers the endpoint reads (:data:`READ`), the first of each as Starlette's
    #: ``Headers.get`` does
    first: dict[bytes, str]
    forwarded_for: list[str]
    #: the fast path's key headers (sparql_api/fastpath.py ``KEYED``); one of them twice
    #: makes the request ``uncached``
    keyed: dict[bytes, bytes]
    to_the_app: bool  # a conditional or range request: the app's (:data:`TO_THE_APP`)
    uncached: bool  # a header that keeps the answer out of the fast path (``BYPASS``)


def read_heads(scope: Scope) -> Heads:
    """What the bare path reads of ``scope``'s headers (:class:`Heads`), in one pass."""
    first: dict[bytes, str] = {}
    forwarded_for: list[str] = []
    keyed: dict[bytes, bytes] = {}
    to_the_app = uncached = False
    for name, value in scope["headers"]:
        if name in READ:
            if name not in first:
                first[name] = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        elif name in TO_THE_APP:
            to_the_app = True
        if name in KEYED:
            if name in keyed:  # twice: not kept (sparql_api/fastpath.py)
                uncached = True
            keyed[name] = value
        if name in BYPASS:
            uncached = True
    return Heads(first, forwarded_for, keyed, to_the_app, uncached)


def takes(scope: Scope, heads: Heads) -> bool:
    """Whether the bare path takes this request (its path, method, headers and body type)."""
    method = scope["method"]
    return (
        scope["path"] in PATHS
        and not scope.get("root_path")
        and (method == "GET" or method == "POST")
        and not heads.to_the_app
        and (method == "GET" or media_type(heads.first.get(b"content-type"))[0] in BODY_TYPES)
    )


async def respond(
    ctx: AppContext, scope: Scope, receive: Receive, heads: Heads, *, keep: bool = True
) -> Response | None:
    """The answer to a request the bare path :func:`takes`: the endpoint's response, or
    the app's error response for a refusal; None for a GET without a query (the service
    description, the query page: the app's). An unexpected error is raised. ``keep``:
    whether the endpoint's own cache keeps the answer (not when the caller's does)."""
    first = heads.first
    try:
        sreq = await parse_request(
            scope["method"],
            scope["query_string"],
            first.get(b"content-type"),
            first.get(b"content-length"),
            receive_body(receive),
            ctx.settings.max_query_bytes,
        )
        if sreq is None:
            return None
        client = scope.get("client")
        who = client_of(
            client[0] if client else "", heads.forwarded_for, ctx.settings.trusted_proxies
        )
        return await answer(
            ctx,
            sreq,
            first.get(b"accept"),
            None,
            receive,
            who,
            gzip=accepts_gzip(first.get(b"accept-encoding")),
            keep=keep,
        )
    except DipkgError as err:  # what the app's exception handlers do
        return error_response(err)
    except ClientDisconnect:
        return error_response(client_disconnected())


def complete(response: Response) -> bool:
    """Whether ``response`` is a complete body (Response, JSONResponse), sent in one step."""
    return type(response).__call__ is Response.__call__ and response.background is None


class HotPath:
    """ASGI middleware in front of the app (inside the fast path): see the module's text."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        heads = read_heads(scope)
        if not takes(scope, heads):
            await self.app(scope, receive, send)
            return
        try:
            response = await respond(self.ctx, scope, receive, heads)
        except Exception:
            # as the app's outermost error middleware: logged, a bare 500, and raised on
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            await error_response(internal_error())(scope, receive, send)
            raise
        if response is None:  # a GET without a query: the service description, the query page
            await self.app(scope, receive, send)
            return
        wants = accepts_gzip(heads.first.get(b"accept-encoding"))
        if complete(response):
            # what the layers below send, in one step
            await send_whole(send, response.status_code, response.raw_headers, response.body, wants)
            return
        # the gzip middleware inside the CORS one, as in the app
        await response(scope, receive, gzip_send(cors_send(send), wants))
