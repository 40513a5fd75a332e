"""The workers' shared in-memory copy of the store (sparql_api/zygote.py, DIPKG_MEMORY_STORE_MB).

The fork server copies the release's store into memory before it forks, and every worker
evaluates on that copy. What must hold: the same answers as the store on disk (blank
nodes named alike, every named graph), the same bytes from one process to the next, the
fork server still without a thread, the memory cap on top of the copy (tested with the
other memory cap test, tests/endpoint/test_limits.py), and a store over the budget read
from disk as before, with /health saying which.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from dipkg.core.release import open_release
from sparql_api.forkclient import fork_server_supported
from sparql_api.results import Job
from sparql_api.workers import WorkerPool
from tests.endpoint.conftest import Server, serving

MIB = 1024 * 1024
BUDGET = 64 * MIB  # a budget the real graph's copy (~6 MiB) fits in

pytestmark = pytest.mark.skipif(
    not fork_server_supported(), reason="no fork server on this OS: workers read the disk"
)

#: answers compared between the copy and the disk, as sets of lines (no ORDER BY: the two
#: stores may list solutions in different orders; both orders are the store's own)
QUERIES = [
    ("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", "tsv"),
    ("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", "tsv"),
    ("SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }", "tsv"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "ntriples"),
    (
        "PREFIX dip: <https://w3id.org/dipkg/ontology#> SELECT ?domain (COUNT(?f) AS ?n) "
        "WHERE { ?f a dip:DataField ; dip:scenario/dip:domain ?domain } GROUP BY ?domain",
        "tsv",
    ),
]


def _answers(store: Path, memory_store: int, queries: list[tuple[str, str]]) -> dict:
    """Each query's body, the pool's word on its store, and the workers' own."""

    async def scenario() -> dict:
        pool = WorkerPool(store, size=2, timeout=20, memory_store=memory_store)
        await pool.start()
        try:
            bodies = []
            for text, fmt in queries:
                graph = fmt == "ntriples"
                job = Job(text, None if graph else fmt, fmt if graph else None, 100_000)
                reply = await pool.run(job)
                assert reply.header["ok"] is True, reply.header
                bodies.append(reply.body)
            zygote = pool._zygote
            threads = psutil.Process(zygote.pid).num_threads() if zygote is not None else None
            kids = (
                sorted(p.pid for p in psutil.Process(zygote.pid).children())
                if zygote is not None
                else None
            )
            return {
                "bodies": bodies,
                "mode": pool.query_store,
                "workers": {w.info.get("store") for w in pool._workers},
                "zygote_threads": threads,
                "zygote_children": kids,
                "pids": sorted(pool.pids()),
            }
        finally:
            await pool.stop()

    return asyncio.run(scenario())


def _lines(body: bytes, fmt: str) -> set[bytes]:
    lines = body.splitlines()
    return set(lines[1:] if fmt == "tsv" else lines)  # TSV: the header line apart


def test_the_copy_answers_as_the_disk_does(endpoint_data: Path) -> None:
    store = open_release(endpoint_data).store_dir
    memory = _answers(store, BUDGET, QUERIES)
    disk = _answers(store, 0, QUERIES)
    assert memory["mode"].startswith("memory (") and memory["workers"] == {"memory"}, memory
    assert disk["mode"] == "disk" and disk["workers"] == {"disk"}, disk
    for (text, fmt), m, d in zip(QUERIES, memory["bodies"], disk["bodies"], strict=True):
        assert _lines(m, fmt) == _lines(d, fmt), text
        assert m.count(b"\n") == d.count(b"\n"), text  # no duplicates hidden by the sets
    # the check can fail: the graph has blank nodes and a named graph, named alike
    blanks = _lines(memory["bodies"][2], "tsv")
    assert blanks and all(b"_:" in line for line in blanks)
    assert b"<https://w3id.org/dipkg/graph/catalog>" in memory["bodies"][1]


def test_the_copy_answers_the_same_bytes_in_every_process(endpoint_data: Path) -> None:
    """No ORDER BY: the order is still the same from one fork server to the next (a
    response cache or an ETag may rely on it), and from one worker to its sibling."""
    store = open_release(endpoint_data).store_dir
    unordered = [(QUERIES[0][0] + f" # {i}", "tsv") for i in range(4)]
    first = _answers(store, BUDGET, unordered)
    second = _answers(store, BUDGET, unordered)
    assert len(set(first["bodies"])) == 1  # two workers, same bytes
    assert first["bodies"] == second["bodies"]


def test_the_fork_server_holds_the_copy_without_a_thread(endpoint_data: Path) -> None:
    """The copy is read by a short-lived child (the on-disk store starts threads), so the
    fork server forks from one thread, and that child is gone."""
    result = _answers(open_release(endpoint_data).store_dir, BUDGET, QUERIES[:1])
    assert result["mode"].startswith("memory")
    assert result["zygote_threads"] == 1
    assert result["zygote_children"] == result["pids"]  # the workers, and no dump child


def test_a_store_over_the_budget_is_read_from_disk(endpoint_data: Path) -> None:
    """The known-bad budget: 1 MiB is less than the real graph's copy needs."""
    result = _answers(open_release(endpoint_data).store_dir, 1 * MIB, QUERIES[:1])
    assert result["mode"] == "disk: larger than the budget of DIPKG_MEMORY_STORE_MB (1 MiB)", result
    assert result["workers"] == {"disk"}
    assert result["zygote_threads"] == 1 and result["zygote_children"] == result["pids"]


def _preload_elsewhere(store: str, budget: int, seconds: float) -> dict:
    """``zygote.preload`` run in a fresh interpreter (it forks: never the test process):
    its answer, and the children it left (none, or the dump child was not reaped)."""
    code = (
        "import json, os, sys\n"
        "from sparql_api.zygote import preload\n"
        f"copy, state = preload({store!r}, {budget}, {seconds})\n"
        "try:\n"
        "    left = os.waitpid(-1, os.WNOHANG)\n"
        "except ChildProcessError:\n"
        "    left = None\n"
        "print(json.dumps({'state': state, 'copy': copy is not None, 'left': left}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("store", "seconds", "why"),
    [
        ("missing", 30.0, "the store could not be read"),  # the dump child fails
        ("real", 0.0, "the copy took longer than 0 s"),  # out of time
    ],
)
def test_a_copy_that_fails_leaves_the_disk_and_no_child(
    endpoint_data: Path, tmp_path: Path, store: str, seconds: float, why: str
) -> None:
    path = (
        str(tmp_path / "no-store")
        if store == "missing"
        else str(open_release(endpoint_data).store_dir)
    )
    result = _preload_elsewhere(path, BUDGET, seconds)
    assert result == {"state": {"mode": "disk", "why": why}, "copy": False, "left": None}


def test_a_copy_within_budget_and_time(endpoint_data: Path) -> None:
    """The known-good case beside the failures above."""
    result = _preload_elsewhere(str(open_release(endpoint_data).store_dir), BUDGET, 30.0)
    assert result["copy"] is True and result["state"]["mode"] == "memory", result
    assert result["left"] is None


@pytest.fixture(scope="module")
def on_disk(endpoint_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        endpoint_data,
        tmp_path_factory,
        "disk-store",
        DIPKG_QUERY_WORKERS="1",
        DIPKG_MEMORY_STORE_MB="0",
    )


def test_health_says_where_the_workers_evaluate(server: Server, on_disk: Server) -> None:
    """The default serves from the copy; DIPKG_MEMORY_STORE_MB=0 from the disk."""
    assert (
        httpx.get(server.url + "/health", timeout=10).json()["query_store"].startswith("memory (")
    )
    assert httpx.get(on_disk.url + "/health", timeout=10).json()["query_store"] == "disk"
    query = {"query": f"ASK {{ ?s ?p ?o }} # {time.time_ns()}"}
    r = httpx.get(on_disk.sparql, params=query, timeout=30)
    assert r.status_code == 200 and r.json()["boolean"] is True
