"""The floor of dipkg's serving design: one Python web process, queries in worker processes.

A measuring tool, not a server to use (bench/PROFILE.md, "The floor of a Python front").
It serves ``GET /sparql?query=...`` the way dipkg's design must at the least: an event
loop (uvloop) reads HTTP/1.1 with httptools, hands each query to one of ``--workers``
forked processes over a socket pair (a length-prefixed frame, no acknowledgement) and
writes the SPARQL JSON they send back, head and body in one write. Nothing else: no
limits, no time limit, no fair sharing, no cache, no error handling. What it costs per
request is what no Python front of this shape can go below; what dipkg spends beyond it
is its own machinery. Two variants measure parts of the gap:

* ``--asgi``: the same app behind uvicorn (ASGI), as dipkg is served;
* ``--features``: also the per-request work dipkg must keep: the query parameters read
  with dipkg's parser, the guard, the ETag, a request id, the full header block and an
  access line written to ``os.devnull``.

``python -m bench.floor --nt DIR/current/dumps/dipkg.nt --port 8010 --workers 2``, then
e.g. ``wrk -t1 -c8 -d4s -s cold.lua 'http://127.0.0.1:8010/sparql?query=...'`` with
bench/run.py's script for cold requests (``_COLD_LUA``: a counter comment makes each new).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import time
from collections import deque
from pathlib import Path
from typing import Any

_LENGTH = struct.Struct("!I")


def _worker(sock: socket.socket, data: bytes) -> None:
    """A worker: the graph in memory, then one job after another until end of file."""
    import pyoxigraph as ox

    store = ox.Store()
    store.load(data, ox.RdfFormat.N_TRIPLES)
    reader = sock.makefile("rb")
    while head := reader.read(_LENGTH.size):
        (size,) = _LENGTH.unpack(head)
        query = reader.read(size).decode("utf-8")
        body = store.query(query).serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]
        sock.sendall(_LENGTH.pack(len(body)) + body)
    os._exit(0)


class _Channel(asyncio.Protocol):
    """The web process's end of one worker's socket: one job at a time."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.reply: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack_from(self.buffer)
        if len(self.buffer) >= _LENGTH.size + size and self.reply is not None:
            body = bytes(self.buffer[_LENGTH.size : _LENGTH.size + size])
            del self.buffer[: _LENGTH.size + size]
            reply, self.reply = self.reply, None
            reply.set_result(body)


class _Pool:
    """Idle workers first come, first served; waiting jobs in arrival order."""

    def __init__(self, channels: list[_Channel]) -> None:
        self.idle = deque(channels)
        self.waiting: deque[asyncio.Future[_Channel]] = deque()

    async def run(self, query: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        if self.idle:
            channel = self.idle.popleft()
        else:
            turn: asyncio.Future[_Channel] = loop.create_future()
            self.waiting.append(turn)
            channel = await turn
        channel.reply = loop.create_future()
        assert channel.transport is not None
        channel.transport.write(_LENGTH.pack(len(query)) + query)
        body = await channel.reply
        if self.waiting:
            self.waiting.popleft().set_result(channel)
        else:
            self.idle.append(channel)
        return body


class _Features:
    """The per-request work dipkg keeps whatever the design (``--features``)."""

    def __init__(self) -> None:
        from sparql_api.guard import check_query
        from sparql_api.http import etag
        from sparql_api.logs import new_request_id
        from sparql_api.protocol import parse_params

        self.check_query, self.etag = check_query, etag
        self.new_request_id, self.parse_params = new_request_id, parse_params
        self.log = open(os.devnull, "w")  # noqa: SIM115  (open for the process's life)

    def query(self, query_string: bytes) -> tuple[str, str, str]:
        """(query, request id, ETag) of a request."""
        query = self.parse_params(query_string)["query"][0]
        self.check_query(query)
        return query, self.new_request_id(), self.etag("build", "json", "()", query)

    def head(self, rid: str, tag: str, length: int) -> bytes:
        """The header block dipkg sends with a cold SPARQL JSON answer."""
        return b"".join(
            (
                b"HTTP/1.1 200 OK\r\netag: %s\r\n" % tag.encode(),
                b"last-modified: Tue, 01 Dec 2026 08:29:33 GMT\r\n",
                b"vary: Accept, Accept-Encoding\r\ncache-control: public, no-cache\r\n",
                b"x-dipkg-build: 0000000000000000\r\n",
                b"content-type: application/sparql-results+json; charset=utf-8\r\n",
                b"x-dipkg-rows: 0\r\ncontent-length: %d\r\n" % length,
                b"access-control-allow-origin: *\r\n",
                b"access-control-expose-headers: ETag, Last-Modified, Content-Disposition, ",
                b"X-Dipkg-Truncated, X-Dipkg-Rows, X-Dipkg-Max-Rows, X-Dipkg-Build\r\n",
                b"x-request-id: %s\r\n\r\n" % rid.encode(),
            )
        )

    def access(self, rid: str, target: bytes, length: int, started: float) -> None:
        took = (time.perf_counter() - started) * 1000
        path = target[:512].decode("latin-1")
        self.log.write(
            f'{time.time()} INFO dipkg.access [{rid}] 127.0.0.1 "GET {path}" 200 {length} '
            f"{took:.1f}ms\n"
        )
        self.log.flush()


def _query_of(query_string: bytes) -> bytes:
    from urllib.parse import unquote_plus

    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"query":
            return unquote_plus(value.decode("latin-1")).encode("utf-8")
    return b""


_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/sparql-results+json\r\n"
    b"content-length: %d\r\n\r\n"
)


def _protocol(pool: _Pool, features: _Features | None) -> type[asyncio.Protocol]:
    import httptools

    class Http(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
            self.url = b""

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_message_complete(self) -> None:
            url, self.url = self.url, b""
            asyncio.ensure_future(self.answer(url))

        async def answer(self, url: bytes) -> None:
            query_string = url.partition(b"?")[2]
            if features is None:
                body = await pool.run(_query_of(query_string))
                self.transport.write(_HEAD % len(body) + body)
                return
            started = time.perf_counter()
            query, rid, tag = features.query(query_string)
            body = await pool.run(query.encode("utf-8"))
            self.transport.write(features.head(rid, tag, len(body)) + body)
            features.access(rid, url, len(body), started)

    return Http


def _asgi(pool: _Pool, channels: list[tuple[socket.socket, _Channel]]) -> Any:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            await _connect(channels)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await pool.run(_query_of(scope["query_string"]))
        headers = [
            (b"content-type", b"application/sparql-results+json"),
            (b"content-length", b"%d" % len(body)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _connect(channels: list[tuple[socket.socket, _Channel]]) -> None:
    loop = asyncio.get_running_loop()
    for sock, channel in channels:
        await loop.create_unix_connection(lambda c=channel: c, sock=sock)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--nt", type=Path, required=True, help="the graph, as N-Triples")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--asgi", action="store_true", help="served by uvicorn, as an ASGI app")
    variant.add_argument("--features", action="store_true", help="with dipkg's per-request work")
    args = parser.parse_args(argv)
    data = args.nt.read_bytes()
    channels: list[tuple[socket.socket, _Channel]] = []
    for _ in range(args.workers):
        ours, theirs = socket.socketpair()
        if os.fork() == 0:
            try:
                ours.close()
                _worker(theirs, data)
            finally:  # a worker never returns into the server's code, failed or not
                os._exit(1)
        theirs.close()
        channels.append((ours, _Channel()))
    pool = _Pool([channel for _, channel in channels])
    import uvloop

    if args.asgi:
        import uvicorn

        uvicorn.run(
            _asgi(pool, channels),
            host="127.0.0.1",
            port=args.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
        )
        return
    features = _Features() if args.features else None

    async def serve() -> None:
        await _connect(channels)
        server = await asyncio.get_running_loop().create_server(
            _protocol(pool, features), "127.0.0.1", args.port
        )
        await server.serve_forever()

    uvloop.run(serve())


if __name__ == "__main__":
    main()
