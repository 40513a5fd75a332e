"""``dipkg query``: one SPARQL query against the built store, with the endpoint's limits.

The query takes the endpoint's path exactly: the guard (:mod:`sparql_api.guard`:
SERVICE, LOAD and updates refused, unclassifiable text refused), then one killable
worker process (:mod:`sparql_api.workers`) with the same time limit, memory cap, row
cap and network sandbox, and the same readable errors. A local power user may raise
the time limit and the row cap (``--timeout``, ``--max-rows``); nothing turns the
guard off. A truncated result says so on standard error.

It lives in the web app's package because it *is* the endpoint's engine, run from the
terminal; the build never imports it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pyoxigraph
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dipkg.core.errors import DipkgError, StoreError
from dipkg.core.iris import PREFIXES
from dipkg.core.release import Release, hold_current, open_release
from dipkg.core.settings import Settings
from sparql_api import guard, workbook
from sparql_api.negotiation import Offer, query_offers
from sparql_api.results import GRAPH_FORMATS, RESULT_FORMATS, Job
from sparql_api.workers import WorkerPool, reply_error

#: ``--format`` values: a table on the terminal, or a serialisation on standard output
TABLE_FORMATS = ("table", *RESULT_FORMATS, workbook.KEY)
GRAPH_OUTPUTS = tuple(GRAPH_FORMATS)


class UsageError(DipkgError):
    code = "usage"
    status = 400


def _cell(term: dict[str, str] | None, prefixes: dict[str, str]) -> str:
    """A SPARQL JSON term as a short cell: prefixed IRIs, literals with their language."""
    if term is None:
        return ""
    value = term["value"]
    if term["type"] == "uri":
        for prefix, ns in prefixes.items():
            if value.startswith(ns):
                return f"{prefix}:{value[len(ns) :]}"
        return f"<{value}>"
    if term["type"] == "bnode":
        return f"_:{value}"
    return value + (f"@{term['xml:lang']}" if "xml:lang" in term else "")


def _named(fmt: str, offers: tuple[Offer, ...]) -> str | None:
    """The key of the offer ``fmt`` names (its key or one of its ``?format=`` names)."""
    return next((o.key for o in offers if fmt == o.key or fmt in o.names), None)


def _formats(form: str | None, fmt: str) -> tuple[str | None, str | None]:
    """The worker's table and graph formats for ``--format fmt`` (a :class:`UsageError` if none
    fits). ``fmt`` is read as /sparql reads ``?format=`` for the query's form (its keys and
    names, dipkg/core/formats.py): ``json`` is JSON-LD for a CONSTRUCT, ``xml`` RDF/XML."""
    graph = form in ("construct", "describe")
    if fmt == "table":
        return (None, "turtle") if graph else ("json", None)
    tables, graphs = query_offers("table", True), query_offers("graph", True)
    key = _named(fmt, graphs if graph else tables)
    if key is not None:
        return (None, key) if graph else (key, None)
    if graph and _named(fmt, tables):
        raise UsageError(
            f"--format {fmt} is for SELECT and ASK results; a {str(form).upper()} gives a graph: "
            f"use one of {', '.join(GRAPH_OUTPUTS)}"
        )
    if not graph and _named(fmt, graphs):
        raise UsageError(
            f"--format {fmt} is for CONSTRUCT and DESCRIBE; use one of {', '.join(TABLE_FORMATS)}"
        )
    raise UsageError(
        f"unknown --format {fmt!r}: use one of {', '.join(TABLE_FORMATS + GRAPH_OUTPUTS)}"
    )


def open_store(data_dir: Path) -> pyoxigraph.Store:
    """The current release's store, read-only (for scripts and tests; no limits)."""
    release = open_release(data_dir)
    try:
        return pyoxigraph.Store.read_only(str(release.store_dir))
    except OSError as exc:
        raise StoreError(f"cannot open the store: {exc}", file=str(release.store_dir)) from None


async def _evaluate(
    job: Job, store_dir: Path, settings: Settings, timeout: float
) -> tuple[dict, bytes]:
    pool = WorkerPool(
        store_dir,
        size=1,
        timeout=timeout,
        prefixes=dict(PREFIXES),
        memory_limit=settings.worker_memory_mb * 1024 * 1024,
        retire_growth=settings.worker_retire_mb * 1024 * 1024,
        sandbox=settings.worker_sandbox,
    )
    await pool.start()
    try:
        reply = await pool.run(job)
    finally:
        await pool.stop()
    return reply.header, reply.body


def run_query(
    sparql: str,
    data_dir: Path,
    fmt: str,
    out: Console,
    *,
    settings: Settings,
    timeout: float | None = None,
    max_rows: int | None = None,
    err: Console | None = None,
) -> None:
    """Check, run and print ``sparql``; every failure is a :class:`DipkgError` (exit 1).
    The release is held (a lease) from its opening to the end: no build prunes it."""
    release, lease = hold_current(data_dir)
    with lease:
        _run_query(release, sparql, fmt, out, settings, timeout, max_rows, err)


def _run_query(
    release: Release,
    sparql: str,
    fmt: str,
    out: Console,
    settings: Settings,
    timeout: float | None,
    max_rows: int | None,
    err: Console | None,
) -> None:
    try:
        checked = guard.check_query(sparql)
    except DipkgError as exc:
        exc.file = "<query>"
        raise
    table_format, graph_format = _formats(checked.form, fmt)
    limit = timeout if timeout is not None else settings.query_timeout
    cap = max_rows if max_rows is not None else settings.max_rows
    if limit <= 0 or cap <= 0:
        raise UsageError("--timeout and --max-rows must be greater than 0")
    logging.getLogger("sparql_api.workers").setLevel(logging.ERROR)  # the error line says it all
    sheet = table_format == workbook.KEY  # made here from the worker's TSV
    if sheet and sys.stdout.isatty():
        raise UsageError(
            "--format xlsx writes a workbook (binary): send it to a file (> results.xlsx)"
        )
    if sheet:
        table_format = workbook.source_format(checked.form)
    job = Job(
        query=sparql,
        table_format=table_format,
        graph_format=graph_format,
        max_rows=cap,
        max_bytes=settings.max_result_bytes,
    )
    header, body = asyncio.run(_evaluate(job, release.store_dir, settings, limit))
    if not header.get("ok"):
        error = reply_error(header)
        if error.line is not None:
            error.file = "<query>"
        raise error
    if header.get("truncated"):
        (err or Console(stderr=True)).print(
            f"note: result truncated to the first {cap} rows (the row cap; raise it with "
            "--max-rows, "
            "or page with LIMIT/OFFSET)",
            markup=False,
            highlight=False,
        )
    if sheet:
        made = workbook.write(
            body,
            table_format or "tsv",
            query=sparql,
            truncated=bool(header.get("truncated")),
            max_rows=cap,
            build=release.build_id,
        )
        assert made is not None  # (never asked to stop)
        body = made.body
    if fmt != "table" or header.get("kind") == "graph":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    doc = json.loads(body)
    if "boolean" in doc:
        out.print("true" if doc["boolean"] else "false")
        return
    prefixes = {"": release.base_iri, **PREFIXES}
    names = doc["head"]["vars"]
    table = Table(*names, show_lines=False, header_style="bold")
    rows = doc["results"]["bindings"]
    for row in rows:
        table.add_row(*(Text(_cell(row.get(n), prefixes)) for n in names))  # data, not markup
    out.print(table)
    out.print(f"[dim]{len(rows)} row{'s' if len(rows) != 1 else ''}[/dim]")
