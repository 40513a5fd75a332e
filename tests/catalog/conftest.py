"""Fixtures of the catalogue tests: the real build's record, store and dumps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph
import pytest
import rdflib

from dipkg.core.iris import Minter
from kg.build import BuildResult


@pytest.fixture(scope="session")
def release(build_result: BuildResult) -> Path:
    return build_result.release


@pytest.fixture(scope="session")
def manifest(build_result: BuildResult) -> dict:
    """manifest.json as the build wrote it (the typed model: ``build_result.manifest``)."""
    return json.loads((build_result.release / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def minter(manifest: dict) -> Minter:
    return Minter(manifest["base_iri"])


@pytest.fixture(scope="session")
def record(release: Path) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(release / "catalog.ttl", format="turtle")
    return graph


@pytest.fixture(scope="session")
def store(release: Path) -> Iterator[pyoxigraph.Store]:
    yield pyoxigraph.Store.read_only(str(release / "store"))
