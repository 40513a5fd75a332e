"""The `dipkg` command as users run it: a real process, real store, real output."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env

DIPKG = [sys.executable, "-m", "dipkg.cli"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DIPKG, *args], capture_output=True, text=True, timeout=120, env=cli_env(**env)
    )


def query_csv(data: Path, sparql: str) -> list[dict[str, str]]:
    done = run("query", "--data", str(data), "--format", "csv", sparql)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_build_prints_a_summary(tmp_path):
    done = run("build", "--out", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert (
        "scenarios 23" in done.stdout
        and "categories 126" in done.stdout
        and "fields 453" in done.stdout
    )
    assert "corrections applied: 13/13" in done.stdout
    assert (tmp_path / "data" / "current" / "store").is_dir()
    triples = json.loads(
        (tmp_path / "data" / "current" / "manifest.json").read_text(encoding="utf-8")
    )["counts"]["triples"]
    assert f"  First release (version 1): {triples} triples." in done.stdout.splitlines()


def test_build_summary_lists_at_most_twenty_corrections(tmp_path):
    from bench.synth import generate

    inputs = generate(tmp_path / "inputs", 2)  # two guides: 26 corrections
    done = run("build", "--out", str(tmp_path / "data"), DIPKG_INPUTS_DIR=str(inputs))
    assert done.returncode == 0, done.stderr
    assert "corrections applied: 26/26" in done.stdout
    assert done.stdout.count(" #") == 20
    assert "… and 6 more (all listed in" in done.stdout and "manifest.json" in done.stdout


def test_query_scenarios_per_domain(built_data):
    rows = query_csv(
        built_data,
        """PREFIX dip: <https://w3id.org/dipkg/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?domain (COUNT(?s) AS ?n) WHERE {
          ?s a dip:Scenario ; dip:domain ?d . ?d rdfs:label ?domain FILTER(lang(?domain) = "zh")
        } GROUP BY ?domain""",
    )
    assert {r["domain"]: int(r["n"]) for r in rows} == {
        "工业领域": 6,
        "交通领域": 2,
        "文旅领域": 5,
        "金融领域": 3,
        "其他领域": 7,
    }


def test_query_categories_and_fields_in_document_order(built_data):
    rows = query_csv(
        built_data,
        """PREFIX dip: <https://w3id.org/dipkg/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX schema: <https://schema.org/>
        SELECT ?category ?field WHERE {
          ?s dip:number 1 ; dip:hasCategory ?c . ?c schema:position ?cp ; rdfs:label ?category .
          ?c dip:hasField ?f . ?f schema:position ?fp ; rdfs:label ?field .
          FILTER(lang(?category) = "zh" && lang(?field) = "zh")
        } ORDER BY ?cp ?fp""",
    )
    assert [(r["category"], r["field"]) for r in rows[:7]] == [
        ("工艺参数数据", "电流强度"),
        ("工艺参数数据", "电压"),
        ("工艺参数数据", "极距"),
        ("工艺参数数据", "电解质温度"),
        ("工艺参数数据", "分子比"),
        ("工艺参数数据", "氧化铝浓度"),
        ("原料成分数据", "氧化铝纯度"),
    ]
    assert rows[-1] == {"category": "产品质量检测数据", "field": "铸锭成分"}
    assert len(rows) == 6 + 4 + 4 + 2 + 2


def test_query_scenarios_with_a_temperature_field(built_data):
    rows = query_csv(
        built_data,
        """PREFIX dip: <https://w3id.org/dipkg/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT DISTINCT ?n WHERE {
          ?f a dip:DataField ; rdfs:label ?l ; dip:scenario ?s . ?s dip:number ?n
          FILTER(CONTAINS(?l, "温度"))
        } ORDER BY ?n""",
    )
    # read from the document: every scenario with a field whose label has 温度
    # (18 has 气温 "air temperature", not 温度)
    assert [int(r["n"]) for r in rows] == [1, 2, 3, 5, 7, 9, 17, 19]


def test_query_table_output(built_data):
    done = run("query", "--data", str(built_data), "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert done.returncode == 0
    assert "1 row" in done.stdout


def test_query_syntax_error_is_one_line_with_position(built_data):
    done = run("query", "--data", str(built_data), "SELECT * WHERE {\n ?s ?p }")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error[query-syntax]" in lines[0]
    assert "<query>:2:" in lines[0]
    assert "Traceback" not in done.stderr


def test_query_without_a_build_says_so(tmp_path):
    done = run("query", "--data", str(tmp_path / "nothing"), "ASK {}")
    assert done.returncode == 1
    assert "dipkg build" in done.stderr and "Traceback" not in done.stderr


BREAKAGES = {
    "missing column": ("\t生产工艺优化\n", "", "cells, expected 5"),
    "unknown domain": ("\t交通领域\n", "\t航天领域\n", "unknown domain"),
    "unbalanced parenthesis": ("电流强度、电压", "电流强度（电压", "unbalanced parenthesis"),
    "empty name": ("\t智能生产管控\n", "\t \n", "empty 场景名称"),
    "duplicate number": ("\t3\n", "\t2\n", "duplicate 序号 2"),
}


@pytest.fixture(scope="module")
def cli_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder ``dipkg build --out`` wrote from the project's inputs (once per module)."""
    out = tmp_path_factory.mktemp("cli-build") / "data"
    done = run("build", "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("name", BREAKAGES)
def test_malformed_source_is_one_clear_line_and_replaces_nothing(
    name, cli_built, inputs_copy, tmp_path
):
    out = tmp_path / "data"
    shutil.copytree(cli_built, out, symlinks=True)  # a good build of the same inputs
    before = (out / "current").resolve()
    old, new, message = BREAKAGES[name]
    source = inputs_copy / "sources" / "guizhou-dip-scenarios-batch1.txt"
    text = source.read_text(encoding="utf-8")
    assert old in text
    source.write_text(text.replace(old, new, 1), encoding="utf-8")
    done = run("build", "--out", str(out), DIPKG_INPUTS_DIR=str(inputs_copy))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "guizhou-dip-scenarios-batch1.txt:" in lines[0] and message in lines[0]
    assert lines[0].split(":")[1].isdigit()  # file:line
    assert "Traceback" not in done.stderr
    assert (out / "current").resolve() == before


def test_stale_correction_fails_the_build(inputs_copy, tmp_path):
    path = inputs_copy / "corrections.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("种子、种苗来源", "种子、种苗产地"),
        encoding="utf-8",
    )
    done = run("build", "--out", str(tmp_path / "d"), DIPKG_INPUTS_DIR=str(inputs_copy))
    assert done.returncode == 1
    assert "corrections.toml:" in done.stderr and "no longer matches" in done.stderr


# --- dipkg query has the endpoint's limits ------------------------------------------


def one_error_line(done: subprocess.CompletedProcess[str], code: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"error[{code}]" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_query_refuses_service_and_reaches_nothing(built_data):
    from tests.listener import Listener

    listener = Listener()
    try:
        done = run(
            "query",
            "--data",
            str(built_data),
            f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{listener.port}/> {{ ?s ?p ?o }} }}",
        )
        line = one_error_line(done, "service-refused")
        assert line.startswith("<query>:1:18:")
    finally:
        listener.close()
    assert listener.accepted == 0


@pytest.mark.parametrize(
    "update", ["INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }", "LOAD <http://e/x>"]
)
def test_query_refuses_updates_as_read_only(built_data, update):
    assert "read-only" in one_error_line(
        run("query", "--data", str(built_data), update), "update-forbidden"
    )


def test_query_names_an_undeclared_prefix(built_data):
    line = one_error_line(
        run("query", "--data", str(built_data), "SELECT * WHERE { ?s a dip:Scenario }"),
        "query-syntax",
    )
    assert "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in line and "\\u{" not in line


def test_query_unknown_format_is_an_error(built_data):
    line = one_error_line(run("query", "--data", str(built_data), "-f", "yaml", "ASK {}"), "usage")
    assert "table" in line and "turtle" in line


def test_query_format_names_are_the_endpoints():
    """``--format`` reads a name as /sparql reads ``?format=`` for the query's form: every
    name of every offer picks that offer's format, and a name of the other form's offers
    says which formats fit."""
    from sparql_api.negotiation import query_offers
    from sparql_api.query import UsageError, _formats

    for form, kind in (("select", "table"), ("ask", "table"), ("construct", "graph")):
        for offer in query_offers(kind, True):
            for name in (offer.key, *offer.names):
                expected = (offer.key, None) if kind == "table" else (None, offer.key)
                assert _formats(form, name) == expected, (form, name)
    assert _formats("describe", "json") == (None, "jsonld")
    assert _formats("construct", "xml") == (None, "rdfxml")
    with pytest.raises(UsageError, match="is for SELECT and ASK results"):
        _formats("construct", "csv")
    with pytest.raises(UsageError, match="is for CONSTRUCT and DESCRIBE"):
        _formats("select", "turtle")


def test_query_json_of_a_construct_is_json_ld(built_data):
    construct = (
        "CONSTRUCT { ?s a <https://w3id.org/dipkg/ontology#Scenario> } "
        "WHERE { ?s a <https://w3id.org/dipkg/ontology#Scenario> } LIMIT 2"
    )
    done = run("query", "--data", str(built_data), "-f", "json", construct)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    nodes = doc if isinstance(doc, list) else doc.get("@graph", [doc])
    assert len(nodes) == 2 and all("@id" in n for n in nodes)


def test_query_row_cap_truncates_with_a_notice(built_data):
    done = run(
        "query",
        "--data",
        str(built_data),
        "--max-rows",
        "3",
        "-f",
        "csv",
        "SELECT ?s WHERE { ?s ?p ?o }",
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1 + 3
    assert "truncated to the first 3 rows" in done.stderr


def test_query_time_limit_kills_a_runaway(built_data):
    import time

    started = time.monotonic()
    done = run(
        "query",
        "--data",
        str(built_data),
        "--timeout",
        "1",
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    )
    assert "1 s" in one_error_line(done, "timeout")
    assert time.monotonic() - started < 30  # was: 10 minutes and 20 GB before a kill -9


def leased_by(pid: int, root: Path) -> bool:
    """Whether process ``pid`` holds a shared flock (a Lease) on the folder ``root``, read
    from /proc/locks: looking does not take the lock (a build's claim would race with it)."""
    locks = Path("/proc/locks")
    if not locks.is_file():
        pytest.skip("no /proc/locks here to see a lease in")
    inode = str(root.stat().st_ino)
    for line in locks.read_text().splitlines():
        f = line.split()  # N: FLOCK ADVISORY READ PID MAJ:MIN:INODE START END ("->": waiting)
        if len(f) >= 6 and "->" not in f and f[1:4] == ["FLOCK", "ADVISORY", "READ"]:
            if f[4] == str(pid) and f[5].rsplit(":", 1)[-1] == inode:
                return True
    return False


def test_a_running_query_holds_its_release(built_data, tmp_path):
    """`dipkg query` holds a lease on the release it reads, as a server does: two builds in
    a row cannot prune the store from under a long query. (`dipkg publish` holds one the
    same way while it sends.) On a copy: other tests' servers lease the session's build."""
    import os
    import time

    from dipkg.core.release import claim, open_release

    data = tmp_path / "data"
    shutil.copytree(built_data, data, symlinks=True)
    root = open_release(data).root
    proc = subprocess.Popen(
        [*DIPKG, "query", "--data", str(data), "--timeout", "4"]
        + ["SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    held = False
    try:
        while proc.poll() is None and not held:
            held = leased_by(proc.pid, root)
            time.sleep(0.05)
    finally:
        _, err = proc.communicate(timeout=60)
    assert held, "the query's release could have been pruned while it ran"
    assert proc.returncode == 1 and "timeout" in err, err  # (the runaway's own end)
    fd = claim(root)
    assert fd is not None  # let go at the end
    os.close(fd)


def test_match_ranks_scenarios_for_the_data_held(built_data):
    done = run("match", "--data", str(built_data), "土壤墒情、降雨量、施肥量", "--limit", "2")
    assert done.returncode == 0, done.stderr
    assert "土壤墒情 → 土壤墒情 (Soil moisture) [label]" in done.stdout
    first = [line for line in done.stdout.splitlines() if line[:4].strip().rstrip(".").isdigit()][0]
    assert first.strip().startswith("18. 智慧灌溉与施肥系统")
    assert "also needs:" in done.stdout
    done = run("match", "--data", str(built_data), "--format", "json", "blood pressure, heart rate")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scenarios"][0]["number"] == 22


def test_match_refuses_an_overlong_list_in_one_line(built_data):
    one_error_line(run("match", "--data", str(built_data), "x," * 1200), "bad-search")
    one_error_line(run("match", "--data", str(built_data), "--format", "xml", "血压"), "bad-search")
