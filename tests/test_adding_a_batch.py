"""docs/adding-a-batch.md, walked with a made-up second batch (tests/fixtures/, not real data).

From a new .docx to a served graph: put the document under build/sources/, add
its [[guide]], run the build and answer what it asks for (the English labels,
the English of the long texts and the data kinds it lists, all at once), build again, serve.
Existing IRIs do not
change; the new scenarios get new ones. The only manual step besides the
[[guide]] entry is answering the build's requests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dipkg.core.settings import Settings
from kg.build import build
from kg.paths import INPUTS_DIR
from kg.translations import escape_long
from tests.conftest import ROOT, cli_env
from tests.endpoint.conftest import start_server, stop_server
from tools.make_docx import make_docx

FIXTURE = Path(__file__).parent / "fixtures" / "test-fixture-batch2.txt"
BASE = "https://w3id.org/dipkg/"

GUIDE = """
[[guide]]
id = "fixture-b2"
source = "sources/test-fixture-batch2.docx"
title_zh = "测试夹具：虚构的第二批应用场景指引（非真实数据）"
title_en = "TEST FIXTURE: a made-up second batch of scenarios (not real data)"
annex = "附件1"
province_zh = "测试省"
province_en = "Test province"
batch = 2
"""

# What a person answers when the build asks (made-up English for made-up labels).
ENGLISH = {
    "（测试）设备巡检": "(Test) equipment inspection",
    "（测试）能耗看板": "(Test) energy dashboard",
    "（测试）天气保险": "(Test) weather insurance",
    "振幅": "Amplitude",
    "巡检记录数据": "Inspection record data",
    "测试工厂": "Test factory",
    "风级": "Wind force",
}
KINDS = {
    "振幅": "amplitude-test-fixture",
    "巡检记录数据": "inspection-records-test-fixture",
    "风级": "wind-force-test-fixture",
}
NEW_CONCEPTS = {  # slug -> (zh, en, broader)
    "amplitude-test-fixture": ("振幅", "Amplitude", ""),
    "inspection-records-test-fixture": ("巡检记录数据", "Inspection record data", ""),
    "wind-force-test-fixture": ("风级", "Wind force", ""),
}


def _append(path: Path, rows: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text + ("" if text.endswith("\n") else "\n") + "".join(r + "\n" for r in rows),
        encoding="utf-8",
    )


def _dipkg(*args: str, inputs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipkg.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(DIPKG_INPUTS_DIR=str(inputs)),
        timeout=300,
    )


def _missing(stderr: str) -> list:
    return [
        json.loads(line.split("missing: ", 1)[1])
        for line in stderr.splitlines()
        if line.startswith("  missing: ")
    ]


@pytest.fixture(scope="module")
def walked(tmp_path_factory, build_result):
    """The steps of docs/adding-a-batch.md, in a copy of the inputs; returns (data dir, steps
    seen)."""
    work = tmp_path_factory.mktemp("batch2")
    inputs = work / "inputs"
    shutil.copytree(INPUTS_DIR, inputs)
    steps = {}
    # 1. the new document under build/sources/ (here made from the fixture text)
    (inputs / "sources" / "test-fixture-batch2.docx").write_bytes(
        make_docx(FIXTURE.read_text(encoding="utf-8"))
    )
    # 2. its [[guide]]
    _append(inputs / "guides.toml", [GUIDE])
    # 3. build: it asks for English labels, all at once
    first = _dipkg("build", "--out", str(work / "data"), inputs=inputs)
    steps["translations"] = (first.returncode, first.stderr)
    _append(inputs / "translations.tsv", [f"{zh}\t{ENGLISH[zh]}" for zh in _missing(first.stderr)])
    # 3b. build: it asks for the English of each scenario's long texts (场景应用, 涉及数据),
    # all at once
    long = _dipkg("build", "--out", str(work / "data"), inputs=inputs)
    steps["long"] = (long.returncode, long.stderr)
    _append(
        inputs / "long-translations.tsv",
        [
            f"{m['scenario']}\t{m['field']}\t{escape_long(m['zh'])}"
            f"\t(Test) the {m['field']} text of {m['scenario']}"
            for m in _missing(long.stderr)
        ],
    )
    # 4. build again: it asks for the data kinds, all at once
    second = _dipkg("build", "--out", str(work / "data"), inputs=inputs)
    steps["kinds"] = (second.returncode, second.stderr)
    asked = _missing(second.stderr)
    _append(
        inputs / "vocabulary" / "concepts.tsv",
        [
            f"{slug}\t{zh}\t{en}\t{broader}\t\t\tno\t\t\ttest fixture, not real data"
            for slug, (zh, en, broader) in NEW_CONCEPTS.items()
        ],
    )
    _append(
        inputs / "vocabulary" / "mapping.tsv",
        [f"{item['label']}\t{KINDS[item['label']]}\t\t\t" for item in asked],
    )
    # 5. build: done
    third = _dipkg("build", "--out", str(work / "data"), inputs=inputs)
    steps["done"] = (third.returncode, third.stderr + third.stdout)
    return work / "data", inputs, steps


def test_the_build_asks_for_the_missing_english_labels_at_once(walked):
    code, stderr = walked[2]["translations"]
    assert code == 1
    assert stderr.splitlines()[0].endswith(
        "translations.tsv: error[source]: no English label for 7 Chinese labels: "
        "（测试）设备巡检, 振幅, 巡检记录数据, （测试）能耗看板, 测试工厂 and 2 more"
    )
    assert sorted(_missing(stderr)) == sorted(ENGLISH)


def test_then_for_the_english_long_texts_at_once(walked):
    code, stderr = walked[2]["long"]
    assert code == 1
    assert stderr.splitlines()[0].endswith(
        "long-translations.tsv: error[source]: no English for 6 long texts: "
        "fixture-b2-s01 application, fixture-b2-s01 data, fixture-b2-s02 application, "
        "fixture-b2-s02 data, fixture-b2-s03 application and 1 more"
    )
    missing = _missing(stderr)
    assert [(m["scenario"], m["field"]) for m in missing] == [
        (f"fixture-b2-s0{n}", f) for n in (1, 2, 3) for f in ("application", "data")
    ]
    assert all(m["zh"] for m in missing)


def test_then_for_the_missing_data_kinds_at_once(walked):
    code, stderr = walked[2]["kinds"]
    assert code == 1
    assert (
        "mapping.tsv: error[source]: "
        "no data kind for 3 items: '振幅' (scenario fixture-b2-s01, item 1.3)"
        in stderr.splitlines()[0]
    )
    assert _missing(stderr) == [
        {"label": "振幅", "scenario": "fixture-b2-s01", "path": "1.3"},
        {"label": "巡检记录数据", "scenario": "fixture-b2-s01", "path": "2"},
        {"label": "风级", "scenario": "fixture-b2-s03", "path": "1.3"},
    ]


def test_then_it_builds(walked):
    code, output = walked[2]["done"]
    assert code == 0, output


def test_existing_iris_unchanged_new_ones_minted(walked, build_result):
    data, _, _ = walked
    before = set(
        (build_result.release / "dumps" / "dipkg.nt").read_text(encoding="utf-8").splitlines()
    )
    after = set((data / "current" / "dumps" / "dipkg.nt").read_text(encoding="utf-8").splitlines())
    batch1 = {t for t in before if t.startswith(f"<{BASE}scenario/guizhou-b1-")}
    assert (
        batch1 and batch1 <= after
    )  # every triple about a batch-1 scenario or item is still there
    subjects = {t.split(" ", 1)[0] for t in after}
    assert {f"<{BASE}scenario/fixture-b2-s0{n}>" for n in (1, 2, 3)} <= subjects
    assert f"<{BASE}guide/fixture-b2>" in subjects
    assert not {t for t in after if t.startswith(f"<{BASE}scenario/guizhou-b1-")} - batch1
    assert (
        f"<{BASE}scenario/fixture-b2-s02> <{BASE[:-1]}/ontology#sourceCell>"
        ' "table=1;row=3;column=1" .' in after
    )
    # the merged 领域 cell of row 3 gives scenario 2 the domain of scenario 1
    assert (
        f"<{BASE}scenario/fixture-b2-s02> <{BASE[:-1]}/ontology#domain> <{BASE}domain/industry> ."
        in after
    )


def test_the_new_batch_is_served(walked, tmp_path):
    data, _, _ = walked
    server = start_server(data, tmp_path, DIPKG_QUERY_WORKERS="1")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            page = client.get(
                "/scenario/fixture-b2-s01", headers={"Accept": "text/html"}, follow_redirects=True
            )
            answer = client.get(
                "/sparql",
                params={
                    "query": (
                        "SELECT (COUNT(*) AS ?n) WHERE"
                        f" {{ ?s <{BASE[:-1]}/ontology#number> ?n ;"
                        f" <http://purl.org/dc/terms/source> <{BASE}guide/fixture-b2> }}"
                    )
                },
                headers={"Accept": "application/sparql-results+json"},
            )
    finally:
        stop_server(server)
    assert page.status_code == 200 and "（测试）设备巡检" in page.text
    assert answer.json()["results"]["bindings"][0]["n"]["value"] == "3"


def test_the_same_build_in_process_needs_nothing_else(walked, tmp_path):
    """The answered inputs build in-process too (no hidden state in the CLI runs)."""
    _, inputs, _ = walked
    result = build(tmp_path / "data", Settings(inputs_dir=inputs))
    assert result.manifest.counts.scenarios == 26 and result.manifest.counts.guides == 2
    assert result.manifest.sources[-1].endswith("sources/test-fixture-batch2.docx")
