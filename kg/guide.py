"""Read the guides named in build/guides.toml into :mod:`kg.model` objects."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kg.corrections import Correction, load_corrections
from kg.errors import ConfigError, SourceError
from kg.extract import CellParser, _Where, normalize
from kg.iris import check_slug
from kg.model import Guide, Scenario
from kg.paths import display
from kg.source import read_table, strip_artifacts


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
    # Who issued the document and when: filled in from the document by someone who knows;
    # ""/None = not stated (the record then says nothing; never guessed).
    issuer_zh: str = ""
    issuer_en: str = ""
    date: str | None = None  # the document's publication date (YYYY-MM-DD)


@dataclass
class Inputs:
    """Everything the build reads from the inputs folder (build/)."""

    root: Path
    domains: dict[str, str]  # key -> Chinese label, in order
    guides: list[GuideConfig]
    corrections: list[Correction] = field(default_factory=list)

    def domain_key(self, label: str) -> str | None:
        for key, zh in self.domains.items():
            if zh == label:
                return key
        return None


def _iso_date(value: str, guide_id: str) -> str | None:
    import datetime

    if value:
        try:
            if len(value) != 10:
                raise ValueError
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"guide {guide_id!r}: date {value!r} is not written YYYY-MM-DD") from None
    return value or None


def load_inputs(root: Path) -> Inputs:
    path = root / "guides.toml"
    shown = display(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("the guides file is missing", file=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=shown) from None
    domains = data.get("domains") or {}
    if not domains:
        raise ConfigError("no [domains] defined", file=shown)
    try:
        for key in domains:
            check_slug(key, "domain key")
        guides = []
        ids: set[str] = set()
        for entry in data.get("guide", []):
            guide_id = check_slug(entry["id"], "guide id")
            if guide_id in ids:
                raise ConfigError(f"guide id {guide_id!r} is used twice", file=shown)
            ids.add(guide_id)
            guides.append(
                GuideConfig(
                    id=guide_id,
                    source=root / entry["source"],
                    title_zh=entry["title_zh"],
                    title_en=entry["title_en"],
                    province_zh=entry["province_zh"],
                    province_en=entry["province_en"],
                    batch=int(entry["batch"]),
                    annex=entry.get("annex"),
                    issuer_zh=str(entry.get("issuer_zh", "")).strip(),
                    issuer_en=str(entry.get("issuer_en", "")).strip(),
                    date=_iso_date(str(entry.get("date", "")).strip(), guide_id),
                )
            )
    except KeyError as exc:
        raise ConfigError(f"a [[guide]] lacks {exc.args[0]!r}", file=shown) from None
    except ValueError as exc:
        raise ConfigError(str(exc), file=shown) from None
    if not guides:
        raise ConfigError("no [[guide]] defined", file=shown)
    return Inputs(root, dict(domains), guides, load_corrections(root / "corrections.toml"))


def read_guide(config: GuideConfig, inputs: Inputs) -> Guide:
    """Read one guide's table into scenarios; every error names file:line."""
    shown = display(config.source)
    try:
        text = config.source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError("the source document is missing", file=shown) from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"the source is not UTF-8 ({exc.reason})", file=shown) from None
    table = read_table(text, shown)
    if config.title_zh not in (normalize(line) for line in table.preamble):
        raise SourceError(
            f"the document's title is not {config.title_zh!r} (build/guides.toml): is this the right source?",
            file=shown,
            line=1,
        )
    guide = Guide(config.id, shown)
    seen: dict[int, int] = {}
    domain: str | None = None
    mine = [c for c in inputs.corrections if c.guide == config.id]
    for row in table.rows:
        number_cell, domain_cell, name_cell, application_cell, data_cell = row.cells
        raw_number = number_cell.text.strip()
        if not raw_number.isdigit() or not raw_number.isascii() or int(raw_number) < 1:
            raise SourceError(f"序号 {raw_number!r} is not a positive number", file=shown, line=number_cell.line)
        number = int(raw_number)
        if number in seen:
            raise SourceError(
                f"duplicate 序号 {number} (first used on line {seen[number]})", file=shown, line=number_cell.line
            )
        seen[number] = number_cell.line
        label = normalize(domain_cell.text)
        if label:
            if inputs.domain_key(label) is None:
                known = "、".join(inputs.domains.values())
                raise SourceError(f"unknown domain {label!r} (known: {known})", file=shown, line=domain_cell.line)
            domain = label
        elif domain is None:
            raise SourceError("the first row's 领域 cell is blank: no domain to inherit", file=shown, line=domain_cell.line)
        name = normalize(strip_artifacts(name_cell.text))
        if not name:
            raise SourceError(f"scenario {number} has an empty 场景名称", file=shown, line=name_cell.line)
        application = normalize(strip_artifacts(application_cell.text))
        if not application:
            raise SourceError(f"scenario {number} has an empty 场景应用", file=shown, line=application_cell.line)
        data_text = strip_artifacts(data_cell.text).strip()
        if not data_text:
            raise SourceError(f"scenario {number} has an empty 涉及数据", file=shown, line=data_cell.line)
        parser = CellParser(
            _Where(shown, data_cell.line, data_cell.column), [c for c in mine if c.number == number]
        )
        example, categories = parser.parse(data_cell.text)
        guide.scenarios.append(
            Scenario(
                number=number,
                domain=domain,
                name=name,
                application=application,
                data_text=data_text,
                line=number_cell.line,
                data_line=data_cell.line,
                example=example,
                categories=categories,
            )
        )
    for correction in mine:
        if correction.number not in seen:
            raise correction.error(
                f"correction no longer matches: guide {config.id} has no scenario {correction.number}"
            )
    return guide
