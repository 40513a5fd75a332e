"""Evaluate one query on a store and serialise the result to bytes, with the row cap.

Runs inside a worker process (:mod:`sparql_api.workers`); kept free of any web
import so a worker starts fast. A SELECT result is cut at ``max_rows`` rows, a
CONSTRUCT/DESCRIBE result at ``max_rows`` triples; a cut result says so
(``truncated`` in the returned header, which the app turns into the
``X-Dipkg-Truncated`` header, and a ``truncated``/``note`` member in SPARQL JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pyoxigraph as ox

from dipkg.core import formats
from dipkg.core.serialize import term_json
from sparql_api.errors import NotAcceptable, QueryEvaluationError, ResultTooLarge

#: serialiser key -> pyoxigraph format, from the one registry (dipkg/core/formats.py)
RESULT_FORMATS = {f.key: f.results for f in formats.FORMATS if f.results is not None}
GRAPH_FORMATS = {f.key: f.rdf for f in formats.FORMATS if f.rdf is not None}
WITH_PREFIXES = {f.key for f in formats.FORMATS if f.rdf is not None and f.prefixes}
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # Settings.max_result_bytes


@dataclass
class Job:
    """One query as the app hands it to a worker."""

    query: str
    table_format: str | None  # key of RESULT_FORMATS for SELECT/ASK (None: not acceptable)
    graph_format: str | None  # key of GRAPH_FORMATS for CONSTRUCT/DESCRIBE
    max_rows: int
    default_graph: list[str] | None = None
    named_graphs: list[str] | None = None
    union_default_graph: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES  # largest serialised result (503 result-too-large beyond)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Outcome:
    kind: str  # "table" or "graph"
    format: str
    body: bytes
    rows: int
    truncated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        return {
            "ok": True,
            "kind": self.kind,
            "format": self.format,
            "rows": self.rows,
            "truncated": self.truncated,
        }


def _dataset(job: Job) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if job.union_default_graph:
        kwargs["use_default_graph_as_union"] = True
    if job.default_graph:
        kwargs["default_graph"] = [ox.NamedNode(iri) for iri in job.default_graph]
    if job.named_graphs:
        kwargs["named_graphs"] = [ox.NamedNode(iri) for iri in job.named_graphs]
    return kwargs


def _not_acceptable(kind: str) -> NotAcceptable:
    return NotAcceptable(f"no acceptable media type for this {kind} result")


def _io_error() -> QueryEvaluationError:
    """An input/output error during evaluation, without pyoxigraph's message: if a
    request to another server ever got past the guard and the sandbox, that message
    would carry the remote target's status and body (a way to read internal services)."""
    return QueryEvaluationError(
        "the query failed with an input/output error (details are not shown)"
    )


def too_large(limit: int, rows: int | None = None) -> ResultTooLarge:
    mib = limit / (1024 * 1024)
    shown = f"{mib:g} MiB" if mib >= 1 else f"{limit:,} bytes"
    where = f" (at row {rows:,})" if rows is not None else ""
    return ResultTooLarge(
        f"the result is larger than the endpoint's limit of {shown}{where} and was not sent; "
        "ask for fewer rows (LIMIT) or shorter values",
        details={"limit_bytes": limit},
    )


def _check_body(body: bytes, job: Job) -> bytes:
    if len(body) > job.max_bytes:
        raise too_large(job.max_bytes)
    return body


def _buffer_limit(exc: MemoryError) -> bool:
    """Whether ``exc`` is Oxigraph's reader limit ("Reached the buffer maximal size of
    16777216"), not the process out of memory."""
    return "buffer maximal size" in str(exc)


class _Full(Exception):
    """Raised inside a writer's ``write`` to stop it: the row cap is reached."""


class _TsvSink:
    """The output of Oxigraph's TSV writer, cut after ``max_rows`` rows and refused
    over ``max_bytes``. TSV writes one line per row (values are N-Triples terms,
    newlines escaped), so counting ``\\n`` counts rows without a Python object per term."""

    def __init__(self, max_rows: int, max_bytes: int, limit: int, show_row: bool = True) -> None:
        self.lines = max_rows + 1  # the header line, then the rows
        self.max_bytes = max_bytes
        self.limit = limit  # the endpoint's limit, for the message
        # the row where the TSV went over: only meaningful when TSV is what was asked for
        # (a JSON, XML or CSV body written from it goes over at another row, or not at all)
        self.show_row = show_row
        self.parts: list[bytes] = []
        self.size = 0
        self.seen = 0  # newlines kept
        self.truncated = False

    def write(self, chunk: bytes) -> int:
        chunk = bytes(chunk)
        room = self.lines - self.seen
        found = chunk.count(b"\n")
        if found >= room:  # the cap falls in this chunk: keep up to its last row
            cut = -1
            for _ in range(room):
                cut = chunk.index(b"\n", cut + 1)
            if chunk[cut + 1 :]:  # more after the last allowed row
                self.truncated = True
            chunk, found = chunk[: cut + 1], room
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise too_large(self.limit, max(self.seen, 1) if self.show_row else None)
        self.parts.append(chunk)
        self.seen += found
        if self.truncated:
            raise _Full
        return len(chunk)

    def flush(self) -> None:
        pass

    def body(self) -> bytes:
        return b"".join(self.parts)


class _LimitSink:
    """A writer's output, refused (503 result-too-large) over ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        self.parts.append(bytes(chunk))
        return len(chunk)

    def flush(self) -> None:
        pass

    def body(self) -> bytes:
        return b"".join(self.parts)


def evaluate(store: ox.Store, job: Job, prefixes: dict[str, str] | None = None) -> Outcome:
    """Run ``job`` on ``store``; raise a :class:`~dipkg.core.errors.DipkgError` on failure."""
    try:
        dataset = _dataset(job)
    except ValueError as exc:
        raise QueryEvaluationError(f"invalid graph IRI: {exc}") from None
    try:
        result = store.query(job.query, **dataset)
    except SyntaxError as exc:
        # lazy: its tokenizer costs ~120 ms of import; only a bad query needs it
        from sparql_api.syntax import syntax_error

        raise syntax_error(str(exc), job.query) from None
    except OSError:
        raise _io_error() from None
    except (RuntimeError, ValueError) as exc:
        raise QueryEvaluationError(f"the query failed: {exc}") from None
    try:
        if isinstance(result, ox.QueryBoolean):
            if job.table_format is None:
                raise _not_acceptable("ASK")
            body = result.serialize(format=RESULT_FORMATS[job.table_format])
            return Outcome("table", job.table_format, _check_body(body, job), 1)
        if isinstance(result, ox.QuerySolutions):
            if job.table_format is None:
                raise _not_acceptable("SELECT")
            return _solutions(result, job, store)
        if job.graph_format is None:
            raise _not_acceptable("CONSTRUCT/DESCRIBE")
        return _triples(result, job, prefixes)
    except OSError:  # raised while iterating (evaluation is lazy)
        raise _io_error() from None
    except RuntimeError as exc:
        raise QueryEvaluationError(f"the query failed: {exc}") from None


def _solutions(result: Any, job: Job, store: ox.Store | None = None) -> Outcome:
    """Oxigraph's TSV writer counts and caps the rows (one line each); the other formats
    are Oxigraph's writers on the capped TSV read back, all in the engine's code.

    Any other iterable of solutions (with ``variables``; the remote mode's capped
    answer) is written term by term (:func:`_solutions_terms`)."""
    if not isinstance(result, ox.QuerySolutions):
        return _solutions_terms(result, job)
    fmt = job.table_format
    assert fmt is not None
    # TSV is no larger than SPARQL JSON or XML for the same rows; CSV can be smaller
    # (IRIs without <>, typed values bare), so its TSV gets more room before the final check
    sink = _TsvSink(
        job.max_rows,
        job.max_bytes * (4 if fmt == "csv" else 1),
        job.max_bytes,
        show_row=fmt == "tsv",
    )
    try:
        result.serialize(sink, format=ox.QueryResultsFormat.TSV)
    except _Full:
        pass
    rows, truncated = sink.seen - 1, sink.truncated
    tsv = sink.body()
    if fmt == "tsv":
        body = tsv
    else:
        del sink
        try:
            parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
            body = parsed.serialize(format=RESULT_FORMATS[fmt])
        except MemoryError as exc:
            # the engine's reader stops at one value over 16 MiB ("buffer maximal size");
            # any other MemoryError is the worker out of memory: it answers 503 and retires
            if not _buffer_limit(exc):
                raise
            if fmt == "json" and store is not None:  # evaluated again, term by term
                return _solutions_terms(store.query(job.query, **_dataset(job)), job)
            raise ResultTooLarge(
                f"a value in the result is longer than the {fmt.upper()} writer's limit of "
                "16 MiB and was not sent; ask for SPARQL JSON or shorter values",
                details={"limit_bytes": 16 * 1024 * 1024},
            ) from None
        if fmt == "json" and truncated:
            note = json.dumps(
                f"result truncated to the first {job.max_rows} rows (the endpoint's row cap); "
                "use LIMIT/OFFSET to page through it",
                ensure_ascii=False,
            ).encode("utf-8")
            # the members after "results", as the term-by-term writer puts them
            body = body[:-1] + b',"truncated":true,"note":' + note + b"}"
    return Outcome("table", fmt, _check_body(body, job), rows, truncated)


def _term_size(term: Any) -> int:
    """A lower bound of a term's serialised size (its value's length), cheap to take."""
    if isinstance(term, ox.Triple):
        return _term_size(term.subject) + _term_size(term.predicate) + _term_size(term.object)
    return len(term.value)


def _solutions_terms(result: Any, job: Job) -> Outcome:
    """SPARQL JSON built term by term (other formats: Oxigraph's writers on it read back).
    For solutions that are not the engine's own (the remote mode), and for a value over
    the engine's 16 MiB reader limit, which SPARQL JSON can still carry."""
    variables = [v.value for v in result.variables]
    bindings: list[dict[str, Any]] = []
    truncated = False
    size = 0  # a lower bound of the serialised size: stop before building a huge document
    for solution in result:
        if len(bindings) >= job.max_rows:
            truncated = True
            break
        row: dict[str, Any] = {}
        for i, name in enumerate(variables):
            term = solution[i]
            if term is not None:
                size += _term_size(term)
                row[name] = term_json(term)
        if size > job.max_bytes:
            raise too_large(job.max_bytes, len(bindings) + 1)
        bindings.append(row)
    doc: dict[str, Any] = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    fmt = job.table_format
    assert fmt is not None
    if fmt == "json" and truncated:
        doc["truncated"] = True
        doc["note"] = (
            f"result truncated to the first {job.max_rows} rows (the endpoint's row cap); "
            "use LIMIT/OFFSET to page through it"
        )
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt != "json":
        try:
            parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            body = parsed.serialize(format=RESULT_FORMATS[fmt])
        except MemoryError as exc:  # the engine's reader stops at one value over 16 MiB
            if not _buffer_limit(exc):
                raise  # the worker out of memory: it answers 503 and retires
            raise ResultTooLarge(
                f"a value in the result is longer than the {fmt.upper()} writer's limit of "
                "16 MiB and was not sent; ask for SPARQL JSON or shorter values",
                details={"limit_bytes": 16 * 1024 * 1024},
            ) from None
    return Outcome("table", fmt, _check_body(body, job), len(bindings), truncated)


def _triples(result: Any, job: Job, prefixes: dict[str, str] | None) -> Outcome:
    triples = list(islice(result, job.max_rows + 1))  # Triple objects; no term is read
    truncated = len(triples) > job.max_rows
    if truncated:
        triples.pop()
    fmt = job.graph_format
    assert fmt is not None
    kwargs: dict[str, Any] = {}
    if prefixes and fmt in WITH_PREFIXES:
        kwargs["prefixes"] = prefixes
    if GRAPH_FORMATS[fmt].supports_datasets:  # N-Quads, TriG: the default graph
        items: list[Any] = [
            ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples
        ]
    else:
        items = triples
    sink = _LimitSink(job.max_bytes)
    ox.serialize(items, sink, format=GRAPH_FORMATS[fmt], **kwargs)
    return Outcome("graph", fmt, _check_body(sink.body(), job), len(triples), truncated)
