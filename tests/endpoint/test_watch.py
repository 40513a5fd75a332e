"""endpoint._run_watched: a query runs in its request's task, its client watched for a
disconnect from WATCH_AFTER on (tests/endpoint/test_limits.py has the real server's
disconnect freeing its worker; here each way the race can end, with a stand-in pool)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from sparql_api import endpoint


class Stream:
    closed = False

    def close(self) -> None:
        self.closed = True


class Pool:
    """Answers after ``delay`` s; ``absorbs``: a cancellation arriving as it answers is
    swallowed and the answer returned (asyncio.wait_for does that on Python 3.11)."""

    def __init__(self, delay: float, absorbs: bool = False) -> None:
        self.delay, self.absorbs = delay, absorbs
        self.cancelled = False
        self.reply = SimpleNamespace(stream=Stream(), header={"ok": True})

    async def run(self, job: Any, client: str | None = None) -> Any:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            if self.absorbs:
                return self.reply
            raise
        return self.reply


def receiver(leaves_after: float | None):  # type: ignore[no-untyped-def]
    """A GET's receive: the request at once, then a disconnect after ``leaves_after`` s."""
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        if leaves_after is None:
            await asyncio.Event().wait()
        await asyncio.sleep(leaves_after)
        return {"type": "http.disconnect"}

    receive.calls = lambda: calls  # type: ignore[attr-defined]
    return receive


def run(pool: Pool, receive: Any) -> tuple[Any, int]:
    async def main() -> tuple[Any, int]:
        reply = await endpoint._run_watched(receive, SimpleNamespace(pool=pool), None, "c")  # type: ignore[arg-type]
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0.01)  # a cancellation left pending would land here
        return reply, task.cancelling()

    return asyncio.run(main())


def test_a_quick_answer_makes_no_watcher() -> None:
    pool, receive = Pool(0.001), receiver(0.0)
    reply, cancelling = run(pool, receive)
    assert reply is pool.reply and cancelling == 0 and not pool.cancelled
    assert receive.calls() == 0  # the client was never read: no task was made


def test_a_long_query_is_watched_and_cancelled_when_its_client_leaves() -> None:
    pool, receive = Pool(5.0), receiver(0.1)
    reply, cancelling = run(pool, receive)
    assert reply is None and pool.cancelled and cancelling == 0


def test_a_long_query_whose_client_stays_is_answered() -> None:
    pool, receive = Pool(endpoint.WATCH_AFTER + 0.1), receiver(None)
    reply, cancelling = run(pool, receive)
    assert reply is pool.reply and not pool.cancelled and cancelling == 0
    assert receive.calls() == 2  # watched, then the watcher was stopped


def test_an_answer_that_comes_as_the_client_leaves_gives_its_file_back() -> None:
    pool, receive = Pool(5.0, absorbs=True), receiver(0.1)
    reply, cancelling = run(pool, receive)
    assert reply is None and pool.reply.stream.closed and cancelling == 0


def test_a_cancellation_from_elsewhere_still_cancels() -> None:
    """Known-bad: a watcher that took every cancellation for a disconnect would return None."""
    pool, receive = Pool(5.0), receiver(None)

    async def main() -> None:
        inner = asyncio.ensure_future(
            endpoint._run_watched(receive, SimpleNamespace(pool=pool), None, "c")  # type: ignore[arg-type]
        )
        await asyncio.sleep(endpoint.WATCH_AFTER + 0.05)
        inner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await inner

    asyncio.run(main())
    assert pool.cancelled


def test_both_the_client_and_someone_else_cancelling_is_a_cancellation() -> None:
    pool, receive = Pool(5.0), receiver(0.0)

    async def main() -> None:
        inner = asyncio.ensure_future(
            endpoint._run_watched(receive, SimpleNamespace(pool=pool), None, "c")  # type: ignore[arg-type]
        )
        await asyncio.sleep(endpoint.WATCH_AFTER)  # the watcher starts, the client is gone
        sent = inner.cancel()  # and the server cancels too, in the same turn
        await asyncio.sleep(0.05)
        assert inner.done()  # never a hang
        if sent:  # it was still running: the server's cancellation is never lost
            assert inner.cancelled()
        else:  # the client's came first and the run had ended
            assert inner.result() is None

    asyncio.run(main())
