"""Large results on disk: the pool's spool folder and the response that streams from it.

A worker writes a result over ``sparql_api.results.SPOOL_THRESHOLD`` bytes to its
spool file, ``<folder>/<worker pid>`` (a SELECT's intermediate TSV to
``<pid>.tsv``), closes it, and only then replies with the flag ``SPOOLED`` and the
length (sparql_api/workers.py). The parent opens the file, checks its length, unlinks
it and hands the open file to the endpoint, which streams it to the client in
chunks (:class:`SpooledResponse`): the worker is free at once, a slow client never
holds one (``Settings.send_timeout`` drops a client that stops reading), and
neither process holds the body whole. A worker killed or dead mid-query leaves a
file the pool removes once the process is reaped; a file whose length is not the
announced one is never served.

The folder is the pool's own (``tempfile.mkdtemp``: mode 0700, under ``TMPDIR``),
named after the server's process id; it is removed when the pool stops, and a
folder left by a server that died without stopping is removed when the next pool
starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

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


class SpoolDir:
    """The pool's spool folder: made by :meth:`create`, gone after :meth:`remove`."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
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
        """Worker ``pid``'s finished spool file, open and already unlinked; ``ValueError``
        (the worker is treated as dead) when it is missing or not ``length`` bytes."""
        if self.path is None:
            raise ValueError("a worker spooled a result, but the pool has no spool folder")
        name = os.path.join(self.path, str(pid))
        try:
            file = open(name, "rb")  # noqa: SIM115  (closed by the response that streams it)
        except OSError as exc:
            raise ValueError(f"the worker's spool file is unreadable: {exc.strerror}") from None
        try:
            size = os.fstat(file.fileno()).st_size
            os.unlink(name)
        except OSError as exc:
            file.close()
            raise ValueError(f"the worker's spool file is unreadable: {exc.strerror}") from None
        if size != length:
            file.close()
            raise ValueError(f"the worker's spool file has {size} bytes, not {length}")
        return file

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
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.file.close()
