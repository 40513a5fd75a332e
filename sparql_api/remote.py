"""The remote backend: queries and page lookups go to an external SPARQL endpoint.

``dipkg serve --data DIR --sparql-backend URL`` (setting ``sparql_backend``) serves
the same API from any SPARQL 1.1 query endpoint (Oxigraph, Virtuoso, GraphDB,
QLever...) that holds the graph ``dipkg publish`` loaded: the data in the named
graph ``{base}graph/data``, the catalogue record in ``{base}graph/catalog``
(see docs/remote-backend.md). DIR still gives the manifest, dumps and catalogue.

* :class:`RemotePool` has the shape of :class:`~sparql_api.workers.WorkerPool`
  (``start``/``stop``/``run(job) -> Reply``/``alive``/``size``/``info``/``stats``),
  so the endpoint's route does not know which backend it talks to. The guard,
  the size limit, negotiation and the response cache run in the route, before
  this module is reached. Here: the dataset (the data graph becomes the default
  graph), the time limit (a client-side deadline on the whole HTTP exchange, and
  the backend's own timeout parameter where it has one), the row cap, and the
  re-serialisation: the backend is always asked for SPARQL JSON (SELECT, ASK)
  or N-Triples (CONSTRUCT, DESCRIBE), parsed with pyoxigraph and written by the
  same code as the local workers (:mod:`sparql_api.results`), so every format
  and the truncation signal are the local mode's, byte for byte.
* :class:`RemoteDescriber` has the shape of :class:`~sparql_api.describe.Describer`:
  its bounded lookups become small SPARQL queries over HTTP (blank-node closures
  in one CONSTRUCT, because blank-node labels do not survive between requests).

Backend failures are :class:`BackendError` (502: an error or a malformed answer)
or :class:`BackendUnavailable` (503: unreachable), in the one JSON error shape.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio
import httpx
import pyoxigraph as ox

from kg.iris import ONTOLOGY_IRI, PREFIXES
from kg.layout import Release
from sparql_api import guard
from sparql_api.describe import IS_DEFINED_BY, LABELS, MAX_INCOMING, RDF_TYPE, Describer
from sparql_api.errors import NotAcceptable, QueryError, QueryTimeout, syntax_error
from sparql_api.results import Job, Outcome, _solutions, _triples
from sparql_api.workers import Reply

log = logging.getLogger("sparql_api.remote")
T = TypeVar("T")

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
ACCEPT_TABLE = f"{JSON_RESULTS}, {XML_RESULTS};q=0.5"
ACCEPT_GRAPH = f"{N_TRIPLES}, text/plain;q=0.9, text/turtle;q=0.5, application/rdf+xml;q=0.3"
ACCEPT_ANY = f"{ACCEPT_TABLE}, {ACCEPT_GRAPH}"
RESULT_PARSERS = {JSON_RESULTS: ox.QueryResultsFormat.JSON, "application/json": ox.QueryResultsFormat.JSON,
                  XML_RESULTS: ox.QueryResultsFormat.XML, "application/xml": ox.QueryResultsFormat.XML}
GRAPH_PARSERS = {N_TRIPLES: ox.RdfFormat.N_TRIPLES, "text/plain": ox.RdfFormat.N_TRIPLES,
                 "text/ntriples": ox.RdfFormat.N_TRIPLES, "text/turtle": ox.RdfFormat.TURTLE,
                 "application/x-turtle": ox.RdfFormat.TURTLE, "application/rdf+xml": ox.RdfFormat.RDF_XML}
#: Virtuoso's built-in function namespaces (``bif:``, ``sql:``): SQL, file and network access
#: on some installations; never forwarded.
VIRTUOSO_FUNCTIONS = ("http://www.openlinksw.com/schemas/bif#", "http://www.openlinksw.com/schemas/sql#")
#: at most this many labels per lookup query (VALUES block)
LABEL_BATCH = 200
#: blank-node chains followed from a resource (rdf:Lists of up to this length - 1)
BNODE_DEPTH = 8


class BackendError(QueryError):
    """The backend answered with an error or with something that is not a result."""

    code = "backend-error"
    status = 502


class BackendUnavailable(QueryError):
    """The backend cannot be reached (refused, reset, DNS...)."""

    code = "backend-unavailable"
    status = 503


class BackendRejected(QueryError):
    """The backend refused the query (HTTP 400): its parser or evaluator said no."""

    code = "backend-rejected"
    status = 400


@dataclass(frozen=True)
class Graphs:
    """Where ``dipkg publish`` put the release on the backend."""

    data: str
    catalog: str | None

    @classmethod
    def of(cls, release: Release) -> Graphs:
        from kg.publish import plan

        uploads = plan(release)
        return cls(data=uploads[0].graph, catalog=uploads[1].graph if len(uploads) > 1 else None)


# --- dialects: the backend's own timeout parameter ---------------------------
def timeout_param(server: str, seconds: float) -> dict[str, str]:
    """The backend's own per-query time limit, by its ``Server`` header (unknown: none)."""
    s = server.lower()
    if "virtuoso" in s:  # milliseconds; Virtuoso answers partial results + X-SQL-State S1TAT
        return {"timeout": str(int(seconds * 1000))}
    if "fuseki" in s or "jena" in s or "graphdb" in s or "rdf4j" in s:
        return {"timeout": str(max(1, int(seconds)))}
    if "qlever" in s:
        return {"timeout": f"{seconds:g}s"}
    return {}  # Oxigraph: `oxigraph serve --timeout-s` is server-wide


def check_query(query: str) -> None:
    """The remote mode's extra guard (the endpoint's guard has run already): no
    Virtuoso pragmas (``DEFINE``: sponging, inference) nor SQL built-ins (``bif:``, ``sql:``)."""
    for tok in guard.tokenize(query):
        text = tok.text
        if tok.kind == guard.WORD and text.upper() == "DEFINE":
            raise QueryError("DEFINE pragmas are not SPARQL 1.1 and are not accepted")
        if (tok.kind == guard.PNAME and text.split(":", 1)[0].lower() in ("bif", "sql")) or (
                tok.kind == guard.IRI and text[1:].startswith(VIRTUOSO_FUNCTIONS)):
            raise QueryError("backend-specific built-in functions (bif:, sql:) are not accepted")


def has_dataset_clause(query: str) -> bool:
    """True when the query names its own dataset (FROM / FROM NAMED)."""
    return any(tok.kind == guard.WORD and tok.text.upper() == "FROM" for tok in guard.tokenize(query))


def dataset_params(job: Job, graphs: Graphs) -> list[tuple[str, str]]:
    """The protocol dataset that makes the backend see what the local store shows:
    the data as the default graph, the catalogue as the one named graph."""
    catalog = [graphs.catalog] if graphs.catalog else []
    if job.default_graph or job.named_graphs:
        default = list(job.default_graph or [graphs.data])
        named = list(job.named_graphs or catalog)
    elif job.union_default_graph:
        default, named = [graphs.data, *catalog], catalog
    elif has_dataset_clause(job.query):
        return []  # FROM / FROM NAMED: the query's own dataset (protocol parameters would override it)
    else:
        default, named = [graphs.data], catalog
    return [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(pairs: Iterable[tuple[str, str]]) -> bytes:
    """A form body (repeated names allowed: default-graph-uri, named-graph-uri)."""
    return urlencode(list(pairs)).encode("ascii")


def _detach(fn: Callable[..., T]) -> Callable[..., T]:
    """Raise ``fn``'s errors without their traceback: pyoxigraph's parsers and result
    iterators must be dropped on the thread that made them, not where the error lands."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            exc.__traceback__ = exc.__context__ = exc.__cause__ = None
            err = exc
        raise err

    return wrapper


_BNODE_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _fix_bnodes(body: bytes) -> bytes:
    """SPARQL JSON whose blank-node labels are not valid labels (Virtuoso's ``nodeID://b1``)
    rewritten with valid ones (same label, same node)."""

    def fix(term: Any) -> None:
        if not isinstance(term, dict):
            return
        if term.get("type") == "bnode" and isinstance(term.get("value"), str):
            term["value"] = "b" + _BNODE_CHARS.sub(lambda m: f"_{ord(m.group()):x}", term["value"])
        elif term.get("type") == "triple" and isinstance(term.get("value"), dict):
            for part in term["value"].values():
                fix(part)

    doc = json.loads(body)
    for row in (doc.get("results") or {}).get("bindings") or []:
        for term in row.values():
            fix(term)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _parse_results(body: bytes, media: str) -> Any:
    """pyoxigraph's parse of a SPARQL results document, with blank-node labels repaired
    when the backend writes invalid ones (JSON only)."""
    fmt = RESULT_PARSERS[media]
    if fmt == ox.QueryResultsFormat.JSON and b'"bnode"' in body and b"nodeID://" in body:
        try:
            body = _fix_bnodes(body)
        except ValueError as exc:  # a cut answer (the byte cap): cannot repair it
            raise BackendError(f"the SPARQL backend's answer is too large or malformed: {exc}") from None
    return ox.parse_query_results(body, format=fmt)


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _message(response: httpx.Response, body: bytes) -> str:
    text = body[:2000].decode("utf-8", "replace").strip()
    return " ".join(text.split())[:500] or f"HTTP {response.status_code}"


def _transport_error(url: str, exc: Exception) -> QueryError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(f"the SPARQL backend {url} did not answer in time",
                                  details={"backend": url})
    return BackendUnavailable(f"the SPARQL backend {url} cannot be reached: {type(exc).__name__}",
                              details={"backend": url})


def _raise_for_status(url: str, response: httpx.Response, body: bytes) -> None:
    if response.status_code < 400:
        if response.headers.get("x-sql-state", "").upper() == "S1TAT":
            raise QueryTimeout("the backend stopped the query at its time limit (partial result refused)",
                               details={"backend": url})
        return
    message = _message(response, body)
    if response.status_code == 400:
        if "error at " in message and ":" in message:  # Oxigraph's parser: line and column
            err = syntax_error(message)
            err.details = {"backend": url}
            raise err
        raise BackendRejected(f"the backend refused the query: {message}", details={"backend": url})
    lowered = message.lower()
    if any(w in lowered for w in ("timeout", "timed out", "time limit", "execution time")):
        # Virtuoso refuses a query whose *estimated* time exceeds its limit: the same verdict
        raise QueryTimeout(f"the backend stopped or refused the query for its running time: {message}",
                           details={"backend": url, "status": response.status_code})
    if response.status_code in (503, 504):
        raise BackendUnavailable(f"the SPARQL backend is unavailable (HTTP {response.status_code}): {message}",
                                 details={"backend": url, "status": response.status_code})
    raise BackendError(f"the SPARQL backend answered HTTP {response.status_code}: {message}",
                       details={"backend": url, "status": response.status_code})


class RemotePool:
    """A :class:`~sparql_api.workers.WorkerPool` look-alike that sends jobs to ``url``."""

    def __init__(self, url: str, graphs: Graphs, *, size: int, timeout: float,
                 prefixes: dict[str, str] | None = None, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.url = url
        self.graphs = graphs
        self.size = size
        self.timeout = timeout
        self.prefixes = prefixes or {}
        self.max_bytes = max_bytes
        self.server = ""
        self.info: dict[str, Any] = {"named_graphs": [graphs.catalog] if graphs.catalog else [],
                                     "backend": url}
        self.stats = {"timeouts": 0, "backend_errors": 0, "disconnects": 0}
        self._ok: bool | None = None
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None

    # lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self.size)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout + 5, connect=5.0),
                                         limits=httpx.Limits(max_connections=self.size * 2),
                                         follow_redirects=False, trust_env=False)
        await self.probe()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @property
    def alive(self) -> int:
        return self.size if self._ok is not False else 0

    async def probe(self) -> dict[str, Any]:
        """Ask the backend ``ASK {}``; remember whether it answered (``/health``)."""
        assert self._client is not None
        started = time.monotonic()
        try:
            response = await self._client.post(self.url, data={"query": "ASK {}"},
                                               headers={"Accept": ACCEPT_TABLE}, timeout=5.0)
            ok = response.status_code == 200
            self.server = response.headers.get("server", "")
            status: Any = response.status_code
        except httpx.HTTPError as exc:
            ok, status = False, type(exc).__name__
        self._ok = ok
        return {"url": self.url, "ok": ok, "status": status, "server": self.server or None,
                "latency_ms": round((time.monotonic() - started) * 1000, 1),
                "graphs": {"data": self.graphs.data, "catalog": self.graphs.catalog}}

    # queries -----------------------------------------------------------
    async def run(self, job: Job, client: str | None = None) -> Reply:
        check_query(job.query)
        assert self._client is not None and self._slots is not None
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                async with self._slots:
                    media, body, complete, backend_cap = await self._fetch(job)
        except TimeoutError:  # waiting for a slot counts too: the limit is the client's
            self.stats["timeouts"] += 1
            log.warning("remote query stopped at the %g s limit: %.200r", self.timeout, job.query)
            raise QueryTimeout(
                f"the query ran longer than the limit of {self.timeout:g} s and was stopped",
                details={"limit_seconds": self.timeout,
                         "elapsed_seconds": round(time.monotonic() - started, 3)}) from None
        except asyncio.CancelledError:
            self.stats["disconnects"] += 1
            raise
        except httpx.HTTPError as exc:
            self.stats["backend_errors"] += 1
            self._ok = False
            raise _transport_error(self.url, exc) from None
        except QueryError:
            self.stats["backend_errors"] += 1
            raise
        self._ok = True
        if backend_cap is not None and backend_cap <= job.max_rows:
            # the backend cut the result itself (Virtuoso's ResultSetMaxRows): a full answer
            # may be a cut one, so the last row goes and the result says it is truncated
            job = Job(**{**job.to_dict(), "max_rows": max(backend_cap - 1, 1)})
        outcome = await anyio.to_thread.run_sync(self._reserialise, job, media, body, complete)
        return Reply(outcome.header(), outcome.body)

    async def _fetch(self, job: Job) -> tuple[str, bytes, bool, int | None]:
        """POST the query; the body (cut after max_rows+1 lines for N-Triples, at
        ``max_bytes`` otherwise), its media type, and whether it is complete."""
        assert self._client is not None
        accept = ACCEPT_TABLE if job.graph_format is None else ACCEPT_GRAPH if job.table_format is None \
            else ACCEPT_ANY
        data = [("query", job.query), *dataset_params(job, self.graphs),
                *timeout_param(self.server, self.timeout).items()]
        async with self._client.stream("POST", self.url, content=_form(data),
                                       headers={**FORM_HEADERS, "Accept": accept}) as response:
            media = _media(response.headers.get("content-type"))
            chunks: list[bytes] = []
            size = lines = 0
            complete = True
            line_cut = response.status_code < 400 and GRAPH_PARSERS.get(media) == ox.RdfFormat.N_TRIPLES
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if line_cut:
                    lines += chunk.count(b"\n")
                    if lines > job.max_rows + 1:
                        complete = False
                        break
                if size > self.max_bytes:
                    complete = False
                    break
            body = b"".join(chunks)
            if line_cut and not complete:
                body = body[: body.rfind(b"\n") + 1]
            _raise_for_status(self.url, response, body)
            cap = response.headers.get("x-sparql-maxrows", "")
        return media, body, complete, int(cap) if cap.isdigit() and int(cap) > 0 else None

    @_detach
    def _reserialise(self, job: Job, media: str, body: bytes, complete: bool) -> Outcome:
        """Parse the backend's answer and write it as the local workers do (row cap included)."""
        try:
            if media in RESULT_PARSERS:
                result = _parse_results(body, media)
                if isinstance(result, ox.QueryBoolean):
                    if job.table_format is None:
                        raise NotAcceptable("no acceptable media type for this ASK result")
                    from sparql_api.results import RESULT_FORMATS

                    return Outcome("table", job.table_format, result.serialize(
                        format=RESULT_FORMATS[job.table_format]), 1)
                if job.table_format is None:
                    raise NotAcceptable("no acceptable media type for this SELECT result")
                outcome = _solutions(_Capped(result, job.max_rows, complete), job)
                return outcome
            if media in GRAPH_PARSERS:
                if job.graph_format is None:
                    raise NotAcceptable("no acceptable media type for this CONSTRUCT/DESCRIBE result")
                triples = (q.triple for q in ox.parse(body, format=GRAPH_PARSERS[media]))
                outcome = _triples(triples, job, self.prefixes)
                outcome.truncated = outcome.truncated or not complete
                return outcome
        except SyntaxError as exc:
            tail = body[-300:].lower()
            if b"cancelled" in tail or b"timeout" in tail or b"timed out" in tail:
                # Oxigraph's own limit (`--timeout-s`) ends a started 200 answer with this text
                raise QueryTimeout("the backend stopped the query at its own time limit",
                                   details={"backend": self.url}) from None
            raise BackendError(f"the SPARQL backend's answer is malformed ({media}): {exc}",
                               details={"backend": self.url}) from None
        raise BackendError(f"the SPARQL backend answered an unexpected media type {media or '(none)'}",
                           details={"backend": self.url})


class _Capped:
    """Solutions of a (possibly cut) streamed answer: ``max_rows + 1`` rows are enough
    to know the result is truncated; a cut answer with fewer is refused (502)."""

    def __init__(self, result: ox.QuerySolutions, max_rows: int, complete: bool) -> None:
        self.result = result
        self.variables = result.variables
        self.max_rows = max_rows
        self.complete = complete

    def __iter__(self):
        n = 0
        iterator = iter(self.result)
        while True:
            try:
                solution = next(iterator)
            except StopIteration:
                return
            except SyntaxError:
                if not self.complete and n > self.max_rows:
                    return
                if not self.complete:
                    raise BackendError("the SPARQL backend's answer is too large; add a LIMIT") from None
                raise
            n += 1
            yield solution
            if n > self.max_rows:
                return


# --- page lookups ----------------------------------------------------------------
def _iri(term: ox.NamedNode | str) -> str:
    return f"<{term.value if isinstance(term, ox.NamedNode) else term}>"


def _bnode_paths(start: str, depth: int) -> str:
    """UNION branches binding ?s to ``start`` and to every blank node reachable from it."""
    branches = [f"{{ {start} ?p ?o BIND({start} AS ?s) }}"]
    for d in range(1, depth + 1):
        hops = []
        prev = start
        for i in range(d):
            node = "?s" if i == d - 1 else f"?b{i}"
            hops.append(f"{prev} ?h{i} {node} FILTER(isBlank({node}))")
            prev = node
        branches.append("{ " + " ".join(hops) + " ?s ?p ?o }")
    return "\nUNION ".join(branches)


class RemoteDescriber(Describer):
    """The :class:`~sparql_api.describe.Describer` over a SPARQL endpoint (same triples)."""

    def __init__(self, url: str, graphs: Graphs, *, timeout: float, named_graphs: Iterable[str] = ()) -> None:
        self.url = url
        self.graphs = graphs
        self.timeout = timeout
        self.named_graphs = [g for g in named_graphs if g]
        self.store = None  # type: ignore[assignment]
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), trust_env=False)
        self._prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())

    def _remote(self, graph: str | None) -> str:
        """Where the local graph ``graph`` (None: the default graph) lives on the backend."""
        return self.graphs.data if graph is None else graph

    def _post(self, query: str, accept: str, dataset: list[tuple[str, str]] = ()) -> tuple[str, bytes]:
        try:
            response = self.client.post(self.url, content=_form([("query", query), *dataset]),
                                        headers={**FORM_HEADERS, "Accept": accept})
        except httpx.HTTPError as exc:
            raise _transport_error(self.url, exc) from None
        _raise_for_status(self.url, response, response.content)
        return _media(response.headers.get("content-type")), response.content

    @_detach
    def _rows(self, query: str, dataset: list[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        media, body = self._post(query, ACCEPT_TABLE, dataset)
        if media not in RESULT_PARSERS:
            raise BackendError(f"the SPARQL backend answered {media or '(none)'} to a SELECT")
        try:
            result = _parse_results(body, media)
            names = [v.value for v in result.variables]  # type: ignore[union-attr]
            return [{n: s[n] for n in names if s[n] is not None} for s in result]  # type: ignore[union-attr]
        except SyntaxError as exc:
            raise BackendError(f"the SPARQL backend's answer is malformed: {exc}") from None

    @_detach
    def _construct(self, query: str) -> list[ox.Triple]:
        media, body = self._post(query, ACCEPT_GRAPH)
        if media not in GRAPH_PARSERS:
            raise BackendError(f"the SPARQL backend answered {media or '(none)'} to a CONSTRUCT")
        try:
            return [q.triple for q in ox.parse(body, format=GRAPH_PARSERS[media])]
        except SyntaxError as exc:
            raise BackendError(f"the SPARQL backend's answer is malformed: {exc}") from None

    # -- the primitives of Describer.describe ---------------------------------
    def graph_of(self, iri: str) -> str | None | bool:
        node = ox.NamedNode(iri)
        local = [None, *self.named_graphs]
        values = " ".join(_iri(self._remote(g)) for g in local)
        rows = self._rows(f"SELECT DISTINCT ?g WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ {_iri(node)} ?p ?o }} }}")
        found = {r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode)}
        for graph in local:
            if self._remote(graph) in found:
                return graph
        return False

    def _own(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        return self._construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{\n"
                               f"{_bnode_paths(_iri(node), BNODE_DEPTH)} }} }}")

    def _ontology_terms(self, graph: str | None) -> list[ox.Triple]:
        start = "?t"
        where = (f"?t {_iri(IS_DEFINED_BY)} {_iri(ONTOLOGY_IRI)} FILTER(isIRI(?t)) "
                 f"{{ {_bnode_paths(start, BNODE_DEPTH)} }}")
        return self._construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{ {where} }} }}")

    def _incoming(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        rows = self._rows(f"SELECT ?s ?p WHERE {{ GRAPH {_iri(self._remote(graph))} {{ ?s ?p {_iri(node)} "
                          f"FILTER(?p != {_iri(RDF_TYPE)} && ?p != {_iri(IS_DEFINED_BY)}) }} }} LIMIT {MAX_INCOMING}")
        return [ox.Triple(r["s"], r["p"], node) for r in rows if "s" in r and "p" in r]

    def _labels_of(self, nodes: list[ox.NamedNode], graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        preds = " ".join(_iri(p) for p in LABELS)
        for i in range(0, len(nodes), LABEL_BATCH):
            values = " ".join(_iri(n) for n in nodes[i:i + LABEL_BATCH])
            rows = self._rows(f"SELECT ?s ?p ?o WHERE {{ GRAPH {_iri(self._remote(graph))} {{ "
                              f"VALUES ?s {{ {values} }} VALUES ?p {{ {preds} }} ?s ?p ?o }} }}")
            out.extend(ox.Triple(r["s"], r["p"], r["o"]) for r in rows if len(r) == 3)
        return out

    def select(self, query: str, graph: str | None = None) -> list[dict[str, Any]]:
        return self._rows(self._prologue + query, [("default-graph-uri", self._remote(graph))])

    def close(self) -> None:
        self.client.close()


def check_backend(url: str, graphs: Graphs, timeout: float = 10.0) -> str:
    """Raise :class:`BackendUnavailable`/:class:`BackendError` unless ``url`` answers a
    SPARQL query and holds the data graph; return its ``Server`` header."""
    try:
        response = httpx.post(url, data={"query": f"ASK {{ GRAPH <{graphs.data}> {{ ?s ?p ?o }} }}"},
                              headers={"Accept": ACCEPT_TABLE}, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        raise _transport_error(url, exc) from None
    _raise_for_status(url, response, response.content)
    try:
        result = ox.parse_query_results(response.content, format=RESULT_PARSERS[_media(
            response.headers.get("content-type"))])
    except (KeyError, SyntaxError) as exc:
        raise BackendError(f"{url} does not answer like a SPARQL endpoint: {exc}") from None
    if not (isinstance(result, ox.QueryBoolean) and bool(result)):
        raise BackendError(f"{url} holds no graph <{graphs.data}>: run `dipkg publish --to <its store URL>` first")
    return response.headers.get("server", "")
