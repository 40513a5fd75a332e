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
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dipkg.core.errors import DipkgError
from sparql_api.endpoint import answer
from sparql_api.errors import client_disconnected, internal_error
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


class HotPath:
    """ASGI middleware in front of the app (inside the fast path): see the module's text."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET" and method != "POST":
            await self.app(scope, receive, send)
            return
        # the headers the endpoint reads, the first of each as Starlette's Headers.get does
        first: dict[bytes, str] = {}
        forwarded_for: list[str] = []
        for name, value in scope["headers"]:
            if name in READ:
                if name not in first:
                    first[name] = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name in TO_THE_APP:
                await self.app(scope, receive, send)
                return
        content_type = first.get(b"content-type")
        if method == "POST" and media_type(content_type)[0] not in BODY_TYPES:
            await self.app(scope, receive, send)
            return
        ctx = self.ctx
        wants = accepts_gzip(first.get(b"accept-encoding"))
        try:
            sreq = await parse_request(
                method,
                scope["query_string"],
                content_type,
                first.get(b"content-length"),
                receive_body(receive),
                ctx.settings.max_query_bytes,
            )
            if sreq is not None:
                client = scope.get("client")
                who = client_of(
                    client[0] if client else "", forwarded_for, ctx.settings.trusted_proxies
                )
                response = await answer(
                    ctx,
                    sreq,
                    first.get(b"accept"),
                    None,
                    receive,
                    who,
                    gzip=wants,
                )
        except DipkgError as err:  # what the app's exception handlers do
            response = error_response(err)
        except ClientDisconnect:
            response = error_response(client_disconnected())
        except Exception:
            # as the app's outermost error middleware: logged, a bare 500, and raised on
            log.exception("unexpected error on %s %s", method, scope["path"])
            await error_response(internal_error())(scope, receive, send)
            raise
        else:
            if sreq is None:  # a GET without a query: the service description, the query page
                await self.app(scope, receive, send)
                return
        if type(response).__call__ is Response.__call__ and response.background is None:
            # a complete body (Response, JSONResponse): what the layers below send, in one step
            await send_whole(send, response.status_code, response.raw_headers, response.body, wants)
            return
        # the gzip middleware inside the CORS one, as in the app
        await response(scope, receive, gzip_send(cors_send(send), wants))
