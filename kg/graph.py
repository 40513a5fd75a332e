"""The graph the build publishes: its inputs read once, as a re-iterable stream of blocks.

:class:`Graph` reads the guides (with corrections), translations, vocabularies and the
ontology; :meth:`Graph.blocks` streams the whole graph as subject blocks, in one fixed
order, as often as a writer asks. The build (kg/build.py) writes it out; the catalogue
(kg/catalog/) describes it. Both import this module, which imports neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import rdflib

from dipkg.core.errors import ConfigError, SourceError
from dipkg.core.iris import Minter
from dipkg.core.serialize import sha256_file
from dipkg.core.settings import Settings
from dipkg.core.terms import Block
from kg.catalog.context import publisher_iri
from kg.graphs import graph_blocks, load_turtle
from kg.guide import Inputs, load_inputs, read_guide
from kg.paths import INPUTS_DIR, ONTOLOGY_DIR, display
from kg.rdf import Emitter
from kg.translations import load_long_translations, load_translations
from kg.vocabulary import Vocabulary

FOAF_NAME = rdflib.URIRef("http://xmlns.com/foaf/0.1/name")

Log = Callable[[str], None]


class Graph:
    """The whole graph to publish, as a re-iterable stream of subject blocks."""

    def __init__(self, settings: Settings, log: Log) -> None:
        self.settings = settings
        self.minter = Minter(settings.base_iri)
        log("reading inputs")
        inputs_dir = settings.inputs_dir or INPUTS_DIR
        self.inputs: Inputs = load_inputs(inputs_dir)
        self.translations = load_translations(inputs_dir / "translations.tsv")
        self.long_translations = load_long_translations(inputs_dir / "long-translations.tsv")
        self.guides = [(config, read_guide(config, self.inputs)) for config in self.inputs.guides]
        guide_ids = {config.id for config in self.inputs.guides}
        for correction in self.inputs.corrections:
            if correction.guide not in guide_ids:
                raise correction.error(f"correction names an unknown guide {correction.guide!r}")
        self.vocabulary = Vocabulary.load(inputs_dir, self.minter, self.translations)
        self.emitter = Emitter(
            self.inputs, self.translations, self.minter, self.vocabulary, self.long_translations
        )
        self.ontology = load_turtle(ONTOLOGY_DIR / "dipkg.ttl")
        self.check_publisher()
        self.ontology_blocks = list(graph_blocks(self.ontology))  # rdflib -> pyoxigraph once
        self.shapes = load_turtle(ONTOLOGY_DIR / "shapes.ttl")
        self.context = json.loads((ONTOLOGY_DIR / "context.jsonld").read_text(encoding="utf-8"))[
            "@context"
        ]

    def check_publisher(self) -> None:
        """The record names its publisher from the settings (catalog.publisher_*); the
        ontology names its creator. With the default base they are one IRI, and one IRI is one
        agent: a publisher named otherwise there needs its own IRI (or base). Known-bad: the
        data then gave the IRI both names, and /publisher showed the ontology's."""
        iri = publisher_iri(self.settings, self.minter)
        named = {
            (o.language, str(o))
            for o in self.ontology.objects(rdflib.URIRef(iri), FOAF_NAME)
            if isinstance(o, rdflib.Literal)
        }
        s = self.settings.catalog
        if named and named != {("zh", s.publisher_name_zh), ("en", s.publisher_name_en)}:
            theirs = " / ".join(name for _, name in sorted(named))
            raise ConfigError(
                f"the publisher's IRI <{iri}> is the ontology's creator ({theirs}), but "
                f"catalog.publisher_name_zh/_en name it {s.publisher_name_zh!r} / "
                f"{s.publisher_name_en!r}: one IRI names one organisation; set "
                "DIPKG_CATALOG__PUBLISHER_IRI to your organisation's IRI (or DIPKG_BASE_IRI "
                "to your own base)",
                details={"setting": "catalog.publisher_iri"},
            )

    def check_translations(self) -> None:
        """After a full pass over blocks(): every Chinese label met must have its English twin,
        then every scenario's long texts (场景应用, 涉及数据) theirs (build/long-translations.tsv),
        then every category and field its data kind. Each error lists all that is missing
        (``details["missing"]``; the CLI prints them), so a new batch needs one round per table."""
        if self.translations.missing:
            shown = ", ".join(self.translations.missing[:5])
            more = (
                f" and {len(self.translations.missing) - 5} more"
                if len(self.translations.missing) > 5
                else ""
            )
            raise SourceError(
                f"no English label for {len(self.translations.missing)} Chinese labels: "
                f"{shown}{more}",
                file=self.translations.file,
                details={"missing": self.translations.missing},
            )
        self.long_translations.check()
        self.vocabulary.check_mapped()

    def blocks(self) -> Iterator[Block]:
        yield from self.emitter.blocks(self.guides)
        yield from self.vocabulary.blocks()
        yield from self.ontology_blocks

    @property
    def source_names(self) -> list[str]:
        """The guides' sources as the dumps and manifest name them: by their path relative
        to the inputs folder (``sources/….txt``), the same in a checkout, a wheel install or
        a copy anywhere, so the same inputs give the same bytes and build id. A source
        outside the inputs folder is named by its file name and SHA-256."""
        names = []
        for config, _ in self.guides:
            relative = Path(os.path.relpath(config.source, self.inputs.root))
            if relative.parts and relative.parts[0] != os.pardir and not relative.is_absolute():
                names.append(relative.as_posix())
            else:
                names.append(f"{config.source.name} (sha256 {sha256_file(config.source)})")
        return names

    @property
    def source_file(self) -> str:
        return self.guides[0][1].source_path if self.guides else display(INPUTS_DIR)
