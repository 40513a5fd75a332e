"""Curated English labels: build/translations.tsv (zh<TAB>en, one row per Chinese string)."""

from __future__ import annotations

from pathlib import Path

from kg.errors import SourceError
from kg.paths import display
from kg.source import check_line, split_lines


class Translations:
    def __init__(self, table: dict[str, str], file: str) -> None:
        self.table = table
        self.file = file
        self.missing: list[str] = []

    def en(self, zh: str) -> str:
        value = self.table.get(zh)
        if value is None:
            if zh not in self.missing:
                self.missing.append(zh)
            return ""
        return value


def load_translations(path: Path) -> Translations:
    shown = display(path)
    try:
        lines = split_lines(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError("the translations table is missing", file=shown) from None
    if not lines or lines[0].split("\t")[:2] != ["zh", "en"]:
        raise SourceError("the first line must be the header 'zh<TAB>en'", file=shown, line=1)
    table: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        check_line(line, shown, number)
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise SourceError("expected 'zh<TAB>en' with both filled", file=shown, line=number)
        zh, en = parts[0], parts[1].strip()
        if zh != zh.strip():
            raise SourceError(f"the Chinese key {zh!r} has surrounding spaces", file=shown, line=number)
        if zh in table:
            raise SourceError(f"{zh!r} is translated twice", file=shown, line=number)
        table[zh] = en
    return Translations(table, shown)
