"""Curated corrections: where grammar cannot decide, people do.

``build/corrections.toml`` holds ``[[correction]]`` entries (see
docs/extraction.md). Each names a scenario, an exact ``match`` in its 涉及数据
cell and a ``reason``; a build applies each entry exactly once and fails if an
entry no longer matches, so a stale correction cannot linger.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dipkg.core.errors import CorrectionError
from kg.paths import display
from kg.source import split_lines

_ALLOWED = {"guide", "number", "match", "reason", "items", "qualifier", "example", "text"}


@dataclass
class Correction:
    guide: str
    number: int
    match: str
    reason: str
    items: tuple[str, ...] | None = None
    qualifier: str | None = None
    example: str | None = None
    text: str | None = None
    file: str = ""
    line: int | None = None
    fired: int = field(default=0, compare=False)

    @property
    def kind(self) -> str:
        return "items" if self.items is not None else "example"

    def describe(self) -> str:
        return f"scenario {self.guide}#{self.number}: {self.match!r} ({self.reason})"

    def error(self, message: str) -> CorrectionError:
        return CorrectionError(message, file=self.file, line=self.line)


def _entry_lines(text: str) -> list[int | None]:
    """For each ``[[correction]]`` table in order, the line of its ``match`` key (or of the header).

    One pass over the file: looking each match text up in the whole file was
    quadratic (minutes for 13,000 corrections) and named the first of several
    corrections with the same text.
    """
    lines = split_lines(text)
    headers = [n for n, line in enumerate(lines) if line.strip().startswith("[[correction]]")]
    out: list[int | None] = []
    for i, start in enumerate(headers):
        end = headers[i + 1] if i + 1 < len(headers) else len(lines)
        found = next((n for n in range(start, end) if lines[n].strip().startswith("match")), start)
        out.append(found + 1)
    return out


def load_corrections(path: Path) -> list[Correction]:
    """Read and check the corrections file (a missing file means no corrections)."""
    if not path.exists():
        return []
    shown = display(path)
    raw = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise CorrectionError(f"not valid TOML: {exc}", file=shown, line=line) from None
    unknown_top = set(data) - {"correction"}
    if unknown_top:
        raise CorrectionError(f"unknown top-level keys {sorted(unknown_top)}", file=shown, line=1)
    out: list[Correction] = []
    lines = _entry_lines(raw)
    for index, entry in enumerate(data.get("correction", []), start=1):
        match = entry.get("match")
        line = lines[index - 1] if index <= len(lines) else None

        def bad(message: str, line: int | None = line, index: int = index) -> CorrectionError:
            return CorrectionError(f"correction #{index}: {message}", file=shown, line=line)

        unknown = set(entry) - _ALLOWED
        if unknown:
            raise bad(f"unknown keys {sorted(unknown)}")
        for key in ("guide", "number", "match", "reason"):
            if key not in entry:
                raise bad(f"missing {key!r}")
        if not isinstance(entry["number"], int) or entry["number"] < 1:
            raise bad("'number' must be a positive integer")
        if not isinstance(match, str) or not match.strip():
            raise bad("'match' must be a non-empty string")
        if not str(entry["reason"]).strip():
            raise bad("'reason' must say why")
        items = entry.get("items")
        example = entry.get("example")
        if (items is None) == (example is None):
            raise bad(
                "give exactly one of 'items' (with optional 'qualifier') or 'example' (with 'text')"
            )
        if items is not None:
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, str) and i.strip() for i in items)
            ):
                raise bad("'items' must be a non-empty list of non-empty strings")
            if "text" in entry:
                raise bad("'text' goes with 'example', not with 'items'")
        else:
            if "text" not in entry or "qualifier" in entry:
                raise bad("'example' needs 'text' (and takes no 'qualifier')")
        out.append(
            Correction(
                guide=str(entry["guide"]),
                number=entry["number"],
                match=match,
                reason=str(entry["reason"]).strip(),
                items=tuple(i.strip() for i in items) if items is not None else None,
                qualifier=entry.get("qualifier"),
                example=example,
                text=entry.get("text"),
                file=shown,
                line=line,
            )
        )
    return out
