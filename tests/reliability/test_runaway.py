"""Runaway work: two runaway queries in flight, cheap queries stay fast.

The pool (sparql_api/workers.py) hands each query to an idle worker; when every
worker is busy a query waits in line for one, and gives up with 503 ``busy``
once it has waited the whole time limit. So with the default two workers, two
runaways would make every cheap query wait up to the limit: this server runs
three workers, so one stays free for the cheap queries. Each runaway comes from a
client of its own (a loopback address): one client's queries run one at a time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.endpoint.conftest import Server, serving
from tests.reliability.conftest import record, run_async, zombies

# timing and CPU thresholds: run alone, after the rest (`make test`: -m serial)
pytestmark = pytest.mark.serial

LIMIT = 3.0
WORKERS = 3
CHEAP_COUNT = 200
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } # runaway %d"
CHEAP = "ASK { ?s ?p ?o } # cheap %d"


@pytest.fixture(scope="module")
def server(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        canary_data,
        tmp_path_factory,
        "runaway",
        DIPKG_QUERY_TIMEOUT=str(LIMIT),
        DIPKG_QUERY_WORKERS=str(WORKERS),
    )


def other_client(url: str, i: int) -> httpx.AsyncClient:
    """A client at 127.0.0.{2+i}: runaways come from other clients than the cheap queries
    (127.0.0.1), one each, as one client's queries run one at a time (DIPKG_CLIENT_QUERIES)."""
    return httpx.AsyncClient(
        base_url=url,
        timeout=30,
        transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i}"),
    )


def wait_pool(server: Server, within: float = 20.0) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        h = httpx.get(server.url + "/health", timeout=5).json()
        pids = {p.pid for p in server.workers()}
        if h["workers"]["alive"] == WORKERS and len(pids) == WORKERS:
            return pids
        time.sleep(0.05)
    raise AssertionError("the pool did not come back to its size")


def busy_workers(server: Server, n: int, within: float = 2.0) -> list[int]:
    """The pids of the ``n`` workers burning CPU (the runaways)."""
    procs = server.workers()
    for p in procs:
        p.cpu_percent(None)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(0.2)
        usage = sorted(((p.cpu_percent(None), p.pid) for p in procs), reverse=True)
        hot = [pid for cpu, pid in usage if cpu > 20]
        if len(hot) >= n:
            return hot[:n]
    raise AssertionError("the runaway queries are not running")


async def scenario(url: str) -> tuple[list[tuple[int, float, str]], list[float], list[int], float]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def runaway(i: int) -> tuple[int, float, str]:
            started = time.monotonic()
            async with other_client(url, i) as other:
                r = await other.post("/sparql", data={"query": RUNAWAY % i})
            return r.status_code, time.monotonic() - started, r.json().get("error", "")

        tasks = [asyncio.create_task(runaway(i)) for i in range(2)]
        await asyncio.sleep(0.3)  # both runaways hold a worker now
        cheap: list[float] = []
        statuses: list[int] = []
        window_start = time.monotonic()
        for i in range(CHEAP_COUNT):  # one after another, each a new query (no cache hit)
            started = time.monotonic()
            r = await client.get("/sparql", params={"query": CHEAP % (i + time.time_ns())})
            cheap.append(time.monotonic() - started)
            statuses.append(r.status_code)
        window = time.monotonic() - window_start
        runaways = await asyncio.gather(*tasks)
        return runaways, cheap, statuses, window


@pytest.mark.slow
def test_two_runaways_stop_at_the_limit_while_cheap_queries_stay_fast(server: Server) -> None:
    before = wait_pool(server)
    runaways, cheap, statuses, window = run_async(lambda: scenario(server.url))
    assert set(statuses) == {200}, statuses
    # every cheap query ran while both runaways were in flight
    assert window + 0.3 < LIMIT, (
        f"the cheap queries took {window:.2f} s: not all inside the runaways' window"
    )
    cheap.sort()
    p50, p99 = cheap[len(cheap) // 2], cheap[int(len(cheap) * 0.99) - 1]
    after = wait_pool(server)
    leftover = zombies(server)
    elapsed = [e for _, e, _ in runaways]
    record(
        "runaway",
        {
            "time_limit_seconds": LIMIT,
            "query_workers": WORKERS,
            "runaways_in_flight": 2,
            "runaway_statuses": [f"{s} {e}" for s, _, e in runaways],
            "runaway_stopped_after_seconds": [round(e, 3) for e in elapsed],
            "cheap_queries": len(cheap),
            "cheap_p50_ms": round(p50 * 1000, 1),
            "cheap_p99_ms": round(p99 * 1000, 1),
            "cheap_max_ms": round(cheap[-1] * 1000, 1),
            "workers_replaced": len(before - after),
            "zombies": len(leftover),
        },
    )
    assert [(s, e) for s, _, e in runaways] == [(503, "timeout")] * 2, runaways
    for e in elapsed:
        assert LIMIT * 0.9 <= e <= LIMIT * 1.1, f"runaway stopped after {e:.3f} s, limit {LIMIT} s"
    assert p99 < 0.100, f"cheap queries' p99 {p99 * 1000:.0f} ms"
    assert len(before - after) == 2, "the runaways' workers were not replaced"
    assert not leftover, f"zombies: {leftover}"


@pytest.mark.slow
def test_two_workers_killed_mid_query_give_503_and_the_next_query_succeeds(server: Server) -> None:
    """A variant of tests/endpoint's single death: two workers SIGKILLed at once, mid-query."""
    wait_pool(server)
    results: dict[int, httpx.Response] = {}

    def victim(i: int) -> None:  # two clients (one client's queries run one at a time)
        with httpx.Client(
            transport=httpx.HTTPTransport(local_address=f"127.0.0.{2 + i}"), timeout=30
        ) as other:
            results[i] = other.post(server.sparql, data={"query": RUNAWAY % (1000 + i) + " die"})

    threads = [threading.Thread(target=victim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:  # well inside the time limit, or the queries end as timeouts before the kill
        victims = busy_workers(server, 2, within=LIMIT / 2)
    except AssertionError:  # a loaded machine: kill every worker (an idle one costs no query)
        victims = [p.pid for p in server.workers()]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    for t in threads:
        t.join(timeout=30)
    for r in results.values():
        assert r.status_code == 503 and r.json()["error"] == "worker-died", r.text
    r = httpx.get(server.sparql, params={"query": CHEAP % time.time_ns()}, timeout=30)
    assert r.status_code == 200 and r.json()["boolean"] is True
    wait_pool(server)
    assert not zombies(server)
    assert all(p.status() != psutil.STATUS_ZOMBIE for p in server.workers())


@pytest.mark.slow
def test_when_every_worker_is_busy_a_query_waits_in_line(server: Server) -> None:
    """Three runaways on three workers: a cheap query neither fails at once nor runs
    in the server; it waits for a worker (here: the first runaway's replacement) and
    would give up with 503 ``busy`` after waiting the whole time limit."""
    wait_pool(server)

    async def run() -> tuple[int, str, float]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

            async def hog(i: int) -> httpx.Response:
                async with other_client(server.url, i) as other:
                    return await other.post(
                        "/sparql", data={"query": RUNAWAY % (2000 + i + time.time_ns())}
                    )

            hogs = [asyncio.create_task(hog(i)) for i in range(WORKERS)]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            r = await client.get("/sparql", params={"query": CHEAP % time.time_ns()})
            waited = time.monotonic() - started
            await asyncio.gather(*hogs)
            return r.status_code, r.json().get("error", ""), waited

    status, error, waited = run_async(run)
    record(
        "pool_saturated",
        {
            "query_workers": WORKERS,
            "runaways": WORKERS,
            "cheap_status": status,
            "cheap_error": error,
            "cheap_waited_seconds": round(waited, 3),
            "behaviour": "waits for a free worker up to the time limit, then 503 busy",
        },
    )
    assert (status, error) in ((200, ""), (503, "busy")), (status, error)
    assert waited >= LIMIT - 0.3 - 0.2, f"answered after {waited:.2f} s while every worker was busy"
    assert waited <= LIMIT * 1.1 + 0.5
    wait_pool(server)
