"""The record against the official DCAT-AP 3.0.1 SHACL shapes (../shared, offline, rdfs inference).

pyshacl's ``conforms`` is False for warnings alone, so results are counted by
``sh:resultSeverity``: zero violations, and the warnings are exactly the ones docs/catalogue.md
explains.
"""

from __future__ import annotations

import warnings as pytest_warnings
from collections import Counter

import pytest
import rdflib
from rdflib import RDF, URIRef
from rdflib.namespace import DCTERMS

from tests.catalog.dcatap import ROOT, SHAPES_DIR, Result, load_shapes, validate

pytestmark = pytest.mark.skipif(
    not SHAPES_DIR.is_dir(),
    reason=(
        f"the DCAT-AP 3.0.1 SHACL shapes are not there ({SHAPES_DIR}: ../shared beside the"
        " checkout)"
    ),
)

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX_SHA256 = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"
SPDX_SHA256_HTTPS = "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"

# Warnings the record keeps, by (focus kind, path): each is explained in docs/catalogue.md
# under the same heading text (the path's local name).
EXPECTED_WARNINGS = {
    ("catalog", "http://purl.org/dc/terms/publisher"),
    ("dataset", "http://purl.org/dc/terms/publisher"),
    ("service", "http://purl.org/dc/terms/publisher"),
    ("dataset", "http://purl.org/dc/terms/temporal"),
    ("dataset", "http://www.w3.org/ns/dcat#theme"),
    ("guide", "http://purl.org/dc/terms/publisher"),
    ("guide", "http://purl.org/dc/terms/temporal"),
    ("guide", "http://www.w3.org/ns/dcat#contactPoint"),
    ("source distribution", "http://purl.org/dc/terms/license"),
    ("country", "http://www.w3.org/ns/dcat#bbox"),
    ("country", "http://www.w3.org/ns/dcat#centroid"),
}


class DcatApWarnings(UserWarning):
    """The DCAT-AP shapes' warnings on the record (each explained in docs/catalogue.md)."""


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return load_shapes()


@pytest.fixture(scope="module")
def results(record: rdflib.Graph, shapes: rdflib.Graph) -> list[Result]:
    return validate(record, shapes)


def _kind(focus: str, base: str) -> str:
    if focus.startswith("http://publications.europa.eu/resource/authority/country/"):
        return "country"
    local = focus[len(base) :] if focus.startswith(base) else focus
    if local.startswith("guide/"):
        return "guide"
    if local.startswith("dataset/distribution/source-"):
        return "source distribution"
    return {"catalog": "catalog", "dataset": "dataset", "sparql": "service"}.get(local, local)


def test_no_violations(results: list[Result]) -> None:
    violations = [r for r in results if r.severity == "Violation"]
    assert not violations, "DCAT-AP 3.0.1 violations:\n" + "\n".join(map(str, violations))


def test_checksum_algorithm_is_tied_to_the_spdx_term(record: rdflib.Graph) -> None:
    """The shapes demand an https algorithm IRI; the record says it is SPDX's own sha256 term."""
    checksums = set(record.subjects(RDF.type, URIRef("http://spdx.org/rdf/terms#Checksum")))
    assert len(checksums) >= 10
    algorithms = {record.value(c, URIRef("http://spdx.org/rdf/terms#algorithm")) for c in checksums}
    assert algorithms == {URIRef(SPDX_SHA256_HTTPS)}
    same = URIRef("http://www.w3.org/2002/07/owl#sameAs")
    assert (URIRef(SPDX_SHA256_HTTPS), same, URIRef(SPDX_SHA256)) in record


def test_warnings_are_the_explained_ones(results: list[Result], manifest: dict) -> None:
    warnings = [r for r in results if r.severity == "Warning"]
    listing = "\n".join(f"  {w}" for w in warnings)
    print(f"\nDCAT-AP 3.0.1: {len(warnings)} warnings (explained in docs/catalogue.md):\n{listing}")
    # shown in pytest's warnings summary of every run, not only on failure
    pytest_warnings.warn(
        DcatApWarnings(
            f"{len(warnings)} DCAT-AP 3.0.1 warnings, explained in docs/catalogue.md:\n{listing}"
        ),
        stacklevel=1,
    )
    found = {(_kind(w.focus, manifest["base_iri"]), w.path) for w in warnings}
    assert found == EXPECTED_WARNINGS
    docs = (ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8")
    for _, path in EXPECTED_WARNINGS:
        local = path.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        assert f"`{local}`" in docs, f"docs/catalogue.md does not explain the {local} warning"


def test_a_bad_record_fails(record: rdflib.Graph, shapes: rdflib.Graph, minter) -> None:
    bad = rdflib.Graph()
    for triple in record:
        bad.add(triple)
    for node in (URIRef(minter.catalog()), URIRef(minter.dataset())):
        bad.remove((node, DCTERMS.title, None))
        bad.remove((node, DCTERMS.publisher, None))
        bad.remove((node, DCTERMS.description, None))
    bad.remove((URIRef(minter.sparql_service()), DCAT.endpointURL, None))
    results = validate(bad, shapes)
    violations = Counter((r.focus, r.path) for r in results if r.severity == "Violation")
    assert (minter.catalog(), str(DCTERMS.title)) in violations
    assert (minter.catalog(), str(DCTERMS.publisher)) in violations
    assert (minter.dataset(), str(DCTERMS.title)) in violations
    assert (minter.dataset(), str(DCTERMS.description)) in violations
    assert (minter.sparql_service(), str(DCAT.endpointURL)) in violations


def test_unknown_vocabulary_concepts_fail(
    record: rdflib.Graph, shapes: rdflib.Graph, minter
) -> None:
    """Without the EU concepts' triples the controlled-vocabulary shapes reject the record."""
    bare = rdflib.Graph()
    for s, p, o in record:
        if not str(s).startswith(("http://publications.europa.eu/", "http://purl.org/adms/")):
            bare.add((s, p, o))
    results = validate(bare, shapes)
    bad = {r.path for r in results if r.severity == "Violation"}
    assert str(DCTERMS.format) in bad and str(DCTERMS.language) in bad


def test_the_shipped_vocabulary_file_is_what_the_record_uses(record: rdflib.Graph) -> None:
    eu = rdflib.Graph().parse(ROOT / "build" / "catalog" / "eu-vocabularies.ttl", format="turtle")
    used = {
        o
        for o in record.objects()
        if isinstance(o, URIRef)
        and str(o).startswith(
            ("http://publications.europa.eu/resource/authority/", "http://purl.org/adms/")
        )
    }
    for concept in used:
        assert (concept, None, None) in eu, concept
        for triple in eu.triples((concept, None, None)):
            assert triple in record, triple
