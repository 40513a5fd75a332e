"""The fork server of :mod:`sparql_api.workers` (``python -m sparql_api.zygote FD SANDBOX PARENT``).

Starting a worker as a fresh interpreter (``python -m sparql_api.workers_child``) costs
250-400 ms and shares no memory. So the pool starts this one light process (the
"zygote") instead: it imports what a worker needs (pyoxigraph, the worker's side,
the result writers), drops into an empty network namespace once (its children inherit
it), and then only forks. It never opens the store nor starts a thread, so a fork is
a clean copy: each child runs :func:`sparql_api.workers_child.child_main` on its own
socket, exactly as a spawned worker does on stdin/stdout, and shares the imported
code and data with its siblings copy-on-write.

The pool talks to it over a ``SOCK_SEQPACKET`` socket pair (FD), one JSON message
each way per event::

    pool → zygote  {"spawn": n}
    zygote → pool  {"ok": true, "pid": p, "sandboxed": b}     once, when ready
                   {"spawned": n, "pid": p}  + the pool's end of the worker's socket
                                               (and a pidfd, where Linux has them)
                   {"exit": p, "code": c}     a child ended (c as asyncio's returncode)

The zygote dies with the server (PR_SET_PDEATHSIG), its children with it; when the
pool closes its end, the zygote exits. Kept light like the worker: no asyncio, no
logging, no web app.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
from typing import Any

import pyoxigraph  # noqa: F401  (imported here once, shared by every child)

from sparql_api import results  # noqa: F401  (the same: the worker's evaluation)
from sparql_api.workers_child import _die_with_parent, _isolate_network, child_main

#: the largest message either side sends (JSON, a few dozen bytes in practice)
MESSAGE = 64 * 1024


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
    return child_main()


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


def serve(ctl: socket.socket, sandbox: bool, parent: int) -> int:
    set_name("dipkg-zygote")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool decides when we stop (Ctrl-C)
    _die_with_parent(parent)
    sandboxed = _isolate_network() if sandbox else False
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select() through the pipe
    gc.collect()
    gc.freeze()  # what is imported stays shared with the children (no GC writes to it)
    _send(ctl, {"ok": True, "pid": os.getpid(), "sandboxed": sandboxed})
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
    ctl = socket.socket(fileno=fd)
    try:
        return serve(ctl, sandbox, parent)
    except (BrokenPipeError, ConnectionResetError):  # the pool is gone
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
