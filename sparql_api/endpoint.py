"""The routes of the SPARQL endpoint: ``/sparql`` (GET, POST) and ``/health``.

Order of work for a query, nothing executed before the last step:
parse the request (:mod:`~sparql_api.protocol`) → guard (:mod:`~sparql_api.guard`:
SERVICE 400, updates 403) → negotiate the format (406) → validators (304) →
response cache → a worker (:mod:`~sparql_api.workers`: time limit, row cap).

Why one module of ~440 lines: the SPARQL 1.1 Protocol's two routes, the service
description and /health share one order of work (above); each step lives in its own
module, this one keeps the order.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.types import Receive

from dipkg import __version__
from dipkg.core.errors import DipkgError, StoreError
from sparql_api import guard, http, workbook
from sparql_api.backends import PoolHealth
from sparql_api.cache import Entry
from sparql_api.errors import Busy, NotAcceptable
from sparql_api.negotiation import (
    HTML,
    RESULT_OFFERS,
    Choice,
    by_name,
    graph_offers,
    negotiate,
    query_offers,
)
from sparql_api.protocol import (
    FORM,
    SPARQL_QUERY,
    SparqlRequest,
    client_address,
    endpoint_url,
    read_request,
    service_description,
    vary_origin,
)
from sparql_api.results import GRAPH_FORMATS, WITH_PREFIXES, Job
from sparql_api.spool import SpooledResponse
from sparql_api.state import AppContext, context
from sparql_api.workers import reply_error

router = APIRouter()


class ErrorBody(BaseModel):
    """The one error shape (dipkg.core.errors.DipkgError.to_dict())."""

    error: str
    status: int
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    details: dict[str, Any] | None = None


_SPARQL_JSON_SCHEMA = {
    "type": "object",
    "required": ["head"],
    "properties": {
        "head": {"type": "object"},
        "results": {"type": "object", "properties": {"bindings": {"type": "array"}}},
        "boolean": {"type": "boolean"},
        "truncated": {
            "type": "boolean",
            "description": "present (true) when the row cap cut the result",
        },
        "note": {"type": "string"},
    },
}


def _content(types: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in types:
        if t == "application/sparql-results+json":
            out[t] = {"schema": _SPARQL_JSON_SCHEMA}
        elif t.endswith("json"):
            out[t] = {"schema": {}}  # JSON-LD (an object or an array) or SPARQL JSON
        elif t == workbook.MEDIA_TYPE:
            out[t] = {"schema": {"type": "string", "format": "binary"}}
        else:
            out[t] = {"schema": {"type": "string"}}
    return out


# every type /sparql may answer with: N-Quads and TriG too (offered for a graph while the
# store has named graphs, as the catalogue's is)
_ALL_TYPES = sorted(
    {o.media_type for o in RESULT_OFFERS + graph_offers(True)}
    | {a for o in RESULT_OFFERS + graph_offers(True) for a in o.aliases}
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Malformed query (with line/column), SERVICE refused, bad parameters",
    },
    403: {"model": ErrorBody, "description": "SPARQL Update refused: the endpoint is read-only"},
    406: {
        "model": ErrorBody,
        "description": "No offered media type is acceptable (details.offered lists them)",
    },
    413: {"model": ErrorBody, "description": "Query longer than the configured limit"},
    415: {"model": ErrorBody, "description": "Unsupported request Content-Type"},
    422: {"model": ErrorBody, "description": "Invalid request parameters"},
    503: {
        "model": ErrorBody,
        "description": "Query stopped at the time limit, worker died, or all workers busy",
    },
}
_OK = {
    200: {
        "description": "Query results (SELECT/ASK: SPARQL results; CONSTRUCT/DESCRIBE: RDF), "
        "or the service description (GET without query). "
        "`X-Dipkg-Truncated: true` when the row cap cut the result.",
        "content": _content(_ALL_TYPES),
    },
    304: {"description": "Not modified (If-None-Match / If-Modified-Since)"},
}
_OK_GET = {
    **_OK,
    200: {
        **_OK[200],
        "content": {**_content(_ALL_TYPES), "text/html": {"schema": {"type": "string"}}},
        "description": _OK[200]["description"] + " A browser asking GET /sparql without a query "
        "gets the query page (text/html) when one is installed.",
    },
}

QueryParam = Annotated[
    str | None,
    Query(
        description="The SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE). "
        "Without it, GET returns the service description."
    ),
]
DefaultGraphParam = Annotated[
    list[str] | None,
    Query(
        alias="default-graph-uri", description="IRI of a graph of the default graph (repeatable)"
    ),
]
NamedGraphParam = Annotated[
    list[str] | None,
    Query(alias="named-graph-uri", description="IRI of a named graph (repeatable)"),
]
UnionParam = Annotated[
    str | None,
    Query(
        alias="union-default-graph",
        description="Present (and not 'false'): "
        "the default graph is the union of all graphs (as in oxigraph serve)",
    ),
]
FormatParam = Annotated[
    list[str] | None,
    Query(
        description="Result format by name, overriding Accept: "
        "json, xml, csv, tsv, turtle, nt, json-ld, rdf+xml "
        "(or a media type)"
    ),
]


def _headers(ctx: AppContext, tag: str) -> dict[str, str]:
    return {
        "ETag": tag,
        "Last-Modified": http.http_date(ctx.last_modified),
        "Vary": "Accept, Accept-Encoding",
        "Cache-Control": "public, no-cache",
        "X-Dipkg-Build": ctx.release.build_id,
    }


def _answer_head(ctx: AppContext) -> tuple[tuple[bytes, bytes], ...]:
    """:func:`_headers` after the ETag, as raw headers: encoded once per release."""
    head = ctx.answer_head
    if head is None:
        fixed = _headers(ctx, "")
        del fixed["ETag"]
        head = ctx.answer_head = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in fixed.items()
        )
    return head


def _ready(tag: str, head: tuple[tuple[bytes, bytes], ...], extra: Any, body: bytes) -> Response:
    """A query answer: what ``Response(body, headers={**_headers(ctx, tag), **extra})``
    would be, from the release's encoded ``head`` and the answer's raw ``extra``."""
    return http.Ready(
        body,
        [
            (b"etag", tag.encode("latin-1")),
            *head,
            *extra,
            (b"content-length", str(len(body)).encode("latin-1")),
        ],
    )


def _choose(accept: str | None, formats: list[str], offers: tuple) -> Choice:
    chosen = by_name(formats, offers)
    return chosen if chosen is not None else negotiate(accept, offers)


def _maybe(accept: str | None, formats: list[str], offers: tuple) -> Choice | None:
    try:
        return _choose(accept, formats, offers)
    except NotAcceptable:
        return None


#: how long a query runs before its client is watched for a disconnect: most answer sooner,
#: and then no watcher is made at all (a task per query was a good part of the web
#: process's time on cheap queries); a client gone after that frees its worker at once
WATCH_AFTER = 0.05


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class _Watch:
    """Watches a request's client for a disconnect (from :data:`WATCH_AFTER` on) while
    its ``task`` awaits a query; on one, cancels that task (:attr:`gone`)."""

    __slots__ = ("task", "receive", "watcher", "gone", "over")

    def __init__(self, task: asyncio.Task[Any], receive: Receive) -> None:
        self.task = task
        self.receive = receive
        self.watcher: asyncio.Task[None] | None = None
        self.gone = False  # the client left: the task was cancelled for it
        self.over = False  # the query is over: nothing more to watch

    def start(self) -> None:
        if not self.over:
            self.watcher = self.task.get_loop().create_task(_until_disconnect(self.receive))
            self.watcher.add_done_callback(self._left)

    def _left(self, watcher: asyncio.Task[None]) -> None:
        if watcher.cancelled():
            return
        watcher.exception()  # a receive that failed counts as a client gone, as a disconnect
        if not self.over:
            self.gone = True
            self.task.cancel()

    def stop(self) -> None:
        self.over = True
        if self.watcher is not None:
            self.watcher.cancel()


async def _run_watched(receive: Receive, ctx: AppContext, job: Job, client: str):
    """Run ``job`` on a worker; if the client disconnects first, cancel (the worker is killed).

    The query runs in the request's own task; a :class:`_Watch` started after
    :data:`WATCH_AFTER` cancels it when the client leaves (that cancellation is then taken
    back, :meth:`asyncio.Task.uncancel`, and the answer is None)."""
    task = asyncio.current_task()
    assert task is not None
    watch = _Watch(task, receive)
    timer = task.get_loop().call_later(WATCH_AFTER, watch.start)
    try:
        reply = await ctx.pool.run(job, client=client)
    except (asyncio.CancelledError, Exception) as exc:
        if not watch.gone:
            raise
        # the client left: nobody reads how the run ended; another cancellation stands
        if task.uncancel() > 0 and isinstance(exc, asyncio.CancelledError):
            raise
        return None
    finally:
        timer.cancel()
        watch.stop()
    if watch.gone:  # it finished as the client left (the cancellation came too late)
        task.uncancel()
        if reply.stream is not None:  # give its file back
            reply.stream.close()
        return None
    return reply


async def check(query: str) -> guard.Checked:
    """The guard's verdict on ``query`` (:func:`guard.check_query`; a refusal is raised):
    a long query is tokenized off the event loop (up to ~70 ms for 64 KiB)."""
    if len(query) > 4096:
        return await anyio.to_thread.run_sync(guard.check_query, query)
    return guard.check_query(query)


async def _handle(request: Request) -> Response:
    ctx = context(request)
    sreq = await read_request(request, ctx.settings.max_query_bytes)
    if sreq is None:
        return await _service_description(request, ctx)
    headers = request.headers
    validators = headers if request.method in ("GET", "HEAD") else None
    client = client_address(request)
    return await answer(
        ctx,
        sreq,
        headers.get("accept"),
        validators,
        request.receive,
        client,
        gzip=http.accepts_gzip(headers.get("accept-encoding")),
    )


async def answer(
    ctx: AppContext,
    sreq: SparqlRequest,
    accept: str | None,
    validators: Headers | None,
    receive: Receive,
    client: str,
    gzip: bool = False,
    keep: bool = True,
) -> Response:
    """The response to the query request ``sreq`` (a :class:`DipkgError` for a refusal),
    from the request's parts only, so that the bare path (sparql_api/hotpath.py) shares it:
    ``validators`` are the headers a GET's 304 reads (None: never 304), ``receive`` tells
    that the client left (its worker is then freed), ``client`` is its per-client key, and
    ``gzip`` whether the client takes gzip (a streamed large result compresses as it goes);
    ``keep`` whether the answer goes into the release's answer cache (the query lane keeps
    a GET's answer in the fast path's cache instead)."""
    settings = ctx.settings
    checked = await check(sreq.query)
    named = bool(ctx.named_graphs)
    goffers = graph_offers(named)
    offers = query_offers(checked.kind, named)  # (the query page's downloads offer the same)
    if offers:  # SELECT and ASK: a table; CONSTRUCT and DESCRIBE: a graph
        chosen = _choose(accept, sreq.formats, offers)
        table, graph = (chosen, None) if checked.kind == "table" else (None, chosen)
    else:  # unrecognised form: the parser will say what is wrong
        table, graph = (
            _maybe(accept, sreq.formats, RESULT_OFFERS),
            _maybe(accept, sreq.formats, goffers),
        )
        if table is None and graph is None:
            _choose(accept, sreq.formats, RESULT_OFFERS)  # raises the 406
    # a workbook is made here from the worker's TSV (sparql_api/workbook.py)
    sheet = table is not None and table.key == workbook.KEY
    dataset = (tuple(sreq.default_graphs), tuple(sreq.named_graphs), sreq.union_default_graph)
    variant = f"{table.content_type if table else '-'}|{graph.content_type if graph else '-'}"
    tag = http.etag(ctx.release.answers_tag, variant, repr(dataset), sreq.query)
    if validators is not None and http.not_modified(validators, tag, ctx.last_modified):
        return Response(status_code=304, headers=_headers(ctx, tag))
    key = (sreq.query, variant, dataset)
    cached = ctx.cache.get(key)
    if cached is not None:
        return _ready(tag, _answer_head(ctx), cached.headers, cached.body)
    if sheet:
        table_format: str | None = workbook.source_format(checked.form)
    else:
        table_format = table.key if table else None
    job = Job(
        query=sreq.query,
        table_format=table_format,
        graph_format=graph.key if graph else None,
        max_rows=settings.max_rows,
        max_bytes=settings.max_result_bytes,
        default_graph=sreq.default_graphs or None,
        named_graphs=sreq.named_graphs or None,
        union_default_graph=sreq.union_default_graph,
    )
    reply = await _run_watched(receive, ctx, job, client)
    if reply is None:  # the client is gone; nobody reads this
        return Response(status_code=499)
    if not reply.header.get("ok"):
        err = reply_error(reply.header)
        if err.code == "not-acceptable":
            unfit = (err.details or {}).get("format")
            if unfit is not None:  # a result the chosen format cannot write (RDF/XML, XML)
                kind = RESULT_OFFERS if table is not None and table.key == unfit else goffers
                offers = tuple(o for o in kind if o.key != unfit)
            else:  # the query's kind has no acceptable format
                offers = RESULT_OFFERS if table is None else goffers
            err.details = {**(err.details or {}), "offered": [o.media_type for o in offers]}
        raise err
    chosen = table if reply.header.get("kind") == "table" else graph
    assert chosen is not None
    body, rows, cap = reply.body, int(reply.header.get("rows", 0)), None
    if reply.header.get("truncated"):
        cap = settings.max_rows
    sheet = sheet and chosen is table  # (a form the guard could not tell may be a graph)
    if sheet:  # the workbook of the worker's TSV, made here
        made = await _workbook(ctx, reply, table_format or "tsv", sreq.query, receive)
        if made is None:  # the client is gone; nobody reads this
            return Response(status_code=499)
        body, rows = made.body, made.rows
        if made.cut_here:  # its own cap came first: its rows are the cap
            cap = made.rows
    # the answer's own headers, raw (as a Response lowers and encodes them)
    raw: tuple[tuple[bytes, bytes], ...] = (
        (b"content-type", chosen.content_type.encode("latin-1")),
        (b"x-dipkg-rows", b"%d" % rows),
    )
    if sheet:
        raw += (
            (b"content-disposition", b'attachment; filename="%s"' % workbook.FILE_NAME.encode()),
        )
    if cap is not None:
        raw += ((b"x-dipkg-truncated", b"true"), (b"x-dipkg-max-rows", b"%d" % cap))
    if reply.stream is not None and not sheet:  # a large result in a spool file: streamed
        extra = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        return SpooledResponse(
            reply.stream, reply.header["length"], {**_headers(ctx, tag), **extra}, gzip=gzip
        )
    if keep:
        ctx.cache.put(key, Entry(body, raw))
    return _ready(tag, _answer_head(ctx), raw, body)


#: workbooks waiting for their turn, at most (each holds its result, maybe a spool file):
#: past it a 503 to retry, as the workers' queue does
WORKBOOKS_WAITING = 4


async def _workbook(
    ctx: AppContext, reply: Any, source: str, query: str, receive: Receive
) -> workbook.Made | None:
    """The workbook of a worker's ``reply`` (in ``source``, from memory or its spool file),
    made off the event loop, one at a time (each is bounded, but a CPU's worth), at most
    :data:`WORKBOOKS_WAITING` waiting; None when the client left first (it stops waiting,
    or the writer stops within a few hundred rows)."""
    if ctx.workbooks is None:
        ctx.workbooks = anyio.CapacityLimiter(1)
    limiter = ctx.workbooks
    data = reply.stream if reply.stream is not None else reply.body
    stop = threading.Event()
    made: workbook.Made | None = None
    refused: DipkgError | None = None
    try:
        if limiter.statistics().tasks_waiting >= WORKBOOKS_WAITING:
            raise Busy(
                "too many workbooks are being made; try again shortly",
                details={"waiting": WORKBOOKS_WAITING},
            )

        async def convert(scope: anyio.CancelScope) -> None:
            nonlocal made, refused
            try:
                made = await anyio.to_thread.run_sync(
                    lambda: workbook.write(
                        data,
                        source,
                        query=query,
                        truncated=bool(reply.header.get("truncated")),
                        max_rows=ctx.settings.max_rows,
                        build=ctx.release.build_id,
                        stop=stop,
                    ),
                    limiter=limiter,
                )
            except DipkgError as exc:
                # raised after the group: out of it, it would come wrapped in an
                # ExceptionGroup, which no error handler knows (a 500, not the 413)
                refused = exc
            scope.cancel()  # made or refused: nothing more to watch

        async def watch(scope: anyio.CancelScope) -> None:
            await _until_disconnect(receive)
            stop.set()  # the writer stops at its next look
            scope.cancel()  # (a turn still awaited is given up)

        async with anyio.create_task_group() as group:
            group.start_soon(convert, group.cancel_scope)
            group.start_soon(watch, group.cancel_scope)
        if refused is not None and not stop.is_set():
            raise refused
        return None if stop.is_set() else made
    finally:
        if reply.stream is not None:
            reply.stream.close()


async def _service_description(request: Request, ctx: AppContext) -> Response:
    params = request.query_params
    formats = params.getlist("format") + params.getlist("output")
    offers = graph_offers(bool(ctx.named_graphs))
    page = ctx.sparql_page
    # the page's own parameters (``q=``, a query for its form) ask for the page first: curl's
    # */* then gets what the link names; a client naming Turtle still gets the description
    if page is None:
        choices = offers
    elif "q" in params:
        choices = (HTML, *offers)
    else:
        choices = (*offers, HTML)
    choice = _choose(request.headers.get("accept"), formats, choices)
    if choice.offer is HTML and page is not None:
        return await page(request)
    url = endpoint_url(request)
    tag = http.etag(ctx.release.answers_tag, "sd", choice.content_type, url)
    headers = _headers(ctx, tag)
    headers["Vary"] = vary_origin(
        request, "Accept", "Accept-Encoding"
    )  # the URL is the endpoint's own
    if http.not_modified(request.headers, tag, ctx.last_modified):
        return Response(status_code=304, headers=headers)
    triples: list[Any] = service_description(
        url, ctx.release, list(RESULT_OFFERS + offers), ctx.named_graphs
    )
    rdf_format = GRAPH_FORMATS[choice.key]
    if rdf_format.supports_datasets:
        triples = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    body = ox.serialize(
        triples,
        format=rdf_format,
        prefixes={
            "sd": "http://www.w3.org/ns/sparql-service-description#",
            "void": "http://rdfs.org/ns/void#",
            "dcterms": "http://purl.org/dc/terms/",
        }
        if choice.key in WITH_PREFIXES
        else None,
    )
    return Response(body, headers={**headers, "Content-Type": choice.content_type})


@router.get("/query", include_in_schema=False)
async def query_get(request: Request) -> Response:
    """``oxigraph serve``'s query path, the same endpoint."""
    return await _handle(request)


@router.post("/query", include_in_schema=False)
async def query_post(request: Request) -> Response:
    return await _handle(request)


@router.get(
    "/sparql",
    summary="SPARQL query (GET) or service description",
    responses={**_OK_GET, **_ERRORS},
    response_class=Response,
    tags=["sparql"],
)
async def sparql_get(
    request: Request,
    query: QueryParam = None,
    default_graph_uri: DefaultGraphParam = None,
    named_graph_uri: NamedGraphParam = None,
    union_default_graph: UnionParam = None,
    format: FormatParam = None,
    output: FormatParam = None,
) -> Response:
    return await _handle(request)


_POST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The SPARQL query"},
                        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "format": {"type": "string"},
                    },
                    "required": ["query"],
                }
            },
            SPARQL_QUERY: {"schema": {"type": "string", "description": "The SPARQL query (UTF-8)"}},
        },
    }
}


@router.post(
    "/sparql",
    summary="SPARQL query (POST: form-encoded or application/sparql-query)",
    responses={**_OK, **_ERRORS},
    response_class=Response,
    openapi_extra=_POST_BODY,
    tags=["sparql"],
)
async def sparql_post(
    request: Request,
    default_graph_uri: DefaultGraphParam = None,
    named_graph_uri: NamedGraphParam = None,
    union_default_graph: UnionParam = None,
    format: FormatParam = None,
    output: FormatParam = None,
) -> Response:
    return await _handle(request)


class Health(BaseModel):
    status: str
    version: str
    build_id: str
    triples: int | None
    workers: dict[str, int]
    queries: dict[str, int] = {}
    backend: dict[str, Any] | None = (
        None  # remote mode: the backend's probe and recent state (url, ok...)
    )
    #: local mode: "on", or "off: <why>" when the query workers can reach the network
    network_sandbox: str | None = None
    #: local mode: "on" while a seccomp filter refuses the query workers network sockets
    #: (holding where the OS refuses the namespace), or "off: <why>"
    network_filter: str | None = None
    #: local mode: where the workers evaluate: "memory (N MiB)", a copy of the store they
    #: share, or "disk" ("disk: <why>" when a copy was wanted but not made)
    query_store: str | None = None
    #: "configured", or "not configured for publication: <settings>" while the release's catalogue
    #: has the shipped placeholder publisher and contact (manifest "publication")
    publication: str | None = None


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": ErrorBody}},
    tags=["ops"],
    summary="Liveness: the build served and the query workers alive",
)
async def health(ctx: Annotated[AppContext, Depends(context)]) -> JSONResponse:
    # the backend says (remote: it asks the backend now); no pool yet: nothing is alive
    state = PoolHealth(0, 0) if ctx.pool is None else await ctx.backend.describe_health(ctx.pool)
    backend, alive, size = state.backend, state.alive, state.size
    if alive == 0:
        if backend is not None:  # unreachable, or its recent real exchanges failed (remote)
            reason = (backend.get("failing") or {}).get("message") or "it does not answer"
            raise StoreError(
                f"the SPARQL backend is not ok: {reason}", details={"backend": backend}
            )
        raise StoreError(
            "no query worker is alive", details={"workers": {"alive": 0, "total": size}}
        )
    body = Health(
        status="ok",
        version=__version__,
        build_id=ctx.release.build_id,
        triples=ctx.release.manifest.counts.triples,
        workers={"alive": alive, "total": size},
        queries={**state.stats, "cache_hits": ctx.cache.hits},
        backend=backend,
        network_sandbox=state.network_sandbox,
        network_filter=state.network_filter,
        query_store=state.query_store,
        publication=ctx.release.manifest.publication.state(),
    )
    unset = {
        key
        for key in ("backend", "network_sandbox", "network_filter", "query_store", "publication")
        if getattr(body, key) is None
    }
    return JSONResponse(body.model_dump(exclude=unset), headers={"Cache-Control": "no-store"})
