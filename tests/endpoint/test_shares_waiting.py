"""A job waiting for a worker (sparql_api/shares.py ``Shares.acquire``): how the wait ends.

The wait is one future with one timer (no task, no shield per job): these tests hold the
three ways it can end to what the pool's callers rely on. Given up at the limit, it is a
503 ``Busy`` and the job is out of the line; cancelled (the client left), nothing is
held; handed a worker in the same turn as it is cancelled, the worker is given back
rather than lost. The real ``Shares`` on a running loop; the workers are stand-ins (the
sharing only reads a seat's pid, hold and liveness).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from sparql_api.errors import Busy, TooManyQueries
from sparql_api.shares import Shares


@dataclass(eq=False)
class Seat:
    pid: int
    held_for: str | None = None
    held_until: float = 0.0
    alive: bool = True


def shares(size: int = 1) -> tuple[Shares[Seat], list[Seat]]:
    seats = [Seat(pid=100 + i) for i in range(size)]
    pool: Shares[Seat] = Shares(
        size=size,
        timeout=1.0,
        client_queries=1,
        client_queue=8,
        preempt_after=60.0,  # no lent worker is taken back during these tests
        on_preempt=lambda seat: None,
        stats={"borrowed": 0, "preempted": 0},
    )
    for seat in seats:
        pool.add(seat)
    return pool, seats


def settled(pool: Shares[Seat]) -> tuple[int, int, int]:
    """(idle workers, clients with jobs on workers, clients with jobs waiting)."""
    assert lent_counted(pool)
    return len(pool._idle), len(pool._inflight), len(pool._waiting)


def lent_counted(pool: Shares[Seat]) -> bool:
    """The lent jobs' count per client is what the lent jobs are."""
    return pool._lent_n == dict(Counter(lease.client for lease in pool._lent))


async def one_waiting(pool: Shares[Seat]) -> tuple[Any, asyncio.Task]:
    """Client "a" holds the one worker; client "b"'s job waits for it (5 s of patience)."""
    loop = asyncio.get_running_loop()
    held = await pool.acquire("a", loop.time() + 5)
    waiting = loop.create_task(pool.acquire("b", loop.time() + 5))
    await asyncio.sleep(0.01)
    return held, waiting


def test_a_wait_past_its_limit_is_busy_and_leaves_the_line() -> None:
    async def scenario() -> None:
        pool, _ = shares()
        loop = asyncio.get_running_loop()
        held = await pool.acquire("a", loop.time() + 5)
        started = loop.time()
        with pytest.raises(Busy) as caught:
            await pool.acquire("b", loop.time() + 0.05)
        assert 0.04 <= loop.time() - started < 1.0
        assert caught.value.details == {"retry_after": 1}
        assert settled(pool) == (0, 1, 0)  # "b" is out of the line
        pool.release(held, held.worker)
        assert settled(pool) == (1, 0, 0)  # the worker went back to idle, to nobody

    asyncio.run(scenario())


def test_a_cancelled_wait_holds_nothing() -> None:
    async def scenario() -> None:
        pool, _ = shares()
        held, waiting = await one_waiting(pool)
        assert settled(pool) == (0, 1, 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert settled(pool) == (0, 1, 0)
        pool.release(held, held.worker)
        assert settled(pool) == (1, 0, 0)

    asyncio.run(scenario())


def test_a_worker_handed_over_as_the_wait_is_cancelled_is_given_back() -> None:
    async def scenario() -> None:
        pool, _ = shares()
        held, waiting = await one_waiting(pool)
        pool.release(held, held.worker)  # "b" is handed the worker...
        waiting.cancel()  # ...and cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert settled(pool) == (1, 0, 0)  # not lost: idle again
        again = await pool.acquire("c", asyncio.get_running_loop().time() + 5)
        assert again.worker is held.worker

    asyncio.run(scenario())


def test_a_wait_given_up_and_cancelled_together_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The limit's timer and a cancellation in the same turn: the cancellation wins, and
    the timer's TimeoutError is read (asyncio would log one never retrieved)."""

    async def scenario() -> None:
        pool, _ = shares()
        held, waiting = await one_waiting(pool)
        # in one step, before the task runs again: what the timer does, then the cancel
        pool._waiting["b"][0].future.set_exception(TimeoutError())
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert settled(pool) == (0, 1, 0)  # "b" is out of the line, nothing else moved
        pool.release(held, held.worker)
        assert settled(pool) == (1, 0, 0)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(scenario())
        gc.collect()
    assert "never retrieved" not in caplog.text


def test_many_waits_end_and_every_worker_is_back() -> None:
    """Jobs that get a worker, give up, are cancelled or refused (over a client's 8),
    mixed: at the end every worker is idle and no client is counted."""

    async def scenario() -> None:
        pool, _ = shares(size=2)
        loop = asyncio.get_running_loop()
        done = {"ran": 0, "busy": 0, "cancelled": 0, "refused": 0}

        async def job(client: str, patience: float, work: float) -> None:
            try:
                lease = await pool.acquire(client, loop.time() + patience)
            except Busy:
                done["busy"] += 1
                return
            assert lent_counted(pool)
            try:
                await asyncio.sleep(work)
            finally:
                pool.release(lease, lease.worker)
            assert lent_counted(pool)
            done["ran"] += 1

        tasks = [
            loop.create_task(job(f"c{i % 3}", 0.02 if i % 4 == 0 else 2.0, 0.005))
            for i in range(40)
        ]
        await asyncio.sleep(0.01)
        for task in tasks[1::7]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        done["cancelled"] = sum(isinstance(r, asyncio.CancelledError) for r in results)
        done["refused"] = sum(isinstance(r, TooManyQueries) for r in results)  # over 8 a client
        assert sum(done.values()) == 40, (done, results)
        assert done["ran"] and done["busy"] and done["cancelled"] and done["refused"], done
        assert settled(pool) == (2, 0, 0), done

    asyncio.run(scenario())


def test_lent_jobs_are_counted_per_client_as_they_come_and_go() -> None:
    """A client alone takes both workers (one lent beyond its share of one); its job
    within the share ends and the lent one takes its place; another is lent, and so on:
    the count per client follows the lent jobs at every step."""

    async def scenario() -> None:
        pool, _ = shares(size=2)
        loop = asyncio.get_running_loop()
        first = await pool.acquire("a", loop.time() + 5)
        second = await pool.acquire("a", loop.time() + 5)
        assert not first.borrowed and second.borrowed
        assert pool._lent_n == {"a": 1} and lent_counted(pool)
        pool.release(first, first.worker)  # the lent one moves into the share
        assert not second.borrowed and pool._lent_n == {} and lent_counted(pool)
        third = await pool.acquire("a", loop.time() + 5)
        assert third.borrowed and pool._lent_n == {"a": 1} and lent_counted(pool)
        other = loop.create_task(pool.acquire("b", loop.time() + 5))
        await asyncio.sleep(0.01)
        pool.release(third, third.worker)  # lent, ended: its worker goes to "b"
        assert pool._lent_n == {} and lent_counted(pool)
        pool.release(await other, None)
        pool.release(second, second.worker)
        assert settled(pool) == (1, 0, 0)  # (the worker given back as None is gone)

    asyncio.run(scenario())


def test_a_worker_taken_back_is_no_longer_counted_as_lent() -> None:
    """Client "a" borrows two workers beyond its share; "b" waits; after preempt_after
    the longest-running lent job's worker is taken back: the count follows, and every
    count is gone once all jobs end."""

    async def scenario() -> None:
        taken: list[Seat] = []
        pool: Shares[Seat] = Shares(
            size=3,
            timeout=1.0,
            client_queries=1,
            client_queue=8,
            preempt_after=0.01,
            on_preempt=taken.append,
            stats={"borrowed": 0, "preempted": 0},
        )
        for i in range(3):
            pool.add(Seat(pid=100 + i))
        loop = asyncio.get_running_loop()
        leases = [await pool.acquire("a", loop.time() + 5) for _ in range(3)]
        assert [lease.borrowed for lease in leases] == [False, True, True]
        assert pool._lent_n == {"a": 2} and lent_counted(pool)
        waiting = loop.create_task(pool.acquire("b", loop.time() + 5))
        await asyncio.sleep(0.05)
        assert [seat.pid for seat in taken] == [leases[1].worker.pid]  # the oldest lent
        assert leases[1].preempted and pool._lent_n == {"a": 1} and lent_counted(pool)
        pool.release(leases[1], None)  # its job ends as the pool's would: the worker replaced
        pool.replacing()
        pool.replaced(Seat(pid=200))  # the successor: handed to "b"
        other = await waiting
        assert not other.borrowed and lent_counted(pool)
        for lease in (leases[0], leases[2], other):
            pool.release(lease, lease.worker)
            assert lent_counted(pool)
        assert settled(pool) == (3, 0, 0) and pool._lent_n == {}

    asyncio.run(scenario())
