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
import concurrent.futures
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urljoin

import anyio
import httpx
import pyoxigraph as ox

from dipkg.core.credentials import Credentials, redact, scrub
from dipkg.core.iris import ONTOLOGY_IRI, PREFIXES
from dipkg.core.release import Release
from sparql_api import guard
from sparql_api.describe import IS_DEFINED_BY, LABELS, MAX_INCOMING, RDF_TYPE, Describer, Term
from sparql_api.errors import Busy, NotAcceptable, QueryError, QueryTimeout
from sparql_api.results import Job, Outcome, _solutions, _triples
from sparql_api.syntax import syntax_error
from sparql_api.workers import Reply

log = logging.getLogger("sparql_api.remote")
T = TypeVar("T")

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
ACCEPT_TABLE = f"{JSON_RESULTS}, {XML_RESULTS};q=0.5"
ACCEPT_GRAPH = f"{N_TRIPLES}, text/plain;q=0.9, text/turtle;q=0.5, application/rdf+xml;q=0.3"
ACCEPT_ANY = f"{ACCEPT_TABLE}, {ACCEPT_GRAPH}"
RESULT_PARSERS = {
    JSON_RESULTS: ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    XML_RESULTS: ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
}
GRAPH_PARSERS = {
    N_TRIPLES: ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/ntriples": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
#: Virtuoso's built-in function namespaces (``bif:``, ``sql:``): SQL, file and network access
#: on some installations; never forwarded.
VIRTUOSO_FUNCTIONS = (
    "http://www.openlinksw.com/schemas/bif#",
    "http://www.openlinksw.com/schemas/sql#",
)
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


class BackendTimeout(QueryError):
    """A page lookup's exchange with the backend passed its deadline (a slow or dripping backend)."""

    code = "backend-timeout"
    status = 504


class BackendBusy(QueryError):
    """Every backend slot stayed taken until the deadline (the backend is slow for everyone)."""

    code = "backend-busy"
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


_LOCAL_ESCAPE = re.compile(r"\\(.)")


def _iris(tokens: list[guard.Token]) -> Iterator[tuple[int, guard.Token, str | None]]:
    """Each IRI or prefixed-name token (outside PREFIX/BASE declarations) with the absolute
    IRI it stands for, resolved the way the backend resolves it (declared prefixes, BASE);
    None for a prefixed name whose prefix the query does not declare."""
    base, prefixes, skip = "", {}, 0
    for index, tok in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        upper = tok.text.upper()
        if tok.kind == guard.WORD and upper == "BASE" and index + 1 < len(tokens):
            base = urljoin(base, tokens[index + 1].text[1:-1])
            skip = 1
            continue
        if tok.kind == guard.WORD and upper == "PREFIX" and index + 2 < len(tokens):
            prefixes[tokens[index + 1].text.rstrip(":")] = urljoin(
                base, tokens[index + 2].text[1:-1]
            )
            skip = 2
            continue
        if (
            tok.kind == guard.PNAME
            and upper.startswith("PREFIX")
            and upper.endswith(":")
            and index + 1 < len(tokens)
            and tokens[index + 1].kind == guard.IRI
        ):  # glued: PREFIX:<iri>
            prefixes[tok.text[6:-1]] = urljoin(base, tokens[index + 1].text[1:-1])
            skip = 1
            continue
        if tok.kind == guard.IRI:
            yield index, tok, urljoin(base, tok.text[1:-1])
        elif tok.kind == guard.PNAME:
            prefix, _, local = tok.text.partition(":")
            ns = prefixes.get(prefix)
            yield index, tok, None if ns is None else ns + _LOCAL_ESCAPE.sub(r"\1", local)


def check_query(query: str, graphs: Graphs | None = None) -> None:
    """The remote mode's extra guard (the endpoint's guard has run already): no Virtuoso
    pragmas (``DEFINE``: sponging, inference) nor SQL built-ins (``bif:``, ``sql:``, however
    spelt: a declared prefix, an escaped local name, a BASE-relative IRI); and ``FROM`` /
    ``FROM NAMED`` may name only the published graphs (``graphs``), not whatever else the
    backend holds (publish's staging graphs, other tenants, system graphs)."""
    tokens = guard.tokenize(query)
    for tok in tokens:
        if tok.kind == guard.WORD and tok.text.upper() == "DEFINE":
            raise QueryError("DEFINE pragmas are not SPARQL 1.1 and are not accepted")
    allowed = {g for g in (graphs.data, graphs.catalog) if g} if graphs is not None else None
    for at, tok, iri in _iris(tokens):
        bare = tok.kind == guard.PNAME and tok.text.split(":", 1)[0].lower() in ("bif", "sql")
        if bare or (iri is not None and iri.startswith(VIRTUOSO_FUNCTIONS)):
            raise QueryError("backend-specific built-in functions (bif:, sql:) are not accepted")
        before = [t.text.upper() for t in tokens[max(at - 2, 0) : at] if t.kind == guard.WORD]
        if (
            allowed is not None
            and before
            and (before[-1] == "FROM" or before[-2:] == ["FROM", "NAMED"])
        ):
            if iri not in allowed:
                raise QueryError(
                    f"in remote mode FROM and FROM NAMED may name only the published graphs "
                    f"({', '.join(sorted(allowed))})",
                    details={"graphs": sorted(allowed)},
                )


def has_dataset_clause(query: str) -> bool:
    """True when the query names its own dataset (FROM / FROM NAMED)."""
    return any(
        tok.kind == guard.WORD and tok.text.upper() == "FROM" for tok in guard.tokenize(query)
    )


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
#: a blank node written with an invalid label: {"type": "bnode", "value": "nodeID://b1"} (either key first)
_BAD_BNODE = re.compile(
    rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")(nodeID://[^"\\]*)(")'
    rb'|("value"\s*:\s*")(nodeID://[^"\\]*)("\s*,\s*"type"\s*:\s*"bnode")'
)


def _fix_bnodes(body: bytes) -> bytes:
    """SPARQL JSON whose blank-node labels are not valid labels (Virtuoso's ``nodeID://b1``)
    rewritten with valid ones (same label, same node). A linear rewrite of the bytes:
    no JSON tree is built, so a deeply nested answer cannot exhaust the recursion limit."""

    def label(raw: bytes) -> bytes:
        text = raw.decode("utf-8", "replace")
        return ("b" + _BNODE_CHARS.sub(lambda m: f"_{ord(m.group()):x}", text)).encode("ascii")

    def fix(m: re.Match[bytes]) -> bytes:
        if m.group(1) is not None:
            return m.group(1) + label(m.group(2)) + m.group(3)
        return m.group(4) + label(m.group(5)) + m.group(6)

    return _BAD_BNODE.sub(fix, body)


XML_MEDIA = {XML_RESULTS, "application/xml", "application/rdf+xml", "text/xml"}


def _refuse_dtd(body: bytes, media: str) -> None:
    """An XML answer with a document type declaration is refused before any parser sees it:
    pyoxigraph's RDF/XML parser expands internal entities (a 614-byte "billion laughs"
    became a 10 MB literal at 7 levels, each level ×10), and no SPARQL answer needs a DTD."""
    if media in XML_MEDIA and (b"<!DOCTYPE" in body or b"<!ENTITY" in body):
        raise BackendError(
            "the SPARQL backend's XML answer has a document type declaration "
            "(entity definitions are not accepted)"
        )


def _parse_results(body: bytes, media: str) -> Any:
    """pyoxigraph's parse of a SPARQL results document, with blank-node labels repaired
    when the backend writes invalid ones (JSON only)."""
    fmt = RESULT_PARSERS[media]
    _refuse_dtd(body, media)
    if fmt == ox.QueryResultsFormat.JSON and b'"bnode"' in body and b"nodeID://" in body:
        body = _fix_bnodes(body)
    return ox.parse_query_results(body, format=fmt)


def _parse_graph(body: bytes, media: str) -> Iterable[ox.Triple]:
    _refuse_dtd(body, media)
    return (q.triple for q in ox.parse(body, format=GRAPH_PARSERS[media]))


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _message(status: int, body: bytes, credentials: Credentials | None = None) -> str:
    """The backend's error text, short, on one line, without credentials it may echo."""
    text = scrub(body[:2000].decode("utf-8", "replace"), credentials).strip()
    return " ".join(text.split())[:500] or f"HTTP {status}"


def _transport_error(url: str, exc: Exception) -> QueryError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailable(
            f"the SPARQL backend {url} did not answer in time", details={"backend": url}
        )
    return BackendUnavailable(
        f"the SPARQL backend {url} cannot be reached: {type(exc).__name__}",
        details={"backend": url},
    )


def _raise_for_status(url: str, answer: Answer, credentials: Credentials | None = None) -> None:
    status, body = answer.status, answer.body
    if status < 400:
        if answer.headers.get("x-sql-state", "").upper() == "S1TAT":
            raise QueryTimeout(
                "the backend stopped the query at its time limit (partial result refused)",
                details={"backend": url},
            )
        return
    message = _message(status, body, credentials)
    if status == 400:
        if "error at " in message and ":" in message:  # Oxigraph's parser: line and column
            err = syntax_error(message)
            err.details = {"backend": url}
            raise err
        raise BackendRejected(f"the backend refused the query: {message}", details={"backend": url})
    lowered = message.lower()
    if any(w in lowered for w in ("timeout", "timed out", "time limit", "execution time")):
        # Virtuoso refuses a query whose *estimated* time exceeds its limit: the same verdict
        raise QueryTimeout(
            f"the backend stopped or refused the query for its running time: {message}",
            details={"backend": url, "status": status},
        )
    if status in (503, 504):
        raise BackendUnavailable(
            f"the SPARQL backend is unavailable (HTTP {status}): {message}",
            details={"backend": url, "status": status},
        )
    raise BackendError(
        f"the SPARQL backend answered HTTP {status}: {message}",
        details={"backend": url, "status": status},
    )


# --- the one way to talk to the backend ----------------------------------------------
@dataclass
class Answer:
    """A backend answer, read under the byte cap."""

    status: int
    media: str
    headers: httpx.Headers
    body: bytes
    complete: bool  # False: cut at the byte cap (or, for N-Triples, after enough lines)


#: an error answer (status >= 400) is read up to this much: its message is all that is used
ERROR_BYTES = 64 * 1024
#: /health's probe: its own short deadline and cap, no slot (it must answer while queries wait)
PROBE_TIMEOUT = 5.0
#: a failure this recent (and newer than the last success) makes /health say the backend is not ok
RECENT_SECONDS = 60.0


@dataclass
class BackendState:
    """What the recent real exchanges said (``/health`` reports it)."""

    last_ok: float | None = None
    last_failure: tuple[float, str, str] | None = None  # (monotonic time, kind, message)
    failures: dict[str, int] = field(default_factory=dict)

    def record(self, ok: bool, kind: str = "", message: str = "") -> None:
        if ok:
            self.last_ok = time.monotonic()
        else:
            self.last_failure = (time.monotonic(), kind, message[:200])
            self.failures[kind] = self.failures.get(kind, 0) + 1

    def failing(self) -> tuple[str, str] | None:
        """(kind, message) of a failure newer than the last success, within RECENT_SECONDS."""
        if self.last_failure is None:
            return None
        at, kind, message = self.last_failure
        if time.monotonic() - at > RECENT_SECONDS or (
            self.last_ok is not None and self.last_ok > at
        ):
            return None
        return kind, message


class BackendClient:
    """Every exchange with the backend goes through :meth:`exchange`, which bounds it:

    * **bytes**: the answer is read as a stream with a running count and cut at
      ``max_bytes`` (an error answer at 64 KiB); compressed answers are refused
      (``Accept-Encoding: identity`` is sent), so the count is the real size;
    * **time**: one deadline for the whole exchange (waiting for a slot, connecting,
      sending, every read) - not a per-read timeout a dripping backend can renew;
    * **number**: at most ``slots`` exchanges in flight (queries and page lookups
      share them), so a slow backend holds at most that many connections;

    and records the outcome (:class:`BackendState`) for ``/health``. Page lookups run in
    worker threads and reach it with :meth:`exchange_sync` (on the app's event loop).
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials | None,
        *,
        slots: int,
        timeout: float,
        max_bytes: int,
    ) -> None:
        self.url = url
        self.shown = redact(url)  # what messages and /health show: no credentials, no query string
        self.credentials = credentials
        self.slots = slots
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.state = BackendState()
        self.in_flight = 0
        self.waiting = 0
        self.server = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None
        self._probe: tuple[float, dict[str, Any]] | None = None
        self._probing: asyncio.Future[dict[str, Any]] | None = None

    def new_client(self) -> httpx.AsyncClient:
        auth = (
            httpx.BasicAuth(self.credentials.user, self.credentials.password)
            if self.credentials
            else None
        )
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout + 5, connect=5.0),
            limits=httpx.Limits(max_connections=self.slots + 2),
            follow_redirects=False,
            trust_env=False,
            auth=auth,
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.slots)
        self._client = self.new_client()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = self._loop = None

    async def exchange(
        self,
        form: list[tuple[str, str]],
        accept: str,
        *,
        timeout: float | None = None,
        line_cap: int | None = None,
        max_bytes: int | None = None,
        slot: bool = True,
        record: bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> Answer:
        """POST ``form``; the answer (checked: errors raise). Raises :class:`BackendTimeout`
        at the deadline, :class:`BackendBusy` if no slot freed up before it."""
        limit = timeout or self.timeout
        client = client or self._client
        if client is None:
            raise BackendUnavailable(
                "the SPARQL backend client is not started", details={"backend": self.shown}
            )
        waited = False
        try:
            async with asyncio.timeout(limit):
                if slot and self._slots is not None:
                    self.waiting += 1
                    waited = True
                    try:
                        await self._slots.acquire()
                    finally:
                        self.waiting -= 1
                    waited = False
                self.in_flight += 1
                try:
                    answer = await self._read(
                        client, form, accept, line_cap, max_bytes or self.max_bytes
                    )
                finally:
                    self.in_flight -= 1
                    if slot and self._slots is not None:
                        self._slots.release()
        except TimeoutError:
            if waited:
                err: QueryError = BackendBusy(
                    f"all {self.slots} connections to the SPARQL backend stayed busy for {limit:g} s",
                    details={"backend": self.shown, "limit_seconds": limit},
                )
            else:
                err = BackendTimeout(
                    f"the SPARQL backend did not finish its answer within {limit:g} s",
                    details={"backend": self.shown, "limit_seconds": limit},
                )
            if record:
                self.state.record(False, err.code, err.message)
            raise err from None
        except httpx.HTTPError as exc:
            err = _transport_error(self.shown, exc)
            if record:
                self.state.record(False, err.code, err.message)
            raise err from None
        try:
            _raise_for_status(self.shown, answer, self.credentials)
            if answer.status >= 300:
                raise BackendError(
                    f"the SPARQL backend answered HTTP {answer.status}",
                    details={"backend": self.shown, "status": answer.status},
                )
        except (BackendError, BackendUnavailable) as exc:
            if record:
                self.state.record(False, exc.code, exc.message)
            raise
        except QueryError:  # the query's fault (400, its time limit): the backend works
            if record:
                self.state.record(True)
            raise
        if record:
            self.state.record(True)
        return answer

    async def _read(
        self,
        client: httpx.AsyncClient,
        form: list[tuple[str, str]],
        accept: str,
        line_cap: int | None,
        cap: int,
    ) -> Answer:
        headers = {**FORM_HEADERS, "Accept": accept, "Accept-Encoding": "identity"}
        async with client.stream(
            "POST", self.url, content=_form(form), headers=headers
        ) as response:
            media = _media(response.headers.get("content-type"))
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise BackendError(
                    f"the SPARQL backend sent a compressed answer ({encoding[:40]}) "
                    "although it was asked for none",
                    details={"backend": self.shown},
                )
            if response.status_code >= 400:
                cap = min(cap, ERROR_BYTES)
            line_cut = (
                line_cap is not None
                and response.status_code < 400
                and GRAPH_PARSERS.get(media) == ox.RdfFormat.N_TRIPLES
            )
            chunks: list[bytes] = []
            size = lines = 0
            complete = True
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                size += len(chunk)
                if line_cut:
                    lines += chunk.count(b"\n")
                    if lines > line_cap:  # type: ignore[operator]
                        complete = False
                        break
                if size > cap:
                    complete = False
                    break
            body = b"".join(chunks)
            del chunks
            if not complete:
                body = body[: body.rfind(b"\n") + 1] if line_cut else body[:cap]
            return Answer(response.status_code, media, response.headers, body, complete)

    def exchange_sync(self, form: list[tuple[str, str]], accept: str, **kwargs: Any) -> Answer:
        """:meth:`exchange` from a worker thread (the pages), run on the app's event loop so
        the deadline, the byte cap and the slots hold; before the app runs (start-up), on a
        private loop and client."""
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.get_running_loop()
                on_a_loop = True
            except RuntimeError:
                on_a_loop = False
            if not on_a_loop:
                future = asyncio.run_coroutine_threadsafe(
                    self.exchange(form, accept, **kwargs), loop
                )
                limit = (kwargs.get("timeout") or self.timeout) + 10
                try:
                    return future.result(timeout=limit)
                except concurrent.futures.TimeoutError:
                    future.cancel()
                    raise BackendTimeout(
                        f"the SPARQL backend did not answer within {limit:g} s",
                        details={"backend": self.shown},
                    ) from None

        async def private() -> Answer:
            async with self.new_client() as client:
                return await self.exchange(form, accept, client=client, slot=False, **kwargs)

        return asyncio.run(private())

    async def probe(self) -> dict[str, Any]:
        """Ask the backend ``ASK {}`` and combine it with what the recent real exchanges said:
        ``ok`` only if both are fine. Concurrent callers share one probe in flight."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.ensure_future(self._probe_now())
        result = await asyncio.shield(self._probing)
        return {**result, **self._recent()}

    async def _probe_now(self) -> dict[str, Any]:
        now = time.monotonic()
        status: Any
        try:
            answer = await self.exchange(
                [("query", "ASK {}")],
                ACCEPT_TABLE,
                timeout=PROBE_TIMEOUT,
                max_bytes=ERROR_BYTES,
                slot=False,
                record=False,
            )
            self.server = answer.headers.get("server", "")[:200]
            status = answer.status
            reachable = answer.status == 200
            if (
                reachable
                and self.state.failing()
                and self.state.failing()[0] == BackendUnavailable.code
            ):
                self.state.record(
                    True
                )  # it answers again: "unreachable" is over (not so a slow answer)
        except QueryError as exc:
            reachable, status = False, exc.code
        result = {
            "url": self.shown,
            "reachable": reachable,
            "status": status,
            "server": self.server or None,
            "latency_ms": round((time.monotonic() - now) * 1000, 1),
        }
        self._probe = (time.monotonic(), result)
        return result

    def _recent(self) -> dict[str, Any]:
        failing = self.state.failing()
        out: dict[str, Any] = {
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "slots": self.slots,
            "recent_failures": dict(self.state.failures),
        }
        if self.state.last_ok is not None:
            out["last_ok_seconds_ago"] = round(time.monotonic() - self.state.last_ok, 1)
        if failing is not None:
            out["failing"] = {"error": failing[0], "message": failing[1]}
        return out

    def healthy(self) -> bool:
        return bool(self._probe and self._probe[1]["reachable"]) and self.state.failing() is None


class RemotePool:
    """A :class:`~sparql_api.workers.WorkerPool` look-alike that sends jobs to the backend."""

    def __init__(
        self, client: BackendClient, graphs: Graphs, *, prefixes: dict[str, str] | None = None
    ) -> None:
        self.client = client
        self.url = client.url
        self.shown = client.shown
        self.graphs = graphs
        self.size = client.slots
        self.timeout = client.timeout
        self.prefixes = prefixes or {}
        self.info: dict[str, Any] = {
            "named_graphs": [graphs.catalog] if graphs.catalog else [],
            "backend": client.url,
        }
        self.stats = {"timeouts": 0, "backend_errors": 0, "disconnects": 0}

    # lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        await self.client.start()
        await self.probe()

    async def stop(self) -> None:
        await self.client.stop()

    @property
    def alive(self) -> int:
        return self.size if self.client.healthy() else 0

    async def probe(self) -> dict[str, Any]:
        """The backend's state for ``/health``: a probe now and what recent exchanges said."""
        result = await self.client.probe()
        return {
            **result,
            "ok": self.client.healthy(),
            "graphs": {"data": self.graphs.data, "catalog": self.graphs.catalog},
        }

    # queries -----------------------------------------------------------
    async def run(self, job: Job, client: str | None = None) -> Reply:
        check_query(job.query, self.graphs)
        started = time.monotonic()
        accept = (
            ACCEPT_TABLE
            if job.graph_format is None
            else ACCEPT_GRAPH
            if job.table_format is None
            else ACCEPT_ANY
        )
        form = [
            ("query", job.query),
            *dataset_params(job, self.graphs),
            *timeout_param(self.client.server, self.timeout).items(),
        ]
        try:
            answer = await self.client.exchange(form, accept, line_cap=job.max_rows + 1)
        except BackendTimeout:  # the limit is the client's: the same answer as local mode
            self.stats["timeouts"] += 1
            log.warning("remote query stopped at the %g s limit: %.200r", self.timeout, job.query)
            raise QueryTimeout(
                f"the query ran longer than the limit of {self.timeout:g} s and was stopped",
                details={
                    "limit_seconds": self.timeout,
                    "elapsed_seconds": round(time.monotonic() - started, 3),
                },
            ) from None
        except BackendBusy:
            self.stats["timeouts"] += 1
            raise Busy(
                f"all {self.size} connections to the SPARQL backend stayed busy for "
                f"{self.timeout:g} s; try again later",
                details={"backend": self.shown},
            ) from None
        except asyncio.CancelledError:
            self.stats["disconnects"] += 1
            raise
        except QueryError:
            self.stats["backend_errors"] += 1
            raise
        cap = answer.headers.get("x-sparql-maxrows", "")
        backend_cap = int(cap) if cap.isdigit() and int(cap) > 0 else None
        if backend_cap is not None and backend_cap <= job.max_rows:
            # the backend cut the result itself (Virtuoso's ResultSetMaxRows): a full answer
            # may be a cut one, so the last row goes and the result says it is truncated
            job = Job(**{**job.to_dict(), "max_rows": max(backend_cap - 1, 1)})
        outcome = await anyio.to_thread.run_sync(
            self._reserialise, job, answer.media, answer.body, answer.complete
        )
        return Reply(outcome.header(), outcome.body)

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

                    return Outcome(
                        "table",
                        job.table_format,
                        result.serialize(format=RESULT_FORMATS[job.table_format]),
                        1,
                    )
                if job.table_format is None:
                    raise NotAcceptable("no acceptable media type for this SELECT result")
                outcome = _solutions(_Capped(result, job.max_rows, complete), job)
                return outcome
            if media in GRAPH_PARSERS:
                if job.graph_format is None:
                    raise NotAcceptable(
                        "no acceptable media type for this CONSTRUCT/DESCRIBE result"
                    )
                outcome = _triples(_parse_graph(body, media), job, self.prefixes)
                outcome.truncated = outcome.truncated or not complete
                return outcome
        except SyntaxError as exc:
            tail = body[-300:].lower()
            if b"cancelled" in tail or b"timeout" in tail or b"timed out" in tail:
                # Oxigraph's own limit (`--timeout-s`) ends a started 200 answer with this text
                raise QueryTimeout(
                    "the backend stopped the query at its own time limit",
                    details={"backend": self.shown},
                ) from None
            raise BackendError(
                f"the SPARQL backend's answer is malformed ({media}): {_short(exc)}",
                details={"backend": self.shown},
            ) from None
        except (ValueError, RecursionError, UnicodeError, OverflowError, MemoryError) as exc:
            raise BackendError(
                f"the SPARQL backend's answer cannot be read ({media}): {_short(exc)}",
                details={"backend": self.shown},
            ) from None
        raise BackendError(
            f"the SPARQL backend answered an unexpected media type {media[:80] or '(none)'}",
            details={"backend": self.shown},
        )


def _short(exc: BaseException) -> str:
    return scrub(" ".join(str(exc).split())[:300]) or type(exc).__name__


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
                    raise BackendError(
                        "the SPARQL backend's answer is too large; add a LIMIT"
                    ) from None
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


def bind_values(query: str, substitutions: Mapping[str, Term]) -> str:
    """``query`` with ``substitutions`` as a VALUES block opening its outer WHERE group: what
    pyoxigraph's ``substitutions=`` does locally (SEP-0007), for an endpoint that takes only
    the query text. Each term is written by pyoxigraph (an IRI cannot hold ``>``)."""
    names = " ".join(f"?{ox.Variable(name).value}" for name in substitutions)
    terms = " ".join(str(term) for term in substitutions.values())
    bound, n = re.subn(
        r"\bWHERE\s*\{",
        lambda m: f"{m.group(0)} VALUES ({names}) {{ ({terms}) }}",
        query,
        count=1,
        flags=re.IGNORECASE,
    )
    if not n:
        raise ValueError("a query with substitutions needs a WHERE { ... } group")
    return bound


class RemoteDescriber(Describer):
    """The :class:`~sparql_api.describe.Describer` over a SPARQL endpoint (same triples).

    Its lookups run in the pages' worker threads; each is one bounded exchange of the
    shared :class:`BackendClient` (deadline, byte cap, slots), so a slow backend holds a
    thread for at most the time limit and the pages recover with the backend."""

    def __init__(
        self, client: BackendClient, graphs: Graphs, *, named_graphs: Iterable[str] = ()
    ) -> None:
        self.client = client
        self.url = client.url
        self.shown = client.shown
        self.graphs = graphs
        self.timeout = client.timeout
        self.named_graphs = [g for g in named_graphs if g]
        self.store = None  # type: ignore[assignment]
        self._prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())

    def _remote(self, graph: str | None) -> str:
        """Where the local graph ``graph`` (None: the default graph) lives on the backend."""
        return self.graphs.data if graph is None else graph

    def _post(
        self, query: str, accept: str, dataset: list[tuple[str, str]] = ()
    ) -> tuple[str, bytes]:
        answer = self.client.exchange_sync([("query", query), *dataset], accept)
        if not answer.complete:
            raise BackendError(
                f"the SPARQL backend's answer to a page lookup is larger than "
                f"{self.client.max_bytes} bytes",
                details={"backend": self.shown},
            )
        return answer.media, answer.body

    @_detach
    def _rows(self, query: str, dataset: list[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        media, body = self._post(query, ACCEPT_TABLE, dataset)
        if media not in RESULT_PARSERS:
            raise BackendError(
                f"the SPARQL backend answered {media[:80] or '(none)'} to a SELECT",
                details={"backend": self.shown},
            )
        try:
            result = _parse_results(body, media)
            names = [v.value for v in result.variables]  # type: ignore[union-attr]
            return [{n: s[n] for n in names if s[n] is not None} for s in result]  # type: ignore[union-attr]
        except (
            SyntaxError,
            ValueError,
            RecursionError,
            UnicodeError,
            OverflowError,
            MemoryError,
        ) as exc:
            raise BackendError(
                f"the SPARQL backend's answer is malformed: {_short(exc)}",
                details={"backend": self.shown},
            ) from None

    @_detach
    def _construct(self, query: str) -> list[ox.Triple]:
        media, body = self._post(query, ACCEPT_GRAPH)
        if media not in GRAPH_PARSERS:
            raise BackendError(
                f"the SPARQL backend answered {media[:80] or '(none)'} to a CONSTRUCT",
                details={"backend": self.shown},
            )
        try:
            return list(_parse_graph(body, media))
        except (
            SyntaxError,
            ValueError,
            RecursionError,
            UnicodeError,
            OverflowError,
            MemoryError,
        ) as exc:
            raise BackendError(
                f"the SPARQL backend's answer is malformed: {_short(exc)}",
                details={"backend": self.shown},
            ) from None

    # -- the primitives of Describer.describe ---------------------------------
    def graph_of(self, iri: str) -> str | None | bool:
        node = ox.NamedNode(iri)
        local = [None, *self.named_graphs]
        values = " ".join(_iri(self._remote(g)) for g in local)
        rows = self._rows(
            f"SELECT DISTINCT ?g WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ {_iri(node)} ?p ?o }} }}"
        )
        found = {r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode)}
        for graph in local:
            if self._remote(graph) in found:
                return graph
        return False

    def _own(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        return self._construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{\n"
            f"{_bnode_paths(_iri(node), BNODE_DEPTH)} }} }}"
        )

    def _ontology_terms(self, graph: str | None) -> list[ox.Triple]:
        start = "?t"
        where = (
            f"?t {_iri(IS_DEFINED_BY)} {_iri(ONTOLOGY_IRI)} FILTER(isIRI(?t)) "
            f"{{ {_bnode_paths(start, BNODE_DEPTH)} }}"
        )
        return self._construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(self._remote(graph))} {{ {where} }} }}"
        )

    def _incoming(self, node: ox.NamedNode, graph: str | None) -> list[ox.Triple]:
        rows = self._rows(
            f"SELECT ?s ?p WHERE {{ GRAPH {_iri(self._remote(graph))} {{ ?s ?p {_iri(node)} "
            f"FILTER(?p != {_iri(RDF_TYPE)} && ?p != {_iri(IS_DEFINED_BY)}) }} }} LIMIT {MAX_INCOMING}"
        )
        return [ox.Triple(r["s"], r["p"], node) for r in rows if "s" in r and "p" in r]

    def _labels_of(self, nodes: list[ox.NamedNode], graph: str | None) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        preds = " ".join(_iri(p) for p in LABELS)
        for i in range(0, len(nodes), LABEL_BATCH):
            values = " ".join(_iri(n) for n in nodes[i : i + LABEL_BATCH])
            rows = self._rows(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH {_iri(self._remote(graph))} {{ "
                f"VALUES ?s {{ {values} }} VALUES ?p {{ {preds} }} ?s ?p ?o }} }}"
            )
            out.extend(ox.Triple(r["s"], r["p"], r["o"]) for r in rows if len(r) == 3)
        return out

    def select(
        self,
        query: str,
        graph: str | None = None,
        *,
        substitutions: Mapping[str, Term] | None = None,
    ) -> list[dict[str, Any]]:
        query = bind_values(query, substitutions) if substitutions else query
        return self._rows(self._prologue + query, [("default-graph-uri", self._remote(graph))])

    def close(self) -> None:
        pass  # the client belongs to the backend (closed with the pool)


def check_backend(client: BackendClient, graphs: Graphs, timeout: float = 10.0) -> str:
    """Raise :class:`BackendUnavailable`/:class:`BackendError` unless the backend answers a
    SPARQL query and holds the data graph; return its ``Server`` header."""
    url = client.shown
    answer = client.exchange_sync(
        [("query", f"ASK {{ GRAPH <{graphs.data}> {{ ?s ?p ?o }} }}")],
        ACCEPT_TABLE,
        timeout=timeout,
        max_bytes=ERROR_BYTES,
        record=False,
    )
    try:
        result = _parse_results(answer.body, answer.media)
    except (KeyError, SyntaxError, ValueError) as exc:
        raise BackendError(f"{url} does not answer like a SPARQL endpoint: {_short(exc)}") from None
    if not (isinstance(result, ox.QueryBoolean) and bool(result)):
        raise BackendError(
            f"{url} holds no graph <{graphs.data}>: run `dipkg publish --to <its store URL>` first"
        )
    return answer.headers.get("server", "")
