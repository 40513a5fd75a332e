"""Large results on disk: the pool's spool folder and the response that streams from it.

A worker writes a result over ``sparql_api.results.SPOOL_THRESHOLD`` bytes to its spool
file, ``<folder>/<worker pid>`` (the intermediate TSV of a SELECT answered in XML or
CSV, or in JSON with an empty row, to ``<pid>.tsv``), closes it, and only then replies
with the flag ``SPOOLED`` and the length (sparql_api/workers.py). The parent opens the
file, checks its length, unlinks it and hands the open file to the endpoint, which
streams it to the client in chunks (:class:`SpooledResponse`): the worker is free at
once, a slow client never holds one (``Settings.send_timeout`` drops a client that stops
reading), and neither process holds the body whole. A worker killed or dead mid-query
leaves a file the pool removes once the process is reaped; a file whose length is not
the announced one is never served.

The bytes held open in spooled streams are budgeted (``Settings.spool_mb``): a reply is
charged when the parent takes it and released when its stream closes, however it ends;
one that would exceed the budget is refused (503 ``spool-full``) and its file removed,
so a client reading slowly cannot hold many unlinked files (on a tmpfs ``TMPDIR``,
RAM). The file is opened with ``O_NOFOLLOW`` and must be a regular file: a worker that
planted a symlink (or anything else) there is treated as dead, nothing is served.

The folder is the pool's own (``tempfile.mkdtemp``: mode 0700, under ``TMPDIR``),
named after the server's process id; it is removed when the pool stops, and a
folder left by a server that died without stopping is removed when the next pool
starts.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import tempfile
import zlib
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, BinaryIO

import anyio
import anyio.lowlevel
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sparql_api.errors import SpoolFull

PREFIX = "dipkg-spool-"
#: bytes read from a spool file per message sent to the client
CHUNK = 256 * 1024
_OWN = re.compile(re.escape(PREFIX) + r"(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep(parent: str | None = None) -> list[str]:
    """Remove the spool folders (ours, under ``parent``) of servers no longer running."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        match = _OWN.match(name)
        path = os.path.join(parent, name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            if os.stat(path, follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class _Held(io.FileIO):
    """A spool file's descriptor that gives its bytes back to the budget when closed
    (however: by the response, by whoever drops the reply, or by the collector)."""

    def __init__(self, fd: int, release: Callable[[], None]) -> None:
        super().__init__(fd, "rb", closefd=True)
        self._release: Callable[[], None] | None = release

    def close(self) -> None:
        try:
            super().close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class SpoolDir:
    """The pool's spool folder: made by :meth:`create`, gone after :meth:`remove`.
    ``budget``: bytes that open spooled streams may hold together (None: no limit)."""

    def __init__(self, threshold: int, budget: int | None = None) -> None:
        self.threshold = threshold
        self.budget = budget
        #: bytes of the spool files open now (taken, not yet closed)
        self.held = 0
        self.path: str | None = None

    def create(self) -> str:
        if self.path is None:
            sweep()
            self.path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
        return self.path

    def remove(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def config(self) -> dict[str, Any]:
        """What a worker is told at start-up (sparql_api/workers_child.py)."""
        return {"spool": self.path, "spool_threshold": self.threshold}

    def files(self) -> list[str]:
        return sorted(os.listdir(self.path)) if self.path else []

    def take(self, pid: int, length: int) -> BinaryIO:
        """Worker ``pid``'s finished spool file, open and already unlinked, charged to the
        budget until it is closed; ``ValueError`` (the worker is treated as dead) when it
        is missing, not a regular file (a symlink is never followed) or not ``length``
        bytes; :class:`SpoolFull` (the file removed) when the budget has no room for it."""
        if self.path is None:
            raise ValueError("a worker spooled a result, but the pool has no spool folder")
        name = os.path.join(self.path, str(pid))
        try:
            # never a symlink's target; O_NONBLOCK: a FIFO planted there cannot block the loop
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(name)  # a symlink (ELOOP) or whatever else is there: gone
            raise ValueError(f"the worker's spool file is unreadable: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            os.unlink(name)
        except OSError as exc:
            os.close(fd)
            raise ValueError(f"the worker's spool file is unreadable: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ValueError("the worker's spool file is not a regular file")
        if info.st_size != length:
            os.close(fd)
            raise ValueError(f"the worker's spool file has {info.st_size} bytes, not {length}")
        if self.budget is not None and self.held + length > self.budget:
            os.close(fd)
            mib = self.budget / 2**20
            raise SpoolFull(
                f"large results being sent already hold the spool budget of {mib:g} MiB; "
                "try again later",
                details={"limit_bytes": self.budget, "retry_after": 5},
            )
        self.held += length
        try:
            raw = _Held(fd, partial(self._give_back, length))
        except BaseException:
            os.close(fd)
            self.held -= length
            raise
        return io.BufferedReader(raw, CHUNK)

    def _give_back(self, length: int) -> None:
        self.held -= length

    def discard(self, pid: int) -> None:
        """Remove what worker ``pid`` (gone now) may have left."""
        if self.path is None:
            return
        for name in (str(pid), f"{pid}.tsv"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.path, name))


class SpooledResponse(StreamingResponse):
    """A spooled body streamed from its (unlinked) file, ``length`` bytes: with a
    Content-Length, or gzip-compressed as it goes (chunked) when ``gzip``. The file is
    closed when the response ends, however it ends (a client gone stops it early)."""

    def __init__(
        self, file: BinaryIO, length: int, headers: dict[str, str], *, gzip: bool = False
    ) -> None:
        self.file = file
        self.gzip = gzip
        headers = dict(headers)
        if gzip:
            headers["Content-Encoding"] = "gzip"
        else:
            headers["Content-Length"] = str(length)
        super().__init__(self._chunks(), headers=headers)

    async def _chunks(self) -> AsyncIterator[bytes]:
        if not self.gzip:
            while chunk := self.file.read(CHUNK):  # the page cache: no thread hop needed
                # the event loop's turn: a client gone (http.disconnect) stops it here
                await anyio.lowlevel.checkpoint()
                yield chunk
            return
        # gzip (as sparql_api.http.GZipMiddleware: level 6, mtime 0), off the event loop
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)

        def step() -> tuple[bytes, bool]:
            chunk = self.file.read(CHUNK)
            if not chunk:
                return packer.flush(), True
            return packer.compress(chunk), False

        while True:
            out, done = await anyio.to_thread.run_sync(step)
            if out:
                yield out
            if done:
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette's pattern for ASGI < 2.4, whatever the server's version: the body
        # stops as soon as the client is gone (http.disconnect), so no more is read and
        # the access log counts what was sent
        try:
            async with anyio.create_task_group() as group:

                async def run(func: Callable[[], Any]) -> None:
                    await func()
                    group.cancel_scope.cancel()

                group.start_soon(run, partial(self.stream_response, send))
                await run(partial(self.listen_for_disconnect, receive))
        finally:
            self.file.close()
