"""A pool of worker processes that evaluate queries where they can be killed.

pyoxigraph cannot cancel a running query, so the app never runs one itself (and
never on the event loop). Each worker is a process of its own that opens the store
read-only, evaluates a query and serialises the result to bytes
(:mod:`sparql_api.results`). On Linux the pool starts one fork server
(:mod:`sparql_api.zygote`) that has imported what a worker needs, and asks it for
each worker: a fork is ready in ~20 ms (mostly opening the store) where a fresh
interpreter took 250-400 ms, and the workers share the imported code. Elsewhere, or
if the fork server cannot start, each worker is ``python -m sparql_api.workers_child``.
The parent talks to a worker over its socket (forked) or stdin/stdout (spawned), one
round trip per query: a job goes down as one length-prefixed frame, the answer comes
back as one reply frame::

    job   = u32 header length | header (JSON) | u64 body length | body (the query, UTF-8)
    reply = u8 taken (0) | u8 status + flags | u32 rows | u64 body length | body

A spawned worker (pipes) writes the first byte as soon as it has read the job, the
rest once the result is serialised; the parent reads them as one frame. A worker that
dies before that first byte ran nothing, and the query goes to another worker; one
that dies after it died on this query (503). A forked worker (a socket) writes the
byte with the rest, one write a query: there the kernel says whether a dead worker had
read its job (Linux resets the peer of a Unix socket closed with unread data:
``ConnectionResetError``, it ran nothing; end of file, it died on this query).
Status (low 4 bits) 0 is a result (flags: 16 truncated, 32 a graph, 64 retire; the
body is the serialised result; 128 spooled: the body, of the announced length, is in
the worker's spool file and not in the frame, see :mod:`sparql_api.spool`), 1 an
error and 2 the start-up answer (the body is JSON).

At the deadline (``Settings.query_timeout``) the parent SIGKILLs the worker,
reaps it and starts a fresh one in the background; the client gets 503
``timeout`` before any body was sent. A worker that dies mid-query gives 503
``worker-died``; a client that disconnects frees its worker the same way
(killed and replaced). A result over ``Settings.max_result_bytes`` is refused
by the worker while it builds it (503 ``result-too-large``); a worker that
still announces a larger reply frame is killed and replaced unread. A worker
that runs out of memory in Python (``MemoryError``) answers 503 and retires:
the parent replaces it with a fresh process. A fork server that dies takes its
workers with it (their queries get 503 ``worker-died``); the pool starts a new one
and replaces them (``fork_server_restarts`` in /health); one that fails to restart
``ZYGOTE_RESTARTS`` times in a row gives way to fresh interpreters
(``fork_server_fallback`` 1).

Workers are shared fairly between clients (their addresses) by
:mod:`sparql_api.shares`: one client's share is ``client_queries`` jobs on workers at
once; its further jobs wait in its own queue, or run on a worker lent beyond the share
that is taken back (killed, a fresh one forked) when a client under its share has
waited ``PREEMPT_AFTER``. The job that ran there goes back to the front of its
client's queue and runs again within the share. It gets one extension, never a fresh
limit: it must have a worker again, and have ended, within twice
``Settings.query_timeout`` after it arrived (503 ``busy`` or ``timeout``, the latter
with ``preempted: true``), as any query waits at most one limit, runs at most one. Jobs
beyond the share, lent or waiting, are at most ``client_queue``; more get 429. So
clients with runaway queries hold one worker each, never the whole pool.

Workers also drop into an empty network namespace when the OS allows it
(``unshare(CLONE_NEWNET)``; once, in the fork server, whose children inherit it), so
even a SERVICE call that got past :mod:`sparql_api.guard` would reach nothing.

Why one module of this size: the pool is one state machine (spawn, hand out, kill at the
deadline, replace); which idle worker goes to which client is sparql_api/shares.py, the
worker's own side sparql_api/workers_child.py, the fork server's sparql_api/zygote.py and
the pool's end of it sparql_api/forkclient.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from dipkg.core.errors import DipkgError, StoreError
from sparql_api.errors import QueryError, QueryTimeout, WorkerDied
from sparql_api.forkclient import _Forked, _Zygote, child_env, fork_server_supported
from sparql_api.results import Job, too_large
from sparql_api.shares import PREEMPT_AFTER, Shares, _Lease, expire
from sparql_api.spool import SpoolDir, SpoolFull
from sparql_api.workers_child import (  # noqa: F401  (the frame format; _isolate_network for tests)
    _REPLY,
    ERROR,
    GRAPH,
    INFO,
    MAX_HEADER,
    RESULT,
    RETIRE,
    SPOOLED,
    TRUNCATED,
    _isolate_network,
    encode_frame,
    encode_job,
)

log = logging.getLogger("sparql_api.workers")

#: Per-worker cap on private memory (RLIMIT_DATA): a query that needs more makes
#: its worker abort (503 worker-died, reason "memory") instead of the host swapping.
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024
#: Room for a reply frame's body beyond the job's result limit (an error frame has none).
REPLY_SLACK = 1024 * 1024
#: uvloop's timers have millisecond resolution and may fire up to 1 ms early: a query
#: is stopped this much after its limit, never before it (its 503 says it ran longer)
TIMER_SLACK = 0.0015
#: Failed restarts of a dead fork server in a row before the pool gives up on it and
#: spawns fresh interpreters instead (as when it cannot start at all).
ZYGOTE_RESTARTS = 3


class OversizedReply(ConnectionError):
    """A worker announced a reply body larger than the parent accepts."""


class _NotTaken(ConnectionError):
    """The worker died before it had read the whole job: it ran nothing."""


class _Preempted(Exception):
    """The job's borrowed worker was taken back for a client under its share."""


# --- parent side -------------------------------------------------------------


@dataclass
class Reply:
    header: dict[str, Any]
    body: bytes
    #: a spooled result: its file, open and unlinked (the body is empty; the length is
    #: ``header["length"]``); whoever takes the reply closes it
    stream: BinaryIO | None = None


def _store_mode(store: dict[str, Any], budget: int) -> str:
    """/health's words for where the workers evaluate (the zygote's ``store`` message)."""
    if store.get("mode") == "memory":
        return f"memory ({int(store.get('bytes') or 0) / (1024 * 1024):.1f} MiB)"
    why = str(store.get("why") or "")
    if why == "off":
        return "disk"
    if why == "over budget":
        why = f"larger than the budget of DIPKG_MEMORY_STORE_MB ({budget // (1024 * 1024)} MiB)"
    return f"disk: {why}"


def _body_length(head: bytes, max_body: int | None) -> int:
    """The length of the body that follows the reply head ``head`` in its frame (0 when
    the body is in the spool file); raises for a body over ``max_body``
    (:class:`OversizedReply`: not to be read) or an oversized header."""
    _taken, status, _rows, blen = _REPLY.unpack(head)
    if status & 15 != RESULT and blen > MAX_HEADER:
        raise ConnectionError("oversized frame header from worker")
    if max_body is not None and blen > max_body:
        raise OversizedReply(f"the worker announced a reply of {blen} bytes")
    return 0 if status & 15 == RESULT and status & SPOOLED else blen


#: bytes a forked worker's socket may hold that no job has asked for before the pool
#: stops reading it (the stream it replaces paused at about this much)
UNASKED_BYTES = 2 * 1024 * 1024


class _Channel(asyncio.Protocol):
    """The pool's end of a forked worker's socket: each reply frame is handed whole to the
    job waiting for it as its bytes arrive (one wake-up a reply, no stream in between),
    by its deadline. What a stream told is kept: a body over the job's limit is refused
    unread (:class:`OversizedReply`), the peer's reset says the job was never read
    (:class:`_NotTaken`), its end of file that the worker died on it
    (``asyncio.IncompleteReadError``). A job is written whole into the kernel before the
    reply is awaited (no write buffer: see :meth:`WorkerPool._spawn`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._reply: asyncio.Future[tuple[bytes, bytes]] | None = None
        self._max_body: int | None = None
        #: the connection is over: None (open), or what makes the exception a job's reply
        #: gets (a fresh one each time: one raised twice would keep its tracebacks' frames)
        self._ended: Callable[[], BaseException] | None = None
        self._drained: asyncio.Future[None] | None = None  # while writing is paused
        self._paused = False

    # the transport's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(0)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._reply is not None:
            self._deliver()
        elif len(self._buffer) > UNASKED_BYTES and self.transport is not None:
            self.transport.pause_reading()  # nobody asked (a worker out of step): no more

    def eof_received(self) -> bool:
        return False  # the transport closes; connection_lost says why

    def connection_lost(self, exc: Exception | None) -> None:
        if isinstance(exc, ConnectionResetError):  # a socket's peer died with the job unread
            self._ended = _NotTaken
        else:
            partial = bytes(self._buffer)
            self._ended = lambda: asyncio.IncompleteReadError(partial, None)
        self._buffer.clear()
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.set_exception(self._ended())
        self.resume_writing()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    # the pool's side
    async def send(self, frame: bytes) -> None:
        """Write ``frame``; return once the kernel holds all of it."""
        transport = self.transport
        if self._ended is not None or transport is None or transport.is_closing():
            raise ConnectionResetError("the worker's socket is closed")
        transport.write(frame)
        if transport.is_closing():  # the write failed (the worker is gone): it read nothing
            raise ConnectionResetError("the worker's socket is closed")
        if self._paused:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
            if self._ended is not None:
                raise ConnectionResetError("the worker's socket is closed")

    async def reply(
        self, max_body: int | None = None, deadline: float | None = None
    ) -> tuple[bytes, bytes]:
        """The next reply frame's head and body; TimeoutError at ``deadline`` (the loop's
        time)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[bytes, bytes]] = loop.create_future()
        self._reply, self._max_body = future, max_body
        self._deliver()
        if not future.done():
            if self._ended is not None:
                future.set_exception(self._ended())
            elif self.transport is not None:
                self.transport.resume_reading()
        timer = loop.call_at(deadline, expire, future) if deadline is not None else None
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            if self._reply is future:
                self._reply = None

    def _deliver(self) -> None:
        reply = self._reply
        if reply is None or reply.done() or len(self._buffer) < _REPLY.size:
            return
        head = bytes(self._buffer[: _REPLY.size])
        try:
            end = _REPLY.size + _body_length(head, self._max_body)
        except (OversizedReply, ConnectionError) as exc:
            self._reply = None
            reply.set_exception(exc)
            return
        if len(self._buffer) < end:
            return
        body = bytes(memoryview(self._buffer)[_REPLY.size : end])
        del self._buffer[:end]
        self._reply = None
        reply.set_result((head, body))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass(eq=False)
class _Worker:
    proc: asyncio.subprocess.Process | _Forked
    #: its replies and jobs: a spawned worker's stdout and stdin (pipes, as streams)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    #: or a forked worker's socket
    channel: _Channel | None = None
    info: dict[str, Any] = field(default_factory=dict)
    killed: bool = False
    replaced: bool = False  # its successor is starting (sparql_api.workers.WorkerPool._replace)
    #: idle: kept for the client that freed it until then (the loop's time), not lent away
    #: (sparql_api.shares.Seat)
    held_for: str | None = None
    held_until: float = 0.0
    #: it sends a job's first reply byte (TAKEN) alone, at once: a pipe (see the module's text)
    acks: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.proc, asyncio.subprocess.Process):
            self.reader = self.reader or self.proc.stdout
            self.writer = self.writer or self.proc.stdin

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.killed

    async def send(self, frame: bytes) -> None:
        """Write ``frame`` (:func:`encode_frame`, :func:`encode_job`) to the worker."""
        if self.channel is not None:
            await self.channel.send(frame)
            return
        assert self.writer is not None
        self.writer.write(frame)
        await self.writer.drain()

    def close(self) -> None:
        """Close the pool's end of its pipes or socket."""
        try:
            if self.channel is not None:
                self.channel.close()
            if self.writer is not None:
                self.writer.close()
        except Exception:  # noqa: BLE001
            pass

    async def receive(
        self,
        max_body: int | None = None,
        spool: SpoolDir | None = None,
        deadline: float | None = None,
    ) -> Reply:
        """The worker's next reply (a body over ``max_body`` is refused unread);
        TimeoutError at ``deadline`` (the loop's time)."""
        if self.channel is not None:
            head, body = await self.channel.reply(max_body, deadline)
        elif deadline is not None:
            async with asyncio.timeout_at(deadline):
                head, body = await self._read(max_body)
        else:
            head, body = await self._read(max_body)
        return self._decode(head, body, spool)

    async def _read(self, max_body: int | None) -> tuple[bytes, bytes]:
        """A reply frame's head and body from the worker's stdout (a spawned worker)."""
        assert self.reader is not None
        try:
            head = await self.reader.readexactly(_REPLY.size)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and self.acks:  # not even the TAKEN byte: it never read the job
                raise _NotTaken from None
            raise
        blen = _body_length(head, max_body)
        return head, await self.reader.readexactly(blen) if blen else b""

    def _decode(self, head: bytes, body: bytes, spool: SpoolDir | None) -> Reply:
        _taken, status, rows, blen = _REPLY.unpack(head)
        status, flags = status & 15, status & ~15
        spooled = status == RESULT and flags & SPOOLED
        if status == RESULT:
            header = {
                "ok": True,
                "kind": "graph" if flags & GRAPH else "table",
                "rows": rows,
                "truncated": bool(flags & TRUNCATED),
            }
            if flags & RETIRE:  # it answered, then left: it had grown (Settings.worker_retire_mb)
                header["retire"] = True
            if spooled:  # complete in its file (ValueError if not: the worker counts as dead)
                header["length"] = blen
                if spool is None:
                    raise ValueError("protocol error: a spooled reply without a spool folder")
                try:
                    return Reply(header, b"", spool.take(self.pid, blen))
                except SpoolFull as exc:  # the worker is fine; the reply is refused
                    return Reply({"ok": False, **exc.to_dict()}, b"")
            return Reply(header, body)
        if status not in (ERROR, INFO):
            raise ValueError(f"protocol error: reply status {status}")
        header = json.loads(body)
        if flags & RETIRE:
            header["retire"] = True
        return Reply(header, b"")

    def kill(self) -> None:
        self.killed = True
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass


def seccomp_filtered(pid: int) -> bool:
    """Whether process ``pid`` runs under a seccomp filter (``Seccomp: 2`` in its
    /proc status), as the workers' network sockets filter puts them."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            return any(line.split() == ["Seccomp:", "2"] for line in status)
    except OSError:
        return False


class WorkerPool:
    """``size`` worker processes over the store at ``store_dir``.

    Use inside one event loop: ``await start()``, ``await run(job)``... ``await stop()``.
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        size: int,
        timeout: float,
        prefixes: dict[str, str] | None = None,
        sandbox: bool = True,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        startup_timeout: float = 60.0,
        client_queries: int = 0,
        client_queue: int = 64,
        retire_growth: int = 0,
        spool_threshold: int | None = None,
        spool_budget: int | None = None,
        fork_server: bool | None = None,
        preempt_after: float = PREEMPT_AFTER,
        memory_store: int = 0,
    ) -> None:
        self.store_dir = Path(store_dir)
        #: bytes the fork server may spend on an in-memory copy of the store that its
        #: workers share (sparql_api/zygote.py); 0, or a larger store: workers read the disk
        self.memory_store = memory_store
        #: workers forked by one zygote (sparql_api/zygote.py); None: where the OS can
        self.fork_server = fork_server_supported() if fork_server is None else fork_server
        self._zygote: _Zygote | None = None
        self._zygote_lock = asyncio.Lock()
        self._zygote_failures = 0  # restarts that failed in a row
        self.size = size
        self.timeout = timeout
        self.prefixes = prefixes or {}
        self.sandbox = sandbox
        self.memory_limit = memory_limit
        #: bytes a worker's resident memory may grow by before it is replaced (0: never)
        self.retire_growth = retire_growth
        self.startup_timeout = startup_timeout
        #: results over ``spool_threshold`` bytes come back in files (None: through the pipes)
        #: and the bytes their open streams may hold together (None: no limit)
        self.spool = (
            SpoolDir(spool_threshold, spool_budget) if spool_threshold is not None else None
        )
        self._workers: set[_Worker] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.info: dict[str, Any] = {}
        #: "on", or "off: <why>" once started (logged as a warning, shown by /health)
        self.network_sandbox = "unknown"
        #: the seccomp filter refusing the workers network sockets: "on", or "off: <why>"
        self.network_filter = "unknown"
        #: where the workers evaluate: "memory (N MiB)" or "disk[: why]" (shown by /health)
        self.query_store = "disk" if self.fork_server else self._without_fork_server()
        self.stats = {
            "timeouts": 0,
            "deaths": 0,
            "disconnects": 0,
            "respawns": 0,
            "retired": 0,
            "fork_server_restarts": 0,
            #: 1: the fork server could not be restarted; workers are fresh interpreters
            "fork_server_fallback": 0,
            "borrowed": 0,
            "preempted": 0,
        }
        #: which idle worker goes to which client's job (sparql_api/shares.py); it counts
        #: "borrowed" and "preempted" in ``stats``
        self.shares: Shares[_Worker] = Shares(
            size=size,
            timeout=timeout,
            client_queries=client_queries,
            client_queue=client_queue,
            preempt_after=preempt_after,
            on_preempt=self._replace,
            stats=self.stats,
        )

    # lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        if self.spool is not None:
            self.spool.create()
        results = await asyncio.gather(
            *(self._spawn() for _ in range(self.size)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            err = errors[0]
            if isinstance(err, DipkgError):
                raise err
            raise StoreError(f"could not start the query workers: {err}", file=str(self.store_dir))
        for worker in results:
            self.shares.add(worker)  # type: ignore[arg-type]
        self.info = dict(results[0].info) if results else {}  # type: ignore[union-attr]
        if not self.sandbox:
            self.network_sandbox = "off: disabled by the worker_sandbox setting"
            self.network_filter = "off: disabled by the worker_sandbox setting"
        else:
            if all(w.info.get("sandboxed") for w in results):  # type: ignore[union-attr]
                self.network_sandbox = "on"
            else:
                self.network_sandbox = "off: the OS refused unshare(CLONE_NEWNET)"
            # truthful: the filter installed (the worker's word: another filter, Docker's or
            # systemd's, would read Seccomp: 2 too) and the kernel's word on each worker
            if all(
                w.info.get("filtered") and seccomp_filtered(w.proc.pid)  # type: ignore[union-attr]
                for w in results
            ):
                self.network_filter = "on"
            else:
                self.network_filter = "off: the kernel refused the seccomp filter"
        if self.network_sandbox != "on" and self.network_filter != "on":
            log.warning(
                "query workers run WITHOUT the network sandbox (%s; %s): only the query guard "
                "stands between a query and the network; see README, Reliability",
                self.network_sandbox.removeprefix("off: "),
                self.network_filter.removeprefix("off: "),
            )
        elif self.network_sandbox != "on" or self.network_filter != "on":
            log.info(
                "query workers: network namespace %s, network sockets filter %s",
                self.network_sandbox,
                self.network_filter,
            )

    async def stop(self) -> None:
        self._closing = True
        self.shares.close()
        for task in list(self._tasks):
            task.cancel()
        for worker in list(self._workers):
            worker.close()
            worker.kill()
        for worker in list(self._workers):
            try:
                await asyncio.wait_for(worker.proc.wait(), 5)
            except Exception:  # noqa: BLE001
                pass
        self._workers.clear()
        if self._zygote is not None:
            await self._zygote.stop()
        if self.spool is not None:
            self.spool.remove()

    @property
    def alive(self) -> int:
        return sum(1 for w in self._workers if w.alive)

    def pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    async def _fork_server(self) -> _Zygote | None:
        """The running zygote, (re)started if need be; None: spawn fresh interpreters."""
        if not self.fork_server:
            return None
        async with self._zygote_lock:
            if not self.fork_server:  # it failed to start while this call waited
                return None
            if self._zygote is not None and self._zygote.alive:
                return self._zygote
            restart = self._zygote is not None
            zygote = _Zygote(
                self.sandbox,
                on_lost=self._zygote_lost,
                store_dir=self.store_dir,
                memory_store=self.memory_store,
            )
            try:
                await zygote.start(self.startup_timeout)
            except (OSError, ConnectionError, TimeoutError, ValueError, KeyError) as exc:
                if restart:
                    self._zygote_failures += 1
                    if self._zygote_failures < ZYGOTE_RESTARTS:
                        raise  # the respawn loop tries again
                    log.error(
                        "the query workers' fork server could not be restarted (%d tries, "
                        "last: %s): from now on each worker starts as a fresh process",
                        self._zygote_failures,
                        exc or type(exc).__name__,
                    )
                    self.stats["fork_server_fallback"] = 1
                    self.fork_server = False
                    self.query_store = self._without_fork_server()
                    self._zygote = None
                    return None
                log.warning(
                    "the query workers' fork server did not start (%s): each worker starts "
                    "as a fresh process",
                    exc or type(exc).__name__,
                )
                self.fork_server = False
                self.query_store = self._without_fork_server()
                return None
            if restart:
                self.stats["fork_server_restarts"] += 1
            self._zygote_failures = 0
            self._zygote = zygote
            self.query_store = _store_mode(zygote.store, self.memory_store)
            return zygote

    def _without_fork_server(self) -> str:
        return "disk: no fork server to share a copy" if self.memory_store > 0 else "disk"

    def _zygote_lost(self) -> None:
        """The zygote died, and its workers with it: replace the idle ones now (the busy
        ones fail their query as a worker death and are replaced the same way)."""
        if self._closing:
            return
        log.error("the query workers' fork server died (its workers with it): restarting it")
        for worker in self.shares.drop_idle(lambda w: w.proc.returncode is not None):
            self._replace(worker)

    async def _spawn(self) -> _Worker:
        zygote = await self._fork_server()
        if zygote is not None:
            try:
                proc, sock = await asyncio.wait_for(zygote.spawn(), self.startup_timeout)
            except (ConnectionError, OSError, TimeoutError) as exc:
                raise StoreError(
                    f"a query worker failed to start: {exc}", file=str(self.store_dir)
                ) from None
            # a job is sent once the kernel holds all of it (no write buffer: the channel
            # waits for an empty one): a worker that dies then had read all of it (end of
            # file: it died on the query) or not (reset: it ran nothing), never "part
            # still with us"
            _transport, channel = await asyncio.get_running_loop().create_unix_connection(
                _Channel, sock=sock
            )
            worker = _Worker(proc, channel=channel, acks=False)
            parent, sandbox = zygote.pid, False  # the zygote's namespace is the sandbox
        else:
            spawned = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sparql_api.workers_child",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=child_env(),
                limit=1 << 20,
            )
            worker = _Worker(spawned)
            parent, sandbox = os.getpid(), self.sandbox
        self._workers.add(worker)
        try:
            await worker.send(
                encode_frame(
                    {
                        "store": str(self.store_dir),
                        "prefixes": self.prefixes,
                        "sandbox": sandbox,
                        "memory_limit": self.memory_limit,
                        "retire_growth": self.retire_growth,
                        "parent": parent,
                        "ack_first": worker.acks,
                        **(self.spool.config() if self.spool is not None else {}),
                    }
                )
            )
            reply = await asyncio.wait_for(worker.receive(), self.startup_timeout)
        except BaseException as exc:
            worker.close()
            worker.kill()
            await worker.proc.wait()
            self._workers.discard(worker)
            if isinstance(
                exc, (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError)
            ):
                raise StoreError(
                    "a query worker failed to start", file=str(self.store_dir)
                ) from None
            raise
        if not reply.header.get("ok"):
            worker.close()
            worker.kill()
            await worker.proc.wait()
            self._workers.discard(worker)
            raise StoreError(
                reply.header.get("message", "a query worker failed to open the store"),
                file=str(self.store_dir),
            )
        worker.info = reply.header.get("info", {})
        if zygote is not None:
            worker.info["sandboxed"] = zygote.sandboxed
            worker.info["filtered"] = zygote.filtered
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` now; reap it and start its successor in the background (once
        per worker, whoever asks)."""
        worker.kill()
        if worker.replaced:
            return
        worker.replaced = True
        self.shares.replacing()
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respawn(self, worker: _Worker) -> None:
        starting = True
        try:
            await worker.proc.wait()  # reap: no zombies
            worker.close()
            self._workers.discard(worker)
            delay = 0.1
            while not self._closing:
                try:
                    fresh = await self._spawn()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    log.error("could not restart a query worker: %s", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                self.stats["respawns"] += 1
                if self._closing:
                    fresh.kill()
                    await fresh.proc.wait()
                    return
                starting = False
                self.shares.replaced(fresh)  # idle now, dispatched
                return
        finally:
            if starting:
                self.shares.replaced(None)

    # queries -----------------------------------------------------------
    async def run(self, job: Job, client: str | None = None) -> Reply:
        """The worker's reply to ``job``; raises 503 errors on timeout, death or overload,
        429 when ``client`` (its address) has too many queries waiting.

        Query failures (syntax...) come back as a header with ``ok: false``.
        """
        key = client or ""
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        give_up = arrived + self.timeout
        #: once preempted: the one extension's end (twice the limit after it arrived),
        #: by which it must have a worker again and have ended
        ends: float | None = None
        requeued = False
        while True:
            lease = await self.shares.acquire(key, give_up, requeued)
            worker = lease.worker
            if not worker.alive:
                self._replace(worker)
                self.shares.release(lease, None)
                continue
            started = time.monotonic()
            try:
                # one round trip: the job down, the answer up (no acknowledgement)
                await worker.send(encode_job(job))
                return await self._finish(job, lease, started, ends)
            except _Preempted:
                # its worker was taken back: run again, first in line, with one extension
                # (never a fresh one: it ends within twice the limit after it arrived)
                self.shares.release(lease, None)
                requeued = True
                give_up = ends = arrived + 2 * self.timeout
                continue
            except (_NotTaken, OSError, RuntimeError, ValueError) as exc:
                # it died while idle (the pipe is closed, or the job was never read): it
                # ran nothing, so the query goes to another worker
                if not isinstance(exc, _NotTaken):
                    self._replace(worker)
                self.shares.release(lease, None)
                requeued = requeued or lease.preempted
                if lease.preempted:
                    give_up = ends = arrived + 2 * self.timeout
                if loop.time() >= give_up:
                    raise WorkerDied("no query worker could take the query") from None
                continue
            except BaseException:
                if not worker.killed:  # cancelled while writing the job
                    self._replace(worker)
                self.shares.release(lease, None)  # the worker was replaced
                raise

    async def _finish(
        self, job: Job, lease: _Lease[_Worker], started: float, ends: float | None = None
    ) -> Reply:
        worker = lease.worker
        try:
            return await self._reply(job, lease, started, ends)
        except BaseException:
            self._discard_spool(worker)
            raise

    def _discard_spool(self, worker: _Worker) -> None:
        """Remove what ``worker`` (killed or dead: every failure of a job replaces its
        worker) may have spooled, once it is reaped and can write nothing more."""
        spool = self.spool
        if spool is None:
            return

        async def discard() -> None:
            try:
                await worker.proc.wait()
            finally:
                spool.discard(worker.pid)

        task = asyncio.get_running_loop().create_task(discard())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(
        self, job: Job, lease: _Lease[_Worker], started: float, ends: float | None = None
    ) -> Reply:
        """The worker's reply, within the time limit (and by ``ends``, a preempted
        job's end)."""
        worker = lease.worker
        cut = False  # stopped at ``ends`` before the limit
        try:
            now = asyncio.get_running_loop().time()
            remaining = self.timeout - (time.monotonic() - started)
            if ends is not None and ends - now < remaining:
                remaining, cut = ends - now, True
            deadline = now + max(remaining, 0.001) + TIMER_SLACK
            reply = await worker.receive(job.max_bytes + REPLY_SLACK, self.spool, deadline)
        except _NotTaken:  # it died before it read the job (killed while idle)
            worker.killed = True
            self._replace(worker)
            raise
        except OversizedReply:  # the rest of the frame is never read: this worker is done
            self._replace(worker)
            log.warning(
                "query worker %d sent a reply over the %d byte limit: %.200r",
                worker.pid,
                job.max_bytes,
                job.query,
            )
            raise too_large(job.max_bytes) from None
        except TimeoutError:
            self.stats["timeouts"] += 1
            self._replace(worker)
            log.warning(
                "query stopped at the %g s limit (worker %d killed): %.200r",
                self.timeout,
                worker.pid,
                job.query,
            )
            details: dict[str, Any] = {
                "limit_seconds": self.timeout,
                "elapsed_seconds": round(time.monotonic() - started, 3),
            }
            if cut:
                details["preempted"] = True
                raise QueryTimeout(
                    "the query was stopped once to free its worker for another client and "
                    f"run again; it did not end within twice the limit of {self.timeout:g} s "
                    "after it arrived",
                    details=details,
                ) from None
            raise QueryTimeout(
                f"the query ran longer than the limit of {self.timeout:g} s and was stopped",
                details=details,
            ) from None
        except (asyncio.IncompleteReadError, OSError, ValueError):
            if lease.preempted:  # killed by us, for another client: not a death
                raise _Preempted from None
            worker.killed = True  # not by us, but it is gone: never hand it out again
            self.stats["deaths"] += 1
            try:
                code = await asyncio.wait_for(worker.proc.wait(), 1.0)
            except TimeoutError:
                code = None
            self._replace(worker)
            log.warning("query worker %d died (exit %s) on: %.200r", worker.pid, code, job.query)
            if code == -signal.SIGABRT and self.memory_limit:
                raise WorkerDied(
                    f"the query needed more memory than a worker may use "
                    f"({self.memory_limit // (1024 * 1024)} MiB) and was stopped",
                    details={"reason": "memory", "limit_bytes": self.memory_limit},
                ) from None
            raise WorkerDied(
                "the query worker died while evaluating the query; a new one is starting",
                details={"reason": "died", "exit": code},
            ) from None
        except asyncio.CancelledError:  # the client went away: free the worker
            self.stats["disconnects"] += 1
            self._replace(worker)
            raise
        if reply.header.get("retire"):  # out of memory, or it grew: start afresh
            self.stats["retired" if reply.header.get("ok") else "deaths"] += 1
            self._replace(worker)
            self.shares.release(lease, None)
        else:
            self.shares.release(lease, worker)  # (not idle again if it was taken back just now)
        return reply


def reply_error(header: dict[str, Any]) -> DipkgError:
    """The error a worker reported, rebuilt as a DipkgError with the same dict shape."""
    err = QueryError(
        header.get("message", "query failed"),
        status=int(header.get("status", 400)),
        line=header.get("line"),
        column=header.get("column"),
        details=header.get("details"),
    )
    err.code = header.get("error", "bad-request")
    return err
