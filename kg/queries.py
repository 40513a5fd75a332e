"""The library of example questions: build/queries/NN-slug.rq.

Each file is one SPARQL query that answers a real question across scenarios. It
starts with comment front matter, one line per key and language, all four required::

    # title@zh: 哪些场景需要温度数据
    # title@en: Which scenarios need temperature data
    # description@zh: ...
    # description@en: ...

then the query itself (with its PREFIXes). The file name gives the query's id
(``02-scenarios-needing-temperature``) and its place in the list. The web app
serves these in its query UI; tests/test_queries.py checks each one's answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph

from dipkg.core.errors import SourceError
from kg.paths import INPUTS_DIR, display
from kg.source import split_lines

QUERIES_DIR = "queries"
LANGUAGES = ("zh", "en")
KEYS = ("title", "description")

_NAME = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.rq$")
_FRONT = re.compile(r"^#\s*([A-Za-z_]+)@([A-Za-z-]+)\s*:(.*)$")


@dataclass(frozen=True)
class ExampleQuery:
    id: str  # the file name without .rq, e.g. "02-scenarios-needing-temperature"
    titles: dict[str, str]  # language -> text
    descriptions: dict[str, str]
    text: str  # the query, without the front matter
    file: str

    def title(self, lang: str = "en") -> str:
        return self.titles[lang]

    def description(self, lang: str = "en") -> str:
        return self.descriptions[lang]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": dict(self.titles),
            "description": dict(self.descriptions),
            "query": self.text,
        }


def parse_query_file(path: Path) -> ExampleQuery:
    """Read one .rq file; raise :class:`SourceError` (file and line) when it is malformed."""
    shown = display(path)
    if not _NAME.match(path.name):
        raise SourceError(
            "query file names look like 'NN-slug.rq' (two digits, a lower-case slug), not "
            f"{path.name!r}",
            file=shown,
        )
    try:
        lines = split_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text", file=shown) from None
    values: dict[tuple[str, str], str] = {}
    body_start = len(lines)
    for number, line in enumerate(lines, start=1):
        if not line.startswith("#"):
            body_start = number - 1
            break
        found = _FRONT.match(line)
        if not found:
            raise SourceError(
                "front matter lines look like '# title@zh: ...' (keys title, description; "
                "languages zh, en)",
                file=shown,
                line=number,
            )
        key, lang, text = found.group(1), found.group(2), found.group(3).strip()
        if key not in KEYS or lang not in LANGUAGES:
            raise SourceError(
                f"unknown front matter key {key}@{lang} (expected title or description, @zh or "
                "@en)",
                file=shown,
                line=number,
            )
        if not text:
            raise SourceError(f"{key}@{lang} is empty", file=shown, line=number)
        if (key, lang) in values:
            raise SourceError(f"{key}@{lang} is given twice", file=shown, line=number)
        values[(key, lang)] = text
    for key in KEYS:
        for lang in LANGUAGES:
            if (key, lang) not in values:
                raise SourceError(f"the front matter has no {key}@{lang}", file=shown, line=1)
    text = "\n".join(lines[body_start:]).strip()
    if not text:
        raise SourceError("no query after the front matter", file=shown, line=body_start + 1)
    try:
        pyoxigraph.Store().query(text)  # parses (and runs on an empty store: cheap)
    except SyntaxError as exc:
        raise SourceError(
            f"not a valid SPARQL query: {exc}", file=shown, line=body_start + 1
        ) from None
    return ExampleQuery(
        id=path.stem,
        titles={lang: values[("title", lang)] for lang in LANGUAGES},
        descriptions={lang: values[("description", lang)] for lang in LANGUAGES},
        text=text + "\n",
        file=shown,
    )


def load_queries(dir: Path | None = None) -> list[ExampleQuery]:  # noqa: A002 - the documented name
    """All example queries of ``dir`` (default: build/queries), in file-name order."""
    folder = Path(dir) if dir is not None else INPUTS_DIR / QUERIES_DIR
    if not folder.is_dir():
        raise SourceError("the example queries folder is missing", file=display(folder))
    queries = [parse_query_file(path) for path in sorted(folder.glob("*.rq"))]
    seen: dict[str, str] = {}
    for query in queries:
        number = query.id[:2]
        if number in seen:
            raise SourceError(
                f"query number {number} is used twice (also {seen[number]})", file=query.file
            )
        seen[number] = query.file
    return queries
