"""The pool's end of the fork server (:mod:`sparql_api.zygote`, the server's own side).

:class:`_Zygote` starts the fork server, asks it for workers over one ``SOCK_SEQPACKET``
socket pair (the messages are in :mod:`sparql_api.zygote`'s text) and hears their exits;
each worker it hands back is a :class:`_Forked`, the part of an
``asyncio.subprocess.Process`` the pool uses, so the pool (:mod:`sparql_api.workers`)
treats a forked worker and a spawned one alike. :func:`fork_server_supported` says whether
this OS can run it; :func:`child_env` is the environment of every process the pool starts
(``python -m sparql_api...``), the fork server's and a spawned worker's alike.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any


def child_env() -> dict[str, str]:
    """The environment of a process started with ``python -m sparql_api...``."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {name: value for name, value in os.environ.items() if not _secret_or_ours(name)}
    env["PYTHONPATH"] = package_root + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def _secret_or_ours(name: str) -> bool:
    """Whether a variable stays out of a worker's environment (readable in
    /proc/PID/environ): every ``DIPKG_`` setting (a worker reads none; its configuration
    comes in the start frame) and anything named like a secret."""
    upper = name.upper()
    return upper.startswith("DIPKG_") or any(
        word in upper for word in ("PASSWORD", "SECRET", "TOKEN")
    )


def fork_server_supported() -> bool:
    """Whether this OS can run the fork server (:mod:`sparql_api.zygote`): fork, and file
    descriptors passed over a Unix socket. Elsewhere each worker is a fresh interpreter."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and hasattr(socket, "send_fds")
        and hasattr(socket, "SOCK_SEQPACKET")
    )


class _Forked:
    """A worker forked by the zygote: the part of ``asyncio.subprocess.Process`` the pool
    uses (pid, returncode, wait, kill). Its exit status comes from the zygote, its parent;
    the kill goes through a pidfd where Linux has one (never a recycled pid)."""

    def __init__(self, pid: int, pidfd: int | None) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = pidfd
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        if self.returncode is not None:
            return
        try:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if not self._exited.done():
            self._exited.set_result(self.returncode)


class _Zygote:
    """The pool's end of the fork server (:mod:`sparql_api.zygote`): starts it, asks it
    for workers, hears their exits. ``on_lost`` runs if it dies (its workers die with it)."""

    def __init__(
        self,
        sandbox: bool,
        on_lost: Any = None,
        store_dir: Path | None = None,
        memory_store: int = 0,
    ) -> None:
        self.sandbox = sandbox
        #: the store the zygote copies into memory for its children, within this budget
        self.store_dir, self.memory_store = store_dir, memory_store
        #: the zygote's word on it: {"mode": "memory", "bytes": n} or {"mode": "disk", "why"}
        self.store: dict[str, Any] = {"mode": "disk", "why": "off"}
        self.sandboxed = False
        self.filtered = False  # the zygote installed the seccomp filter its children inherit
        self.pid = 0
        self.alive = False
        self.on_lost = on_lost
        self.proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._pending: dict[int, asyncio.Future[tuple[_Forked, socket.socket]]] = {}
        self._children: dict[int, _Forked] = {}
        self._ids = itertools.count(1)

    async def start(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sparql_api.zygote",
                str(theirs.fileno()),
                "1" if self.sandbox else "0",
                str(os.getpid()),
                *(
                    # the copy gets half the start-up time: then the disk, still in time
                    (str(self.store_dir), str(self.memory_store), f"{timeout / 2:g}")
                    if self.store_dir is not None and self.memory_store > 0
                    else ()
                ),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=child_env(),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._hello = loop.create_future()
        self.alive = True
        loop.add_reader(ours.fileno(), self._readable)
        try:
            hello = await asyncio.wait_for(asyncio.shield(self._hello), timeout)
        except BaseException:
            await self.stop()
            raise
        self.pid = int(hello["pid"])
        self.store = dict(hello.get("store") or self.store)
        # truthful: the zygote says it unshared, and its namespace is not ours
        self.sandboxed = bool(hello.get("sandboxed")) and _other_netns(self.pid)
        self.filtered = bool(hello.get("filtered"))

    async def spawn(self) -> tuple[_Forked, socket.socket]:
        """A new child: its process and the pool's end of its socket."""
        if not self.alive or self._sock is None:
            raise ConnectionError("the fork server is not running")
        loop = asyncio.get_running_loop()
        n = next(self._ids)
        waiter: asyncio.Future[tuple[_Forked, socket.socket]] = loop.create_future()
        self._pending[n] = waiter
        try:
            await loop.sock_sendall(self._sock, json.dumps({"spawn": n}).encode())
            return await waiter
        finally:
            self._pending.pop(n, None)  # a late answer finds no one and kills its child

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._sock, 64 * 1024, 2)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self._lost()
                return
            message = json.loads(data)
            if "exit" in message:
                child = self._children.pop(int(message["exit"]), None)
                if child is not None:
                    child.exited(int(message["code"]))
            elif "spawned" in message:
                self._spawned(message, fds)
            elif self._hello is not None and not self._hello.done():
                self._hello.set_result(message)

    def _spawned(self, message: dict[str, Any], fds: list[int]) -> None:
        waiter = self._pending.pop(int(message["spawned"]), None)
        if "error" in message or not fds:
            for fd in fds:
                os.close(fd)
            if waiter is not None and not waiter.done():
                waiter.set_exception(
                    OSError(message.get("error", "no socket from the fork server"))
                )
            return
        child = _Forked(int(message["pid"]), fds[1] if len(fds) > 1 else None)
        self._children[child.pid] = child
        sock = socket.socket(fileno=fds[0])
        if waiter is None or waiter.done():  # whoever asked gave up
            child.kill()
            sock.close()
        else:
            waiter.set_result((child, sock))

    def _close(self) -> None:
        self.alive = False
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("the fork server stopped"))
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(
                ConnectionError("the fork server stopped before it was ready")
            )
        for child in self._children.values():  # PR_SET_PDEATHSIG kills them; make sure
            child.kill()
            child.exited(-signal.SIGKILL)
        self._children.clear()

    def _lost(self) -> None:
        was_ready = self._hello is not None and self._hello.done()
        self._close()
        if was_ready and self.on_lost is not None:
            self.on_lost()

    async def stop(self) -> None:
        self._close()  # our end closed: it exits
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                await self.proc.wait()


def _other_netns(pid: int) -> bool:
    """Whether process ``pid`` is in another network namespace than this one (Linux)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    except OSError:
        return False
