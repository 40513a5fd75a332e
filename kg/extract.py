"""Read a 涉及数据 (data involved) cell into example context and categories.

The rules are written down, with examples, in docs/extraction.md; the numbers
in the comments below refer to them. Curated corrections
(:mod:`kg.corrections`) are applied first: each replaces its exact match by a
placeholder that stands for the curated items.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dipkg.core.errors import SourceError
from kg.corrections import Correction
from kg.model import DataCategory, DataField
from kg.source import Cell, strip_artifacts

OPEN = "（("
CLOSE = "）)"
TOP_SEPARATORS = ("以及", "、", "，", "；")
ITEM_SEPARATORS = ("、", "，")
CELL_INTRODUCERS = ("涉及", "包含", "如")
LIST_INTRODUCERS = ("涵盖", "如")
DATA = "数据"
_EXAMPLE = re.compile(r"^以(?P<example>[^，,。]+?)为例[，,]\s*")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_WS = re.compile(r"\s+")


@dataclass
class _Where:
    file: str
    line: int
    column: int

    def error(self, message: str, column: int | None = None) -> SourceError:
        return SourceError(message, file=self.file, line=self.line, column=column)


@dataclass
class _CellWhere(_Where):
    """A cell of a .docx table: errors name table/row/column, and the character within the cell."""

    table: int = 1
    row: int = 1
    table_column: int = 1

    def error(self, message: str, column: int | None = None) -> SourceError:
        if column is not None:
            message += f" (character {column - self.column + 1} of the cell)"
        return SourceError(
            message, file=self.file, table=self.table, row=self.row, column=self.table_column
        )


def where_of(cell: Cell, file: str) -> _Where:
    """Where errors about ``cell``'s text point: its line and column, or its .docx
    table/row/column."""
    if cell.table is None:
        assert cell.line is not None
        return _Where(file, cell.line, cell.column)
    return _CellWhere(file, 0, 1, cell.table, cell.row or 0, cell.column)


def normalize(text: str) -> str:
    """Rule 11: runs of white space become one space; trimmed."""
    return _WS.sub(" ", text).strip()


def check_parentheses(text: str, where: _Where) -> None:
    """Every （ has its ）, in order; the error names the column of the culprit."""
    stack: list[int] = []
    for index, char in enumerate(text):
        if char in OPEN:
            stack.append(index)
        elif char in CLOSE:
            if not stack:
                raise where.error(
                    f"unbalanced parenthesis: '{char}' closes nothing", where.column + index
                )
            stack.pop()
    if stack:
        raise where.error(
            f"unbalanced parenthesis: '{text[stack[-1]]}' is never closed", where.column + stack[-1]
        )


def split_top(text: str, separators: Sequence[str]) -> list[str]:
    """Split ``text`` at ``separators`` that stand outside parentheses."""
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char in OPEN:
            depth += 1
        elif char in CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in separators:
                if text.startswith(sep, index):
                    parts.append(text[start:index])
                    index += len(sep)
                    start = index
                    break
            else:
                index += 1
                continue
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _strip_suffix(text: str, suffix: str) -> str:
    return text[: -len(suffix)].rstrip() if text.endswith(suffix) else text


def _strip_prefix(text: str, prefixes: Sequence[str]) -> str:
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix) :].lstrip()
    return text


@dataclass
class _Item:
    """An item of a list before rules 7 and 8 are applied."""

    text: str
    data_etc: bool = False  # written X数据等: keeps its 数据 (rule 7)


@dataclass
class _Sub:
    category: DataCategory


@dataclass
class _Curated:
    correction: Correction


_Entry = _Item | _Sub | _Curated


class CellParser:
    """Parses one 涉及数据 cell; one instance per cell."""

    def __init__(self, where: _Where, corrections: Sequence[Correction]) -> None:
        self.where = where
        self.corrections = list(corrections)
        self.curated: list[Correction] = []

    # -- entry point -------------------------------------------------------
    def parse(self, raw: str) -> tuple[str | None, list[DataCategory]]:
        text = strip_artifacts(raw)  # rule 1
        check_parentheses(raw, self.where)
        text = normalize(text)
        example: str | None = None
        for correction in self.corrections:
            match = normalize(correction.match)
            count = text.count(match)
            if count != 1:
                raise correction.error(
                    f"correction no longer matches: {correction.match!r} occurs {count} times "
                    f"in scenario {correction.number}'s 涉及数据 (expected exactly once)"
                )
            if correction.example is not None:
                example = correction.example
                text = text.replace(match, normalize(correction.text or ""))
            else:
                self.curated.append(correction)
                text = text.replace(match, f"\x00{len(self.curated) - 1}\x00")
            correction.fired += 1
        found = _EXAMPLE.match(text)  # rule 2
        if found:
            if example is not None:
                raise self.where.error("two example contexts (以…为例 and a correction)")
            example = found.group("example").strip()
            text = text[found.end() :]
        text = _strip_prefix(text, CELL_INTRODUCERS)
        text = _strip_suffix(text, "。")  # rule 3
        text = _strip_suffix(text, "等")
        if not text:
            raise self.where.error("the 涉及数据 cell names no data")
        categories = []
        for position, segment in enumerate(split_top(text, TOP_SEPARATORS), start=1):
            categories.append(self._category(segment.strip(), position))
        return example, categories

    # -- categories (rule 4) ----------------------------------------------
    def _category(self, segment: str, position: int) -> DataCategory:
        if not segment:
            raise self.where.error(f"empty category (number {position}): two separators in a row?")
        opens = [i for i, c in enumerate(segment) if c in OPEN]
        content: str | None = None
        if opens:
            start = opens[0]
            label = segment[:start]
            depth = 0
            end = start
            for end in range(start, len(segment)):
                if segment[end] in OPEN:
                    depth += 1
                elif segment[end] in CLOSE:
                    depth -= 1
                    if depth == 0:
                        break
            content = segment[start + 1 : end]
            rest = _strip_suffix(segment[end + 1 :].strip(), "等")
            if rest:
                raise self.where.error(
                    f"unexpected text {rest!r} after the parenthesis of category {label.strip()!r}"
                )
        else:
            label = segment
        label = _strip_suffix(label.strip(), "等")
        if "\x00" in label:
            raise self.where.error(
                f"a correction's match must not cover a category name ({segment!r})"
            )
        if not label:
            raise self.where.error(f"a category has no name before its parenthesis: {segment!r}")
        if content is None:
            return DataCategory(label)
        if not content.strip():
            raise self.where.error(f"category {label!r} has empty parentheses")
        qualifier, children = self._items(content, label)
        return DataCategory(label, qualifier, children)

    # -- item lists (rules 5-9) ---------------------------------------------
    def _items(self, content: str, owner: str) -> tuple[str | None, list[DataCategory | DataField]]:
        entries: list[_Entry] = []
        for chunk in split_top(content, ("；",)):
            pieces = [p.strip() for p in split_top(chunk, ITEM_SEPARATORS)]
            sub_label: str | None = None
            sub_pieces: list[str] = []
            for piece in pieces:
                if not piece:
                    raise self.where.error(
                        f"empty item in the list of {owner!r}: two separators in a row?"
                    )
                if sub_label is not None:
                    sub_pieces.append(piece)
                    continue
                head, first = self._sub_head(piece, is_first=not entries)
                if head is not None:
                    sub_label, sub_pieces = head, [first]
                else:
                    entries.append(self._entry(piece, first_of_list=not entries))
            if sub_label is not None:
                qualifier, children = self._finish(
                    [self._entry(p, first_of_list=i == 0) for i, p in enumerate(sub_pieces)],
                    sub_label,
                )
                entries.append(_Sub(DataCategory(sub_label, qualifier, children)))
        return self._finish(entries, owner)

    def _sub_head(self, piece: str, is_first: bool) -> tuple[str | None, str]:
        """Rule 6: ``X：a`` or ``X如 a`` opens sub-category X."""
        for mark in ("：", ":"):
            if mark in piece:
                head, first = piece.split(mark, 1)
                if head.strip() and first.strip():
                    return head.strip(), first.strip()
        body = _strip_prefix(piece, LIST_INTRODUCERS) if is_first else piece
        index = body.find("如")
        if index > 0 and body[index + 1 :].strip():
            return body[:index].strip(), body[index + 1 :].strip()
        return None, piece

    def _entry(self, piece: str, first_of_list: bool) -> _Entry:
        text = _strip_prefix(piece, LIST_INTRODUCERS) if first_of_list else piece
        data_etc = text.endswith(DATA + "等")
        text = _strip_suffix(text, "等")
        if "\x00" in text:
            found = _PLACEHOLDER.fullmatch(text)
            if not found:
                raise self.where.error(
                    "a correction's match must cover whole items, not part of "
                    f"{text.replace(chr(0), '')!r}"
                )
            return _Curated(self.curated[int(found.group(1))])
        if not text:
            raise self.where.error(f"empty item {piece!r}")
        return _Item(text, data_etc)

    def _finish(
        self, entries: list[_Entry], owner: str
    ) -> tuple[str | None, list[DataCategory | DataField]]:
        qualifier: str | None = None
        # rule 8: a 的 in exactly one item, not the last, after no 数据 item
        with_de = [i for i, e in enumerate(entries) if isinstance(e, _Item) and "的" in e.text]
        if len(with_de) == 1 and with_de[0] < len(entries) - 1:
            k = with_de[0]
            before = entries[:k]
            if all(isinstance(e, _Item) and not e.text.endswith(DATA) for e in before):
                item = entries[k]
                assert isinstance(item, _Item)
                prefix, suffix = item.text.split("的", 1)
                if prefix.strip() and suffix.strip():
                    parts = [e.text for e in before if isinstance(e, _Item)] + [prefix.strip()]
                    qualifier = "、".join(parts)
                    entries = [_Item(suffix.strip(), item.data_etc), *entries[k + 1 :]]
        # rule 7: list-wide 数据 on the last item
        items = [e for e in entries if isinstance(e, _Item)]
        if len(entries) >= 2 and isinstance(entries[-1], _Item):
            last = entries[-1]
            ending = [e for e in items if e.text.endswith(DATA)]
            if last.text.endswith(DATA) and not last.data_etc and ending == [last]:
                stripped = last.text[: -len(DATA)].strip()
                if stripped:
                    entries[-1] = _Item(stripped)
        children: list[DataCategory | DataField] = []
        for entry in entries:
            if isinstance(entry, _Item):
                children.append(DataField(entry.text))
            elif isinstance(entry, _Sub):
                children.append(entry.category)
            else:
                correction = entry.correction
                if correction.qualifier:
                    if qualifier is not None:
                        raise correction.error(f"two qualifiers for {owner!r}")
                    qualifier = correction.qualifier
                children.extend(DataField(normalize(i)) for i in correction.items or ())
        return qualifier, children


def parse_data_cell(
    raw: str,
    *,
    corrections: Sequence[Correction] = (),
    file: str = "<text>",
    line: int = 1,
    column: int = 1,
) -> tuple[str | None, list[DataCategory]]:
    """Example context and categories of one 涉及数据 cell (see docs/extraction.md)."""
    return CellParser(_Where(file, line, column), corrections).parse(raw)
