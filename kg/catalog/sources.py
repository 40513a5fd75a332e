"""The inputs the record describes: each source document (a dcat:Dataset, the dct:source of
the knowledge graph, with its verbatim file as distribution) and the scheme of domains.

Guides, domains and their English labels come from the build's inputs (kg/catalog/graph.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dipkg.core.iris import DIP
from dipkg.core.manifest import DumpEntry
from dipkg.core.terms import IRI, Block, en, zh
from kg.catalog.context import Context
from kg.catalog.distributions import distribution_blocks
from kg.catalog.namespaces import DATA_THEME, DCAT, DCT, FOAF, LANGUAGE, SKOS, A, date, p, slug
from kg.guide import GuideConfig


def source_blocks(
    ctx: Context, guides: list[GuideConfig], source_dumps: Sequence[DumpEntry]
) -> Iterator[Block]:
    """The source documents: dct:source of a dcat:Dataset is a dcat:Dataset (DCAT-AP 3 range)."""
    for g in guides:
        files = [d for d in source_dumps if d.guide == g.id]
        citation_zh = g.title_zh + (f"，{g.annex}" if g.annex else "")
        yield (
            IRI(ctx.m.guide(g.id)),
            [
                (A, p(DCAT, "Dataset")),
                (A, IRI(DIP + "Guide")),
                (p(DCT, "title"), en(g.title_en)),
                (p(DCT, "title"), zh(g.title_zh)),
                (
                    p(DCT, "description"),
                    en(
                        f"The source document: {g.title_en}, {g.province_en}; its table of "
                        "application scenarios is what this knowledge graph represents."
                    ),
                ),
                (
                    p(DCT, "description"),
                    zh(f"源文件：{citation_zh}（{g.province_zh}）；本知识图谱表示其应用场景表。"),
                ),
                (p(DCT, "bibliographicCitation"), zh(citation_zh)),
                (p(DCT, "bibliographicCitation"), en(f"{g.title_en}, {g.province_en}")),
                *(
                    (p(DCAT, "keyword"), zh(k))
                    for k in (g.province_zh, "数据知识产权", "应用场景指引")
                ),
                *(
                    (p(DCAT, "keyword"), en(k))
                    for k in (
                        g.province_en,
                        "data intellectual property",
                        "application scenario guidance",
                    )
                ),
                *(
                    (p(DCAT, "theme"), ctx.eu.concept(DATA_THEME + t, "data theme"))
                    for t in ctx.s.themes
                ),
                *(
                    (p(DCT, "spatial"), ctx.eu.code("country", c, "spatial coverage"))
                    for c in ctx.s.spatial
                ),
                (p(DCT, "language"), ctx.eu.concept(LANGUAGE + "ZHO", "language")),
                *((p(DCAT, "distribution"), IRI(ctx.m.distribution(slug(d.file)))) for d in files),
                *(
                    [(p(DCT, "publisher"), IRI(f"{ctx.m.guide(g.id)}/issuer"))]
                    if g.issuer_zh or g.issuer_en
                    else []
                ),
                *([(p(DCT, "issued"), date(g.date))] if g.date else []),
            ],
        )
        if g.issuer_zh or g.issuer_en:  # from build/guides.toml only: never guessed
            yield (
                IRI(f"{ctx.m.guide(g.id)}/issuer"),
                [
                    (A, p(FOAF, "Agent")),
                    (A, p(FOAF, "Organization")),
                    *([(p(FOAF, "name"), en(g.issuer_en))] if g.issuer_en else []),
                    *([(p(FOAF, "name"), zh(g.issuer_zh))] if g.issuer_zh else []),
                ],
            )
        for d in files:
            yield from distribution_blocks(ctx, IRI(ctx.m.distribution(slug(d.file))), d)


def domain_blocks(ctx: Context) -> Iterator[Block]:
    scheme = IRI(ctx.m.scheme("domains"))
    domains = [IRI(ctx.m.domain(k)) for k in ctx.inputs.domains]
    yield (
        scheme,
        [
            (A, p(SKOS, "ConceptScheme")),
            (p(DCT, "title"), en("Domains")),
            (p(DCT, "title"), zh("领域")),
            (p(SKOS, "prefLabel"), en("Domains")),
            (p(SKOS, "prefLabel"), zh("领域")),
            *((p(SKOS, "hasTopConcept"), d) for d in domains),
        ],
    )
    for (key, label), iri in zip(ctx.inputs.domains.items(), domains, strict=True):
        yield (
            iri,
            [
                (A, p(SKOS, "Concept")),
                (p(SKOS, "prefLabel"), en(ctx.tr.en(label) or key)),
                (p(SKOS, "prefLabel"), zh(label)),
                (p(SKOS, "inScheme"), scheme),
                (p(SKOS, "topConceptOf"), scheme),
            ],
        )
