"""SHACL validation of a built graph (ontology/shapes.ttl), run by every build.

The shapes are compiled to SPARQL (kg/shacl.py) and evaluated on an Oxigraph
store: the build's own on-disk store, just loaded (:func:`check_store`), or an
in-memory store for a graph at hand (:func:`violations`). pyshacl is the
reference the compiler is tested against (tests/test_shacl.py), not part of the
build: it took minutes per hundred thousand triples.

A violation fails the build; each is reported with the resource and the source
line (or .docx cell) of the scenario it came from. Warnings and infos do not fail a build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import rdflib

from dipkg.core.errors import ValidationError
from dipkg.core.iris import DIP, curie
from dipkg.core.terms import Block
from kg.shacl import Check, compile_shapes

_TEMPLATE = re.compile(r"\{[?$](\w+)\}")
_RANK = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str | None
    message: str
    shape: str | None
    line: int | None
    severity: str = "Violation"
    component: str | None = None
    value: str | None = None
    cell: str | None = None  # a .docx source: the scenario's cell, table=T;row=R;column=C

    def __str__(self) -> str:
        where = f" {curie(self.path, turtle=True) or f'<{self.path}>'}" if self.path else ""
        return f"<{self.focus}>{where}: {self.message}"


def _short(term: object) -> str:
    if isinstance(term, pyoxigraph.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, pyoxigraph.Literal):
        return term.value
    return str(term)


def _source_place(
    store: pyoxigraph.Store, focus: pyoxigraph.NamedNode | pyoxigraph.BlankNode
) -> tuple[int | None, str | None]:
    """The source line (text source) or cell (.docx: table=T;row=R;column=C) of ``focus``'s
    scenario."""
    query = (
        "SELECT ?this ?where WHERE "
        f"{{ {{ ?this <{DIP}sourceLine>|<{DIP}sourceCell> ?where }} UNION "
        f"{{ ?this <{DIP}scenario>/(<{DIP}sourceLine>|<{DIP}sourceCell>) ?where }} }} LIMIT 1"
    )
    for row in store.query(query, substitutions={pyoxigraph.Variable("this"): focus}):
        value = row["where"]
        if isinstance(value, pyoxigraph.Literal) and value.value.startswith("table="):
            return None, value.value
        try:
            return int(value.value), None
        except (AttributeError, TypeError, ValueError):
            return None, None
    return None, None


def _solutions(
    store: pyoxigraph.Store, check: Check
) -> tuple[set[str], list[pyoxigraph.QuerySolution]]:
    solutions = store.query(check.query)
    return {v.value for v in solutions.variables}, list(solutions)


def store_violations(store: pyoxigraph.Store, checks: list[Check]) -> list[Violation]:
    """The results of ``checks`` on the default graph of ``store``, most severe first."""
    found: list[Violation] = []
    places: dict[
        object, tuple[int | None, str | None]
    ] = {}  # focus -> source line or cell, looked up once
    with ThreadPoolExecutor(
        max_workers=min(4, os.cpu_count() or 1)
    ) as pool:  # Oxigraph releases the GIL
        answers = list(pool.map(lambda check: _solutions(store, check), checks))
    for check, (variables, rows) in zip(checks, answers, strict=True):
        for row in rows:
            this = row["this"]
            if this is None:
                continue
            path = check.path
            if (
                path is None
                and "path" in variables
                and isinstance(row["path"], pyoxigraph.NamedNode)
            ):
                path = row["path"].value

            def fill(match: re.Match[str], row=row, variables=variables) -> str:
                name = match.group(1)
                value = row[name] if name in variables else None
                return _short(value) if value is not None else match.group(0)

            value = row["value"] if "value" in variables else None
            line, cell = (
                (
                    places[this]
                    if this in places
                    else places.setdefault(this, _source_place(store, this))
                )
                if check.severity == "Violation"
                else (None, None)
            )
            found.append(
                Violation(
                    focus=this.value if isinstance(this, pyoxigraph.NamedNode) else str(this),
                    path=path,
                    message=_TEMPLATE.sub(fill, check.message),
                    shape=check.shape,
                    line=line,
                    severity=check.severity,
                    component=check.component,
                    value=_short(value) if value is not None else None,
                    cell=cell,
                )
            )
    return sorted(
        set(found),
        key=lambda v: (
            _RANK.get(v.severity, 3),
            v.line or 0,
            v.focus,
            v.path or "",
            v.message,
            v.value or "",
        ),
    )


def _add(store: pyoxigraph.Store, data: rdflib.Graph | Iterable[Block]) -> None:
    if isinstance(data, rdflib.Graph):
        store.load(
            data.serialize(format="nt", encoding="utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES
        )
    else:  # the build's blocks: pyoxigraph terms already
        store.extend(pyoxigraph.Quad(s, p, o) for s, pairs in data for p, o in pairs)


def violations(
    data: rdflib.Graph | Iterable[Block],
    shapes: rdflib.Graph,
    ontology: rdflib.Graph | None = None,
) -> list[Violation]:
    """All results of validating ``data`` (an rdflib graph or the build's subject blocks,
    with ``ontology`` mixed in) against ``shapes``, most severe first."""
    store = pyoxigraph.Store()
    _add(store, data)
    if ontology is not None:
        _add(store, ontology)
    return store_violations(store, compile_shapes(shapes))


def check(
    data: rdflib.Graph, shapes: rdflib.Graph, ontology: rdflib.Graph, source_file: str
) -> None:
    """Raise :class:`ValidationError` naming the first violation's resource and source line."""
    _raise_first(
        [v for v in violations(data, shapes, ontology) if v.severity == "Violation"], source_file
    )


def check_store(
    store: pyoxigraph.Store, shapes: rdflib.Graph, shapes_file: Path | None, source_file: str
) -> None:
    """Validate the store's default graph (which holds the ontology too); raise on the first
    violation."""
    checks = compile_shapes(shapes, shapes_file)
    _raise_first(
        [v for v in store_violations(store, checks) if v.severity == "Violation"], source_file
    )


def _raise_first(found: list[Violation], source_file: str) -> None:
    if found:
        first = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        table = row = column = None
        found_cell = re.fullmatch(r"table=(\d+);row=(\d+);column=(\d+)", first.cell or "")
        if found_cell:
            table, row, column = (int(n) for n in found_cell.groups())
        raise ValidationError(
            f"the graph violates the SHACL shapes: {first}{more}",
            file=source_file,
            line=first.line,
            table=table,
            row=row,
            column=column,
            details={"violations": [{"line": v.line, "text": str(v)} for v in found]},
        )
