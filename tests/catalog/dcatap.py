"""Validate a catalogue record with the official DCAT-AP 3.0.1 SHACL shapes (offline)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyshacl
import rdflib
from rdflib.namespace import SH

ROOT = Path(__file__).resolve().parents[2]
SHAPES_DIR = ROOT.parent / "shared" / "dcat-ap-3.0.1-shacl"
# The shape files that hold constraints
# (imports.ttl / mdr_imports.ttl only list remote owl:imports).
SHAPE_FILES = (
    "shapes.ttl",
    "shapes_recommended.ttl",
    "range.ttl",
    "mdr-vocabularies.shape.ttl",
    "deprecateduris.ttl",
)


@dataclass(frozen=True)
class Result:
    severity: str  # Violation, Warning, Info
    focus: str
    path: str
    message: str
    shape: str
    value: str = ""
    details: tuple[str, ...] = ()  # constraint components of the nested results (sh:detail)

    def __str__(self) -> str:
        return f"{self.severity}: <{self.focus}> {self.path}: {self.message}"


def load_shapes() -> rdflib.Graph:
    shapes = rdflib.Graph()
    for name in SHAPE_FILES:
        shapes.parse(SHAPES_DIR / name, format="turtle")
    return shapes


def validate(data: rdflib.Graph, shapes: rdflib.Graph) -> list[Result]:
    _, report, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="rdfs",
        abort_on_first=False,
        allow_warnings=True,
        do_owl_imports=False,
    )
    out = []
    # top-level results only: nested sh:detail results repeat a result under its inner shape's
    # severity
    results = [
        r
        for v in report.subjects(rdflib.RDF.type, SH.ValidationReport)
        for r in report.objects(v, SH.result)
    ]
    for result in results:
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        path = report.value(result, SH.resultPath)
        out.append(
            Result(
                severity,
                str(report.value(result, SH.focusNode)),
                str(path) if path is not None else "",
                str(report.value(result, SH.resultMessage) or ""),
                str(report.value(result, SH.sourceShape)),
                str(report.value(result, SH.value) or ""),
                tuple(
                    sorted(
                        str(report.value(d, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
                        for d in report.objects(result, SH.detail)
                    )
                ),
            )
        )
    return sorted(out, key=lambda r: (r.severity, r.focus, r.path, r.message))
