"""The SHACL shapes (ontology/shapes.ttl) against their examples.

* ``tests/shapes/valid/<Shape>.ttl`` must conform, and must contain at least one
  node the shape targets (so an example cannot pass by being beside the point).
* ``tests/shapes/invalid/<Shape>-<what>.ttl`` must not conform, and every
  violation must come from ``shapes:<Shape>``: the node shape itself (its
  ``sh:sparql`` constraints) or one of its ``sh:property`` shapes. At least one
  violation must exist, so a shape that validates nothing cannot pass. The
  file's first line says what is wrong; its ``# expect:`` line names the
  property shapes / SPARQL constraints (local names in ``shapes:``) that must
  be among those reported.

The structural checks on a scenario's tree of categories and fields (parent
links, dip:scenario, sibling positions) are SPARQL constraints of
ScenarioShape, reported on the scenario; see the comment at the top of
shapes.ttl for why.

pyshacl options, the same as the build's (kg/validate.py): the ontology is the
``ont_graph`` (mixed into the data, so ``rdfs:subClassOf`` is visible to
``sh:class``), ``inference="none"`` so the shapes see exactly the triples the
build wrote (``test_rdfs_inference_would_hide_a_missing_type`` shows what RDFS
inference would hide), and ``advanced=True`` (SHACL-AF; harmless here, and what
the build uses).
"""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
import rdflib
from rdflib.namespace import RDF, SH

from kg.paths import ONTOLOGY_DIR

HERE = Path(__file__).parent / "shapes"
VALID = sorted((HERE / "valid").glob("*.ttl"))
INVALID = sorted((HERE / "invalid").glob("*.ttl"))
SHAPES_NS = "https://w3id.org/dipkg/shapes#"
SHAPE_NAMES = [
    "GuideShape",
    "DomainShape",
    "ScenarioShape",
    "DataCategoryShape",
    "DataFieldShape",
    "ConceptShape",
]


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl")


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "dipkg.ttl")


def validate(
    data: rdflib.Graph, shapes: rdflib.Graph, ontology: rdflib.Graph, inference: str = "none"
):
    conforms, report, text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference=inference,
        advanced=True,
    )
    return conforms, report, text


def shape_of(path: Path) -> rdflib.URIRef:
    """shapes:<Shape> from '<Shape>.ttl' or '<Shape>-<what>.ttl'."""
    name = path.stem.split("-", 1)[0]
    assert name in SHAPE_NAMES, f"{path.name}: file name must start with one of {SHAPE_NAMES}"
    return rdflib.URIRef(SHAPES_NS + name)


def family(shapes: rdflib.Graph, shape: rdflib.URIRef) -> set[rdflib.term.Node]:
    """The node shape and its property shapes: what sh:sourceShape may name for it."""
    return {shape, *shapes.objects(shape, SH.property)}


def expected_constraints(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            return set(line.removeprefix("# expect:").split())
    raise AssertionError(f"{path.name}: no '# expect:' line")


def reported_constraints(report: rdflib.Graph) -> set[str]:
    """Local names of the reported property shapes and SPARQL constraints."""
    names = set()
    for r in report.subjects(RDF.type, SH.ValidationResult):
        constraint = report.value(r, SH.sourceConstraint)
        if constraint is None or not str(constraint).startswith(SHAPES_NS):
            constraint = report.value(r, SH.sourceShape)
        names.add(str(constraint).removeprefix(SHAPES_NS))
    return names


def results(report: rdflib.Graph) -> list[tuple[rdflib.term.Node, ...]]:
    out = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        out.append(
            (
                report.value(r, SH.sourceShape),
                report.value(r, SH.focusNode),
                report.value(r, SH.resultSeverity),
                report.value(r, SH.resultMessage),
            )
        )
    return out


def test_every_shape_has_examples():
    for name in SHAPE_NAMES:
        assert (HERE / "valid" / f"{name}.ttl").is_file(), f"no valid example for {name}"
        assert any(p.stem.startswith(name + "-") for p in INVALID), f"no invalid example for {name}"


def test_shapes_are_described(shapes):
    for name in SHAPE_NAMES:
        shape = rdflib.URIRef(SHAPES_NS + name)
        assert (shape, RDF.type, SH.NodeShape) in shapes
        assert shapes.value(shape, SH.targetClass) is not None, name
        assert shapes.value(shape, SH.name) is not None, name
        assert shapes.value(shape, SH.description) is not None, name
        for prop in shapes.objects(shape, SH.property):
            assert shapes.value(prop, SH.message) is not None, f"{prop} has no sh:message"
        for constraint in shapes.objects(shape, SH.sparql):
            assert shapes.value(constraint, SH.message) is not None, (
                f"{constraint} has no sh:message"
            )


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_conforms(path, shapes, ontology):
    data = rdflib.Graph().parse(path)
    target = shapes.value(shape_of(path), SH.targetClass)
    assert any(data.subjects(RDF.type, target)), f"{path.name} has no {target} to validate"
    conforms, _, text = validate(data, shapes, ontology)
    assert conforms, f"{path.name} should conform:\n{text}"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_violates_its_shape(path, shapes, ontology):
    assert path.read_text(encoding="utf-8").startswith("# "), (
        f"{path.name}: first line must say what is wrong"
    )
    data = rdflib.Graph().parse(path)
    conforms, report, text = validate(data, shapes, ontology)
    assert not conforms, f"{path.name} should not conform"
    found = results(report)
    assert found, f"{path.name}: no validation results"
    expected = family(shapes, shape_of(path))
    target = shapes.value(shape_of(path), SH.targetClass)
    others = [r for r in found if r[0] not in expected]
    assert not others, f"{path.name} should violate only {shape_of(path)}, also got:\n{text}"
    for _source, focus, severity, message in found:
        assert severity == SH.Violation
        assert (focus, RDF.type, target) in data, f"{path.name}: result on {focus}, not a {target}"
        assert message is not None and str(message).strip(), (
            f"{path.name}: result without a message"
        )
    missing = expected_constraints(path) - reported_constraints(report)
    assert not missing, f"{path.name}: expected violations of {sorted(missing)}, got:\n{text}"


def test_rdfs_inference_would_hide_a_missing_type(shapes, ontology):
    """Why inference="none": with RDFS, rdfs:range of dip:hasCategory types the
    untyped category as dip:DataCategory, and the missing rdf:type goes unseen."""
    data = rdflib.Graph().parse(HERE / "invalid" / "ScenarioShape-category-untyped.ttl")
    assert not validate(data, shapes, ontology, inference="none")[0]
    assert validate(data, shapes, ontology, inference="rdfs")[0]
