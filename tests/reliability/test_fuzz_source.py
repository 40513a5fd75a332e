"""Fuzz the source parser: random and mutated documents never crash it.

Each generated document gives either scenarios whose graph passes the SHACL
shapes, or a clear SourceError/CorrectionError naming file and line — never an
unhandled exception.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipkg.core.errors import CorrectionError, SourceError
from dipkg.core.iris import Minter
from kg.graphs import load_turtle
from kg.guide import GuideConfig, load_inputs, read_guide
from kg.paths import INPUTS_DIR, ONTOLOGY_DIR
from kg.rdf import Emitter
from kg.source import MAX_CELL_CHARS, MAX_LINE_CHARS, refused_character, split_lines
from kg.translations import LongTranslations, Translations
from kg.validate import violations

SOURCE = (INPUTS_DIR / "sources" / "guizhou-dip-scenarios-batch1.txt").read_text(encoding="utf-8")
LINES = SOURCE.splitlines()
TITLE = "第一批贵州省数据知识产权应用场景指引"
SHAPES = load_turtle(ONTOLOGY_DIR / "shapes.ttl")
ONTOLOGY = load_turtle(ONTOLOGY_DIR / "dipkg.ttl")
TOKENS = [
    "、",
    "，",
    "；",
    "（",
    "）",
    "等",
    "数据",
    "的",
    "如",
    "以",
    "为例",
    "：",
    "\t",
    "\n",
    " ",
    "[bookmark: _GoBack]",
    "以及",
    "涵盖",
]


class AnyEnglish(Translations):
    """Mutated labels have no curated English: stand one in so the shapes can be checked."""

    def en(self, zh: str) -> str:
        return self.table.get(zh) or f"Label {abs(hash(zh)) % 10**8}"


class AnyLongEnglish(LongTranslations):
    """Nor have their long texts: stand an English one in, too."""

    def en(self, scenario: str, field: str, zh: str) -> str:
        return f"The {field} text of {scenario}."


def parse(text: str, tmp: Path):
    source = tmp / "doc.txt"
    source.write_text(text, encoding="utf-8")
    inputs = load_inputs(INPUTS_DIR)
    config = GuideConfig("fuzz", source, TITLE, "Title", "省", "Province", 1)
    for correction in inputs.corrections:
        correction.guide = "fuzz"
    return inputs, config, read_guide(config, inputs)


def check_outcome(text: str, tmp: Path, validate: bool) -> None:
    try:
        inputs, config, guide = parse(text, tmp)
    except (SourceError, CorrectionError) as exc:
        assert exc.file and exc.message
        assert exc.line is None or exc.line >= 1
        if isinstance(exc, SourceError):
            assert exc.line is not None, str(exc)  # a source error always names its line
        return
    if not validate:
        return
    emitter = Emitter(
        inputs,
        AnyEnglish({}, "fuzz"),
        Minter("https://w3id.org/dipkg/"),
        long=AnyLongEnglish({}, "fuzz"),
    )
    blocks = [*emitter.domain_blocks(), emitter.guide_block(config)]
    for scenario in guide.scenarios:
        blocks.extend(emitter.scenario_blocks(config, scenario))
    found = [str(v) for v in violations(blocks, SHAPES, ONTOLOGY) if v.severity == "Violation"]
    assert found == []


@st.composite
def mutated(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "replace", "swap"]))
        index = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "swap" and index + 1 < len(lines):
            lines[index], lines[index + 1] = lines[index + 1], lines[index]
        else:
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            token = draw(st.sampled_from(TOKENS))
            cut = draw(st.integers(0, 3)) if kind == "replace" else 0
            lines[index] = line[:at] + token + line[at + cut :]
    return "\n".join(lines) + "\n"


@given(mutated())
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_mutated_documents_parse_or_fail_cleanly(tmp_path, text):
    check_outcome(text, tmp_path, validate=False)


@given(mutated())
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_mutated_documents_that_parse_pass_the_shapes(tmp_path, text):
    check_outcome(text, tmp_path, validate=True)


@given(
    st.lists(st.sampled_from([*TOKENS, "甲", "乙", "1", "2", "工业领域", "A"]), max_size=80).map(
        "".join
    )
)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_documents_parse_or_fail_cleanly(tmp_path, text):
    check_outcome(text, tmp_path, validate=False)


@given(st.binary(max_size=300))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_bytes_fail_cleanly(tmp_path, raw):
    source = tmp_path / "doc.txt"
    source.write_bytes(raw)
    inputs = load_inputs(INPUTS_DIR)
    try:
        read_guide(GuideConfig("fuzz", source, TITLE, "T", "省", "P", 1), inputs)
    except (SourceError, CorrectionError):
        pass


def test_the_real_document_passes(tmp_path):
    check_outcome(SOURCE, tmp_path, validate=True)


@pytest.mark.parametrize("line", [3, 12, 16])
def test_deleting_a_line_is_caught(tmp_path, line):
    lines = list(LINES)
    del lines[line - 1]
    with pytest.raises((SourceError, CorrectionError)):
        parse("\n".join(lines), tmp_path)


# --- lines as an editor counts them, control characters, encoding, size ------------------
ROW1_APPLICATION = 15  # the 场景应用 cell of scenario 1 (a line starting with a tab)


def parse_error(tmp: Path, text: str | bytes) -> SourceError:
    source = tmp / "doc.txt"
    source.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    config = GuideConfig("fuzz", source, TITLE, "Title", "省", "Province", 1)
    with pytest.raises(SourceError) as caught:
        read_guide(config, load_inputs(INPUTS_DIR))
    return caught.value


def test_split_lines_breaks_only_at_lf_crlf_and_cr():
    text = "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\nj\r\nk\rl\n"
    assert split_lines(text) == ["a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i", "j", "k", "l"]
    assert len(text.splitlines()) == 12  # what Python's splitlines would have counted


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_the_same_graph_and_the_same_lines(tmp_path, newline):
    _, _, guide = parse(newline.join(LINES) + newline, tmp_path)
    assert [s.line for s in guide.scenarios][:3] == [12, 18, 24]
    lines = list(LINES)
    lines[12] = "\t无此领域"  # line 13: the 领域 cell of scenario 1
    err = parse_error(tmp_path, newline.join(lines) + newline)
    assert err.line == 13 and "unknown domain" in err.message


@pytest.mark.parametrize(
    "char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_characters_splitlines_breaks_at_do_not_shift_line_numbers(tmp_path, char):
    # once a line break for str.splitlines: every later line number was off by one
    lines = list(LINES)
    lines[ROW1_APPLICATION - 1] = (
        lines[ROW1_APPLICATION - 1][:6] + char + lines[ROW1_APPLICATION - 1][6:]
    )
    err = parse_error(tmp_path, "\n".join(lines) + "\n")
    assert (err.line, err.column) == (ROW1_APPLICATION, 7), str(err)
    assert f"U+{ord(char):04X}" in err.message


@pytest.mark.parametrize(
    "char", ["\x1b", "\x7f", "\x07", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff"]
)
def test_control_and_invisible_characters_are_refused_with_their_place(tmp_path, char):
    lines = list(LINES)
    line = lines[15]  # line 16: the 涉及数据 cell of scenario 1
    lines[15] = line[:20] + char + line[20:]
    err = parse_error(tmp_path, "\n".join(lines) + "\n")
    assert (err.line, err.column) == (16, 21), str(err)
    assert f"U+{ord(char):04X}" in str(err) and "\n" not in str(err)


def test_the_fast_clean_text_check_refuses_exactly_the_refused_categories():
    # refused_character skips the per-character scan when str.isprintable() says the text
    # is clean; every code point, alone and after clean text, gets the scan's answer
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        refused = char != "\t" and unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}
        assert refused_character(char) == (0 if refused else None), f"U+{code:04X}"
        assert refused_character("温度 a" + char) == (4 if refused else None), f"U+{code:04X}"
    assert refused_character("clean text, 干净") is None
    assert refused_character("a\tb") is None  # the tab is not printable, yet allowed


def test_a_leading_byte_order_mark_and_tabs_are_accepted(tmp_path):
    _, _, guide = parse("\ufeff" + "\n".join(LINES) + "\n", tmp_path)
    assert len(guide.scenarios) == 23


def test_invalid_utf8_names_its_line_column_and_byte(tmp_path):
    raw = [line.encode("utf-8") for line in LINES]
    raw[20] = raw[20][:7] + b"\xff" + raw[20][7:]  # line 21, after a tab and two 3-byte characters
    data = b"\n".join(raw) + b"\n"
    err = parse_error(tmp_path, data)
    assert (err.line, err.column) == (21, 4), str(err)
    offset = data.index(b"\xff")
    assert f"byte offset {offset}" in err.message and "ff" in err.message


def test_an_over_long_line_is_refused_with_its_line(tmp_path):
    lines = list(LINES)
    lines[ROW1_APPLICATION - 1] += "长" * (MAX_LINE_CHARS + 1)
    err = parse_error(tmp_path, "\n".join(lines) + "\n")
    assert err.line == ROW1_APPLICATION and f"{MAX_LINE_CHARS:,}" in err.message


def test_an_over_long_cell_spanning_lines_is_refused_where_it_crosses_the_limit(tmp_path):
    lines = list(LINES)
    chunk = "长" * (MAX_CELL_CHARS // 4)
    lines[ROW1_APPLICATION:ROW1_APPLICATION] = [chunk] * 5  # continuation lines of the cell
    err = parse_error(tmp_path, "\n".join(lines) + "\n")
    assert err.line == ROW1_APPLICATION + 4 and f"line {ROW1_APPLICATION}" in err.message
