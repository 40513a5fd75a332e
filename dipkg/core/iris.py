"""Every IRI dipkg mints is minted here, and only here.

* The ontology namespace is fixed: ``https://w3id.org/dipkg/ontology#`` (prefix ``dip:``).
* Resource IRIs hang below a configurable base (``Settings.base_iri``, default
  ``https://w3id.org/dipkg/``). They are ASCII, readable and stable: a scenario is
  named by its guide and its row number, a data item by its position path, so
  adding a batch never renumbers an earlier one. Chinese stays in the labels.

Layout below the base::

    guide/{guide}                         the source document (one batch of one province)
    domain/{key}                          a domain (industry, transport, ...)
    scenario/{guide}-s{NN}                a scenario (NN: its row number, 2 digits)
    scenario/{guide}-s{NN}/data/{path}    a category or field; path = positions, e.g. 3.1.2
    concept/{slug}                        a data kind (shared vocabulary)
    scheme/{slug}                         a SKOS concept scheme
    dataset, catalog, sparql, ...         the catalogue record's resources
    graph/{name}                          named graphs: data (in a shared store), catalog
    dataset/distribution/{slug}           a distribution (slug from the dump's file name)
    dataset/distribution/{slug}/checksum  its SHA-256 checksum (spdx:Checksum)
    dataset/void/{class|property}/{slug}  a VoID class or property partition
    contact                               the contact point (vcard)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ONTOLOGY_IRI = "https://w3id.org/dipkg/ontology"
DIP = ONTOLOGY_IRI + "#"

# Namespaces used across the project (one table, also used for Turtle prefixes).
PREFIXES: dict[str, str] = {
    "dip": DIP,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "https://schema.org/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "void": "http://rdfs.org/ns/void#",
    "vann": "http://purl.org/vocab/vann/",
    "sh": "http://www.w3.org/ns/shacl#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "spdx": "http://spdx.org/rdf/terms#",
}

#: a local name the writers (Turtle, JSON-LD) shorten to ``prefix:local``: a safe subset of
#: Turtle's PN_LOCAL (no '.', which may not end a local name, and no escapes)
_TURTLE_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: a local name the pages show as ``prefix:local`` (also '.', e.g. a data item's path)
_DISPLAY_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def curie(iri: str, *, turtle: bool, prefixes: Mapping[str, str] = PREFIXES) -> str | None:
    """``prefix:local`` for ``iri`` in the first namespace of ``prefixes`` it lies in and
    whose rest is a local name, else None.

    ``turtle=True``: the writers' rule (Turtle and JSON-LD dumps: letters, digits, '_' and
    '-'); ``turtle=False``: the pages' display rule, which also allows '.'.
    ``prefixes``: the namespaces to try, in order (the JSON-LD writer passes its context's).
    """
    local = _TURTLE_LOCAL if turtle else _DISPLAY_LOCAL
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and local.match(iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return None


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_slug(slug: str, what: str = "slug") -> str:
    if not _SLUG.match(slug):
        raise ValueError(f"{what} {slug!r} is not a lower-case ASCII slug (a-z, 0-9, '-')")
    return slug


@dataclass(frozen=True)
class Minter:
    """Mints resource IRIs below ``base`` (which ends with '/')."""

    base: str

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            raise ValueError("base IRI must end with '/'")

    def guide(self, guide_id: str) -> str:
        return f"{self.base}guide/{check_slug(guide_id, 'guide id')}"

    def domain(self, key: str) -> str:
        return f"{self.base}domain/{check_slug(key, 'domain key')}"

    def scenario(self, guide_id: str, number: int) -> str:
        if number < 1:
            raise ValueError("scenario numbers start at 1")
        return f"{self.base}scenario/{check_slug(guide_id, 'guide id')}-s{number:02d}"

    def data_item(self, scenario_iri: str, path: Sequence[int]) -> str:
        """A category or field of a scenario, by its positions (1-based) from the top."""
        if not path or any(p < 1 for p in path):
            raise ValueError("a data item path is a non-empty sequence of positions >= 1")
        return f"{scenario_iri}/data/{'.'.join(str(p) for p in path)}"

    def concept(self, slug: str) -> str:
        return f"{self.base}concept/{check_slug(slug, 'concept slug')}"

    def scheme(self, slug: str) -> str:
        return f"{self.base}scheme/{check_slug(slug, 'scheme slug')}"

    # -- catalogue record -------------------------------------------------
    def dataset(self) -> str:
        return f"{self.base}dataset"

    def catalog(self) -> str:
        return f"{self.base}catalog"

    def graph(self, name: str) -> str:
        """A named graph: ``data`` (the graph in a shared store), ``catalog`` (the catalogue
        record)."""
        return f"{self.base}graph/{check_slug(name, 'graph name')}"

    def sparql_service(self) -> str:
        return f"{self.base}sparql"

    def dump(self, filename: str) -> str:
        return f"{self.base}dumps/{filename}"

    def distribution(self, slug: str) -> str:
        return f"{self.base}dataset/distribution/{check_slug(slug, 'distribution slug')}"

    def checksum(self, slug: str) -> str:
        return f"{self.distribution(slug)}/checksum"

    def partition(self, kind: str, slug: str) -> str:
        """A VoID partition of the dataset: kind is 'class' or 'property'."""
        if kind not in ("class", "property"):
            raise ValueError("a partition is a 'class' or a 'property' partition")
        return f"{self.dataset()}/void/{kind}/{check_slug(slug, 'partition slug')}"

    def contact_point(self) -> str:
        return f"{self.base}contact"

    def resource(self, path: str) -> str:
        """Any other resource below the base, by relative path (no leading '/')."""
        if path.startswith("/") or not path.isascii():
            raise ValueError("relative ASCII path expected")
        return f"{self.base}{path}"


def document_order(iri: str) -> tuple[list[tuple[int, int, str]], str]:
    """A sort key of IRIs (or paths) in document order: digits compare as numbers
    (guizhou-b1-s02 < s10, data/1.2 < data/1.10); equal numbers (s1, s01) by the text, so
    the order never depends on a set's."""
    parts = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", iri)]
    return parts, iri
