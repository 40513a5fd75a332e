"""Read the guides named in build/guides.toml into :mod:`kg.model` objects."""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dipkg.core.errors import ConfigError, SourceError, closest
from dipkg.core.iris import check_slug
from kg.corrections import Correction, load_corrections
from kg.docx_table import read_docx_table
from kg.extract import CellParser, normalize, where_of
from kg.model import Guide, Scenario
from kg.paths import display
from kg.source import Cell, Table, read_source, read_table, strip_artifacts


@dataclass(frozen=True)
class GuideConfig:
    id: str
    source: Path
    title_zh: str
    title_en: str
    province_zh: str
    province_en: str
    batch: int
    annex: str | None = None
    # Who issued the document, as it states: filled in by someone who knows;
    # "" = not stated (the record then says nothing; never guessed).
    issuer_zh: str = ""
    issuer_en: str = ""
    date: str | None = None  # the source document's publication date (YYYY-MM-DD); None: not known


@dataclass
class Inputs:
    """Everything the build reads from the inputs folder (build/)."""

    root: Path
    domains: dict[str, str]  # key -> Chinese label, in order
    guides: list[GuideConfig]
    corrections: list[Correction] = field(default_factory=list)
    #: ``edited`` in guides.toml: when the project last edited these inputs (YYYY-MM-DD)
    edited: str | None = None

    def domain_key(self, label: str) -> str | None:
        """The key of the domain labelled ``label``; white space (a .docx's nbsp, U+3000) does not
        count."""
        bare = "".join(label.split())
        for key, zh in self.domains.items():
            if "".join(zh.split()) == bare:
                return key
        return None


def _date(value: object, guide_id: str) -> str | None:
    """A guide's declared ``date``: YYYY-MM-DD, or empty/absent when the document states none."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    try:
        if isinstance(value, str) and len(value) == 10:
            return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError(
        f'guide {guide_id!r}: date {value!r} is not a date written YYYY-MM-DD (or "" when unknown)'
    )


_TEXT_KEYS = ("id", "source", "title_zh", "title_en", "province_zh", "province_en")
_OPTIONAL_TEXT_KEYS = ("annex", "issuer_zh", "issuer_en")


def _no_unknown_keys(table: dict[str, object], known: tuple[str, ...], where: str) -> None:
    """A ValueError for a key of ``table`` the build does not read (a mistyped ``isuer_zh``
    would leave its value out in silence), naming the closest known key."""
    for key in table:
        if key not in known:
            close = closest(key, known)
            hint = f"; did you mean {close!r}?" if close else f" (known: {', '.join(known)})"
            raise ValueError(f"{where}: no such key {key!r}{hint}")


def _checked_entry(entry: object, index: int) -> dict[str, object]:
    """A ``[[guide]]`` whose values have the types the build reads, else a ValueError naming
    the guide (its id, or its place among the guides) and the key."""
    if not isinstance(entry, dict):
        raise ValueError(f"guide {index} is not a [[guide]] table")
    raw_id = entry.get("id")
    name = f"guide {raw_id!r}" if isinstance(raw_id, str) else f"guide {index}"
    for key in (*_TEXT_KEYS, "batch"):
        if key not in entry:
            raise ValueError(f"{name} lacks {key!r}")
    for key in (*_TEXT_KEYS, *_OPTIONAL_TEXT_KEYS):
        if key in entry and not isinstance(entry[key], str):
            raise ValueError(f"{name}: {key} should be a string (got {entry[key]!r})")
    _no_unknown_keys(entry, (*_TEXT_KEYS, *_OPTIONAL_TEXT_KEYS, "batch", "date"), name)
    batch = entry["batch"]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"{name}: batch should be a whole number from 1 (got {batch!r})")
    return entry


def load_inputs(root: Path) -> Inputs:
    path = root / "guides.toml"
    shown = display(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("the guides file is missing", file=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=shown) from None
    try:
        _no_unknown_keys(data, ("edited", "domains", "guide"), "the guides file")
    except ValueError as exc:
        raise ConfigError(str(exc), file=shown) from None
    domains = data.get("domains") or {}
    if not domains:
        raise ConfigError("no [domains] defined", file=shown)
    if not isinstance(domains, dict):
        raise ConfigError("[domains] should be a table of key = label", file=shown)
    try:
        for key, label in domains.items():
            check_slug(key, "domain key")
            if not isinstance(label, str):
                raise ValueError(f"domain {key!r}: its label should be a string (got {label!r})")
        guides = []
        ids: set[str] = set()
        entries = data.get("guide", [])
        if not isinstance(entries, list):
            raise ValueError("guide should be [[guide]] tables")
        for index, raw in enumerate(entries, start=1):
            entry = _checked_entry(raw, index)
            guide_id = check_slug(str(entry["id"]), "guide id")
            if guide_id in ids:
                raise ConfigError(f"guide id {guide_id!r} is used twice", file=shown)
            ids.add(guide_id)
            guides.append(
                GuideConfig(
                    id=guide_id,
                    source=root / str(entry["source"]),
                    title_zh=str(entry["title_zh"]),
                    title_en=str(entry["title_en"]),
                    province_zh=str(entry["province_zh"]),
                    province_en=str(entry["province_en"]),
                    batch=int(str(entry["batch"])),
                    annex=str(entry["annex"]) if "annex" in entry else None,
                    issuer_zh=str(entry.get("issuer_zh", "")).strip(),
                    issuer_en=str(entry.get("issuer_en", "")).strip(),
                    date=_date(entry.get("date"), guide_id),
                )
            )
    except ValueError as exc:
        raise ConfigError(str(exc), file=shown) from None
    if not guides:
        raise ConfigError("no [[guide]] defined", file=shown)
    try:
        edited = _date(data.get("edited"), "edited")
    except ValueError as exc:
        raise ConfigError(str(exc).replace("guide 'edited': date", "edited"), file=shown) from None
    return Inputs(root, dict(domains), guides, load_corrections(root / "corrections.toml"), edited)


def _read_source(config: GuideConfig) -> Table:
    """The guide's table from its source: a text dump (.txt) or the Word document (.docx)."""
    shown = display(config.source)
    suffix = config.source.suffix.lower()
    if suffix == ".pdf":
        raise SourceError(
            "PDF sources are not read (a PDF's table has no cells, only positioned text): "
            "use the .docx the annex is published in",
            file=shown,
        )
    if not config.source.is_file():
        raise SourceError("the source document is missing", file=shown)
    if suffix == ".docx":
        return read_docx_table(config.source, shown)
    return read_table(read_source(config.source, shown), shown)


def _place(cell: Cell) -> str:
    return f"line {cell.line}" if cell.table is None else f"table {cell.table}, row {cell.row}"


def read_guide(config: GuideConfig, inputs: Inputs) -> Guide:
    """Read one guide's table into scenarios; every error names file:line (or the .docx cell)."""
    shown = display(config.source)
    table = _read_source(config)
    if config.title_zh not in (normalize(line) for line in table.preamble):
        raise SourceError(
            f"the document's title is not {config.title_zh!r} (build/guides.toml): is this the "
            "right source?",
            file=shown,
            line=1 if config.source.suffix.lower() != ".docx" else None,
        )
    guide = Guide(config.id, shown)
    seen: dict[int, Cell] = {}
    domain: str | None = None
    mine = [c for c in inputs.corrections if c.guide == config.id]
    for row in table.rows:
        number_cell, domain_cell, name_cell, application_cell, data_cell = row.cells
        raw_number = number_cell.text.strip()
        if not raw_number.isdigit() or not raw_number.isascii() or int(raw_number) < 1:
            raise number_cell.error(f"序号 {raw_number!r} is not a positive number", shown)
        number = int(raw_number)
        if number in seen:
            raise number_cell.error(
                f"duplicate 序号 {number} (first used on {_place(seen[number])})", shown
            )
        seen[number] = number_cell
        label = normalize(domain_cell.text)
        if label:
            key = inputs.domain_key(label)
            if key is None:
                known = "、".join(inputs.domains.values())
                raise domain_cell.error(f"unknown domain {label!r} (known: {known})", shown)
            domain = inputs.domains[key]
        elif domain is None:
            raise domain_cell.error(
                "the first row's 领域 cell is blank: no domain to inherit", shown
            )
        name = normalize(strip_artifacts(name_cell.text))
        if not name:
            raise name_cell.error(f"scenario {number} has an empty 场景名称", shown)
        application = normalize(strip_artifacts(application_cell.text))
        if not application:
            raise application_cell.error(f"scenario {number} has an empty 场景应用", shown)
        data_text = strip_artifacts(data_cell.text).strip()
        if not data_text:
            raise data_cell.error(f"scenario {number} has an empty 涉及数据", shown)
        parser = CellParser(where_of(data_cell, shown), [c for c in mine if c.number == number])
        example, categories = parser.parse(data_cell.text)
        guide.scenarios.append(
            Scenario(
                number=number,
                domain=domain,
                name=name,
                application=application,
                data_text=data_text,
                line=number_cell.line,
                cell=number_cell.locator,
                example=example,
                categories=categories,
            )
        )
    for correction in mine:
        if correction.number not in seen:
            raise correction.error(
                f"correction no longer matches: guide {config.id} has no scenario "
                f"{correction.number}"
            )
    return guide
