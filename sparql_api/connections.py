"""Connection limits of ``dipkg serve``: uvicorn's httptools protocol with bounds.

uvicorn (0.54, httptools) bounds none of these by itself: a request head may grow
without end (httptools buffers it), a connection that never sends a byte stays
open for ever (its keep-alive timer starts only after a first response), a client
that never reads keeps its whole response in the server's write buffer, and open
connections are limited only by the open-file limit (past it, every new request
fails). :func:`protocol_class` returns the protocol uvicorn runs, with
``Settings``:

* ``max_header_bytes``: a request head (request line and headers) larger than this
  gets 431 (414 when the request target alone passes it) and the connection is closed.
* ``header_timeout``: from the moment a connection waits for a request (opened, or
  its previous response sent) the complete head, and then its body, must arrive
  within this many seconds (slow-loris), else 408 and close. ``idle_timeout`` is
  uvicorn's keep-alive.
* ``send_timeout``: a response whose bytes stop leaving (the client reads nothing)
  for this long is dropped (the connection is aborted, its buffer freed).
* ``max_connections`` (at most the open-file limit less a reserve): a new connection
  past it first closes the connection idle the longest; if none is idle, the new one
  gets 503 and is closed. Accepting never runs out of file descriptors.

Errors keep the one JSON shape ``{error, status, message}``.

It also offers the app one thing uvicorn's ASGI cycle has not: :data:`SEND_WHOLE`, a
scope extension that sends a complete response, head and body, in one write (uvicorn
writes the head when ``http.response.start`` comes and the body when its message comes:
two writes, two TCP segments on the way to the client). The query lane
(sparql_api/lane.py) answers with it; everything else speaks ASGI as before.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import resource
import time
import weakref
from typing import Any

from dipkg.core.settings import Settings

log = logging.getLogger("sparql_api.connections")

#: file descriptors kept free of connections: worker pipes, dump files, the store, logs
FD_RESERVE = 64


def raise_open_files() -> int:
    """Raise the soft open-file limit to the hard one; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(settings: Settings, open_files: int) -> int:
    """The most connections held at once: the setting, or what the open files allow."""
    reserve = FD_RESERVE + 4 * settings.query_workers
    return max(8, min(settings.max_connections, open_files - reserve))


def _error(status: int, reason: bytes, code: str, message: str) -> bytes:
    """The one error shape, written as the app writes it (Starlette's JSONResponse: no
    spaces, UTF-8), for a request refused before it reaches the app."""
    fields = {"error": code, "status": status, "message": message}
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, reason, len(body))
    ) + body


#: the scope extension (``scope["extensions"]``) of :func:`write_whole`, bound to the
#: request: ``await scope["extensions"][SEND_WHOLE](status, headers, body)``
SEND_WHOLE = "dipkg.send_whole"


@functools.cache
def _uvicorn_checks() -> tuple[Any, Any, dict[int, bytes]]:
    """uvicorn's header checks and status lines (its protocol module, imported lazily as
    in :func:`protocol_class`). The checks are single character classes (tested:
    tests/endpoint/test_send_whole.py), which :func:`write_whole` relies on."""
    from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE

    return HEADER_RE, HEADER_VALUE_RE, STATUS_LINE


async def write_whole(
    request: weakref.ref[Any], status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """What uvicorn's ``RequestResponseCycle.send`` writes for ``http.response.start``
    with ``headers`` and one ``http.response.body`` with ``body``, in one write, for the
    cycle ``request`` refers to (weakly: the scope holding this function must not hold
    its cycle, which holds the scope). The same checks (a header name or value that
    could split the response, a Content-Length that is not the body's; a response
    without one is refused: uvicorn would chunk it), the server's default headers
    first, no body for HEAD, ``connection: close`` when the connection is not kept
    alive, and the cycle's state after it (complete, the next pipelined request
    started)."""
    header_re, value_re, status_line = _uvicorn_checks()
    cycle = request()
    if cycle is None:  # (the connection and its request are gone)
        return
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    if cycle.response_started:
        raise RuntimeError("the response was started already")
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    every = (*cycle.default_headers, *headers)
    # uvicorn's two checks, each one search over all the names (values) at once: both
    # patterns are one character class, so a joined text matches iff one of its parts does
    if header_re.search(b"".join([name for name, _ in every])):
        raise RuntimeError("Invalid HTTP header name.")
    if value_re.search(b"".join([value for _, value in every])):
        raise RuntimeError("Invalid HTTP header value.")
    content = [status_line[status]]
    closing = False
    length = None
    for name, value in every:
        name = name.lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
            cycle.keep_alive = False
            closing = True
        content.extend((name, b": ", value, b"\r\n"))
    if length != len(body):
        raise RuntimeError("Response content length is not the body's.")
    if not cycle.keep_alive and not closing:
        content.append(b"connection: close\r\n")
    content.append(b"\r\n")
    if cycle.scope["method"] != "HEAD":
        content.append(body)
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


#: the bytes a chunk's framing may take (its size in hex, CRLF, the CRLF after its data, a
#: short extension): what a chunked body's reads may hold beyond body and trailer fields
CHUNK_FRAMING = 64


def protocol_class(settings: Settings, cap: int) -> type:
    """uvicorn's ``HttpToolsProtocol`` with the limits of ``settings`` (one class per server)."""
    # lazy: ~80 ms of import (httptools); only a server being started needs the class
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    max_head = settings.max_header_bytes
    header_timeout = settings.header_timeout
    send_timeout = settings.send_timeout
    too_large = _error(
        431,
        b"Request Header Fields Too Large",
        "header-too-large",
        f"the request head is larger than {max_head} bytes",
    )
    too_long_target = _error(
        414,
        b"URI Too Long",
        "uri-too-long",
        f"the request target is longer than {max_head} bytes",
    )
    too_slow = _error(
        408,
        b"Request Timeout",
        "request-timeout",
        f"the request head did not arrive within {header_timeout:g} s",
    )
    too_slow_body = _error(
        408,
        b"Request Timeout",
        "request-timeout",
        f"the request did not arrive within {header_timeout:g} s",
    )
    full = _error(503, b"Service Unavailable", "busy", "too many open connections; try again later")
    not_http = _error(
        400,
        b"Bad Request",
        "bad-request",
        "the request is not valid HTTP (its parser refused it); a request target is ASCII "
        "only: percent-encode any other character (UTF-8), e.g. /search?q=%E6%B8%A9 for 温",
    )

    class LimitedHttpProtocol(HttpToolsProtocol):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._awaiting = True  # between requests: waiting for a head
            self._in_head = False  # a head has begun and is not complete
            self._uploading = False  # the head is in, the body is not
            self._head_bytes = 0  # bytes read while a head was in progress
            self._head_parsed = 0  # its request line and headers as the parser gave them
            self._messages = 0  # messages begun on this connection
            self._body_seen = 0  # body bytes the parser gave of the message being read
            self._chunks = 0  # chunk headers the parser has read on this connection
            self._after_head = 0  # bytes read during its body that were neither body nor
            # a chunk's framing: trailer fields (one without end would be buffered whole)
            self._refused = False  # a head too large was refused: the parser's calls are void
            self._waiting_since = time.monotonic()
            self._head_timer: asyncio.TimerHandle | None = None
            self._stall_timer: asyncio.TimerHandle | None = None
            self._stall_size = 0

        # --- lifecycle ---------------------------------------------------
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > cap and not self._make_room():
                log.warning("open connections at the limit of %d, none idle: refused one", cap)
                self._refuse(full)
                return
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_timers()
            super().connection_lost(exc)

        def _cancel_timers(self) -> None:
            for timer in (self._head_timer, self._stall_timer):
                if timer is not None:
                    timer.cancel()
            self._head_timer = self._stall_timer = None

        def _refuse(self, response: bytes) -> None:
            """Answer ``response`` and close; drop the connection instead while an answer is
            on its way or unsent (never a second answer inside it; and a close waits for
            the buffer to drain, which a client that reads nothing never lets happen, with
            the timers that would drop it cancelled)."""
            self._cancel_timers()
            if self.transport.is_closing():
                return
            cycle = self.cycle
            sending = cycle is not None and cycle.response_started and not cycle.response_complete
            if sending or self.transport.get_write_buffer_size():
                self.transport.abort()
                return
            self.transport.write(response)
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to what its parser refuses (text/plain "Invalid HTTP request
            received."), in the project's error shape, with what most often causes it (or
            the connection dropped, while an answer is on its way: :meth:`_refuse`)."""
            self._refuse(not_http)

        def _make_room(self) -> bool:
            """Close the connection idle the longest (no request in progress) to make room."""
            idle = [
                c
                for c in self.connections
                if c is not self and getattr(c, "_awaiting", False) and not c.transport.is_closing()
            ]
            if not idle:
                return False
            oldest = min(idle, key=lambda c: c._waiting_since)
            oldest._cancel_timers()
            oldest.transport.abort()
            return True

        # --- the request head ------------------------------------------------
        def _arm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            if self._awaiting:
                if self._in_head:
                    self._refuse(too_slow)
                else:  # nothing sent at all: just close
                    self.transport.close()
            elif self._uploading:  # the head came, the body trickles
                if self.cycle is not None and not self.cycle.response_started:
                    self._refuse(too_slow_body)
                else:
                    self.transport.abort()

        # A head is measured twice: by the bytes read while it is in progress (a head
        # spread over many reads: the parser would buffer a header without end), and by
        # what the parser gives of it (a head that begins and ends within one read, up
        # to 256 KiB, is never "in progress" between reads). Past the limit either way
        # it gets 431, and the parser's further calls on that read are ignored: no app
        # runs for it. A chunked body's trailer fields are held to the same limit on
        # their own, both ways: by what the parser gives of them, and by the bytes read
        # during the body that were neither body nor a chunk's framing (up to
        # CHUNK_FRAMING bytes a chunk: a body of many small chunks is not counted).
        # Whitespace the parser drops without keeping (before a field's value) is not.
        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            # the body (or its trailers) of the same message goes on in this read
            uploading, messages = self._uploading, self._messages
            body, chunks = self._body_seen, self._chunks
            super().data_received(data)
            if self._refused:
                return
            if self._in_head and self.parser is not None:
                self._head_bytes += len(data)
                if self._head_bytes > max_head:
                    self._refuse_head()
            elif uploading and self._uploading and self._messages == messages:
                framing = CHUNK_FRAMING * (self._chunks - chunks)
                self._after_head += max(0, len(data) - (self._body_seen - body) - framing)
                if self._after_head > max_head:
                    self._refuse_head()

        def _refuse_head(self, target: bool = False) -> None:
            trailers = self._uploading  # (the head is in: its trailer fields are too large)
            self._in_head = self._uploading = False
            self._refused = True
            cycle = self.cycle
            if trailers and cycle is not None and cycle.response_started:
                self._cancel_timers()  # an answer has begun: never a second one inside it
                self.transport.abort()
                return
            self._refuse(too_long_target if target else too_large)

        def _count_head(self, size: int, target: bool = False) -> None:
            self._head_parsed += size
            if self._head_parsed > max_head and not self._refused:
                self._refuse_head(target)

        def on_message_begin(self) -> None:
            if self._refused:
                return
            super().on_message_begin()
            self._in_head = True
            self._head_bytes = 0
            self._head_parsed = 16  # the method, spaces, version and line end, about
            self._messages += 1
            self._body_seen = self._after_head = 0

        def on_url(self, url: bytes) -> None:
            if self._refused:
                return
            self._count_head(len(url), target=True)  # (past the limit in the target: 414)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if self._refused:
                return
            self._count_head(len(name) + len(value) + 4)  # (": " and the line end)
            super().on_header(name, value)

        def on_chunk_header(self) -> None:  # (httptools calls it when the class has it)
            self._chunks += 1

        def on_body(self, body: bytes) -> None:
            if self._refused:
                return
            self._body_seen += len(body)
            super().on_body(body)

        def _should_upgrade(self) -> bool:  # (a refused head asked for an upgrade: no)
            return not self._refused and bool(super()._should_upgrade())

        def _unsupported_upgrade_warning(self) -> None:
            if not self._refused:
                super()._unsupported_upgrade_warning()

        def on_headers_complete(self) -> None:
            if self._refused:
                return
            self._in_head = False
            self._awaiting = False
            self._uploading = True  # the same deadline holds until the body is in
            self._head_parsed = 0  # trailer fields, if any, are measured on their own
            super().on_headers_complete()
            cycle = self.cycle
            # (an upgrade made none; uvicorn's own access line would be skipped: not offered)
            if cycle is not None and cycle.scope is self.scope and not cycle.access_log:
                self.scope.setdefault("extensions", {})[SEND_WHOLE] = functools.partial(
                    write_whole, weakref.ref(cycle)
                )

        def on_message_complete(self) -> None:
            if self._refused:
                return
            self._uploading = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self.pipeline:
                self._awaiting = True
                self._waiting_since = time.monotonic()
                self._arm_head_timer()

        # --- clients that do not read ----------------------------------------
        def pause_writing(self) -> None:
            super().pause_writing()
            if self._stall_timer is None:
                self._stall_size = self.transport.get_write_buffer_size()
                self._stall_timer = self.loop.call_later(send_timeout, self._check_stall)

        def resume_writing(self) -> None:
            super().resume_writing()
            if self._stall_timer is not None:
                self._stall_timer.cancel()
                self._stall_timer = None

        def _check_stall(self) -> None:
            self._stall_timer = None
            if not self.flow.write_paused:
                return
            size = self.transport.get_write_buffer_size()
            if size < self._stall_size:  # slow, but reading: give it another period
                self._stall_size = size
                self._stall_timer = self.loop.call_later(send_timeout, self._check_stall)
                return
            log.warning(
                "dropped a connection that read nothing for %g s (%d bytes unsent)",
                send_timeout,
                size,
            )
            self.transport.abort()

    return LimitedHttpProtocol
