"""The fork server of :mod:`sparql_api.workers`
(``python -m sparql_api.zygote FD SANDBOX PARENT [STORE BUDGET SECONDS]``); the pool's
end of it is :mod:`sparql_api.forkclient`.

Starting a worker as a fresh interpreter (``python -m sparql_api.workers_child``) costs
250-400 ms and shares no memory. So the pool starts this one light process (the
"zygote") instead: it imports what a worker needs (pyoxigraph, the worker's side,
the result writers), drops into an empty network namespace once (its children inherit
it), and then only forks. It never opens the on-disk store nor starts a thread, so a fork is
a clean copy: each child runs :func:`sparql_api.workers_child.child_main` on its own
socket, exactly as a spawned worker does on stdin/stdout, and shares the imported
code and data with its siblings copy-on-write.

**The store in memory.** Given the store's folder, a budget and a time (``STORE BUDGET
SECONDS``), the zygote first copies the store into an in-memory pyoxigraph store: a
short-lived child opens the on-disk store (RocksDB starts threads, so never in the
zygote) and writes it as N-Quads down a pipe, which the zygote parses with the blank
nodes' own labels. Its children inherit that copy copy-on-write, so every worker
evaluates in memory (3-4x faster than the on-disk store on joins and scans,
bench/PROFILE.md). The copy starts shared, but reading it writes to the pages a worker
touches (reference counts), so a busy worker ends up holding its own: the budget bounds
that. A copy that outgrows the budget or the time, or that fails, is dropped (its memory
given back), and the workers open the store on disk as before.

The pool talks to it over a ``SOCK_SEQPACKET`` socket pair (FD), one JSON message
each way per event::

    pool → zygote  {"spawn": n}
    zygote → pool  {"ok": true, "pid": p, "sandboxed": b,      once, when ready
                    "filtered": b (the seccomp filter),
                    "store": {"mode": "memory"|"disk", "bytes": n, "why": ...}}
                   {"spawned": n, "pid": p}  + the pool's end of the worker's socket
                                               (and a pidfd, where Linux has them)
                   {"exit": p, "code": c}     a child ended (c as asyncio's returncode)

The zygote dies with the server (PR_SET_PDEATHSIG), its children with it; when the
pool closes its end, the zygote exits. Kept light like the worker: no asyncio, no
logging, no web app.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any

import pyoxigraph  # imported here once, shared by every child

from sparql_api import results  # noqa: F401  (the same: the worker's evaluation)
from sparql_api.workers_child import (
    Preloaded,
    _die_with_parent,
    child_main,
    cut_off_network,
    resident_bytes,
)

#: the largest message either side sends (JSON, a few dozen bytes in practice)
MESSAGE = 64 * 1024
#: bytes of N-Quads read between two checks of the copy's memory against its budget
CHECK_EVERY = 1 << 20

#: the store copied into memory (serve()'s preload), inherited by every child
_PRELOADED: Preloaded | None = None


class _OverBudget(Exception):
    pass


class _TooSlow(Exception):
    pass


class _Metered:
    """The dump's read end, as a file for :func:`pyoxigraph.parse`, that stops the parse
    once this process has grown by more than ``budget`` bytes (:class:`_OverBudget`) or
    the clock passed ``deadline`` (:class:`_TooSlow`), checked every :data:`CHECK_EVERY`
    bytes: the copy may pass its budget by what one check's worth of quads needs."""

    def __init__(self, raw: Any, baseline: int, budget: int, deadline: float) -> None:
        self.raw, self.baseline, self.budget, self.deadline = raw, baseline, budget, deadline
        self.unchecked = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.unchecked += len(data)
        if self.unchecked >= CHECK_EVERY or not data:
            self.unchecked = 0
            if resident_bytes() - self.baseline > self.budget:
                raise _OverBudget
            if time.monotonic() > self.deadline:
                raise _TooSlow
        return data

    def readable(self) -> bool:
        return True


def _dump_child(store_dir: str, out: int, parent: int, close: tuple[int, ...]) -> None:
    """In a short-lived child: the on-disk store, as N-Quads, down ``out``. Never returns.
    It keeps none of the fork server's other ends (``close``: its control socket, so the
    pool hears at once if the fork server dies) and dies with it."""
    code = 1
    try:
        for fd in close:
            os.close(fd)
        _die_with_parent(parent)
        store = pyoxigraph.Store.read_only(store_dir)
        with os.fdopen(out, "wb") as f:
            store.dump(f, format=pyoxigraph.RdfFormat.N_QUADS)
        code = 0
    except BaseException as exc:  # noqa: BLE001
        print(f"sparql_api zygote: cannot copy the store: {exc}", file=sys.stderr)
    finally:
        os._exit(code)


def _give_back() -> None:
    """Return what a dropped copy's parse left in the allocator to the OS (glibc), so the
    workers forked next inherit none of it. Best effort."""
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # lazy: Linux only

            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def copy_of(nquads: Any) -> Any:
    """An in-memory store of the N-Quads read from ``nquads`` (bytes or a readable file),
    blank nodes keeping their labels: the copy the workers evaluate on."""
    store = pyoxigraph.Store()
    store.extend(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS))
    return store


def preload(
    store_dir: str, budget: int, seconds: float = 30.0, close: tuple[int, ...] = ()
) -> tuple[Preloaded | None, dict[str, Any]]:
    """The store at ``store_dir`` copied into memory, if the copy fits ``budget`` bytes
    (how much this process grows by) and is made within ``seconds``; else None and why
    (then the workers read the disk). Blank nodes keep their labels, so answers name them
    as the on-disk store does. ``close``: descriptors the dump child must not keep."""
    if budget <= 0:
        return None, {"mode": "disk", "why": "off"}
    baseline = resident_bytes()
    deadline = time.monotonic() + seconds
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read)
        os.close(write)
        return None, {"mode": "disk", "why": f"fork failed: {exc}"}
    if pid == 0:  # the child: never returns
        os.close(read)
        _dump_child(store_dir, write, os.getppid(), close)
    os.close(write)
    store: Any = None
    why: str | None = "the copy was interrupted"
    try:
        with os.fdopen(read, "rb") as raw:
            try:
                store = copy_of(_Metered(raw, baseline, budget, deadline))
                why = None
            except _OverBudget:
                why = "over budget"
            except _TooSlow:
                why = f"the copy took longer than {seconds:g} s"
            except Exception as exc:  # noqa: BLE001  (any failure: the disk still serves)
                why = f"cannot read the dump: {type(exc).__name__}"
    finally:
        if why is not None:  # stop the dump before waiting for it (it may block on a full pipe)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if why is None and os.waitstatus_to_exitcode(status) != 0:
        why = "the store could not be read"
    grown = max(0, resident_bytes() - baseline)
    if why is None and grown > budget:
        why = "over budget"
    if why is not None:
        store = None
        _give_back()
        return None, {"mode": "disk", "why": why}
    return Preloaded(store_dir, store, grown), {"mode": "memory", "bytes": grown}


def set_name(name: str) -> None:
    """Linux: this process's name in ``ps -e``/``top`` (PR_SET_NAME). Best effort."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # lazy: Linux only

        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)
    except Exception:  # noqa: BLE001
        pass


def _send(ctl: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(ctl, [data], fds)
    else:
        ctl.send(data)


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _reap(ctl: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(ctl, {"exit": pid, "code": _exit_code(status)})


def _child(ctl: socket.socket, wake: tuple[int, int], mine: socket.socket, zygote: int) -> int:
    """In the forked child: keep only the worker's socket (as fds 0 and 1), run the worker."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    ctl.close()
    os.close(wake[0])
    os.close(wake[1])
    _die_with_parent(zygote)
    set_name("dipkg-worker")
    os.dup2(mine.fileno(), 0)
    os.dup2(mine.fileno(), 1)
    mine.close()
    return child_main(_PRELOADED)


def _fork(ctl: socket.socket, wake: tuple[int, int], n: int) -> None:
    ours, mine = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zygote = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        ours.close()
        mine.close()
        _send(ctl, {"spawned": n, "error": f"fork failed: {exc}"})
        return
    if pid == 0:  # the child: never returns into the zygote's loop
        code = 1
        try:
            ours.close()
            code = _child(ctl, wake, mine, zygote)
        except BaseException as exc:  # noqa: BLE001
            print(f"sparql_api worker: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(code)
    mine.close()
    fds = [ours.fileno()]
    pidfd = -1
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
            fds.append(pidfd)
        except OSError:
            pidfd = -1
    try:
        _send(ctl, {"spawned": n, "pid": pid}, fds)
    finally:
        ours.close()
        if pidfd >= 0:
            os.close(pidfd)


def serve(
    ctl: socket.socket,
    sandbox: bool,
    parent: int,
    store_dir: str | None = None,
    budget: int = 0,
    seconds: float = 30.0,
) -> int:
    global _PRELOADED
    set_name("dipkg-zygote")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool decides when we stop (Ctrl-C)
    _die_with_parent(parent)
    sandboxed, filtered = cut_off_network(sandbox)  # its children inherit both
    store: dict[str, Any] = {"mode": "disk", "why": "off"}
    if store_dir is not None:
        _PRELOADED, store = preload(store_dir, budget, seconds, close=(ctl.fileno(),))
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select() through the pipe
    gc.collect()
    gc.freeze()  # what is imported stays shared with the children (no GC writes to it)
    _send(
        ctl,
        {
            "ok": True,
            "pid": os.getpid(),
            "sandboxed": sandboxed,
            "filtered": filtered,
            "store": store,
        },
    )
    while True:
        ready, _, _ = select.select([ctl, wake[0]], [], [])
        if wake[0] in ready:
            try:
                while os.read(wake[0], 512):
                    pass
            except BlockingIOError:
                pass
        _reap(ctl)
        if ctl in ready:
            data = ctl.recv(MESSAGE)
            if not data:  # the pool closed its end: we are done (children die with us)
                return 0
            message = json.loads(data)
            if "spawn" in message:
                _fork(ctl, wake, int(message["spawn"]))


def main(argv: list[str]) -> int:
    fd, sandbox, parent = int(argv[0]), argv[1] == "1", int(argv[2])
    store_dir, budget, seconds = (
        (argv[3], int(argv[4]), float(argv[5])) if len(argv) >= 6 else (None, 0, 0.0)
    )
    ctl = socket.socket(fileno=fd)
    try:
        return serve(ctl, sandbox, parent, store_dir, budget, seconds)
    except (BrokenPipeError, ConnectionResetError):  # the pool is gone
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
