"""What the catalogue reads of the build: the inputs it already read, never read again.

kg/build.py's ``Graph`` has these attributes; the catalogue takes them from it (the tables'
rows, the record's guides, domains and their English labels) instead of loading the inputs
a second time, so the record and the dumps always describe the same inputs.
"""

from __future__ import annotations

from typing import Protocol

from dipkg.core.iris import Minter
from dipkg.core.settings import Settings
from kg.guide import GuideConfig, Inputs
from kg.model import Guide
from kg.translations import LongTranslations, Translations
from kg.vocabulary import Vocabulary


class BuiltGraph(Protocol):
    """The build's view of its inputs (kg.build.Graph)."""

    settings: Settings
    minter: Minter
    inputs: Inputs
    translations: Translations
    long_translations: LongTranslations
    vocabulary: Vocabulary
    guides: list[tuple[GuideConfig, Guide]]
