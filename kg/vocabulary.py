"""The shared vocabulary of data kinds (SKOS), curated as tables in build/vocabulary/.

Interface used by the build (kg/build.py, kg/rdf.py):

* ``Vocabulary.load(inputs_dir, minter, translations)``
* ``vocabulary.data_kind(label, scenario, path)`` -> the concept IRI of a
  category or field (or None when the vocabulary has no entry; the build then
  reports the item as unmapped).
* ``vocabulary.blocks()`` -> subject blocks of the concept scheme and concepts.

This stub maps nothing; the vocabulary issue fills it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kg.iris import Minter
from kg.terms import Block
from kg.translations import Translations


class Vocabulary:
    def __init__(self, minter: Minter) -> None:
        self.minter = minter

    @classmethod
    def load(cls, inputs_dir: Path, minter: Minter, translations: Translations) -> Vocabulary:
        return cls(minter)

    def data_kind(self, label: str, scenario: int, path: tuple[int, ...]) -> str | None:
        return None

    def blocks(self) -> Iterator[Block]:
        return iter(())
