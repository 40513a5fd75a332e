"""The DCAT-AP 3 catalogue record: catalogue, dataset (with its VoID description), its
distributions, the SPARQL data service, publisher, contact point and licence.

``Record(graph, manifest, store).blocks()`` yields the record as subject blocks, in a fixed
order (same inputs, same bytes). The parts live beside it by concept: kg/catalog/void.py
(counts and partitions), distributions.py (dump files, the endpoint, media types,
standards), sources.py (source documents, domains), eu.py (the EU concepts it may name).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph

from dipkg.core.manifest import Manifest
from dipkg.core.terms import IRI, Block, Literal, Term, en, zh
from kg.catalog.context import Context, publisher_homepage
from kg.catalog.distributions import (
    checksum_algorithm_block,
    distribution_blocks,
    media_type_blocks,
    sparql_distribution_block,
    standard_blocks,
)
from kg.catalog.graph import BuiltGraph
from kg.catalog.namespaces import (
    ADMS,
    AUTHORITY,
    DATA_THEME,
    DCAT,
    DCT,
    FOAF,
    LICENCE_TYPE,
    PUBLISHER_TYPE,
    SPARQL_PROTOCOL,
    VCARD,
    VOID,
    A,
    date,
    p,
    slug,
)
from kg.catalog.sources import domain_blocks, source_blocks
from kg.catalog.void import Void
from kg.changes import summary_text
from kg.guide import GuideConfig


class Record(Context):
    """The record of one release, written from the build's graph, manifest and store."""

    def __init__(self, graph: BuiltGraph, manifest: Manifest, store: pyoxigraph.Store) -> None:
        super().__init__(graph, manifest)
        self.void = Void.of(store, graph.minter)

    def version(self) -> list[tuple[IRI, Term]]:
        """dcat:version, adms:versionNotes (what changed) and dcat:previousVersion."""
        m = self.manifest
        pairs: list[tuple[IRI, Term]] = []
        if m.version:
            pairs.append((p(DCAT, "version"), Literal(m.version)))
        notes = self.version_notes()
        if notes:
            pairs += [
                (IRI(ADMS + "versionNotes"), en(notes["en"])),
                (IRI(ADMS + "versionNotes"), zh(notes["zh"])),
            ]
        if m.previous is not None:
            pairs.append(
                (p(DCAT, "previousVersion"), IRI(self.m.resource(f"release/{m.previous.name}")))
            )
        return pairs

    def version_notes(self) -> dict[str, str] | None:
        m = self.manifest
        previous = m.previous.to_json() if m.previous is not None else None
        changes = {**m.changes.summary_json(), "old": previous, "new": {"version": m.version}}
        link = self.m.resource("changes")
        return {
            "en": f"{summary_text(changes, 'en')} Details: {link}",
            "zh": f"{summary_text(changes, 'zh')}详见 {link}",
        }

    def previous_version_blocks(self) -> Iterator[Block]:
        """The releases before this one, each named (not typed dcat:Dataset: a harvester
        would list it) with the one it followed: a release IRI an earlier record named keeps
        dereferencing after later builds."""
        m = self.manifest
        if m.previous is None:
            return
        line = m.earlier_releases or (m.previous,)
        for i, release in enumerate(line):
            pairs: list[tuple[IRI, Term]] = [
                (p(DCT, "title"), en(f"{self.s.title_en}, version {release.version}")),
                (p(DCT, "title"), zh(f"{self.s.title_zh}（版本 {release.version}）")),
                (p(DCT, "identifier"), Literal(release.build_id)),
                (p(DCAT, "version"), Literal(str(release.version))),
            ]
            if release.modified:
                pairs.append((p(DCT, "modified"), date(release.modified)))
            if i > 0:
                before = line[i - 1]
                pairs.append(
                    (p(DCAT, "previousVersion"), IRI(self.m.resource(f"release/{before.name}")))
                )
            yield IRI(self.m.resource(f"release/{release.name}")), pairs

    # -- blocks --------------------------------------------------------------------
    def blocks(self) -> Iterator[Block]:
        manifest = self.manifest
        # a source file is its guide's distribution, not the dataset's
        distributions = [(self.m.distribution(slug(d.file)), d) for d in manifest.dataset_dumps]
        sparql_distribution = IRI(self.m.distribution("sparql"))
        guides = self.inputs.guides
        yield from self.catalog_block()
        yield self.dataset_block([IRI(d) for d, _ in distributions] + [sparql_distribution], guides)
        yield from self.previous_version_blocks()
        yield from self.void.partition_blocks()
        for iri, entry in distributions:
            yield from distribution_blocks(self, IRI(iri), entry)
        yield sparql_distribution_block(self, sparql_distribution)
        yield self.service_block()
        yield self.publisher_block()
        yield self.contact_block()
        yield self.license_block()
        yield from source_blocks(self, guides, manifest.source_dumps)
        yield from domain_blocks(self)
        yield from media_type_blocks(manifest.dumps)
        yield from standard_blocks(self)
        yield checksum_algorithm_block()
        yield (
            self.landing,
            [
                (A, p(FOAF, "Document")),
                (p(DCT, "title"), en(self.s.title_en)),
                (p(DCT, "title"), zh(self.s.title_zh)),
            ],
        )
        yield from self.eu.blocks()

    def catalog_block(self) -> Iterator[Block]:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, p(DCAT, "Catalog")),
            (p(DCT, "title"), en(s.catalog_title_en)),
            (p(DCT, "title"), zh(s.catalog_title_zh)),
            (p(DCT, "description"), en(s.catalog_description_en)),
            (p(DCT, "description"), zh(s.catalog_description_zh)),
            (p(DCT, "publisher"), self.publisher),
            (p(DCT, "license"), self.license),
            *self.dates(),
            *self.languages(),
            *(
                (p(DCT, "spatial"), self.eu.code("country", c, "spatial coverage"))
                for c in s.spatial
            ),
            (p(FOAF, "homepage"), self.landing),
            (p(DCAT, "themeTaxonomy"), IRI(self.m.scheme("domains"))),
            (p(DCAT, "themeTaxonomy"), IRI(AUTHORITY + "data-theme")),
            (p(DCAT, "dataset"), self.dataset),
            (p(DCAT, "service"), self.service),
        ]
        self.eu.used.add(AUTHORITY + "data-theme")
        yield self.catalog, pairs

    def dataset_block(self, distributions: list[IRI], guides: list[GuideConfig]) -> Block:
        s, m = self.s, self.m
        pairs: list[tuple[IRI, Term]] = [
            (A, p(DCAT, "Dataset")),
            (A, p(VOID, "Dataset")),
            (p(DCT, "title"), en(s.title_en)),
            (p(DCT, "title"), zh(s.title_zh)),
            (p(DCT, "description"), en(s.description_en)),
            (p(DCT, "description"), zh(s.description_zh)),
            *((p(DCAT, "keyword"), en(k)) for k in s.keywords_en),
            *((p(DCAT, "keyword"), zh(k)) for k in s.keywords_zh),
            (p(DCT, "identifier"), Literal(m.dataset())),
            (p(DCT, "publisher"), self.publisher),
            (p(DCT, "creator"), self.publisher),
            (p(DCAT, "contactPoint"), self.contact),
            (p(DCT, "license"), self.license),
            (
                p(DCT, "accessRights"),
                self.eu.code("access-right", s.access_rights, "access rights"),
            ),
            (
                p(DCT, "accrualPeriodicity"),
                self.eu.code("frequency", s.accrual_periodicity, "accrual periodicity"),
            ),
            *((p(DCT, "source"), IRI(m.guide(g.id))) for g in guides),
            *self.dates(),
            *self.version(),
            *self.languages(),
            *(
                (p(DCT, "spatial"), self.eu.code("country", c, "spatial coverage"))
                for c in s.spatial
            ),
            *((p(DCAT, "theme"), self.eu.concept(DATA_THEME + t, "data theme")) for t in s.themes),
            *((p(DCAT, "theme"), IRI(m.domain(k))) for k in self.inputs.domains),
            (p(DCAT, "landingPage"), self.landing),
            *((p(DCAT, "distribution"), d) for d in distributions),
        ]
        # VoID (counts over the default graph of the store: the data)
        pairs += self.void.dataset_pairs(self.service, self.manifest.dumps)
        return self.dataset, pairs

    def service_block(self) -> Block:
        s = self.s
        return self.service, [
            (A, p(DCAT, "DataService")),
            (p(DCT, "title"), en(f"SPARQL endpoint: {s.title_en}")),
            (p(DCT, "title"), zh(f"{s.title_zh} SPARQL 查询服务")),
            (
                p(DCT, "description"),
                en(
                    "Read-only SPARQL 1.1 endpoint over the whole knowledge graph; GET without a "
                    "query returns its service description."
                ),
            ),
            (
                p(DCT, "description"),
                zh("整个知识图谱的只读 SPARQL 1.1 查询服务；不带查询的 GET 请求返回其服务描述。"),
            ),
            (p(DCAT, "endpointURL"), self.service),
            (p(DCAT, "endpointDescription"), self.service),
            (p(DCAT, "servesDataset"), self.dataset),
            (p(DCT, "conformsTo"), IRI(SPARQL_PROTOCOL)),
            (p(DCT, "publisher"), self.publisher),
            (p(DCAT, "contactPoint"), self.contact),
            (p(DCT, "license"), self.license),
            (
                p(DCT, "accessRights"),
                self.eu.code("access-right", s.access_rights, "access rights"),
            ),
            *((p(DCAT, "theme"), self.eu.concept(DATA_THEME + t, "data theme")) for t in s.themes),
            (p(DCAT, "keyword"), en("SPARQL")),
            (p(DCAT, "keyword"), zh("SPARQL 查询")),
            (p(DCAT, "landingPage"), self.landing),
        ]

    def publisher_block(self) -> Block:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, p(FOAF, "Agent")),
            (A, p(FOAF, "Organization")),
            (p(FOAF, "name"), en(s.publisher_name_en)),
            (p(FOAF, "name"), zh(s.publisher_name_zh)),
            (p(FOAF, "homepage"), IRI(publisher_homepage(self.settings, self.m))),
        ]
        if s.publisher_type:
            pairs.append(
                (
                    p(DCT, "type"),
                    self.eu.concept(PUBLISHER_TYPE + s.publisher_type, "publisher type"),
                )
            )
        return self.publisher, pairs

    def contact_block(self) -> Block:
        s = self.s
        return self.contact, [
            (A, p(VCARD, "Kind")),
            (A, p(VCARD, "Organization")),
            (p(VCARD, "fn"), en(s.publisher_name_en)),
            (p(VCARD, "fn"), zh(s.publisher_name_zh)),
            (p(VCARD, "hasEmail"), IRI(f"mailto:{s.contact_email}")),
            (p(VCARD, "hasURL"), IRI(publisher_homepage(self.settings, self.m))),
        ]

    def license_block(self) -> Block:
        s = self.s
        pairs: list[tuple[IRI, Term]] = [
            (A, p(DCT, "LicenseDocument")),
            # dct:title only: with an rdfs:label, CKAN's DCAT parser stores the label instead of the
            # IRI
            (p(DCT, "title"), en(s.license_title)),
        ]
        if s.license_identifier():  # the version the title (CKAN's register title) leaves out
            pairs.append((p(DCT, "identifier"), Literal(s.license_identifier())))
        if s.license_type:
            pairs.append(
                (p(DCT, "type"), self.eu.concept(LICENCE_TYPE + s.license_type, "licence type"))
            )
        return self.license, pairs
