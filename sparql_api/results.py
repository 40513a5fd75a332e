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
from typing import Any

import pyoxigraph as ox

from dipkg.core.serialize import term_json
from sparql_api.errors import NotAcceptable, QueryEvaluationError, ResultTooLarge
from sparql_api.syntax import syntax_error

RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
}
_WITH_PREFIXES = {"turtle", "trig", "rdfxml"}
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


def _term_size(term: Any) -> int:
    """A lower bound of a term's serialised size (its value's length), cheap to take."""
    if isinstance(term, ox.Triple):
        return _term_size(term.subject) + _term_size(term.predicate) + _term_size(term.object)
    return len(term.value)


def evaluate(store: ox.Store, job: Job, prefixes: dict[str, str] | None = None) -> Outcome:
    """Run ``job`` on ``store``; raise a :class:`~dipkg.core.errors.DipkgError` on failure."""
    try:
        dataset = _dataset(job)
    except ValueError as exc:
        raise QueryEvaluationError(f"invalid graph IRI: {exc}") from None
    try:
        result = store.query(job.query, **dataset)
    except SyntaxError as exc:
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
            return _solutions(result, job)
        if job.graph_format is None:
            raise _not_acceptable("CONSTRUCT/DESCRIBE")
        return _triples(result, job, prefixes)
    except OSError:  # raised while iterating (evaluation is lazy)
        raise _io_error() from None
    except RuntimeError as exc:
        raise QueryEvaluationError(f"the query failed: {exc}") from None


def _solutions(result: ox.QuerySolutions, job: Job) -> Outcome:
    variables = [v.value for v in result.variables]
    count = len(variables)
    bindings: list[dict[str, Any]] = []
    truncated = False
    size = 0  # a lower bound of the serialised size: stop before building a huge document
    for solution in result:
        if len(bindings) >= job.max_rows:
            truncated = True
            break
        row: dict[str, Any] = {}
        for i in range(count):
            term = solution[i]
            if term is not None:
                size += _term_size(term)
                row[variables[i]] = term_json(term)
        if size > job.max_bytes:
            raise too_large(job.max_bytes, len(bindings) + 1)
        bindings.append(row)
    doc: dict[str, Any] = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    if job.table_format == "json":
        if truncated:
            doc["truncated"] = True
            doc["note"] = (
                f"result truncated to the first {job.max_rows} rows (the endpoint's row cap); "
                "use LIMIT/OFFSET to page through it"
            )
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    else:
        raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            parsed = ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON)
            body = parsed.serialize(format=RESULT_FORMATS[job.table_format])
        except (
            MemoryError
        ):  # the engine's reader stops at one value over 16 MiB ("buffer maximal size")
            raise ResultTooLarge(
                f"a value in the result is longer than the {job.table_format.upper()} writer's limit of "
                "16 MiB and was not sent; ask for SPARQL JSON or shorter values",
                details={"limit_bytes": 16 * 1024 * 1024},
            ) from None
    return Outcome("table", job.table_format, _check_body(body, job), len(bindings), truncated)


def _triples(result: Any, job: Job, prefixes: dict[str, str] | None) -> Outcome:
    triples = []
    truncated = False
    size = 0
    for triple in result:
        if len(triples) >= job.max_rows:
            truncated = True
            break
        size += _term_size(triple)
        if size > job.max_bytes:
            raise too_large(job.max_bytes, len(triples) + 1)
        triples.append(triple)
    fmt = job.graph_format
    kwargs: dict[str, Any] = {}
    if prefixes and fmt in _WITH_PREFIXES:
        kwargs["prefixes"] = prefixes
    if fmt in ("nquads", "trig"):
        items: list[Any] = [
            ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples
        ]
    else:
        items = triples
    body = ox.serialize(items, format=GRAPH_FORMATS[fmt], **kwargs)
    return Outcome("graph", fmt, _check_body(body, job), len(triples), truncated)
