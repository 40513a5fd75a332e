"""SHACL validation of a built graph (ontology/shapes.ttl), run by every build.

SHACL-Core constraints are checked by pyshacl. SHACL-SPARQL constraints
(``sh:sparql`` on node shapes) are evaluated on Oxigraph instead: pyshacl runs
each one once per focus node on rdflib's SPARQL engine (30 s for this small
graph, and linear in focus nodes × constraints), whereas one Oxigraph query per
constraint, with the target pattern placed first in the WHERE group so ``$this``
is bound as SHACL's pre-binding binds it, gives the same results in
milliseconds. A constraint this module cannot rewrite (other targets, property
shapes, other pre-bound variables) is left to pyshacl.

A violation fails the build; each is reported with the resource and the source
line of the scenario it came from. Warnings and infos do not fail a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import RDF, SH

from kg.errors import ValidationError
from kg.iris import DIP

_SCENARIO = rdflib.URIRef(DIP + "scenario")
_SOURCE_LINE = rdflib.URIRef(DIP + "sourceLine")
_PREBOUND = re.compile(r"\$(?!this\b)[A-Za-z_]\w*")
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{[?$](\w+)\}")


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str | None
    message: str
    shape: str | None
    line: int | None
    severity: str = "Violation"

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"<{self.focus}>{where}: {self.message}"


@dataclass(frozen=True)
class _SparqlCheck:
    shape: rdflib.term.Node
    constraint: rdflib.term.Node
    query: str
    message: str
    severity: rdflib.term.Node


def _prefixes(shapes: rdflib.Graph) -> str:
    lines = []
    for declaration in sorted(shapes.objects(None, SH.declare), key=str):
        prefix = shapes.value(declaration, SH.prefix)
        namespace = shapes.value(declaration, SH.namespace)
        if prefix is not None and namespace is not None:
            lines.append(f"PREFIX {prefix}: <{namespace}>")
    lines.append("PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>")
    lines.append("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>")
    return "\n".join(dict.fromkeys(lines))


def _plan(shapes: rdflib.Graph) -> tuple[rdflib.Graph, list[_SparqlCheck]]:
    """Split ``shapes`` into what pyshacl checks and the SPARQL checks run on Oxigraph."""
    core = rdflib.Graph()
    for triple in shapes:
        core.add(triple)
    prologue = _prefixes(shapes)
    checks: list[_SparqlCheck] = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql), key=lambda so: (str(so[0]), str(so[1]))):
        select = shapes.value(constraint, SH.select)
        if select is None or (shape, SH.path, None) in shapes:
            continue
        if shapes.value(constraint, SH.deactivated) == rdflib.Literal(True):
            core.remove((shape, SH.sparql, constraint))
            continue
        classes = list(shapes.objects(shape, SH.targetClass))
        if (shape, RDF.type, rdflib.OWL.Class) in shapes or (shape, RDF.type, rdflib.RDFS.Class) in shapes:
            classes.append(shape)
        other_targets = any(
            (shape, p, None) in shapes for p in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
        )
        text = str(select)
        where = _WHERE.search(text)
        if not classes or other_targets or _PREBOUND.search(text) or where is None:
            continue  # pyshacl keeps it
        targets = " UNION ".join(f"{{ ?this rdf:type/rdfs:subClassOf* <{c}> }}" for c in classes)
        rewritten = text[: where.end()] + f" {targets} " + text[where.end() :]
        rewritten = rewritten.replace("$this", "?this")
        message = shapes.value(constraint, SH.message) or shapes.value(shape, SH.message) or "violates a SPARQL constraint"
        severity = shapes.value(shape, SH.severity) or SH.Violation
        checks.append(_SparqlCheck(shape, constraint, f"{prologue}\n{rewritten}", str(message), severity))
        core.remove((shape, SH.sparql, constraint))
    return core, checks


def _source_line(data: rdflib.Graph, focus: rdflib.term.Node) -> int | None:
    for node in (focus, data.value(focus, _SCENARIO)):
        if node is None:
            continue
        line = data.value(node, _SOURCE_LINE)
        if line is not None:
            return int(line)
    return None


def _short(term: object) -> str:
    if isinstance(term, pyoxigraph.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, pyoxigraph.Literal):
        return term.value
    return str(term)


def violations(data: rdflib.Graph, shapes: rdflib.Graph, ontology: rdflib.Graph | None = None) -> list[Violation]:
    """All results of validating ``data`` against ``shapes``, most severe first."""
    core, checks = _plan(shapes)
    found: list[Violation] = []
    conforms, report, _ = shacl_validate(
        data, shacl_graph=core, ont_graph=ontology, inference="none", advanced=True, allow_warnings=True
    )
    if not conforms:
        for result in report.subjects(RDF.type, SH.ValidationResult):
            focus = report.value(result, SH.focusNode)
            path = report.value(result, SH.resultPath)
            found.append(
                Violation(
                    focus=str(focus),
                    path=data.namespace_manager.normalizeUri(path) if isinstance(path, rdflib.URIRef) else None,
                    message=str(report.value(result, SH.resultMessage) or "violates a shape"),
                    shape=str(report.value(result, SH.sourceShape)),
                    line=_source_line(data, focus) if focus is not None else None,
                    severity=str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                )
            )
    if checks:
        store = pyoxigraph.Store()
        store.load(data.serialize(format="nt", encoding="utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES)
        if ontology is not None:
            store.load(ontology.serialize(format="nt", encoding="utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES)
        for check in checks:
            solutions = store.query(check.query)
            has_path = "path" in [v.value for v in solutions.variables]
            for row in solutions:
                this = row["this"]
                if this is None:
                    continue
                focus = rdflib.URIRef(this.value) if isinstance(this, pyoxigraph.NamedNode) else rdflib.BNode(str(this))
                path = row["path"] if has_path else None

                def fill(match: re.Match[str], row=row) -> str:
                    value = row[match.group(1)]
                    return _short(value) if value is not None else match.group(0)

                found.append(
                    Violation(
                        focus=str(focus),
                        path=data.namespace_manager.normalizeUri(rdflib.URIRef(path.value))
                        if isinstance(path, pyoxigraph.NamedNode)
                        else None,
                        message=_TEMPLATE.sub(fill, check.message),
                        shape=str(check.shape),
                        line=_source_line(data, focus),
                        severity=str(check.severity).rsplit("#", 1)[-1],
                    )
                )
    rank = {"Violation": 0, "Warning": 1, "Info": 2}
    return sorted(found, key=lambda v: (rank.get(v.severity, 3), v.line or 0, v.focus, v.path or "", v.message))


def check(data: rdflib.Graph, shapes: rdflib.Graph, ontology: rdflib.Graph, source_file: str) -> None:
    """Raise :class:`ValidationError` naming the first violation's resource and source line."""
    check_chunks([(data, None)], shapes, ontology, source_file)


def check_chunks(
    chunks: Iterable[tuple[rdflib.Graph, set[str] | None]],
    shapes: rdflib.Graph,
    ontology: rdflib.Graph,
    source_file: str,
) -> None:
    """Validate chunk by chunk (bounded memory); each chunk is (graph, foci to report or None for all).

    A chunk holds some scenarios plus the shared context they point at (domains,
    vocabulary); only violations on the chunk's own resources are reported, so
    the shared context is reported once, by the chunk that owns it.
    """
    found: list[Violation] = []
    for data, own in chunks:
        found.extend(
            v
            for v in violations(data, shapes, ontology)
            if v.severity == "Violation" and (own is None or v.focus in own)
        )
    if found:
        first = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ValidationError(
            f"the graph violates the SHACL shapes: {first}{more}",
            file=source_file,
            line=first.line,
            details={"violations": [{"line": v.line, "text": str(v)} for v in found]},
        )
