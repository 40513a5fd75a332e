"""Work-conserving fairness of the worker pool (sparql_api/shares.py), on a real store
with real worker processes: a client alone uses every idle worker (lent beyond its
share of one), and a client under its share takes a lent worker back at once; the
query that was running there runs again and succeeds.

tests/reliability/test_fairness.py holds the same rules against runaways over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from dipkg.core.release import open_release
from sparql_api.errors import QueryTimeout
from sparql_api.results import Job
from sparql_api.workers import WorkerPool

# timing and CPU thresholds: run alone, after the rest (`make test`: -m serial)
pytestmark = pytest.mark.serial

#: 0.3 s alone on an idle core here: every type against every type (2.8 M pairs)
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a a ?c . ?d a ?f } # %s"
SLOW_COUNT = 2_839_225
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } # %s"
CHEAP = "ASK { ?s ?p ?o } # %s"


def job(query: str) -> Job:
    return Job(query, "json", None, 10)


def count(reply) -> int:
    assert reply.header["ok"], reply.header
    return int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def store(endpoint_data: Path) -> Path:
    return open_release(endpoint_data).store_dir


def pool_of(store: Path, size: int, timeout: float) -> WorkerPool:
    return WorkerPool(store, size=size, timeout=timeout, client_queries=1, client_queue=8)


def test_one_client_alone_uses_every_idle_worker(store: Path) -> None:
    """n slow queries of one client run at once, one per worker: they all end together,
    in about one time unit, where taking turns on one worker the first would end after
    1/n of the run. (CPU-bound queries on a shared 2-core machine: the unit itself
    stretches, so the proof is the shape, not a speed-up.)"""
    n = 3

    async def scenario() -> tuple[list[float], list[int], int, dict[str, int]]:
        pool = pool_of(store, n, 60)
        await pool.start()
        try:
            peak = 0

            async def watch() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, pool.shares._inflight.get("a", 0))
                    await asyncio.sleep(0.005)

            async def timed(i: int) -> tuple[float, int]:
                reply = await pool.run(job(SLOW % f"together {i}"), "a")
                return time.monotonic() - started, count(reply)

            watcher = asyncio.create_task(watch())
            started = time.monotonic()
            out = await asyncio.gather(*(timed(i) for i in range(n)))
            watcher.cancel()
            return [t for t, _ in out], [c for _, c in out], peak, dict(pool.stats)
        finally:
            await pool.stop()

    ends, counts, peak, stats = asyncio.run(scenario())
    print("ends (s):", [round(t, 2) for t in sorted(ends)])
    assert counts == [SLOW_COUNT] * n
    # its share is one worker; the other two were lent to it, all three ran at once
    assert peak == n and stats["borrowed"] == n - 1 and stats["preempted"] == 0, (peak, stats)
    # taking turns on one worker, the first ends at 1/3 of the run (min/max ~0.33); three at
    # once on two cores end within the last third (~0.67 when the scheduler lets two run
    # first; 0.60 seen in a loaded CI run, which the old threshold of 0.6 failed): 0.5 parts
    # the two shapes
    assert min(ends) > 0.5 * max(ends), f"they took turns: ended at {sorted(ends)}"


def test_a_newcomer_takes_a_lent_worker_back_at_once(store: Path) -> None:
    """Client "a" holds both workers with runaways (one lent); client "b"'s cheap query
    gets a worker within a fraction of a second, not at the runaways' time limit."""
    limit = 6.0

    async def scenario() -> tuple[float, dict, dict[str, int]]:
        pool = pool_of(store, 2, limit)
        await pool.start()
        try:
            hogs = [asyncio.create_task(pool.run(job(RUNAWAY % i), "a")) for i in range(2)]
            await asyncio.sleep(0.3)
            assert pool.stats["borrowed"] == 1 and not pool.shares._idle
            started = time.monotonic()
            reply = await pool.run(job(CHEAP % "b"), "b")
            waited = time.monotonic() - started
            stats = dict(pool.stats)
            for hog in hogs:
                hog.cancel()
            await asyncio.gather(*hogs, return_exceptions=True)
            return waited, reply.header, stats
        finally:
            await pool.stop()

    waited, header, stats = asyncio.run(scenario())
    print(f"the newcomer waited {waited * 1000:.0f} ms")
    assert header["ok"] is True
    assert stats["preempted"] == 1 and stats["deaths"] == 0, stats
    assert waited < 1.5, f"the newcomer waited {waited:.2f} s (the limit is {limit} s)"


def test_a_preempted_query_runs_again_and_succeeds(store: Path) -> None:
    async def scenario() -> tuple[list[int], dict, float, dict[str, int]]:
        pool = pool_of(store, 2, 30)
        await pool.start()
        try:
            mine = [asyncio.create_task(pool.run(job(SLOW % f"a {i}"), "a")) for i in range(2)]
            await asyncio.sleep(0.05)  # both running: the second on a lent worker
            started = time.monotonic()
            cheap = await pool.run(job(CHEAP % "b"), "b")
            waited = time.monotonic() - started
            replies = await asyncio.gather(*mine)
            return [count(r) for r in replies], cheap.header, waited, dict(pool.stats)
        finally:
            await pool.stop()

    counts, cheap, waited, stats = asyncio.run(scenario())
    assert cheap["ok"] is True and waited < 1.5, (cheap, waited)
    # the lent query was stopped for "b", then ran again within "a"'s share: no error
    assert stats["borrowed"] == 1 and stats["preempted"] == 1, stats
    assert counts == [SLOW_COUNT, SLOW_COUNT]
    assert stats["deaths"] == 0 and stats["timeouts"] == 0, stats


def test_a_preempted_query_is_not_lent_again(store: Path) -> None:
    """Taken back once, a query waits for its client's share even beside an idle worker,
    so it cannot be stopped a second time (and a runaway at the share keeps it waiting,
    here to its own time limit)."""
    limit = 3.0

    async def scenario() -> tuple[BaseException | None, dict[str, int], int]:
        pool = pool_of(store, 2, limit)
        await pool.start()
        try:
            own = asyncio.create_task(pool.run(job(RUNAWAY % "own"), "a"))
            await asyncio.sleep(0.2)
            lent = asyncio.create_task(pool.run(job(RUNAWAY % "lent"), "a"))
            await asyncio.sleep(0.2)
            await pool.run(job(CHEAP % "b"), "b")  # takes the lent worker back, then frees it
            await asyncio.sleep(0.3)
            idle = len(pool.shares._idle)  # the worker "b" freed: not lent to the preempted query
            outcome = await asyncio.gather(own, lent, return_exceptions=True)
            return (
                outcome[0] if isinstance(outcome[0], BaseException) else None,
                dict(pool.stats),
                idle,
            )
        finally:
            await pool.stop()

    own_error, stats, idle = asyncio.run(scenario())
    assert isinstance(own_error, QueryTimeout), own_error
    assert idle == 1, "the preempted query took an idle worker beyond its share"
    assert stats["preempted"] == 1 and stats["borrowed"] == 1, stats


def test_a_freed_worker_is_kept_a_moment_for_the_client_that_freed_it(store: Path) -> None:
    """A client asking one query after another finds its worker again: for
    ``preempt_after`` after a query, the worker it freed is not lent to another client
    (who would then have to be stopped for it); after that it is."""

    async def scenario() -> tuple[list[dict[str, int]], float]:
        pool = WorkerPool(
            store, size=2, timeout=20, client_queries=1, client_queue=8, preempt_after=0.5
        )
        await pool.start()
        try:
            hog = asyncio.create_task(pool.run(job(RUNAWAY % "b own"), "b"))
            await asyncio.sleep(0.2)
            await pool.run(job(CHEAP % "a 1"), "a")  # frees its worker: held for "a"
            more = asyncio.create_task(pool.run(job(SLOW % "b lent"), "b"))
            await asyncio.sleep(0.1)
            seen = [dict(pool.stats)]  # "b" waits: the idle worker is "a"'s a while yet
            await pool.run(job(CHEAP % "a 2"), "a")
            seen.append(dict(pool.stats))
            started = time.monotonic()
            await more  # the hold over, it is lent to "b"
            lent_after = time.monotonic() - started
            seen.append(dict(pool.stats))
            hog.cancel()
            await asyncio.gather(hog, return_exceptions=True)
            return seen, lent_after
        finally:
            await pool.stop()

    seen, lent_after = asyncio.run(scenario())
    assert [s["borrowed"] for s in seen] == [0, 0, 1], seen
    assert all(s["preempted"] == 0 for s in seen), seen
    assert lent_after < 10, lent_after


def test_a_preempted_job_does_not_keep_its_clients_next_ones_from_borrowing(
    store: Path,
) -> None:
    """Client "a"'s preempted runaway waits first in its queue for the share (never lent
    again); "a"'s next, cheap query behind it still borrows the idle worker at once,
    instead of waiting behind it until "a"'s other runaway hits the limit."""
    limit = 4.0

    async def scenario() -> tuple[float, dict, dict[str, int]]:
        pool = pool_of(store, 2, limit)
        await pool.start()
        try:
            own = asyncio.create_task(pool.run(job(RUNAWAY % "a own"), "a"))
            await asyncio.sleep(0.2)
            lent = asyncio.create_task(pool.run(job(RUNAWAY % "a lent"), "a"))
            await asyncio.sleep(0.2)
            await pool.run(job(CHEAP % "b"), "b")  # takes the lent worker back, frees it
            await asyncio.sleep(0.1)
            assert len(pool.shares._idle) == 1 and pool.stats["preempted"] == 1, pool.stats
            started = time.monotonic()
            reply = await pool.run(job(CHEAP % "a cheap"), "a")
            waited = time.monotonic() - started
            stats = dict(pool.stats)
            for task in (own, lent):
                task.cancel()
            await asyncio.gather(own, lent, return_exceptions=True)
            return waited, reply.header, stats
        finally:
            await pool.stop()

    waited, header, stats = asyncio.run(scenario())
    print(f"the cheap query behind the preempted one waited {waited * 1000:.0f} ms")
    assert header["ok"] is True
    assert stats["borrowed"] == 2 and stats["preempted"] == 1, stats
    assert waited < 1.5, f"it waited {waited:.2f} s beside an idle worker (limit {limit} s)"


def test_a_preempted_query_ends_within_twice_the_limit(store: Path) -> None:
    """A preempted query gets one extension, never a fresh limit: it ends (here at the
    limit, as a runaway) within twice the limit after it arrived. Client "a"'s "late"
    runaway waits behind "a"'s own, is lent the worker client "c" frees, is taken back
    for "b", and waits again for "a"'s share, which a runaway of "a" that started late
    holds: with a fresh limit after the preemption it would end ~2.8 limits after it
    arrived."""
    limit = 3.0

    async def scenario() -> tuple[BaseException | None, float, dict[str, int]]:
        pool = pool_of(store, 2, limit)
        await pool.start()
        loop = asyncio.get_running_loop()
        try:
            first = asyncio.create_task(pool.run(job(RUNAWAY % "a first"), "a"))
            other = asyncio.create_task(pool.run(job(RUNAWAY % "c"), "c"))
            await asyncio.sleep(0.05)
            share = asyncio.create_task(pool.run(job(RUNAWAY % "a share"), "a"))
            await asyncio.sleep(0.05)
            arrived = loop.time()
            late = asyncio.create_task(pool.run(job(RUNAWAY % "a late"), "a"))
            await asyncio.sleep(2.2)
            first.cancel()  # "a share" takes "a"'s share: a runaway to 2.4 + limit
            await asyncio.sleep(0.3)
            other.cancel()  # its worker, replaced, is lent to "a late"
            await asyncio.sleep(0.2)
            assert pool.stats["borrowed"] == 1, pool.stats
            await pool.run(job(CHEAP % "b"), "b")  # takes "a late"'s worker back
            outcome = (await asyncio.gather(late, return_exceptions=True))[0]
            took = loop.time() - arrived
            stats = dict(pool.stats)
            share.cancel()
            await asyncio.gather(first, other, share, return_exceptions=True)
            return outcome if isinstance(outcome, BaseException) else None, took, stats
        finally:
            await pool.stop()

    error, took, stats = asyncio.run(scenario())
    print(f"the preempted query ended after {took:.2f} s (limit {limit} s)")
    assert stats["preempted"] == 1, stats
    assert isinstance(error, QueryTimeout), error
    assert took < 2 * limit + 1.0, f"it ended {took:.2f} s after it arrived (limit {limit} s)"
    assert error.details.get("preempted") is True, error.details
