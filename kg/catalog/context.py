"""What every part of the catalogue record shares: the settings, the release, its IRIs, the
checked EU concepts, and the statements each resource repeats (dates, languages)."""

from __future__ import annotations

from dipkg.core.iris import Minter
from dipkg.core.manifest import Manifest
from dipkg.core.settings import Settings
from dipkg.core.terms import IRI, Term
from kg.catalog.eu import EuConcepts
from kg.catalog.graph import BuiltGraph
from kg.catalog.namespaces import DCATAP, DCT, LANGUAGE, date, p


def publisher_iri(settings: Settings, minter: Minter) -> str:
    return settings.catalog.publisher_iri or minter.resource("publisher")


def publisher_homepage(settings: Settings, minter: Minter) -> str:
    return settings.catalog.publisher_homepage or minter.base


def release_dates(manifest: Manifest) -> tuple[str | None, str | None]:
    """(issued, modified) of a release, from its manifest (None: not known, not published)."""
    return manifest.dates


class Context:
    """One record being written: the build's inputs, the final manifest, the used EU concepts."""

    def __init__(self, graph: BuiltGraph, manifest: Manifest) -> None:
        settings, minter = graph.settings, graph.minter
        self.graph = graph
        self.s = settings.catalog
        self.settings = settings
        self.m = minter
        self.manifest = manifest
        self.inputs = graph.inputs
        self.tr = graph.translations
        self.eu = EuConcepts(graph.inputs.root)
        self.dataset = IRI(minter.dataset())
        self.catalog = IRI(minter.catalog())
        self.service = IRI(minter.sparql_service())
        self.publisher = IRI(publisher_iri(settings, minter))
        self.contact = IRI(minter.contact_point())
        self.license = IRI(self.s.license_iri)
        self.landing = IRI(minter.base)

    def dates(self) -> list[tuple[IRI, Term]]:
        """dct:issued / dct:modified of this release (the build derives them: kg/changes.py)."""
        issued, modified = release_dates(self.manifest)
        return [
            (p(DCT, key), date(v)) for key, v in (("issued", issued), ("modified", modified)) if v
        ]

    def languages(self) -> list[tuple[IRI, Term]]:
        return [
            (p(DCT, "language"), self.eu.concept(LANGUAGE + c, "language")) for c in ("ZHO", "ENG")
        ]

    def availability(self) -> tuple[IRI, Term]:
        return (
            IRI(DCATAP + "availability"),
            self.eu.code("planned-availability", self.s.availability, "availability"),
        )
