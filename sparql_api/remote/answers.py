"""What comes back from the backend: the media types asked for, hardened parsing (no DTD,
repaired blank-node labels), an HTTP status as the endpoint's error, and the row cap over
an answer cut at the byte cap."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pyoxigraph as ox

from dipkg.core import formats
from dipkg.core.credentials import Credentials, scrub
from sparql_api.errors import QueryError, QueryTimeout
from sparql_api.remote.errors import BackendError, BackendRejected, BackendUnavailable
from sparql_api.syntax import syntax_error

T = TypeVar("T")

#: what the backend is asked for, by preference: SELECT/ASK results, then graphs
ASKED_RESULTS: tuple[formats.Format, ...] = (formats.SPARQL_JSON, formats.SPARQL_XML)
ASKED_GRAPHS: tuple[formats.Format, ...] = (formats.N_TRIPLES, formats.TURTLE, formats.RDF_XML)

JSON_RESULTS = formats.SPARQL_JSON.media_type
XML_RESULTS = formats.SPARQL_XML.media_type
N_TRIPLES = formats.N_TRIPLES.media_type
ACCEPT_TABLE = f"{JSON_RESULTS}, {XML_RESULTS};q=0.5"
ACCEPT_GRAPH = (
    f"{N_TRIPLES}, {formats.N_TRIPLES.read_aliases[0]};q=0.9, "
    f"{formats.TURTLE.media_type};q=0.5, {formats.RDF_XML.media_type};q=0.3"
)
ACCEPT_ANY = f"{ACCEPT_TABLE}, {ACCEPT_GRAPH}"


def _readable(asked: tuple[formats.Format, ...]) -> list[tuple[str, formats.Format]]:
    """The media types an answer in one of the ``asked`` formats is read under: the format's
    own and those other servers label it with (its ``read_aliases``), not its other aliases
    (``application/turtle``, RDF/XML's ``application/xml``), which stay refused."""
    return [(media, f) for f in asked for media in (f.media_type, *f.read_aliases)]


RESULT_PARSERS: dict[str, ox.QueryResultsFormat] = {
    media: f.results for media, f in _readable(ASKED_RESULTS) if f.results is not None
}
GRAPH_PARSERS: dict[str, ox.RdfFormat] = {
    media: f.rdf for media, f in _readable(ASKED_GRAPHS) if f.rdf is not None
}


@dataclass
class Answer:
    """A backend answer, read under the byte cap."""

    status: int
    media: str
    headers: httpx.Headers
    body: bytes
    complete: bool  # False: cut at the byte cap (or, for N-Triples, after enough lines)


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
#: a blank node written with an invalid label: {"type": "bnode", "value": "nodeID://b1"} (either key
#: first)
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


#: what pyoxigraph's parsers raise on an answer they cannot read (malformed or hostile)
UNREADABLE: tuple[type[Exception], ...] = (
    SyntaxError,
    ValueError,
    RecursionError,
    UnicodeError,
    OverflowError,
    MemoryError,
)


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
    """The backend's error text, short, on one line, without credentials it may echo.

    Scrubbed whole (the reader keeps at most 64 KiB of an error), then cut: cut first, a
    password the cut splits is no longer found, and its start was shown (a backend's
    indented page collapses its whitespace, so the cut could fall in the 500 shown)."""
    text = scrub(body.decode("utf-8", "replace"), credentials).strip()
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


def _raise_for_status(
    url: str, answer: Answer, credentials: Credentials | None = None, query: str = ""
) -> None:
    """Raise the error ``answer`` stands for, if any. ``query``: the text the backend was
    sent, so that a syntax error reads as in local mode (an undeclared prefix named, with
    its place in the query)."""
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
            err = syntax_error(message, query)
            err.details = {**err.details, "backend": url}
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


def _short(exc: BaseException) -> str:
    return " ".join(scrub(str(exc)).split())[:300] or type(exc).__name__


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
