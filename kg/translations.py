"""Curated English labels: build/translations.tsv (zh<TAB>en, one row per Chinese string)."""

from __future__ import annotations

from pathlib import Path

from dipkg.core.errors import SourceError
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
            raise SourceError(
                f"the Chinese key {zh!r} has surrounding spaces", file=shown, line=number
            )
        if zh in table:
            raise SourceError(f"{zh!r} is translated twice", file=shown, line=number)
        table[zh] = en
    return Translations(table, shown)


# -- the long texts: build/long-translations.tsv ---------------------------------------
LONG_HEADER = ["scenario", "field", "zh", "en"]
LONG_FIELDS = ("application", "data")  # dip:application (场景应用), dip:dataText (涉及数据)


def _unescape(cell: str) -> str:
    r"""A long text's cell: ``\n``, ``\t`` and ``\\`` stand for a newline, a tab and a backslash."""
    out, i = [], 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell) and cell[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[cell[i + 1]])
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


def escape_long(text: str) -> str:
    """The inverse of the table's escapes, for writing a row."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class LongTranslations:
    """English for each scenario's 场景应用 and 涉及数据, keyed by (scenario identifier, field).

    The row's zh cell must equal the source's text: when the source changes, the
    stale row fails the build naming its line. Missing rows are collected
    (``missing``) and reported all at once after a full pass, like missing labels.
    """

    def __init__(self, rows: dict[tuple[str, str], tuple[str, str, int]], file: str) -> None:
        self.rows = rows  # (scenario, field) -> (zh, en, line)
        self.file = file
        self.missing: list[dict[str, str]] = []
        self.used: set[tuple[str, str]] = set()

    def en(self, scenario: str, field: str, zh: str) -> str:
        key = (scenario, field)
        row = self.rows.get(key)
        if row is None:
            if not any(m["scenario"] == scenario and m["field"] == field for m in self.missing):
                self.missing.append({"scenario": scenario, "field": field, "zh": zh})
            return ""
        if row[0] != zh:
            raise SourceError(
                f"stale translation: the Chinese {field} text of {scenario} "
                "is no longer the source's; "
                "copy the source's text into the zh cell and revise the English",
                file=self.file,
                line=row[2],
            )
        self.used.add(key)
        return row[1]

    def check(self) -> None:
        """After a full pass: every long text met has its English; no row names a text the guides
        lack."""
        if self.missing:
            shown = ", ".join(f"{m['scenario']} {m['field']}" for m in self.missing[:5])
            more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
            raise SourceError(
                f"no English for {len(self.missing)} long texts: {shown}{more}",
                file=self.file,
                details={"missing": self.missing},
            )
        for key, (_, _, line) in sorted(self.rows.items(), key=lambda item: item[1][2]):
            if key not in self.used:
                raise SourceError(
                    f"stale translation: the guides have no {key[1]} text for scenario {key[0]}",
                    file=self.file,
                    line=line,
                )


def load_long_translations(path: Path) -> LongTranslations:
    shown = display(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SourceError("the long-text translations table is missing", file=shown) from None
    if not lines or lines[0].split("\t") != LONG_HEADER:
        raise SourceError(
            "the first line must be the header 'scenario<TAB>field<TAB>zh<TAB>en'",
            file=shown,
            line=1,
        )
    rows: dict[tuple[str, str], tuple[str, str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4 or not all(p.strip() for p in parts):
            raise SourceError(
                "expected 'scenario<TAB>field<TAB>zh<TAB>en', all four filled",
                file=shown,
                line=number,
            )
        scenario, field, zh, en = parts
        if field not in LONG_FIELDS:
            raise SourceError(
                f"field {field!r} is not one of {', '.join(LONG_FIELDS)}", file=shown, line=number
            )
        if en != en.strip():
            raise SourceError("the English text has surrounding spaces", file=shown, line=number)
        if (scenario, field) in rows:
            raise SourceError(f"{scenario} {field} is translated twice", file=shown, line=number)
        rows[(scenario, field)] = (_unescape(zh), _unescape(en), number)
    return LongTranslations(rows, shown)
