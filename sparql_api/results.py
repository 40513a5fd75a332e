"""Evaluate one query on a store and serialise the result to bytes, with the row cap.

Runs inside a worker process (:mod:`sparql_api.workers`); kept free of any web
import so a worker starts fast. A SELECT result is cut at ``max_rows`` rows, a
CONSTRUCT/DESCRIBE result at ``max_rows`` triples; a cut result says so
(``truncated`` in the returned header, which the app turns into the
``X-Dipkg-Truncated`` header, and a ``truncated``/``note`` member in SPARQL JSON).

A result up to :data:`SPOOL_THRESHOLD` bytes is kept in memory and sent through the
worker's pipe; a larger one is written, as Oxigraph's writers produce it, to the
spool file the pool named for this worker (:class:`Spool`; the intermediate TSV of a
SELECT answered in XML or CSV, or in JSON with an empty row, to its ``.tsv`` twin), so
neither process ever holds it whole. A failed
query leaves no spool file behind (:func:`evaluate` removes both).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from dipkg.core import formats
from dipkg.core.serialize import term_json
from sparql_api.errors import (
    NotAcceptable,
    QueryEvaluationError,
    ResultTooLarge,
    SpoolFailed,
    quoted,
)

#: serialiser key -> pyoxigraph format, from the one registry (dipkg/core/formats.py)
RESULT_FORMATS = {f.key: f.results for f in formats.FORMATS if f.results is not None}
GRAPH_FORMATS = {f.key: f.rdf for f in formats.FORMATS if f.rdf is not None}
WITH_PREFIXES = {f.key for f in formats.FORMATS if f.rdf is not None and f.prefixes}
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # Settings.max_result_bytes
#: A result larger than this goes to the worker's spool file instead of its pipe.
SPOOL_THRESHOLD = 1024 * 1024
#: Write buffer of a spool file (Oxigraph's writers hand over 8 KiB at a time).
_FILE_BUFFER = 256 * 1024


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


@dataclass(frozen=True)
class Spool:
    """Where a worker writes a result over ``threshold`` bytes: ``path`` (named by the
    pool, one per worker; a SELECT's intermediate TSV goes to ``path + ".tsv"``)."""

    path: str
    threshold: int = SPOOL_THRESHOLD

    @property
    def tsv(self) -> str:
        return self.path + ".tsv"

    def remove(self) -> None:
        for name in (self.path, self.tsv):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


@dataclass
class Outcome:
    kind: str  # "table" or "graph"
    format: str
    body: bytes  # empty when spooled
    rows: int
    truncated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    #: the body is in the spool file (complete and closed), ``length`` bytes long
    spooled: bool = False
    length: int = -1

    def __post_init__(self) -> None:
        if self.length < 0:
            self.length = len(self.body)

    def header(self) -> dict[str, Any]:
        return {
            "ok": True,
            "kind": self.kind,
            "format": self.format,
            "rows": self.rows,
            "truncated": self.truncated,
        }


def _dataset(job: Job) -> dict[str, Any]:
    """The request's dataset. ``default-graph-uri`` or ``named-graph-uri`` name all of it
    (SPARQL 1.1 Protocol §2.1.4, as FROM and FROM NAMED do in the query): with only one
    kind given, the other part is empty, not the store's (``named-graph-uri`` alone left
    the whole data as the default graph)."""
    kwargs: dict[str, Any] = {}
    if job.union_default_graph:
        kwargs["use_default_graph_as_union"] = True
    if job.default_graph or job.named_graphs:
        if not job.union_default_graph:
            kwargs["default_graph"] = [ox.NamedNode(iri) for iri in job.default_graph or ()]
        kwargs["named_graphs"] = [ox.NamedNode(iri) for iri in job.named_graphs or ()]
    return kwargs


def _not_acceptable(kind: str) -> NotAcceptable:
    return NotAcceptable(f"no acceptable media type for this {kind} result")


#: XML's NameStartChar without ":" (a local name's first character) and the rest of NameChar
_XML_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
    "\U00010000-\U000effff"
)
_XML_LOCAL_NAME = re.compile(
    f"[{_XML_NAME_START}][-.0-9\u00b7\u0300-\u036f\u203f-\u2040{_XML_NAME_START}]*$"
)


def _rdf_xml_predicate(iri: str, known: dict[str, bool]) -> None:
    """Refuse (406) a predicate RDF/XML cannot write: an element name is a namespace and
    an XML local name, so the IRI must end in one (``http://ex/1``, ``…/p/`` do not).
    Oxigraph's writer wrote ``<oxprefix: xmlns:oxprefix="http://ex/1">``, which no XML
    parser reads, with a 200."""
    ok = known.get(iri)
    if ok is None:
        ok = known[iri] = _XML_LOCAL_NAME.search(iri) is not None
    if not ok:
        raise NotAcceptable(
            f"RDF/XML cannot write the predicate <{quoted(iri)}> (its IRI does not end in an XML "
            "name); ask for Turtle, N-Triples or JSON-LD",
            details={"predicate": quoted(iri), "format": "rdfxml"},
        )


#: bytes XML 1.0 cannot carry, not even as a character reference: the C0 controls but
#: tab, LF and CR (none is a byte of a longer UTF-8 sequence, so bytes are searched),
#: and U+FFFE and U+FFFF (``EF BF BE``, ``EF BF BF``: no other character's UTF-8 holds
#: these three bytes in a row)
_NOT_XML = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
#: the bytes of a match :data:`_NOT_XML` can split between two writes, less one
_NOT_XML_SPAN = 2
#: the formats that are XML 1.0 documents
XML_FORMATS = frozenset({"xml", "rdfxml"})


def _xml_only(chunk: bytes, fmt: str, before: bytes = b"") -> bytes:
    """``chunk`` of XML output, its carriage returns as ``&#13;`` (a parser reads a raw one
    as a line feed: ``"c\\rd"`` came back as ``"c\\nd"``); refused (406) when it holds a
    character XML 1.0 cannot carry (a value such as ``"a\\u0007b"`` or ``"\\uFFFE"`` a query
    made): Oxigraph's writers wrote it raw, a 200 no XML parser reads. ``before``: the
    last bytes of the previous write as it came (at most :data:`_NOT_XML_SPAN`), so a
    character split between two writes is found."""
    found = _NOT_XML.search(before + chunk) if before else _NOT_XML.search(chunk)
    if found is not None:
        code = f"U+{ord(found.group().decode()):04X}"
        others = "SPARQL JSON, CSV or TSV" if fmt == "xml" else "Turtle, N-Triples or JSON-LD"
        raise NotAcceptable(
            f"the result holds the character {code}, which XML 1.0 cannot carry; ask for {others}",
            details={"character": code, "format": fmt},
        )
    # (Oxigraph's XML writers put a CR nowhere but in a value: no markup of theirs has one)
    return chunk.replace(b"\r", b"&#13;") if b"\r" in chunk else chunk


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


def _check_body(body: bytes, job: Job, fmt: str | None = None) -> bytes:
    if fmt in XML_FORMATS:
        body = _xml_only(body, fmt)
    if len(body) > job.max_bytes:
        raise too_large(job.max_bytes)
    return body


def _buffer_limit(exc: MemoryError) -> bool:
    """Whether ``exc`` is Oxigraph's reader limit ("Reached the buffer maximal size of
    16777216"), not the process out of memory."""
    return "buffer maximal size" in str(exc)


class _Full(Exception):
    """Raised inside a writer's ``write`` to stop it: the row cap is reached."""


class _Output:
    """Where a writer's bytes go: memory up to the spool threshold, then the spool file
    (without a spool, memory only). Refused (503 result-too-large) over ``max_bytes``,
    checked on every write, so an oversized result stops while it is written."""

    def __init__(self, max_bytes: int, path: str | None = None, threshold: int = 0) -> None:
        self.max_bytes = max_bytes
        self.path = path
        self.threshold = threshold
        self.parts: list[bytes] = []
        self.size = 0
        self.file: Any = None
        self.last = b""  # the last byte kept

    def too_large(self) -> ResultTooLarge:
        return too_large(self.max_bytes)

    def keep(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.max_bytes:
            raise self.too_large()
        self.size += len(chunk)
        if chunk:
            self.last = chunk[-1:]
        if self.file is not None:
            self._write(chunk)
            return
        self.parts.append(chunk)
        if self.path is not None and self.size > self.threshold:
            try:
                self.file = open(self.path, "wb", buffering=_FILE_BUFFER)  # noqa: SIM115
            except OSError as exc:
                raise _spool_failed(exc) from None
            parts, self.parts = self.parts, []
            for part in parts:
                self._write(part)

    def _write(self, chunk: bytes) -> None:
        try:
            self.file.write(chunk)
        except OSError as exc:  # the disk is full: 503, never a short body
            raise _spool_failed(exc) from None

    def write(self, chunk: bytes) -> int:
        self.keep(bytes(chunk))
        return len(chunk)

    def flush(self) -> None:
        pass

    def drop_last(self, expected: bytes) -> None:
        """Take back the last byte written (``expected``: the closing brace of SPARQL JSON)."""
        if self.last != expected:
            raise ValueError(f"the writer's output does not end with {expected!r}")
        if self.file is None:
            while not self.parts[-1]:
                self.parts.pop()
            self.parts[-1] = self.parts[-1][:-1]
        else:
            self.file.seek(self.size - 1)  # flushes the buffer first
            self.file.truncate()
        self.size -= 1
        self.last = b""

    @property
    def spooled(self) -> bool:
        return self.file is not None

    def close(self) -> None:
        """Finish the spool file (flushed and closed: complete before it is announced)."""
        if self.file is not None:
            try:
                self.file.close()
            except OSError as exc:
                raise _spool_failed(exc) from None

    def body(self) -> bytes:
        return b"".join(self.parts)


def _spool_failed(exc: OSError) -> SpoolFailed:
    return SpoolFailed(
        f"the result could not be written to the server's spool folder "
        f"({os.strerror(exc.errno) if exc.errno else type(exc).__name__}); try again later"
    )


class _TsvSink(_Output):
    """The output of Oxigraph's TSV writer, cut after ``max_rows`` rows and refused
    over ``max_bytes``. TSV writes one line per row (values are N-Triples terms,
    newlines escaped), so counting ``\\n`` counts rows without a Python object per term."""

    def __init__(
        self,
        max_rows: int,
        max_bytes: int,
        limit: int,
        show_row: bool = True,
        path: str | None = None,
        threshold: int = 0,
    ) -> None:
        super().__init__(max_bytes, path, threshold)
        self.lines = max_rows + 1  # the header line, then the rows
        self.limit = limit  # the endpoint's limit, for the message
        # the row where the TSV went over: only meaningful when TSV is what was asked for
        # (a JSON, XML or CSV body written from it goes over at another row, or not at all)
        self.show_row = show_row
        self.seen = 0  # newlines kept
        self.truncated = False

    def too_large(self) -> ResultTooLarge:
        return too_large(self.limit, max(self.seen, 1) if self.show_row else None)

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
        self.keep(chunk)
        self.seen += found
        if self.truncated:
            raise _Full
        return len(chunk)


class _LimitSink(_Output):
    """A writer's output, refused (503 result-too-large) over ``max_bytes``, and (406)
    in an XML format when it holds a character XML cannot carry."""

    def __init__(
        self, max_bytes: int, path: str | None = None, threshold: int = 0, fmt: str = ""
    ) -> None:
        super().__init__(max_bytes, path, threshold)
        self.xml = fmt if fmt in XML_FORMATS else None
        self.tail = b""  # the last bytes written, as they came (before ``&#13;``)

    def write(self, chunk: bytes) -> int:
        chunk = bytes(chunk)
        size = len(chunk)
        if self.xml is not None:
            tail = (self.tail + chunk)[-_NOT_XML_SPAN:]
            chunk = _xml_only(chunk, self.xml, self.tail)
            self.tail = tail
        self.keep(chunk)
        return size


class _Ambiguous(Exception):
    """Raised inside the JSON writer's ``write``: rows cannot be counted from the text."""


#: an object's start in Oxigraph's SPARQL JSON, other than a term's (``{"type":"``) and
#: other than a string's last ``{`` before its closing quote (which a ``}``, ``,``,
#: ``:`` or ``]`` follows); group 1 is an empty object's ``}`` (see :class:`_JsonRows`)
_OPENS = re.compile(rb'\{(?:"(?!type":"|[},:\]])|(\}))')
#: those of them that are a member's value (after its name's colon): not rows
_VALUES = re.compile(rb':\{"(?!type":"|[},:\]])')
#: bytes held back from one write to the next: a match and what it looks ahead at
_HOLD = 10


class _JsonRows(_Output):
    """The output of Oxigraph's SPARQL JSON writer, cut after ``max_rows`` rows and
    refused over ``max_bytes``, its rows counted from the text as it is written.

    In JSON text a quote inside a string is always escaped, so ``{"`` inside a string
    can only be its last ``{`` and its closing quote, which a ``}``, ``,``, ``:`` or
    ``]`` follows; an object with members begins ``{"`` and its first member's name.
    Oxigraph's objects are the document, ``head`` and ``results`` (values of members),
    the rows, the terms (``{"type":"...``) and a triple term's value (a member's
    value). So the rows with a value are the objects :data:`_OPENS` finds, less those
    :data:`_VALUES` finds and the document's. A row without any value (``{}``) cannot
    be told from a string's text: when :data:`_OPENS` meets ``{}`` the writer is
    stopped (:class:`_Ambiguous`) and the result is written the TSV way (evaluated
    again: only results with an empty row, or a string holding ``{}``, pay that). The
    last :data:`_HOLD` bytes of each write wait for the next, so a match, and what it
    looks ahead at, is never split between two."""

    def __init__(
        self, max_rows: int, max_bytes: int, path: str | None = None, threshold: int = 0
    ) -> None:
        super().__init__(max_bytes, path, threshold)
        self.max_rows = max_rows
        self.rows = 0
        self.truncated = False
        self.held = b""
        self.at = 0  # where ``held`` starts in the document

    def write(self, chunk: bytes) -> int:
        if self.truncated:  # (the writer may hand over its buffer again as it stops)
            raise _Full
        # the last byte kept (what precedes an object starting the held bytes), the held
        # bytes, the new ones; objects whose "{" is in data[base:cut] are counted now
        context = self.last
        data = context + self.held + bytes(chunk)
        base = len(context)
        cut = max(len(data) - _HOLD, base)
        opens = _OPENS.findall(data, base)
        if b"}" in opens:
            raise _Ambiguous
        found = len(opens) - len(_OPENS.findall(data, cut))
        # a member's value: its colon is one byte before its "{"
        found -= len(_VALUES.findall(data, max(base - 1, 0))) - len(
            _VALUES.findall(data, max(cut - 1, 0))
        )
        if self.at == 0 and cut > base:
            found -= 1  # the document's own object
        room = self.max_rows - self.rows
        if found > room:  # the cap falls in this write: keep up to its last row
            self._cut(data, base, cut, room)
        self.rows += found
        self.keep(data[base:cut])
        self.held = data[cut:]
        self.at += cut - base
        return len(chunk)

    def _cut(self, data: bytes, base: int, cut: int, room: int) -> None:
        """Keep ``data[base:]`` up to the row after the first ``room`` rows beginning in
        ``data[base:cut]``, without its separator; then stop the writer."""
        for match in _OPENS.finditer(data, base, cut + _HOLD):
            at = match.start()
            if at >= cut or data[at - 1 : at] not in (b"[", b","):
                continue  # the document's own object, or a member's value
            if room == 0:
                separator = at - 1
                if separator >= base:
                    self.keep(data[base:at] if data[separator] == 0x5B else data[base:separator])
                elif data[separator] == 0x2C:  # a "," kept with the last write
                    self.drop_last(b",")
                self.rows, self.truncated, self.held = self.max_rows, True, b""
                raise _Full
            room -= 1
        raise AssertionError("the row to cut at was counted but not found")

    def finish(self) -> None:
        """The bytes held back, once the writer is done (or cut)."""
        if self.held:
            self.keep(self.held)
            self.held = b""


def evaluate(
    store: ox.Store,
    job: Job,
    prefixes: dict[str, str] | None = None,
    spool: Spool | None = None,
) -> Outcome:
    """Run ``job`` on ``store``; raise a :class:`~dipkg.core.errors.DipkgError` on failure.

    With ``spool``, a result over its threshold is written to its file (the outcome is
    ``spooled``); a failure, whatever it is, removes what was written."""
    try:
        outcome = _evaluate(store, job, prefixes, spool)
        if spool is not None and not outcome.spooled and outcome.length > spool.threshold:
            out = _Output(job.max_bytes, spool.path, spool.threshold)  # a body built whole
            out.keep(outcome.body)
            out.close()
            outcome.body, outcome.spooled = b"", True
        return outcome
    except BaseException:
        if spool is not None:
            spool.remove()
        raise


def _evaluate(
    store: ox.Store, job: Job, prefixes: dict[str, str] | None, spool: Spool | None
) -> Outcome:
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
            return _solutions(result, job, store, spool)
        if job.graph_format is None:
            raise _not_acceptable("CONSTRUCT/DESCRIBE")
        return _triples(result, job, prefixes, spool)
    except OSError:  # raised while iterating (evaluation is lazy)
        raise _io_error() from None
    except RuntimeError as exc:
        raise QueryEvaluationError(f"the query failed: {exc}") from None


def _finished(out: _Output, outcome: Outcome) -> Outcome:
    """``outcome`` with ``out``'s bytes: in memory, or in its spool file, closed."""
    out.close()
    if out.spooled:
        outcome.body, outcome.spooled, outcome.length = b"", True, out.size
    else:
        outcome.body = out.body()
        outcome.length = len(outcome.body)
    return outcome


def _solutions(
    result: Any, job: Job, store: ox.Store | None = None, spool: Spool | None = None
) -> Outcome:
    """A SELECT's solutions written and capped in the engine's code: SPARQL JSON by
    Oxigraph's writer, its rows counted as it writes (:class:`_JsonRows`); the other
    formats, and JSON whose rows the text cannot tell, by :func:`_solutions_tsv`. With
    ``spool``, a large TSV and a large body are files, read and written as streams.

    Any other iterable of solutions (with ``variables``; the remote mode's capped
    answer) is written term by term (:func:`_solutions_terms`)."""
    if not isinstance(result, ox.QuerySolutions):
        return _solutions_terms(result, job)
    fmt = job.table_format
    assert fmt is not None
    if fmt == "json":  # SPARQL JSON's rows are counted as Oxigraph writes them
        out = _JsonRows(
            job.max_rows,
            job.max_bytes,
            None if spool is None else spool.path,
            0 if spool is None else spool.threshold,
        )
        try:
            result.serialize(out, format=ox.QueryResultsFormat.JSON)
        except _Full:  # the row cap: the rows before it are kept
            pass
        except _Ambiguous:  # a row without a value: counted the TSV way
            out.close()
            if spool is not None:
                spool.remove()
            if store is None:
                raise
            result = store.query(job.query, **_dataset(job))
            if not isinstance(result, ox.QuerySolutions):  # (the same query: never)
                raise QueryEvaluationError("the query's result changed its kind") from None
            return _solutions_tsv(result, job, store, spool)
        out.finish()
        if out.truncated:
            out.keep(b"]}" + _truncation_members(job))
        return _finished(out, Outcome("table", fmt, b"", out.rows, out.truncated))
    return _solutions_tsv(result, job, store, spool)


def _truncation_members(job: Job) -> bytes:
    """SPARQL JSON's members after ``results`` when the row cap cut it, and its end."""
    note = json.dumps(
        f"result truncated to the first {job.max_rows} rows (the endpoint's row cap); "
        "use LIMIT/OFFSET to page through it",
        ensure_ascii=False,
    ).encode("utf-8")
    return b',"truncated":true,"note":' + note + b"}"


def _solutions_tsv(
    result: Any, job: Job, store: ox.Store | None = None, spool: Spool | None = None
) -> Outcome:
    """Oxigraph's TSV writer counts and caps the rows (one line each); the format asked
    for is Oxigraph's writer on the capped TSV read back."""
    fmt = job.table_format
    assert fmt is not None
    # TSV is no larger than SPARQL JSON or XML for the same rows; CSV can be smaller
    # (IRIs without <>, typed values bare), so its TSV gets more room before the final check
    sink = _TsvSink(
        job.max_rows,
        job.max_bytes * (4 if fmt == "csv" else 1),
        job.max_bytes,
        show_row=fmt == "tsv",
        path=None if spool is None else spool.path if fmt == "tsv" else spool.tsv,
        threshold=0 if spool is None else spool.threshold,
    )
    try:
        result.serialize(sink, format=ox.QueryResultsFormat.TSV)
    except _Full:
        pass
    rows, truncated = sink.seen - 1, sink.truncated
    if fmt == "tsv":
        return _finished(sink, Outcome("table", fmt, b"", rows, truncated))
    sink.close()
    out = _LimitSink(
        job.max_bytes,
        None if spool is None else spool.path,
        0 if spool is None else spool.threshold,
        fmt,
    )
    tsv_spooled = sink.spooled
    try:
        if tsv_spooled:
            parsed = ox.parse_query_results(path=sink.path, format=ox.QueryResultsFormat.TSV)
        else:
            parsed = ox.parse_query_results(sink.body(), format=ox.QueryResultsFormat.TSV)
        del sink
        parsed.serialize(out, format=RESULT_FORMATS[fmt])
    except MemoryError as exc:
        # the engine's reader stops at one value over 16 MiB ("buffer maximal size");
        # any other MemoryError is the worker out of memory: it answers 503 and retires
        if not _buffer_limit(exc):
            raise
        out.close()
        if spool is not None:
            spool.remove()  # what was written so far
        if fmt == "json" and store is not None:  # evaluated again, term by term
            return _solutions_terms(store.query(job.query, **_dataset(job)), job)
        raise ResultTooLarge(
            f"a value in the result is longer than the {fmt.upper()} writer's limit of "
            "16 MiB and was not sent; ask for SPARQL JSON or shorter values",
            details={"limit_bytes": 16 * 1024 * 1024},
        ) from None
    finally:
        if tsv_spooled and spool is not None:  # (only a large TSV went to a file)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spool.tsv)  # the intermediate TSV, read
    if fmt == "json" and truncated:
        # the members after "results", as the term-by-term writer puts them
        out.drop_last(b"}")
        out.keep(_truncation_members(job))
    return _finished(out, Outcome("table", fmt, b"", rows, truncated))


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
    return Outcome("table", fmt, _check_body(body, job, fmt), len(bindings), truncated)


def _triples(
    result: Any, job: Job, prefixes: dict[str, str] | None, spool: Spool | None = None
) -> Outcome:
    """The graph written by Oxigraph's writer as it is read (one triple object at a time:
    a capped 50,000-triple result is never a list), cut after ``max_rows`` triples."""
    fmt = job.graph_format
    assert fmt is not None
    kwargs: dict[str, Any] = {}
    if prefixes and fmt in WITH_PREFIXES:
        kwargs["prefixes"] = prefixes
    quads = GRAPH_FORMATS[fmt].supports_datasets  # N-Quads, TriG: the default graph
    predicates: dict[str, bool] | None = {} if GRAPH_FORMATS[fmt] == ox.RdfFormat.RDF_XML else None
    count = 0
    truncated = False

    def capped() -> Iterator[Any]:
        nonlocal count, truncated
        for triple in result:
            if count >= job.max_rows:
                truncated = True
                return
            count += 1
            if predicates is not None:
                _rdf_xml_predicate(triple.predicate.value, predicates)
            if quads:
                yield ox.Quad(triple.subject, triple.predicate, triple.object, ox.DefaultGraph())
            else:
                yield triple

    out = _LimitSink(
        job.max_bytes,
        None if spool is None else spool.path,
        0 if spool is None else spool.threshold,
        fmt,
    )
    ox.serialize(capped(), out, format=GRAPH_FORMATS[fmt], **kwargs)
    return _finished(out, Outcome("graph", fmt, b"", count, truncated))
