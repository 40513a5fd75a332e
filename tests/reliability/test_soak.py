"""Soak: 5,000 mixed requests (after 600 of warm-up) at concurrency 32 against a real server.

Zero unexpected statuses (bad queries get their 400/403), resident memory of the
server's process tree stable after warm-up (< 10 % growth), the worker pool back
to its size, no leaked file descriptors. Bounded: at most REQUESTS requests and
BUDGET seconds, whichever comes first.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from tests.endpoint.conftest import Server, start_server, stop_server
from tests.reliability.conftest import lane_client, record, run_async, tree_rss, zombies

REQUESTS = 5000
WARMUP = 600
CONCURRENCY = 32
BUDGET = 75.0  # seconds for the measured part; the test stops by itself
WORKERS = 2

PREFIX = (
    "PREFIX dip: <https://w3id.org/dipkg/ontology#> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)
SELECTS = [
    PREFIX + "SELECT ?s ?n WHERE { ?s a dip:Scenario ; dip:number ?n } ORDER BY ?n",
    PREFIX + "SELECT ?d (COUNT(?s) AS ?n) WHERE { ?s a dip:Scenario ; dip:domain/rdfs:label ?d "
    "FILTER(lang(?d) = 'zh') } GROUP BY ?d",
    PREFIX + "SELECT DISTINCT ?f ?l WHERE { ?f a dip:DataField ; rdfs:label ?l "
    "FILTER(CONTAINS(?l, '温度')) } LIMIT 50",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 200",
]
ASKS = [PREFIX + "ASK { ?s a dip:Scenario }", "ASK { ?s ?p ?o }", "ASK { <urn:x> <urn:y> <urn:z> }"]
CONSTRUCTS = [
    PREFIX + "CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s a dip:Scenario ; rdfs:label ?l }",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 100",
    PREFIX + "DESCRIBE ?s WHERE { ?s dip:number 5 }",
]
TABLE_ACCEPT = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    None,
]
GRAPH_ACCEPT = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    None,
]
BAD = [  # (query, expected status)
    ("SELECT * WHERE { ?s ?p }", 400),
    ("SELEKT * { }", 400),
    ("SELECT * WHERE { ?s ?p ?o } GROUP BY", 400),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403),
    ("LOAD <http://127.0.0.1:9/x.ttl>", 403),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 400),
]
PAGES = [
    "/scenario/guizhou-b1-s01",
    "/scenario/guizhou-b1-s05",
    "/scenario/guizhou-b1-s17",
    "/scenario/guizhou-b1-s23",
    "/domain/industry",
    "/domain/finance",
    "/guide/guizhou-b1",
    "/scheme/data-kinds",
    "/scenario/guizhou-b1-s05/data/1",
]
PAGE_EXT = [".html", ".ttl", ".jsonld", ".nt"]
PAGE_ACCEPT = ["text/html", "text/turtle", "application/ld+json"]
LANGS = ["zh", "en", "en-GB,en;q=0.8", "zh-CN,zh;q=0.9", None]


@dataclass
class Plan:
    method: str
    url: str
    expect: set[int]
    kind: str
    params: dict | None = None
    data: dict | None = None
    content: bytes | None = None
    headers: dict = field(default_factory=dict)


def make_plan(rng: random.Random, i: int) -> Plan:
    """One request of the mix; ``i`` makes some queries unique (they miss the cache)."""
    roll = rng.random()
    salt = f" # soak {i}" if rng.random() < 0.5 else ""
    if roll < 0.35:  # SPARQL: SELECT/ASK/CONSTRUCT, GET or POST (form or direct), some formats
        form = rng.choice(["select", "select", "ask", "construct"])
        if form == "construct":
            query, accept = rng.choice(CONSTRUCTS), rng.choice(GRAPH_ACCEPT)
        else:
            query, accept = (
                rng.choice(SELECTS if form == "select" else ASKS),
                rng.choice(TABLE_ACCEPT),
            )
        query += salt
        headers = {"Accept": accept} if accept else {}
        how = rng.choice(["get", "form", "direct"])
        if how == "get":
            return Plan(
                "GET", "/sparql", {200}, f"sparql-{form}", params={"query": query}, headers=headers
            )
        if how == "form":
            return Plan(
                "POST", "/sparql", {200}, f"sparql-{form}", data={"query": query}, headers=headers
            )
        return Plan(
            "POST",
            "/sparql",
            {200},
            f"sparql-{form}",
            content=query.encode(),
            headers={**headers, "Content-Type": "application/sparql-query"},
        )
    if roll < 0.45:  # bad queries get their 400 (or 403 for updates)
        query, status = rng.choice(BAD)
        return Plan(
            rng.choice(["GET", "POST"]),
            "/sparql",
            {status},
            "bad-query",
            params={"query": query + salt},
        )
    if roll < 0.75:  # resource pages: the IRI (303) or a document (200)
        path = rng.choice(PAGES)
        lang = rng.choice(LANGS)
        headers = {"Accept-Language": lang} if lang else {}
        if rng.random() < 0.3:
            return Plan(
                "GET",
                path,
                {303},
                "page-303",
                headers={**headers, "Accept": rng.choice(PAGE_ACCEPT)},
            )
        return Plan("GET", path + rng.choice(PAGE_EXT), {200}, "page", headers=headers)
    if roll < 0.88:  # dumps: listing, whole files, ranges
        sub = rng.random()
        if sub < 0.2:
            return Plan(
                "GET",
                "/dumps/",
                {200},
                "dumps-list",
                headers={"Accept": rng.choice(["text/html", "application/json"])},
            )
        name = rng.choice(
            ["dipkg.ttl", "dipkg.nt.gz", "dipkg.jsonld", "SHA256SUMS", "dipkg-scenarios.csv"]
        )
        if sub < 0.6:
            start = rng.randrange(0, 800)  # every file is longer than 800 bytes
            rng_header = rng.choice(
                [
                    f"bytes={start}-{start + rng.randrange(0, 5000)}",
                    f"bytes={start}-",
                    f"bytes=-{start + 1}",
                ]
            )
            if rng.random() < 0.1:
                return Plan(
                    "GET",
                    f"/dumps/{name}",
                    {416},
                    "dump-range",
                    headers={"Range": "bytes=99999999-"},
                )
            return Plan("GET", f"/dumps/{name}", {206}, "dump-range", headers={"Range": rng_header})
        return Plan("GET", f"/dumps/{name}", {200}, "dump")
    if roll < 0.95:  # the catalogue
        return rng.choice(
            [
                Plan("GET", "/catalog", {303}, "catalog", headers={"Accept": "text/turtle"}),
                Plan("GET", "/catalog.ttl", {200}, "catalog"),
                Plan("GET", "/catalog.jsonld", {200}, "catalog"),
                Plan("GET", "/.well-known/void", {200, 303}, "catalog"),
            ]
        )
    return rng.choice(
        [  # odds and ends: 404s, health, service description
            Plan("GET", f"/scenario/guizhou-b1-s99{salt and i}", {404}, "not-found"),
            Plan("GET", "/health", {200}, "health"),
            Plan("GET", "/sparql", {200}, "service-description", headers={"Accept": "text/turtle"}),
        ]
    )


async def fire(
    plans: list[Plan], base: str, deadline: float
) -> tuple[Counter, list[str], list[float]]:
    statuses: Counter = Counter()
    unexpected: list[str] = []
    latencies: list[float] = []
    queue: asyncio.Queue[Plan] = asyncio.Queue()
    for p in plans:
        queue.put_nowait(p)

    async def lane() -> None:
        async with lane_client(base) as client:
            while time.monotonic() < deadline:
                try:
                    p = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.monotonic()
                try:
                    r = await client.request(
                        p.method,
                        p.url,
                        params=p.params,
                        data=p.data,
                        content=p.content,
                        headers=p.headers,
                    )
                    await r.aread()
                    status = r.status_code
                except httpx.HTTPError as exc:
                    status = -1
                    unexpected.append(f"{p.method} {p.url} {p.kind}: {type(exc).__name__}")
                latencies.append(time.monotonic() - started)
                statuses[(p.kind, status)] += 1
                if status != -1 and status not in p.expect:
                    unexpected.append(f"{p.method} {p.url} {p.kind}: {status} {r.text[:200]}")

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return statuses, unexpected, latencies


def wait_pool(server: Server, size: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(server.url + "/health", timeout=5).json()["workers"]["alive"] == size
                and len(server.workers()) == size
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the pool did not come back to {size} workers: {len(server.workers())}")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_soak_mixed_requests_at_concurrency_32(canary_data: Path, tmp_path: Path) -> None:
    server = start_server(
        canary_data, tmp_path, DIPKG_QUERY_TIMEOUT="10", DIPKG_QUERY_WORKERS=str(WORKERS)
    )
    try:
        rng = random.Random(20261124)
        plans = [make_plan(rng, i) for i in range(WARMUP + REQUESTS)]
        wait_pool(server, WORKERS)
        proc = psutil.Process(server.proc.pid)
        fds_start = proc.num_fds()
        # warm-up: caches fill, workers reach their working set
        w_status, w_unexpected, _ = run_async(
            lambda: fire(plans[:WARMUP], server.url, time.monotonic() + 60)
        )
        assert not w_unexpected, w_unexpected[:10]
        wait_pool(server, WORKERS)
        rss_warm = tree_rss(server)
        fds_warm = proc.num_fds()
        started = time.monotonic()
        statuses, unexpected, latencies = run_async(
            lambda: fire(plans[WARMUP:], server.url, started + BUDGET)
        )
        elapsed = time.monotonic() - started
        done = sum(statuses.values())
        wait_pool(server, WORKERS)
        time.sleep(0.5)  # let closed connections be closed on the server side
        rss_end = tree_rss(server)
        fds_end = proc.num_fds()
        workers = len(server.workers())
        leftover = zombies(server)
        latencies.sort()
        growth = (rss_end - rss_warm) / rss_warm
        by_kind = Counter()
        for (kind, _status), n in statuses.items():
            by_kind[kind] += n
        figures = {
            "requests": done,
            "warmup_requests": WARMUP,
            "concurrency": CONCURRENCY,
            "query_workers": WORKERS,
            "seconds": round(elapsed, 1),
            "requests_per_second": round(done / elapsed, 1),
            "unexpected_statuses": len(unexpected),
            "bad_queries_answered_4xx": sum(
                n for (k, s), n in statuses.items() if k == "bad-query" and s in (400, 403)
            ),
            "latency_ms": {
                "p50": round(latencies[len(latencies) // 2] * 1000, 1),
                "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
            },
            "rss_mib_after_warmup": round(rss_warm / 2**20, 1),
            "rss_mib_end": round(rss_end / 2**20, 1),
            "rss_growth_percent": round(growth * 100, 2),
            "fds": {"start": fds_start, "after_warmup": fds_warm, "end": fds_end},
            "workers_end": workers,
            "zombies": len(leftover),
            "mix": dict(sorted(by_kind.items())),
        }
        record("soak", figures)
        print(figures)
        assert not unexpected, f"{len(unexpected)} unexpected: {unexpected[:10]}"
        assert done >= 3000, f"only {done} requests in {BUDGET} s"
        assert growth < 0.10, f"resident memory grew {growth:.1%} after warm-up"
        assert workers == WORKERS and not leftover
        assert fds_end <= fds_warm + 4, (
            f"file descriptors: {fds_warm} after warm-up, {fds_end} at the end"
        )
    finally:
        stop_server(server)
