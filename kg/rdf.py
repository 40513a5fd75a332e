"""The extracted guides as RDF subject blocks (see :mod:`dipkg.core.terms`), in document order.

The graph shape is the one the SHACL shapes in ontology/shapes.ttl require; the
ontology (ontology/dipkg.ttl) defines the ``dip:`` terms.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dipkg.core.iris import PREFIXES, Minter
from dipkg.core.terms import IRI, Block, Literal, Term, en, integer, zh
from kg.guide import GuideConfig, Inputs
from kg.model import DataCategory, DataField, Guide, Scenario
from kg.translations import LongTranslations, Translations
from kg.vocabulary import Vocabulary


def _ns(prefix: str):
    base = PREFIXES[prefix]
    return lambda local: IRI(base + local)


DIP, RDF, RDFS, SKOS, DCT, SCHEMA = (
    _ns(p) for p in ("dip", "rdf", "rdfs", "skos", "dcterms", "schema")
)
A = RDF("type")
LABEL = RDFS("label")


class Emitter:
    def __init__(
        self,
        inputs: Inputs,
        translations: Translations,
        minter: Minter,
        vocabulary: Vocabulary | None = None,
        long: LongTranslations | None = None,
    ) -> None:
        self.inputs = inputs
        self.tr = translations
        self.mint = minter
        self.vocabulary = vocabulary or Vocabulary(minter)
        self.long = long  # English for the long texts; None: Chinese only
        self.unmapped: dict[
            tuple[str, tuple[int, ...]], str
        ] = {}  # (scenario IRI, item path) -> label, no data kind

    def _labels(self, predicate: IRI, text: str) -> list[tuple[IRI, Term]]:
        pairs: list[tuple[IRI, Term]] = [(predicate, zh(text))]
        english = self.tr.en(text)
        if english:
            pairs.append((predicate, en(english)))
        return pairs

    def _long(self, predicate: IRI, scenario: str, field: str, text: str) -> list[tuple[IRI, Term]]:
        pairs: list[tuple[IRI, Term]] = [(predicate, zh(text))]
        english = self.long.en(scenario, field, text) if self.long is not None else ""
        if english:
            pairs.append((predicate, en(english)))
        return pairs

    # -- the whole graph -----------------------------------------------------
    def blocks(self, guides: Sequence[tuple[GuideConfig, Guide]]) -> Iterator[Block]:
        yield from self.domain_blocks()
        for config, guide in guides:
            yield self.guide_block(config)
            for scenario in guide.scenarios:
                yield from self.scenario_blocks(config, scenario)

    def domain_blocks(self) -> Iterator[Block]:
        scheme = IRI(self.mint.scheme("domains"))
        domains = [IRI(self.mint.domain(key)) for key in self.inputs.domains]
        yield (
            scheme,
            [
                (A, SKOS("ConceptScheme")),
                (LABEL, zh("领域")),
                (LABEL, en("Domains")),
                (SKOS("prefLabel"), zh("领域")),
                (SKOS("prefLabel"), en("Domains")),
                *((SKOS("hasTopConcept"), d) for d in domains),
            ],
        )
        for (key, label), iri in zip(self.inputs.domains.items(), domains, strict=True):
            yield (
                iri,
                [
                    (A, DIP("Domain")),
                    (A, SKOS("Concept")),
                    *self._labels(LABEL, label),
                    *self._labels(SKOS("prefLabel"), label),
                    (SKOS("notation"), Literal(key)),
                    (SKOS("inScheme"), scheme),
                    (SKOS("topConceptOf"), scheme),
                ],
            )

    def guide_block(self, config: GuideConfig) -> Block:
        citation_zh = config.title_zh + (f"，{config.annex}" if config.annex else "")
        return IRI(self.mint.guide(config.id)), [
            (A, DIP("Guide")),
            (LABEL, zh(config.title_zh)),
            (LABEL, en(config.title_en)),
            (DCT("title"), zh(config.title_zh)),
            (DCT("title"), en(config.title_en)),
            (DCT("identifier"), Literal(config.id)),
            (DCT("bibliographicCitation"), zh(citation_zh)),
            (DCT("bibliographicCitation"), en(f"{config.title_en}, {config.province_en}")),
        ]

    def scenario_blocks(self, config: GuideConfig, scenario: Scenario) -> Iterator[Block]:
        iri = IRI(self.mint.scenario(config.id, scenario.number))
        identifier = iri.value.rsplit("/", 1)[1]
        domain_key = self.inputs.domain_key(scenario.domain)
        assert domain_key is not None  # checked when reading the source
        pairs: list[tuple[IRI, Term]] = [
            (A, DIP("Scenario")),
            *self._labels(LABEL, scenario.name),
            (DCT("identifier"), Literal(identifier)),
            (DIP("number"), integer(scenario.number)),
            (DIP("domain"), IRI(self.mint.domain(domain_key))),
            (DCT("source"), IRI(self.mint.guide(config.id))),
            *(((DIP("sourceLine"), integer(scenario.line)),) if scenario.line is not None else ()),
            *(((DIP("sourceCell"), Literal(scenario.cell)),) if scenario.cell is not None else ()),
            *self._long(DIP("application"), identifier, "application", scenario.application),
            *self._long(DIP("dataText"), identifier, "data", scenario.data_text),
        ]
        if scenario.example:
            pairs.extend(self._labels(DIP("exampleContext"), scenario.example))
        children = [
            IRI(self.mint.data_item(iri.value, (i,)))
            for i in range(1, len(scenario.categories) + 1)
        ]
        pairs.extend((DIP("hasCategory"), c) for c in children)
        yield iri, pairs
        for position, (category, child) in enumerate(
            zip(scenario.categories, children, strict=True), start=1
        ):
            yield from self.item_blocks(category, child, (position,), iri, iri, scenario.number)

    def item_blocks(
        self,
        item: DataCategory | DataField,
        iri: IRI,
        path: tuple[int, ...],
        scenario: IRI,
        parent: IRI,
        number: int,
    ) -> Iterator[Block]:
        kind = "DataCategory" if isinstance(item, DataCategory) else "DataField"
        pairs: list[tuple[IRI, Term]] = [
            (A, DIP(kind)),
            *self._labels(LABEL, item.label),
            (SCHEMA("position"), integer(path[-1])),
            (DIP("scenario"), scenario),
            (DCT("isPartOf"), parent),
        ]
        kind = self.vocabulary.kind_or_missing(item.label, scenario.value.rsplit("/", 1)[1], path)
        if kind:
            pairs.append((DIP("dataKind"), IRI(kind)))
        else:
            self.unmapped[(scenario.value, path)] = item.label
        if isinstance(item, DataField):
            yield iri, pairs
            return
        if item.qualifier:
            pairs.extend(self._labels(DIP("qualifier"), item.qualifier))
        children = []
        for position, child in enumerate(item.children, start=1):
            child_iri = IRI(self.mint.data_item(scenario.value, (*path, position)))
            link = DIP("hasSubCategory") if isinstance(child, DataCategory) else DIP("hasField")
            pairs.append((link, child_iri))
            children.append((child, child_iri, (*path, position)))
        yield iri, pairs
        for child, child_iri, child_path in children:
            yield from self.item_blocks(child, child_iri, child_path, scenario, iri, number)
