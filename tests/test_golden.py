"""The whole extraction, checked row by row against the hand-written golden.

tests/golden/extraction.yaml was written by reading the document (see its
README). When this fails, decide from the document which side is wrong: fix the
parser or a correction, or (only if the golden misread the document) the golden.
Never regenerate the golden from the parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg.guide import load_inputs, read_guide
from kg.paths import INPUTS_DIR

GOLDEN = Path(__file__).parent / "golden" / "extraction.yaml"
EXPECTED = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parsed():
    inputs = load_inputs(INPUTS_DIR)
    guide = read_guide(inputs.guides[0], inputs)
    return {s.number: s.to_plain() for s in guide.scenarios}


def test_golden_has_all_scenarios():
    assert [row["number"] for row in EXPECTED] == list(range(1, 24))


def test_no_extra_scenarios(parsed):
    assert sorted(parsed) == list(range(1, 24))


@pytest.mark.parametrize("row", EXPECTED, ids=lambda r: f"s{r['number']:02d}-{r['name']}")
def test_scenario_matches_golden(parsed, row):
    got = parsed[row["number"]]
    for key in ("domain", "name", "example"):
        assert got.get(key) == row.get(key), key
    assert [c["category"] for c in got["categories"]] == [c["category"] for c in row["categories"]]
    for mine, gold in zip(got["categories"], row["categories"], strict=True):
        assert mine == gold, f"category {gold['category']}"


def test_domain_counts(parsed):
    counts: dict[str, int] = {}
    for row in parsed.values():
        counts[row["domain"]] = counts.get(row["domain"], 0) + 1
    assert counts == {"工业领域": 6, "交通领域": 2, "文旅领域": 5, "金融领域": 3, "其他领域": 7}
