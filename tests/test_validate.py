"""kg.validate (the shapes compiled to SPARQL, run on Oxigraph) against the shape examples.

tests/test_shapes.py checks the shapes with plain pyshacl and tests/test_shacl.py
compares the two result by result; this checks the build's verdicts and its
error, so the compiled path cannot quietly validate nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from dipkg.core.errors import ValidationError
from kg.graphs import graph_blocks
from kg.paths import ONTOLOGY_DIR
from kg.validate import check, violations

EXAMPLES = Path(__file__).parent / "shapes"
SHAPES = rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl")
ONTOLOGY = rdflib.Graph().parse(ONTOLOGY_DIR / "dipkg.ttl")
SHAPES_NS = "https://w3id.org/dipkg/shapes#"


@pytest.mark.parametrize("path", sorted((EXAMPLES / "valid").glob("*.ttl")), ids=lambda p: p.stem)
def test_valid_examples_pass(path):
    data = rdflib.Graph().parse(path)
    assert [str(v) for v in violations(data, SHAPES, ONTOLOGY) if v.severity == "Violation"] == []


@pytest.mark.parametrize("path", sorted((EXAMPLES / "invalid").glob("*.ttl")), ids=lambda p: p.stem)
def test_invalid_examples_fail_on_their_shape(path):
    data = rdflib.Graph().parse(path)
    shape = SHAPES_NS + path.stem.split("-", 1)[0]
    found = [v for v in violations(data, SHAPES, ONTOLOGY) if v.severity == "Violation"]
    assert found, f"{path.name} should violate {shape}"
    assert shape in {v.shape for v in found} or any(
        v.shape and v.shape.startswith(shape) for v in found
    ), found


def test_check_names_the_resource_and_source_line():
    data = rdflib.Graph().parse(EXAMPLES / "invalid" / "ScenarioShape-two-domains.ttl")
    with pytest.raises(ValidationError) as caught:
        check(data, SHAPES, ONTOLOGY, "source.txt")
    error = caught.value
    assert error.file == "source.txt"
    assert "scenario/" in error.message


def test_check_names_the_docx_cell_of_a_scenario_from_a_word_source():
    data = rdflib.Graph().parse(EXAMPLES / "valid" / "ScenarioShape-docx.ttl")
    scenario = rdflib.URIRef("https://w3id.org/dipkg/scenario/guizhou-b1-s01")
    data.add(
        (
            scenario,
            rdflib.URIRef("https://w3id.org/dipkg/ontology#domain"),
            rdflib.URIRef("https://w3id.org/dipkg/domain/other"),
        )
    )
    with pytest.raises(ValidationError) as caught:
        check(data, SHAPES, ONTOLOGY, "source.docx")
    error = caught.value
    assert (error.table, error.row, error.column, error.line) == (1, 2, 1, None)
    assert str(error).startswith("source.docx:table 1:row 2:column 1: error[validation]: ")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/*.ttl")), ids=lambda p: p.stem)
def test_the_builds_blocks_validate_as_their_graph(path):
    """The build's blocks (pyoxigraph terms) go into the store as they are, no text between."""
    data = rdflib.Graph().parse(path)

    def found(results):
        return sorted((v.shape or "", v.path or "", v.severity, v.line or 0) for v in results)

    from_blocks = found(violations(graph_blocks(data), SHAPES, ONTOLOGY))
    assert from_blocks == found(violations(data, SHAPES, ONTOLOGY))
    assert bool([v for v in from_blocks if v[2] == "Violation"]) == (path.parent.name == "invalid")
