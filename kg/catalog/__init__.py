"""The catalogue record (DCAT-AP 3, VoID, schema.org) and the CSV distributions.

Interface used by the build (kg/build.py), whose ``Graph`` holds the inputs it read
(kg/catalog/graph.py says which; nothing here reads them again):

* ``write_tables(graph, dumps_dir)`` writes the CSV tables (+ CSVW metadata) and their
  Excel workbook into the dumps folder and returns their dump entries (``DumpEntry``, as
  the manifest lists them: file, format, media_type, encoding, bytes, sha256, rows).
* ``record(graph, manifest, store)`` returns the catalogue record as subject blocks; the
  build writes it to ``catalog.ttl`` in the release and loads it into the store's named
  graph ``{base}graph/catalog``. ``manifest`` is the final ``Manifest`` (counts, dumps
  with sizes and checksums); ``store`` is the release's store (read for the VoID counts: its
  default graph is the data).
* ``schema_org_dataset(manifest, settings, minter, inputs)``: the schema.org Dataset as
  JSON-LD (the landing page's).

The parts, one concept each: tables.py (CSV and XLSX rows), columns.py, csvw.py, dcat.py
(the record), void.py, distributions.py, sources.py, eu.py, schema_org.py.

Everything comes from one configuration: ``Settings.catalog`` and ``Settings.base_iri``
(documented key by key in docs/catalogue.md). Same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph

from dipkg.core.manifest import Manifest
from dipkg.core.terms import Block
from kg.catalog.context import publisher_homepage, publisher_iri, release_dates
from kg.catalog.dcat import Record
from kg.catalog.graph import BuiltGraph
from kg.catalog.schema_org import schema_org_dataset
from kg.catalog.tables import write_tables
from kg.catalog.void import void_queries

__all__ = [
    "BuiltGraph",
    "publisher_homepage",
    "publisher_iri",
    "record",
    "release_dates",
    "schema_org_dataset",
    "void_queries",
    "write_tables",
]


def record(graph: BuiltGraph, manifest: Manifest, store: pyoxigraph.Store) -> Iterator[Block]:
    """The catalogue record: DCAT-AP 3 catalogue, dataset, distributions, data service, VoID."""
    return iter(list(Record(graph, manifest, store).blocks()))
