"""The scope extension that sends a complete answer in one write (sparql_api/connections.py
``SEND_WHOLE``), on uvicorn's own protocol in process: the bytes are the ones the two ASGI
messages give, in one write instead of two, and its checks refuse what uvicorn's refuse."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.server import ServerState

from dipkg.core.settings import Settings
from sparql_api.connections import SEND_WHOLE, _uvicorn_checks, protocol_class

HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"5"), (b"x-a", b"1")]


class Recording(asyncio.Transport):
    """A transport that keeps what is written (the protocol under test is uvicorn's)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_by_response = False  # closed before the connection was let go

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _exchange(app: Any, request: bytes) -> Recording:
    config = uvicorn.Config(app, access_log=False, log_config=None, date_header=False)
    config.load()
    state = ServerState()
    # what uvicorn's server loop keeps there (its Date header, refreshed each second)
    state.default_headers = [(b"date", b"Tue, 01 Dec 2026 00:00:00 GMT"), (b"server", b"x")]
    protocol = protocol_class(Settings(), 100)(config=config, server_state=state, app_state={})
    transport = Recording()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(100):
        if protocol.cycle is not None and protocol.cycle.response_complete:
            break
        await asyncio.sleep(0)
    transport.closed_by_response = transport.closed
    protocol.connection_lost(None)
    return transport


async def whole(scope: Any, receive: Any, send: Any) -> None:
    await scope["extensions"][SEND_WHOLE](200, HEADERS, b"hello")


async def messages(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.parametrize(
    "request_",
    [
        b"GET /sparql HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /sparql HTTP/1.0\r\nHost: x\r\n\r\n",
        b"GET /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"HEAD /sparql HTTP/1.1\r\nHost: x\r\n\r\n",  # the head alone
    ],
)
def test_one_write_the_same_bytes_as_two_messages(request_: bytes) -> None:
    ours = asyncio.run(_exchange(whole, request_))
    theirs = asyncio.run(_exchange(messages, request_))
    assert len(ours.writes) == 1  # head and body at once (uvicorn: two writes)
    assert ours.writes[0] == b"".join(theirs.writes)
    assert ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\ndate: Tue, 01 Dec 2026")
    assert ours.writes[0].endswith(b"\r\n\r\n" if request_.startswith(b"HEAD") else b"hello")
    closes = b"close" in request_ or b"1.0" in request_
    assert ours.closed_by_response == theirs.closed_by_response == closes


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", b"4")],  # not the body's
        [(b"content-type", b"text/plain")],  # none: uvicorn would chunk it
        [(b"x-a", b"1\r\nx-b: 2"), (b"content-length", b"5")],  # a split response
        [(b"x a", b"1"), (b"content-length", b"5")],
    ],
)
def test_what_uvicorn_refuses_is_refused(headers: list[tuple[bytes, bytes]]) -> None:
    async def bad(scope: Any, receive: Any, send: Any) -> None:
        await scope["extensions"][SEND_WHOLE](200, headers, b"hello")

    sent = asyncio.run(_exchange(bad, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert b"hello" not in b"".join(sent.writes) and sent.closed_by_response


@pytest.mark.parametrize("which", [0, 1])
def test_uvicorns_checks_are_one_character_class(which: int) -> None:
    """write_whole checks all the names (values) in one search over their joined bytes:
    exact only if a match never needs two characters. Exhaustively over pairs of bytes:
    a pair matches iff one of its bytes does."""
    pattern = _uvicorn_checks()[which]
    alone = [pattern.search(bytes([b])) is not None for b in range(256)]
    assert any(alone) and not all(alone)
    for a in range(256):
        for b in range(256):
            assert (pattern.search(bytes([a, b])) is not None) == (alone[a] or alone[b])


_NAMES = st.binary(max_size=6).filter(lambda n: n.lower() not in (b"content-length", b"connection"))


@given(st.lists(st.tuples(_NAMES, st.binary(max_size=6)), max_size=6))
def test_joined_checks_find_what_one_by_one_checks_find(headers: list[tuple[bytes, bytes]]) -> None:
    names, values = _uvicorn_checks()[:2]
    one_by_one = any(names.search(n) or values.search(v) for n, v in headers)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b"hello"
        await scope["extensions"][SEND_WHOLE](200, [*headers, (b"content-length", b"5")], body)

    sent = asyncio.run(_exchange(app, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (b"hello" not in b"".join(sent.writes)) == one_by_one


def test_the_extension_holds_no_reference_cycle() -> None:
    """The scope holds the extension, which must not hold the request's cycle (which holds
    the scope): a cycle per request would leave every request to the cycle collector."""
    import gc

    refs: list[Any] = []

    async def keeps(scope: Any, receive: Any, send: Any) -> None:
        refs.append(scope["extensions"][SEND_WHOLE].args[0])  # the weak reference
        await whole(scope, receive, send)

    gc.disable()
    try:
        sent = asyncio.run(_exchange(keeps, b"GET /sparql HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert sent.writes and refs[0]() is None  # freed without the collector
    finally:
        gc.enable()
