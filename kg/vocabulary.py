"""The shared vocabulary of data kinds (SKOS), curated as tables in build/vocabulary/.

Tables (tab-separated, UTF-8, first line a header, ``#`` lines and blank lines ignored):

* ``concepts.tsv``: one row per data kind: ``slug`` (its IRI is ``{base}concept/{slug}``),
  ``zh`` and ``en`` prefLabels, ``broader`` (slugs, ``|``-separated; empty for a top
  concept), ``zh_alt`` and ``en_alt`` altLabels (``|``-separated), ``pi`` (``yes``/``no``:
  personal information), ``sensitive`` (empty or one of the slugs of ``pipl-sensitive.tsv``;
  needs ``pi`` = ``yes``), ``exact_match`` (an external IRI verified from a source, else
  empty) and a free ``note``. An empty ``en`` falls back to build/translations.tsv.
* ``mapping.tsv``: which concept each category or field label is: ``zh`` (the label as
  extracted), ``concept`` (a slug), optional ``scenario`` (a scenario identifier such as
  ``guizhou-b1-s17``, so a scoped row never leaks into another batch) and ``path``
  (positions, e.g. ``3.1``) when the same words mean different kinds in different places,
  and a ``note``. The most specific row wins: label+scenario+path, then label+scenario,
  then label alone.
* ``pipl-sensitive.tsv``: the sensitive personal information categories of Art. 28 of
  the Personal Information Protection Law of the PRC (``slug``, ``zh``, ``en``,
  ``definition_zh``, ``definition_en``), published as the scheme ``{base}scheme/pipl-sensitive``
  with concepts ``{base}concept/pipl-{slug}``.

Interface used by the build (kg/build.py, kg/rdf.py):

* ``Vocabulary.load(inputs_dir, minter, translations)``
* ``vocabulary.data_kind(label, scenario, path)`` -> the concept IRI of a category or
  field. A loaded vocabulary raises :class:`SourceError` for an item no row maps, so a
  build with an unmapped item fails; the empty ``Vocabulary(minter)`` returns None.
  The build uses ``kind_or_missing`` (the same, but it notes an unmapped item) and then
  ``check_mapped()``, which fails naming every unmapped item at once (a new batch).
* ``vocabulary.concept_for(label, scenario, path)`` -> the :class:`Concept` itself (the
  tables in kg/catalog/tables.py list its labels, broader kinds and personal-information flags).
* ``vocabulary.blocks()`` -> subject blocks of the two concept schemes and their concepts.

The tables are read and checked in kg/vocabulary_tables.py; this module looks items up
in them and writes them as RDF.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dipkg.core.errors import SourceError
from dipkg.core.iris import PREFIXES, Minter
from dipkg.core.terms import IRI, Block, Literal, Term, en, zh
from kg.translations import Translations
from kg.vocabulary_tables import (
    CONCEPTS_FILE,
    DATA_KINDS_SCHEME,
    MAPPING_FILE,
    PIPL_FILE,
    PIPL_PREFIX,
    PIPL_SCHEME,
    VOCABULARY_DIR,
    Concept,
    MappingRow,
    SensitiveCategory,
    load_concepts,
    load_mapping,
    load_sensitive,
)

__all__ = ["Concept", "MappingRow", "SensitiveCategory", "Vocabulary"]

XSD_BOOLEAN = PREFIXES["xsd"] + "boolean"


def _ns(prefix: str):
    base = PREFIXES[prefix]
    return lambda local: IRI(base + local)


DIP, RDF, RDFS, SKOS, DCT = (_ns(p) for p in ("dip", "rdf", "rdfs", "skos", "dcterms"))
A = RDF("type")
LABEL = RDFS("label")


def _item(label: str, scenario: str, path: tuple[int, ...]) -> str:
    return f"{label!r} (scenario {scenario}, item {'.'.join(map(str, path))})"


@dataclass
class Vocabulary:
    minter: Minter
    concepts: list[Concept] = field(default_factory=list)
    mapping: list[MappingRow] = field(default_factory=list)
    sensitive: list[SensitiveCategory] = field(default_factory=list)
    concepts_file: str = ""
    mapping_file: str = ""
    strict: bool = False  # raise on an unmapped item (a loaded vocabulary)

    def __post_init__(self) -> None:
        self._by_slug = {c.slug: c for c in self.concepts}
        self._rows: dict[tuple[str, int | None, tuple[int, ...] | None], MappingRow] = {
            (r.zh, r.scenario, r.path): r for r in self.mapping
        }
        self.used: set[int] = set()  # line numbers of mapping rows that matched an item
        self.missing: list[
            tuple[str, str, tuple[int, ...]]
        ] = []  # unmapped items met by kind_or_missing

    # -- loading ---------------------------------------------------------------
    @classmethod
    def load(cls, inputs_dir: Path, minter: Minter, translations: Translations) -> Vocabulary:
        folder = Path(inputs_dir) / VOCABULARY_DIR
        sensitive = load_sensitive(folder / PIPL_FILE)
        concepts, concepts_file = load_concepts(
            folder / CONCEPTS_FILE, translations, {s.slug for s in sensitive}
        )
        mapping, mapping_file = load_mapping(folder / MAPPING_FILE, {c.slug for c in concepts})
        return cls(minter, concepts, mapping, sensitive, concepts_file, mapping_file, strict=True)

    # -- lookups -----------------------------------------------------------------
    def concept_iri(self, slug: str) -> str:
        return self.minter.concept(slug)

    def sensitive_iri(self, slug: str) -> str:
        return self.minter.concept(PIPL_PREFIX + slug)

    def row_for(self, label: str, scenario: str, path: tuple[int, ...]) -> MappingRow | None:
        for key in ((label, scenario, tuple(path)), (label, scenario, None), (label, None, None)):
            row = self._rows.get(key)
            if row is not None:
                return row
        return None

    def data_kind(self, label: str, scenario: str, path: tuple[int, ...]) -> str | None:
        row = self.row_for(label, scenario, path)
        if row is None:
            if self.strict:
                raise SourceError(
                    f"no data kind for {_item(label, scenario, path)}: add a row to the mapping "
                    "table",
                    file=self.mapping_file,
                    details={"label": label, "scenario": scenario, "path": list(path)},
                )
            return None
        self.used.add(row.line)
        return self.concept_iri(row.concept)

    def concept_for(self, label: str, scenario: str, path: tuple[int, ...]) -> Concept | None:
        """The data kind (as a :class:`Concept`) of an item, or None when no row maps it; no side
        effects."""
        row = self.row_for(label, scenario, path)
        return self._by_slug.get(row.concept) if row is not None else None

    def concept(self, slug: str) -> Concept:
        return self._by_slug[slug]

    def sensitive_category(self, slug: str) -> SensitiveCategory:
        return next(s for s in self.sensitive if s.slug == slug)

    def kind_or_missing(self, label: str, scenario: str, path: tuple[int, ...]) -> str | None:
        """Like :meth:`data_kind`, but an unmapped item is noted (reported all at once by
        :meth:`check_mapped`)."""
        if self.strict and self.row_for(label, scenario, path) is None:
            if (label, scenario, tuple(path)) not in self.missing:
                self.missing.append((label, scenario, tuple(path)))
            return None
        return self.data_kind(label, scenario, path)

    def check_mapped(self) -> None:
        """After a full pass over the items: one error listing every item no mapping row maps."""
        if not self.missing:
            return
        shown = ", ".join(_item(*m) for m in self.missing[:5])
        more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        count = f"{len(self.missing)} item{'s' if len(self.missing) > 1 else ''}"
        raise SourceError(
            f"no data kind for {count}: {shown}{more}: add rows to the mapping table",
            file=self.mapping_file,
            details={
                "missing": [
                    {"label": lb, "scenario": sc, "path": ".".join(map(str, pa))}
                    for lb, sc, pa in self.missing
                ]
            },
        )

    def unused_rows(self) -> list[MappingRow]:
        """Mapping rows no item matched (meaningful after the build has emitted every item)."""
        return [r for r in self.mapping if r.line not in self.used]

    def narrower(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {c.slug: [] for c in self.concepts}
        for concept in self.concepts:
            for parent in concept.broader:
                out[parent].append(concept.slug)
        return out

    # -- RDF ---------------------------------------------------------------------
    def blocks(self) -> Iterator[Block]:
        if not self.concepts and not self.sensitive:
            return
        yield from self._data_kind_blocks()
        yield from self._sensitive_blocks()

    def _data_kind_blocks(self) -> Iterator[Block]:
        scheme = IRI(self.minter.scheme(DATA_KINDS_SCHEME))
        tops = [IRI(self.concept_iri(c.slug)) for c in self.concepts if not c.broader]
        yield (
            scheme,
            [
                (A, SKOS("ConceptScheme")),
                (LABEL, zh("数据种类")),
                (LABEL, en("Data kinds")),
                (SKOS("prefLabel"), zh("数据种类")),
                (SKOS("prefLabel"), en("Data kinds")),
                (
                    SKOS("definition"),
                    zh(
                        "跨应用场景共享的数据种类：各场景的数据类别与数据字段通过 dip:dataKind "
                        "指向其中的概念。"
                    ),
                ),
                (
                    SKOS("definition"),
                    en(
                        "The kinds of data shared across application scenarios: "
                        "every data category and "
                        "data field of a scenario points to one of these concepts "
                        "with dip:dataKind."
                    ),
                ),
                *((SKOS("hasTopConcept"), top) for top in tops),
            ],
        )
        narrower = self.narrower()
        for concept in self.concepts:
            pairs: list[tuple[IRI, Term]] = [
                (A, SKOS("Concept")),
                (A, DIP("DataKind")),
                (LABEL, zh(concept.zh)),
                (LABEL, en(concept.en)),
                (SKOS("prefLabel"), zh(concept.zh)),
                (SKOS("prefLabel"), en(concept.en)),
                *((SKOS("altLabel"), zh(alt)) for alt in concept.zh_alt),
                *((SKOS("altLabel"), en(alt)) for alt in concept.en_alt),
                (SKOS("notation"), Literal(concept.slug)),
                (SKOS("inScheme"), scheme),
            ]
            if not concept.broader:
                pairs.append((SKOS("topConceptOf"), scheme))
            pairs.extend((SKOS("broader"), IRI(self.concept_iri(b))) for b in concept.broader)
            pairs.extend(
                (SKOS("narrower"), IRI(self.concept_iri(n))) for n in narrower[concept.slug]
            )
            if concept.exact_match:
                pairs.append((SKOS("exactMatch"), IRI(concept.exact_match)))
            if concept.pi:
                pairs.append((DIP("personalInformation"), Literal("true", datatype=XSD_BOOLEAN)))
            if concept.sensitive:
                pairs.append((DIP("sensitiveCategory"), IRI(self.sensitive_iri(concept.sensitive))))
            yield IRI(self.concept_iri(concept.slug)), pairs

    def _sensitive_blocks(self) -> Iterator[Block]:
        if not self.sensitive:
            return
        scheme = IRI(self.minter.scheme(PIPL_SCHEME))
        members = [IRI(self.sensitive_iri(s.slug)) for s in self.sensitive]
        title_zh = "敏感个人信息类别（《中华人民共和国个人信息保护法》第二十八条）"
        title_en = (
            "Sensitive personal information categories "
            "(Personal Information Protection Law of the PRC, Art. 28)"
        )
        yield (
            scheme,
            [
                (A, SKOS("ConceptScheme")),
                (LABEL, zh(title_zh)),
                (LABEL, en(title_en)),
                (SKOS("prefLabel"), zh(title_zh)),
                (SKOS("prefLabel"), en(title_en)),
                (
                    SKOS("definition"),
                    zh(
                        "《个人信息保护法》第二十八条列举的敏感个人信息：生物识别、宗教信仰、特定身份、医疗健康、"
                        "金融账户、行踪轨迹等信息，以及不满十四周岁未成年人的个人信息。"
                    ),
                ),
                (
                    SKOS("definition"),
                    en(
                        "The sensitive personal information listed in Article 28 "
                        "of the Personal Information Protection Law: "
                        "biometrics, religious belief, specific identity, medical health, "
                        "financial accounts and whereabouts, "
                        "and the personal information of minors under fourteen."
                    ),
                ),
                *((SKOS("hasTopConcept"), m) for m in members),
            ],
        )
        for category, iri in zip(self.sensitive, members, strict=True):
            yield (
                iri,
                [
                    (A, SKOS("Concept")),
                    (LABEL, zh(category.zh)),
                    (LABEL, en(category.en)),
                    (SKOS("prefLabel"), zh(category.zh)),
                    (SKOS("prefLabel"), en(category.en)),
                    (SKOS("definition"), zh(category.definition_zh)),
                    (SKOS("definition"), en(category.definition_en)),
                    (SKOS("notation"), Literal(category.slug)),
                    (SKOS("inScheme"), scheme),
                    (SKOS("topConceptOf"), scheme),
                ],
            )
