"""The catalogue record (DCAT-AP 3, VoID, schema.org) and the CSV distributions.

Interface used by the build (kg/build.py):

* ``write_tables(graph, dumps_dir)`` writes the CSV tables (+ CSVW metadata) into
  the dumps folder and returns their dump entries (same keys as the RDF dumps'
  entries in the manifest: file, format, media_type, encoding, bytes, sha256).
* ``record(settings, minter, manifest, store)`` returns the catalogue record as
  subject blocks; the build writes it to ``catalog.ttl`` in the release and
  loads it into the store's named graph ``{base}graph/catalog``. ``manifest`` is
  the final manifest (counts, dumps with sizes and checksums); ``store`` is the
  release's store (read it for VoID counts).

This stub writes and records nothing; the catalogue issue fills it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph

from kg.iris import Minter
from kg.settings import Settings
from kg.terms import Block

if TYPE_CHECKING:
    from kg.build import Graph


def write_tables(graph: Graph, dumps_dir: Path) -> list[dict[str, Any]]:
    return []


def record(settings: Settings, minter: Minter, manifest: dict[str, Any], store: pyoxigraph.Store) -> Iterator[Block]:
    return iter(())
