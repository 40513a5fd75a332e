"""Fair sharing of the query workers between clients (their addresses).

The pool (:mod:`sparql_api.workers`) owns the processes; :class:`Shares` decides which
idle worker goes to which client's job. One client's share is ``client_queries`` jobs on
workers at once; its further jobs wait in its own queue, and a freed worker goes to the
waiting clients in turn. The sharing is work-conserving: a worker no client under its
share waits for is lent beyond the share, and taken back (killed, a fresh one forked: the
pool's ``on_preempt``) when a client under its share has waited ``PREEMPT_AFTER``; the
job that ran there goes back to the front of its client's queue and runs again within the
share (the pool gives it one extension, never a fresh limit). Jobs beyond the share, lent
or waiting, are at most ``client_queue``; more get 429. So clients with runaway queries
hold one worker each, never the whole pool.

The pool uses it through plain method calls (no task, and no await but the wait for a
worker): :meth:`Shares.acquire` gives a client's job a :class:`_Lease` on a worker,
:meth:`Shares.release` ends it; :meth:`Shares.add`, :meth:`Shares.replacing`,
:meth:`Shares.replaced` and :meth:`Shares.drop_idle` say that a worker is idle from the
start, that a successor is starting, that it joined, and which idle ones died;
:meth:`Shares.close` stops its timers. It counts ``borrowed`` and ``preempted`` in the
pool's ``stats``. The worker itself carries its hold (:class:`Seat`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sparql_api.errors import Busy, TooManyQueries

log = logging.getLogger("sparql_api.workers")  # the pool's log (sparql_api.query quiets it)

#: Seconds a client under its share waits for a worker before one lent to another client
#: beyond its share is taken back (killed and replaced; its job runs again later).
PREEMPT_AFTER = 0.02


class Seat(Protocol):
    """What the sharing needs of a worker (:class:`sparql_api.workers._Worker`)."""

    #: idle: kept for the client that freed it until then (the loop's time), not lent away
    held_for: str | None
    held_until: float

    @property
    def pid(self) -> int: ...

    @property
    def alive(self) -> bool: ...


W = TypeVar("W", bound=Seat)


@dataclass(eq=False)
class _Lease(Generic[W]):
    """A job's hold on a worker: within its client's share, or lent beyond it."""

    client: str
    worker: W
    borrowed: bool
    since: float  # the loop's time it was handed out
    preempted: bool = False  # its worker was taken back


@dataclass(eq=False)
class _Waiter(Generic[W]):
    future: asyncio.Future[_Lease[W]]
    lend: bool = True  # False: a preempted job, given a worker only within its share


class Shares(Generic[W]):
    """The idle workers of a pool of ``size`` and the jobs of its clients: who gets which.

    ``timeout`` is the pool's limit, for the errors' words and ``retry_after``;
    ``on_preempt`` kills a worker taken back and starts its successor; ``stats`` is the
    pool's counters (``borrowed``, ``preempted`` are counted here).
    """

    def __init__(
        self,
        *,
        size: int,
        timeout: float,
        client_queries: int,
        client_queue: int,
        preempt_after: float,
        on_preempt: Callable[[W], None],
        stats: dict[str, int],
    ) -> None:
        self.size = size
        self.timeout = timeout
        #: per-client fairness: jobs on workers, and waiting, per client key
        self.client_queries = client_queries if client_queries > 0 else size * 1_000_000
        self.limited = client_queries > 0
        self.client_queue = client_queue
        #: seconds a client under its share waits before a borrowed worker is taken back
        self.preempt_after = preempt_after
        self.stats = stats
        self._on_preempt = on_preempt
        self._idle: deque[W] = deque()
        self._inflight: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter[W]]] = {}
        self._lent: set[_Lease[W]] = set()  # jobs on workers beyond their client's share
        self._lent_n: dict[str, int] = {}  # how many of them each client has
        self._starting = 0  # replacements under way (each will join the idle ones)
        self._preempt_timer: asyncio.TimerHandle | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._closing = False

    # the pool's side ---------------------------------------------------
    def add(self, worker: W) -> None:
        """``worker`` started with the pool: idle."""
        self._idle.append(worker)

    def replacing(self) -> None:
        """A worker's successor is starting (it will join the idle ones)."""
        self._starting += 1

    def replaced(self, fresh: W | None) -> None:
        """The successor started (``fresh``, idle now) or never will (None)."""
        self._starting -= 1
        if fresh is not None:
            self._idle.append(fresh)
            self._dispatch()

    def drop_idle(self, dead: Callable[[W], bool]) -> list[W]:
        """Take the idle workers ``dead`` says are gone out of the idle ones."""
        gone = [worker for worker in self._idle if dead(worker)]
        for worker in gone:
            self._idle.remove(worker)
        return gone

    def close(self) -> None:
        """The pool stops: no timer runs, none starts."""
        self._closing = True
        for timer in (self._preempt_timer, self._hold_timer):
            if timer is not None:
                timer.cancel()

    # fair sharing ------------------------------------------------------
    #
    # A client's share is ``client_queries`` jobs on workers at once. A worker nobody
    # waits for is lent beyond that share (work-conserving: one client alone uses every
    # worker); a client under its share that finds none idle waits ``preempt_after``, then
    # the longest-running lent job's worker is killed and replaced for it. That job goes
    # back to the front of its client's queue and runs again within the share: it is
    # never lent again, so never preempted twice (its client's later jobs behind it still
    # may be: a worker is lent to a client's first job that may borrow); it gets one
    # extension (it ends within twice the limit after it arrived), never a fresh limit.
    # A worker freed by a client is kept for that client ``preempt_after`` before it is
    # lent to another: a client asking one query after another finds it again instead of
    # taking it back by force.

    def _lendable(self, client: str, now: float) -> W | None:
        """An idle worker that may be lent to ``client`` at ``now`` (not held for another)."""
        for worker in self._idle:
            if worker.held_for in (None, client) or worker.held_until <= now:
                return worker
        return None

    def _wake_when_held(self) -> None:
        """Dispatch again when the first hold on an idle worker ends."""
        if self._hold_timer is not None or self._closing:
            return
        now = asyncio.get_running_loop().time()
        ends = [w.held_until for w in self._idle if w.held_for is not None and w.held_until > now]
        if ends:
            self._hold_timer = asyncio.get_running_loop().call_at(min(ends), self._hold_over)

    def _hold_over(self) -> None:
        self._hold_timer = None
        self._dispatch()

    def _lend(self, lease: _Lease[W]) -> None:
        self._lent.add(lease)
        self._lent_n[lease.client] = self._lent_n.get(lease.client, 0) + 1

    def _unlend(self, lease: _Lease[W]) -> None:
        """``lease`` is no longer lent (it ended, moved into its client's share, or its
        worker was taken back)."""
        self._lent.discard(lease)
        left = self._lent_n[lease.client] - 1
        if left:
            self._lent_n[lease.client] = left
        else:
            del self._lent_n[lease.client]

    def _lease(self, client: str, worker: W, borrowed: bool, now: float) -> _Lease[W]:
        self._inflight[client] = self._inflight.get(client, 0) + 1
        lease = _Lease(client, worker, borrowed, now)
        if borrowed:
            self._lend(lease)
            self.stats["borrowed"] += 1
        return lease

    async def acquire(self, client: str, give_up: float, requeued: bool = False) -> _Lease[W]:
        """A worker for ``client``, in turn with other clients, within its share or lent
        beyond it; :class:`Busy` at ``give_up``, :class:`TooManyQueries` when the client
        already has ``client_queue`` jobs waiting or lent. A ``requeued`` (preempted) job
        goes first in its client's queue and is only given a worker within the share.
        ``client_queue`` counts the jobs beyond the share (lent or waiting)."""
        loop = asyncio.get_running_loop()
        queue = self._waiting.get(client)
        inflight = self._inflight.get(client, 0)
        if self._idle and not queue and inflight < self.client_queries:
            return self._lease(client, self._idle.popleft(), False, loop.time())
        # its jobs beyond its share: lent, or waiting (but those that will get the share;
        # without a per-client limit, every waiting one counts)
        waiting = len(queue) if queue else 0
        extra = waiting + self._lent_n.get(client, 0)
        if self.limited:
            extra -= max(self.client_queries - inflight, 0)
        if not requeued and extra >= self.client_queue:
            raise TooManyQueries(
                f"this client already has {inflight} queries running and "
                f"{waiting} waiting; try again when they are done",
                details={
                    "running": inflight,
                    "waiting": waiting,
                    "retry_after": int(self.timeout),
                },
            )
        if self._idle and not requeued and not any(w.lend for w in queue or ()):
            # idle workers and none of its waiting jobs could take them (none, or only
            # preempted ones, which are never lent): lend one (not held for another client)
            now = loop.time()
            worker = self._lendable(client, now)
            if worker is not None:
                self._idle.remove(worker)
                return self._lease(client, worker, True, now)
        waiter = _Waiter(loop.create_future(), lend=not requeued)
        queue = self._waiting.setdefault(client, deque())
        if requeued:
            queue.appendleft(waiter)
        else:
            queue.append(waiter)
        self._dispatch()
        future = waiter.future
        timer = loop.call_at(max(give_up, loop.time() + 0.001), expire, future)
        try:
            return await future
        except (TimeoutError, asyncio.CancelledError) as exc:
            if future.done() and not future.cancelled() and future.exception() is None:
                # handed a worker just now: give it back
                lease = future.result()
                self.release(lease, lease.worker)
            else:
                future.cancel()
            self._forget(client, waiter)
            if isinstance(exc, TimeoutError):
                raise Busy(
                    f"all {self.size} query workers stayed busy for {self.timeout:g} s; "
                    "try again later",
                    details={"retry_after": int(self.timeout)},
                ) from None
            raise
        finally:
            timer.cancel()

    def _forget(self, client: str, waiter: _Waiter[W]) -> None:
        queue = self._waiting.get(client)
        if queue is not None:
            try:
                queue.remove(waiter)
            except ValueError:
                pass
            if not queue:
                del self._waiting[client]
        self._check_preempt()

    def release(self, lease: _Lease[W], worker: W | None) -> None:
        """``lease``'s job is over; ``worker`` (if still usable) is idle again."""
        client = lease.client
        left = self._inflight.get(client, 0) - 1
        if left > 0:
            self._inflight[client] = left
        else:
            self._inflight.pop(client, None)
        if lease in self._lent:
            self._unlend(lease)
        elif not lease.preempted and client in self._lent_n:
            # a job within the share ended: its client's oldest lent one takes its place
            oldest: _Lease[W] | None = None
            for other in self._lent:
                if other.client == client and (oldest is None or other.since < oldest.since):
                    oldest = other
            if oldest is not None:
                self._unlend(oldest)
                oldest.borrowed = False
        now = asyncio.get_running_loop().time()
        if worker is not None and worker.alive:
            worker.held_for = client
            worker.held_until = now + self.preempt_after
            self._idle.append(worker)
        self._dispatch(now)

    def _dispatch(self, now: float | None = None) -> None:
        """Hand idle workers to waiting clients, one client after another (the client
        served moves to the back of the line): first to those under their share, then,
        lent, to those beyond it. ``now``: the loop's time, if the caller has it."""
        while self._idle and self._waiting:
            if now is None:
                now = asyncio.get_running_loop().time()
            chosen, borrowed, worker = None, False, None
            lent: _Waiter[W] | None = None  # lent to: the client's first job that may be
            for client in self._waiting:
                if self._inflight.get(client, 0) < self.client_queries:
                    chosen, worker = client, self._idle[0]
                    break
            else:
                for client, queue in self._waiting.items():
                    # a preempted job at the head is never lent: the next one may be
                    for waiting in queue:
                        if waiting.lend and not waiting.future.done():
                            lent = waiting
                            break
                    else:
                        lent = None
                    if lent is not None:
                        worker = self._lendable(client, now)
                        if worker is not None:
                            chosen, borrowed = client, True
                            break
            if chosen is None or worker is None:
                # every waiting client is at its share, and no job may be lent (yet)
                self._wake_when_held()
                break
            queue = self._waiting.pop(chosen)
            while queue and queue[0].future.done():  # given up already
                queue.popleft()
            if not queue:
                continue
            if borrowed and lent is not None:
                queue.remove(lent)
                waiter = lent
            else:
                waiter = queue.popleft()
            if queue:
                self._waiting[chosen] = queue  # re-inserted last: the next client goes first
            self._idle.remove(worker)
            waiter.future.set_result(self._lease(chosen, worker, borrowed, now))
            now = None  # a second lease in the same dispatch reads the clock again (its since)
        self._check_preempt()

    def _wanted(self) -> int:
        """Workers that clients under their share wait for, beyond those starting."""
        short = 0
        for client, queue in self._waiting.items():
            inflight = self._inflight.get(client, 0)
            if inflight < self.client_queries:
                short += min(self.client_queries - inflight, len(queue))
        return short - len(self._idle) - self._starting

    def _check_preempt(self) -> None:
        if self._preempt_timer is not None or self._closing or not self._lent:
            return
        if self._wanted() > 0:
            self._preempt_timer = asyncio.get_running_loop().call_later(
                self.preempt_after, self._preempt
            )

    def _preempt(self) -> None:
        """Take back as many lent workers as clients under their share still wait for:
        the longest-running first."""
        self._preempt_timer = None
        if self._closing:
            return
        wanted = self._wanted()
        for lease in sorted(self._lent, key=lambda lease: lease.since)[: max(wanted, 0)]:
            self._unlend(lease)
            lease.preempted = True
            self.stats["preempted"] += 1
            log.debug(
                "query worker %d taken back from a client beyond its share (the query "
                "runs again later) for a client under its share",
                lease.worker.pid,
            )
            self._on_preempt(lease.worker)


def expire(future: asyncio.Future) -> None:
    """A waiting ``future``'s deadline (a loop timer's callback): TimeoutError, unless it
    has its result already. The pool's replies wait the same way (sparql_api/workers.py)."""
    if not future.done():
        future.set_exception(TimeoutError())
