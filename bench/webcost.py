"""The web process's CPU per cold query, part by part, without HTTP (bench/PROFILE.md).

Throughput on a shared 2-core machine moves ±10% from run to run with the other processes'
load; these two measures move ±3-5%, so a change of a few microseconds shows:

* ``app``: the web process's own Python for one cold point lookup, from uvicorn's call
  of the app to its last message: what ``dipkg serve`` composes (the query lane, the
  access log written to ``os.devnull`` as the served text log writes it, the release
  binding, the bare path, the guard, negotiation, ETag, both response caches), with a
  stand-in pool that answers at once with the real answer's bytes: no worker, no socket,
  no HTTP server. ``--no-lane`` measures the layers alone (the access log around the
  release binding around the app), as before the lane;
* ``pool``: ``WorkerPool.run``'s CPU in the web process per job (leases, fair shares,
  the job's frame, the reply's read, the time limit), 8 concurrent clients on real
  workers, and the workers' own CPU per job.

``python -m bench.webcost DATA app|pool [--requests N] [--workers N]`` prints one line.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

S01 = "https://w3id.org/dipkg/scenario/guizhou-b1-s01"
POINT = f"SELECT ?p ?o WHERE {{ <{S01}> ?p ?o }}"


class _AtOnce:
    """A query pool (sparql_api.backends.QueryPool) that answers every job at once."""

    size = alive = 2

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.info: dict[str, Any] = {}
        self.stats: dict[str, int] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def run(self, job: Any, client: str | None = None) -> Any:
        from sparql_api.workers import Reply

        return Reply({"ok": True, "kind": "table", "rows": 19, "truncated": False}, self.body)


def _point_answer(data: Path) -> bytes:
    import pyoxigraph as ox

    from dipkg.core.release import open_release

    store = ox.Store.read_only(str(open_release(data).store_dir))
    return store.query(POINT).serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]


async def app_cost(data: Path, requests: int, warm: int = 2000, lane: bool = True) -> str:
    import logging.config
    import os

    from dipkg.core.release import open_release
    from dipkg.core.settings import Settings
    from sparql_api.app import create_app
    from sparql_api.lane import QueryLane
    from sparql_api.live import Generation, LiveApp, settle_heap
    from sparql_api.logs import RequestLog, log_config

    settings = Settings()
    release = open_release(data)
    app = create_app(settings, release, pool=_AtOnce(_point_answer(data)))
    live = LiveApp(settings, data, Generation(release, None, app))  # type: ignore[arg-type]
    front = QueryLane(RequestLog(live), live) if lane else RequestLog(live)
    logging.config.dictConfig(log_config("text"))  # as the server's: the direct access line
    devnull = open(os.devnull, "w")  # noqa: SIM115  (for the measure's life)
    for handler in logging.getLogger().handlers:
        handler.setStream(devnull)  # type: ignore[attr-defined]
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    base = "query=" + quote(POINT)

    def scope(i: int) -> dict:
        return {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/sparql",
            "raw_path": b"/sparql",
            "root_path": "",
            "query_string": f"{base}%0A%23{i}".encode(),
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"accept", b"application/sparql-results+json"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    async with app.router.lifespan_context(app):
        settle_heap()  # as dipkg serve does once started (sparql_api/live.py)
        for i in range(warm):  # warm: imports, negotiation's memo, the caches' first entries
            await front(scope(i), receive, send)
        sent.clear()
        started = time.process_time()
        for i in range(warm, warm + requests):
            await front(scope(i), receive, send)
        spent = time.process_time() - started
    assert sent and sent[0]["status"] == 200, sent[:2]
    devnull.close()
    how = "the lane" if lane else "the layers"
    return f"app: {1e6 * spent / requests:.1f} us of CPU per cold query ({how}, {requests} queries)"


async def pool_cost(data: Path, requests: int, workers: int, warm: int = 2000) -> str:
    import psutil

    from dipkg.core.release import open_release
    from dipkg.core.settings import load_settings
    from sparql_api.results import Job
    from sparql_api.workers import WorkerPool

    pool = WorkerPool(
        open_release(data).store_dir,
        size=workers,
        timeout=10,
        # as `dipkg serve` with this many workers (a copy in memory where it fits)
        memory_store=load_settings(query_workers=workers).memory_store_bytes(),
        client_queries=1,
    )
    await pool.start()
    left = 0

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await pool.run(Job(f"{POINT} #{left}", "json", None, 10000), client="one")

    def children() -> float:
        return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pool.pids())

    try:
        left = warm
        await asyncio.gather(*(client() for _ in range(8)))
        left = requests
        before, started, clock = children(), time.process_time(), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(8)))
        spent, wall, theirs = (
            time.process_time() - started,
            time.perf_counter() - clock,
            children() - before,
        )
    finally:
        await pool.stop()
    return (
        f"pool: {1e6 * spent / requests:.1f} us of web-process CPU per job, workers "
        f"{1e6 * theirs / requests:.1f} us, {requests / wall:.0f} jobs/s ({workers} workers)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webcost", description=__doc__)
    parser.add_argument("data", type=Path, help="a dipkg build's output folder")
    parser.add_argument("part", choices=("app", "pool"))
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warm", type=int, default=2000, help="queries before the measure")
    parser.add_argument("--no-lane", action="store_true", help="app: the layers alone")
    args = parser.parse_args(argv)
    import uvloop

    if args.part == "app":
        print(uvloop.run(app_cost(args.data, args.requests, args.warm, not args.no_lane)))
    else:
        print(uvloop.run(pool_cost(args.data, args.requests, args.workers, args.warm)))


if __name__ == "__main__":
    main()
