"""The curated English labels (build/translations.tsv) against the golden extraction.

Uses only the golden file and the TSV, never the parser: every Chinese label
the golden says will be in the graph must have exactly one English label.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TSV = ROOT / "build" / "translations.tsv"
GOLDEN = ROOT / "tests" / "golden" / "extraction.yaml"

# Characters allowed in English labels besides printable ASCII (chemical subscripts).
ALLOWED_NON_ASCII = set("₀₁₂₃₄₅₆₇₈₉")


def _rows() -> list[list[str]]:
    text = TSV.read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines()]


def _table() -> dict[str, str]:
    return {row[0]: row[1] for row in _rows()[1:]}


def _walk(items: list) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            out.append(item["category"])
            if item.get("qualifier"):
                out.append(item["qualifier"])
            out.extend(_walk(item.get("items", [])))
        else:
            out.append(item)
    return out


def _golden_labels() -> list[str]:
    """All labels of the golden, in first-appearance order, without repeats."""
    scenarios = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))
    seen: dict[str, None] = {}
    for s in scenarios:
        labels = [s["domain"], s["name"]]
        if s.get("example"):
            labels.append(s["example"])
        labels.extend(_walk(s["categories"]))
        for label in labels:
            seen.setdefault(label, None)
    return list(seen)


def test_header():
    assert _rows()[0] == ["zh", "en"]


def test_rows_have_two_non_empty_trimmed_cells():
    for n, row in enumerate(_rows()[1:], start=2):
        assert len(row) == 2, f"line {n}: expected 2 tab-separated cells, got {row!r}"
        zh, en = row
        assert zh and en, f"line {n}: empty cell in {row!r}"
        assert zh == zh.strip() and en == en.strip(), f"line {n}: untrimmed cell in {row!r}"


def test_no_duplicate_zh():
    keys = [row[0] for row in _rows()[1:]]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    assert not dups, f"duplicate zh keys: {dups}"


def test_english_is_ascii_or_allowed():
    bad = {
        zh: en
        for zh, en in _table().items()
        if any(not (32 <= ord(ch) < 127 or ch in ALLOWED_NON_ASCII) for ch in en)
    }
    assert not bad, f"non-ASCII English labels: {bad}"


def test_english_is_sentence_case():
    bad = {zh: en for zh, en in _table().items() if en[0].isalpha() and not en[0].isupper()}
    # A label starting with a fixed lower-case token (pH value) is allowed.
    bad = {zh: en for zh, en in bad.items() if not en.startswith("pH")}
    assert not bad, f"labels not in sentence case: {bad}"


@pytest.mark.parametrize("label", _golden_labels())
def test_every_golden_label_is_translated(label):
    assert label in _table(), f"no English for golden label {label!r}"


def test_no_translation_without_a_golden_label():
    extra = sorted(set(_table()) - set(_golden_labels()))
    assert not extra, f"translations for labels not in the golden: {extra}"


def test_order_follows_the_golden():
    assert list(_table()) == _golden_labels()


@pytest.mark.parametrize("char", ["\x1b", "\x7f", "\u202e", "\u2028"])
def test_a_control_character_in_a_translation_is_refused_with_its_line(tmp_path, char):
    from dipkg.core.errors import SourceError
    from kg.translations import load_translations

    lines = TSV.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5] + char + "x"  # line 6: the English label
    path = tmp_path / "translations.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_translations(path)
    assert caught.value.line == 6 and f"U+{ord(char):04X}" in caught.value.message


@pytest.mark.parametrize(
    "tags,lang,chosen",
    [
        (["zh", "en"], "en", "en"),
        (["zh", "en"], "zh", "zh"),
        (["en"], "zh", "en"),  # no Chinese: English
        (["zh"], "en", "zh"),  # no English: Chinese
        (["fr", "zh"], "en", "zh"),
        (["en-GB", "fr"], "en", "en-GB"),  # by the primary subtag, after zh and en
        (["fr", "de"], "en", "de"),  # else the first by tag
        ([], "en", None),
    ],
)
def test_pick_language(tags: list[str], lang: str, chosen: str | None) -> None:
    from sparql_api.i18n import pick, pick_language

    assert pick_language(tags, lang) == chosen
    assert pick({t: t.upper() for t in tags}, lang) == (chosen.upper() if chosen else "")
