"""``dipkg query``: run one SPARQL query against the built store, print the result."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyoxigraph
from rich.console import Console
from rich.table import Table

from kg.errors import DipkgError, StoreError
from kg.iris import PREFIXES
from kg.layout import open_release

_POSITION = re.compile(r"(?:line|at) (\d+)[:, ]+(?:column )?(\d+)", re.IGNORECASE)


class QuerySyntaxError(DipkgError):
    code = "query-syntax"
    status = 400


def syntax_error(exc: Exception, query: str) -> QuerySyntaxError:
    """A pyoxigraph SyntaxError as our error, with line and column where it says them."""
    message = str(exc)
    line = column = None
    found = _POSITION.search(message)
    if found:
        line, column = int(found.group(1)), int(found.group(2))
    return QuerySyntaxError(message, file="<query>", line=line, column=column)


def _cell(term: object, prefixes: dict[str, str]) -> str:
    if term is None:
        return ""
    if isinstance(term, pyoxigraph.NamedNode):
        for prefix, ns in prefixes.items():
            if term.value.startswith(ns):
                return f"{prefix}:{term.value[len(ns):]}"
        return f"<{term.value}>"
    if isinstance(term, pyoxigraph.Literal):
        return term.value + (f"@{term.language}" if term.language else "")
    return str(term)


def open_store(data_dir: Path) -> pyoxigraph.Store:
    release = open_release(data_dir)
    try:
        return pyoxigraph.Store.read_only(str(release.store_dir))
    except OSError as exc:
        raise StoreError(f"cannot open the store: {exc}", file=str(release.store_dir)) from None


def run_query(sparql: str, data_dir: Path, fmt: str, out: Console) -> None:
    store = open_store(data_dir)
    release = open_release(data_dir)
    try:
        result = store.query(sparql)
    except SyntaxError as exc:
        raise syntax_error(exc, sparql) from None
    except OSError as exc:
        raise DipkgError(f"query failed: {exc}") from None
    prefixes = {"": release.base_iri, **PREFIXES}
    if isinstance(result, bool) or isinstance(result, pyoxigraph.QueryBoolean):
        out.print("true" if bool(result) else "false")
        return
    if isinstance(result, pyoxigraph.QuerySolutions):
        if fmt in {"csv", "tsv", "json", "xml"}:
            formats = {
                "csv": pyoxigraph.QueryResultsFormat.CSV,
                "tsv": pyoxigraph.QueryResultsFormat.TSV,
                "json": pyoxigraph.QueryResultsFormat.JSON,
                "xml": pyoxigraph.QueryResultsFormat.XML,
            }
            sys.stdout.buffer.write(result.serialize(format=formats[fmt]))
            return
        names = [v.value for v in result.variables]
        table = Table(*names, show_lines=False, header_style="bold")
        rows = 0
        for solution in result:
            table.add_row(*(_cell(solution[n], prefixes) for n in names))
            rows += 1
        out.print(table)
        out.print(f"[dim]{rows} row{'s' if rows != 1 else ''}[/dim]")
        return
    formats = {"ntriples": pyoxigraph.RdfFormat.N_TRIPLES, "turtle": pyoxigraph.RdfFormat.TURTLE}
    chosen = formats.get(fmt, pyoxigraph.RdfFormat.TURTLE)
    sys.stdout.buffer.write(result.serialize(format=chosen) or b"")
