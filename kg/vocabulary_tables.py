"""The curated tables of the vocabulary (build/vocabulary/), read and checked.

Each reader returns the rows as values (:class:`Concept`, :class:`MappingRow`,
:class:`SensitiveCategory`) or raises one :class:`SourceError` naming the file and line;
kg/vocabulary.py documents the columns and looks items up in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dipkg.core.errors import SourceError
from dipkg.core.iris import check_slug
from kg.paths import display
from kg.source import check_line, split_lines
from kg.translations import Translations

VOCABULARY_DIR = "vocabulary"
CONCEPTS_FILE = "concepts.tsv"
MAPPING_FILE = "mapping.tsv"
PIPL_FILE = "pipl-sensitive.tsv"
DATA_KINDS_SCHEME = "data-kinds"
PIPL_SCHEME = "pipl-sensitive"
PIPL_PREFIX = "pipl-"

CONCEPT_COLUMNS = [
    "slug",
    "zh",
    "en",
    "broader",
    "zh_alt",
    "en_alt",
    "pi",
    "sensitive",
    "exact_match",
    "note",
]
MAPPING_COLUMNS = ["zh", "concept", "scenario", "path", "note"]
_SCENARIO_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*-s\d{2,}$")
PIPL_COLUMNS = ["slug", "zh", "en", "definition_zh", "definition_en"]


@dataclass(frozen=True)
class Concept:
    slug: str
    zh: str
    en: str
    broader: tuple[str, ...]
    zh_alt: tuple[str, ...]
    en_alt: tuple[str, ...]
    pi: bool
    sensitive: str | None
    exact_match: str | None
    note: str
    line: int


@dataclass(frozen=True)
class MappingRow:
    zh: str
    concept: str
    scenario: str | None
    path: tuple[int, ...] | None
    note: str
    line: int

    def describe(self) -> str:
        where = ""
        if self.scenario is not None:
            where = f" in scenario {self.scenario}"
            if self.path is not None:
                where += f" at {'.'.join(map(str, self.path))}"
        return f"{self.zh!r}{where} -> {self.concept}"


@dataclass(frozen=True)
class SensitiveCategory:
    slug: str
    zh: str
    en: str
    definition_zh: str
    definition_en: str


@dataclass
class Table:
    file: str
    rows: list[tuple[int, dict[str, str]]]


def read_table(path: Path, columns: list[str], what: str) -> Table:
    shown = display(path)
    try:
        lines = split_lines(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"the {what} table is missing", file=shown) from None
    except UnicodeDecodeError:
        raise SourceError(f"the {what} table is not UTF-8 text", file=shown) from None
    if not lines or lines[0].rstrip("\r").split("\t") != columns:
        raise SourceError(
            f"the first line must be the header {'<TAB>'.join(columns)!r}", file=shown, line=1
        )
    rows = []
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        check_line(line, shown, number)
        cells = line.split("\t")
        if len(cells) > len(columns):
            raise SourceError(
                f"expected {len(columns)} tab-separated columns, found {len(cells)}",
                file=shown,
                line=number,
            )
        cells += [""] * (len(columns) - len(cells))
        for name, cell in zip(columns, cells, strict=True):
            if cell != cell.strip():
                raise SourceError(
                    f"column {name!r} has surrounding spaces: {cell!r}", file=shown, line=number
                )
        rows.append((number, dict(zip(columns, cells, strict=True))))
    return Table(shown, rows)


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|")) if cell else ()


def _is_iri(text: str) -> bool:
    return text.startswith(("http://", "https://")) and not any(c in text for c in ' <>"{}|^`\\')


def load_sensitive(path: Path) -> list[SensitiveCategory]:
    table = read_table(path, PIPL_COLUMNS, "sensitive personal information")
    out: list[SensitiveCategory] = []
    seen: set[str] = set()
    for number, row in table.rows:
        for name in PIPL_COLUMNS:
            if not row[name]:
                raise SourceError(f"column {name!r} is empty", file=table.file, line=number)
        try:
            check_slug(row["slug"], "category slug")
        except ValueError as exc:
            raise SourceError(str(exc), file=table.file, line=number) from None
        if row["slug"] in seen:
            raise SourceError(
                f"category {row['slug']!r} is listed twice", file=table.file, line=number
            )
        seen.add(row["slug"])
        out.append(
            SensitiveCategory(
                row["slug"], row["zh"], row["en"], row["definition_zh"], row["definition_en"]
            )
        )
    if not out:
        raise SourceError("no sensitive personal information categories", file=table.file)
    return out


def load_concepts(
    path: Path, translations: Translations, sensitive: set[str]
) -> tuple[list[Concept], str]:
    table = read_table(path, CONCEPT_COLUMNS, "data kind concepts")
    file = table.file
    concepts: list[Concept] = []
    slugs: dict[str, int] = {}
    labels: dict[str, tuple[str, int]] = {}  # zh label (pref or alt) -> (slug, line)
    for number, row in table.rows:
        slug = row["slug"]
        try:
            check_slug(slug, "concept slug")
        except ValueError as exc:
            raise SourceError(str(exc), file=file, line=number) from None
        if slug.startswith(PIPL_PREFIX):
            raise SourceError(
                f"concept slugs starting with {PIPL_PREFIX!r} are reserved for the PIPL scheme",
                file=file,
                line=number,
            )
        if slug in slugs:
            raise SourceError(
                f"concept {slug!r} is already defined on line {slugs[slug]}", file=file, line=number
            )
        slugs[slug] = number
        if not row["zh"]:
            raise SourceError(
                f"concept {slug!r} has no Chinese prefLabel (column 'zh')", file=file, line=number
            )
        english = row["en"] or translations.table.get(row["zh"], "")
        if not english:
            raise SourceError(
                f"concept {slug!r} has no English prefLabel (column 'en', nor in the translations "
                "table)",
                file=file,
                line=number,
            )
        zh_alt, en_alt = _split(row["zh_alt"]), _split(row["en_alt"])
        for label in (row["zh"], *zh_alt):
            if not label:
                raise SourceError(f"concept {slug!r} has an empty label", file=file, line=number)
            if label in labels:
                other, line = labels[label]
                raise SourceError(
                    f"the Chinese label {label!r} of {slug!r} is already a label of {other!r} "
                    f"(line {line})",
                    file=file,
                    line=number,
                )
            labels[label] = (slug, number)
        if (
            any(not a for a in en_alt)
            or len(set(zh_alt)) != len(zh_alt)
            or len(set(en_alt)) != len(en_alt)
        ):
            raise SourceError(
                f"concept {slug!r} has an empty or repeated altLabel", file=file, line=number
            )
        if english in en_alt:
            raise SourceError(
                f"concept {slug!r}: the English prefLabel is also an altLabel",
                file=file,
                line=number,
            )
        if row["pi"] not in ("yes", "no"):
            raise SourceError(
                f"column 'pi' must be 'yes' or 'no', not {row['pi']!r}", file=file, line=number
            )
        pi = row["pi"] == "yes"
        category = row["sensitive"] or None
        if category is not None:
            if category not in sensitive:
                raise SourceError(
                    f"unknown sensitive category {category!r} (one of: "
                    f"{', '.join(sorted(sensitive))})",
                    file=file,
                    line=number,
                )
            if not pi:
                raise SourceError(
                    f"concept {slug!r} is sensitive ({category}) but not marked pi=yes",
                    file=file,
                    line=number,
                )
        exact = row["exact_match"] or None
        if exact is not None and not _is_iri(exact):
            raise SourceError(
                f"exact_match {exact!r} is not an http(s) IRI", file=file, line=number
            )
        broader = _split(row["broader"])
        if len(set(broader)) != len(broader) or slug in broader:
            raise SourceError(
                f"concept {slug!r} has a repeated or self broader", file=file, line=number
            )
        concepts.append(
            Concept(
                slug,
                row["zh"],
                english,
                broader,
                zh_alt,
                en_alt,
                pi,
                category,
                exact,
                row["note"],
                number,
            )
        )
    if not concepts:
        raise SourceError("the concepts table has no concepts", file=file)
    for concept in concepts:
        for parent in concept.broader:
            if parent not in slugs:
                raise SourceError(
                    f"concept {concept.slug!r} has an unknown broader {parent!r}",
                    file=file,
                    line=concept.line,
                )
    _check_acyclic(concepts, file)
    return concepts, file


def _check_acyclic(concepts: list[Concept], file: str) -> None:
    by_slug = {c.slug: c for c in concepts}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(slug: str, trail: list[str]) -> None:
        if state.get(slug) == 2:
            return
        if state.get(slug) == 1:
            cycle = trail[trail.index(slug) :] + [slug]
            raise SourceError(
                f"skos:broader cycle: {' -> '.join(cycle)}", file=file, line=by_slug[slug].line
            )
        state[slug] = 1
        for parent in by_slug[slug].broader:
            visit(parent, [*trail, slug])
        state[slug] = 2

    for concept in concepts:
        visit(concept.slug, [])


def load_mapping(path: Path, slugs: set[str]) -> tuple[list[MappingRow], str]:
    table = read_table(path, MAPPING_COLUMNS, "data kind mapping")
    file = table.file
    rows: list[MappingRow] = []
    seen: dict[tuple, int] = {}
    for number, row in table.rows:
        if not row["zh"]:
            raise SourceError("column 'zh' (the label) is empty", file=file, line=number)
        if row["concept"] not in slugs:
            raise SourceError(
                f"unknown concept {row['concept']!r} (not in the concepts table)",
                file=file,
                line=number,
            )
        scenario: str | None = None
        if row["scenario"]:
            if not _SCENARIO_ID.match(row["scenario"]):
                raise SourceError(
                    "scenario must be a scenario identifier like guizhou-b1-s17, not "
                    f"{row['scenario']!r}",
                    file=file,
                    line=number,
                )
            scenario = row["scenario"]
        item_path: tuple[int, ...] | None = None
        if row["path"]:
            if scenario is None:
                raise SourceError("a path needs a scenario", file=file, line=number)
            parts = row["path"].split(".")
            if not all(p.isdigit() and int(p) >= 1 for p in parts):
                raise SourceError(
                    f"path must be positions like 3.1.2, not {row['path']!r}",
                    file=file,
                    line=number,
                )
            item_path = tuple(int(p) for p in parts)
        key = (row["zh"], scenario, item_path)
        if key in seen:
            raise SourceError(
                f"{row['zh']!r} is mapped twice for the same place (line {seen[key]})",
                file=file,
                line=number,
            )
        seen[key] = number
        rows.append(MappingRow(row["zh"], row["concept"], scenario, item_path, row["note"], number))
    return rows, file
