"""The remote mode's HTTP client (sparql_api/remote/client.py) against small real servers on
127.0.0.1: an exchange cancelled before the backend's answer begins must not leave the
connection pool a slot short. httpcore 1.0.9 keeps, for ever, a connection whose request
was cancelled between connecting and sending (encode/httpcore#1093); four of them (the
pool's ``slots + 2``) and every later exchange waited for a connection that never freed:
a backend slow once stayed unreachable (found as a flaky /health in the dripping-backend
test)."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psutil
import pytest

from sparql_api.remote.answers import ACCEPT_TABLE
from sparql_api.remote.client import BackendClient
from sparql_api.remote.errors import BackendBusy, BackendTimeout
from tests.reliability.conftest import run_async

# timing and CPU thresholds: run alone, after the rest (`make test`: -m serial)
pytestmark = pytest.mark.serial

ASK = [("query", "ASK {}")]
TRUE = b'{"head":{},"boolean":true}'


class _Backend(BaseHTTPRequestHandler):
    """ASK answers at once; anything else drips a byte every 0.1 s (for up to 3 s)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        drip = b"ASK" not in body
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(10**6 if drip else len(TRUE)))
            self.end_headers()
            if not drip:
                self.wfile.write(TRUE)
                return
            for _ in range(30):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client gave up
        self.close_connection = True


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/query"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def silent_url() -> Iterator[str]:
    """A backend that takes connections and never answers (a listening socket)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/query"


def client_sockets(url: str) -> int:
    """This process's open TCP sockets to ``url``'s port (the client's side only: the
    backend runs in this process too)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    return sum(
        1 for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port
    )


def test_cancelled_exchanges_never_wedge_the_pool(backend: str):
    """Rounds of 40 exchanges at once (jittered, 2 slots, 0.2 s deadline) against a dripping
    backend cancel some of them at every stage of a request; afterwards an exchange that
    the backend answers at once still gets its answer at once, and no socket is left."""

    async def run() -> tuple[float, int]:
        client = BackendClient(backend, None, slots=2, timeout=0.2, max_bytes=2**20)
        await client.start()

        async def one() -> None:
            await asyncio.sleep(random.random() * 0.15)
            with pytest.raises((BackendTimeout, BackendBusy)):
                await client.exchange([("query", "SELECT")], ACCEPT_TABLE)

        for _ in range(6):
            await asyncio.gather(*(one() for _ in range(40)))
        started = time.monotonic()
        answer = await client.exchange(ASK, ACCEPT_TABLE, slot=False, timeout=5)
        took = time.monotonic() - started
        assert answer.status == 200 and answer.body == TRUE
        await asyncio.sleep(0.05)  # the retired pools' closing tasks run
        left = client_sockets(backend)
        await client.stop()
        return took, left

    random.seed(17)
    took, left = run_async(run)
    assert took < 1.0, f"the pool was wedged: {took:.2f} s for an ASK answered at once"
    assert left == 0, f"{left} sockets to the backend left open"


def test_a_cancelled_exchange_retires_its_pool_which_closes_when_idle(
    backend: str, silent_url: str
) -> None:
    """A backend that takes the connection and never answers: the exchange's deadline
    cancels it before the answer began. New exchanges get a fresh pool; the old one is
    closed when its last exchange ends (not before: a second exchange still on it is
    answered), and ``stop`` closes whatever is left."""

    async def run() -> None:
        client = BackendClient(silent_url, None, slots=2, timeout=0.2, max_bytes=2**20)
        await client.start()
        first = client._client
        assert first is not None
        slow = asyncio.ensure_future(client.exchange(ASK, ACCEPT_TABLE, timeout=1.0))
        await asyncio.sleep(0.05)  # on the first pool, waiting for the silent backend
        with pytest.raises(BackendTimeout):
            await client.exchange(ASK, ACCEPT_TABLE)
        assert client._client is not first  # retired: new exchanges get a fresh pool
        assert not first.is_closed  # the slow exchange still uses it
        client.url = backend  # the backend answers now (the same client, another server)
        assert (await client.exchange(ASK, ACCEPT_TABLE)).status == 200
        with pytest.raises(BackendTimeout):
            await slow
        await asyncio.sleep(0.05)
        assert first.is_closed and first not in client._users
        await client.stop()
        assert client._users == {}

    run_async(run)


def test_stop_while_an_exchange_is_cancelled_leaves_no_pool_open(silent_url: str) -> None:
    """``stop`` while an exchange waits on a silent backend, cancelled meanwhile (as the
    server's shutdown cancels its requests): no fresh pool is made in its place, nothing
    stays open."""

    async def run() -> None:
        client = BackendClient(silent_url, None, slots=2, timeout=5.0, max_bytes=2**20)
        made: list[Any] = []
        new_client = client.new_client

        def recorded() -> Any:
            made.append(new_client())
            return made[-1]

        client.new_client = recorded  # type: ignore[method-assign]
        await client.start()
        first = made[0]
        close = first.aclose

        async def slow_close() -> None:  # the exchange is cancelled while its pool closes
            await asyncio.sleep(0.05)
            await close()

        first.aclose = slow_close  # type: ignore[method-assign]
        waiting = asyncio.ensure_future(client.exchange(ASK, ACCEPT_TABLE))
        await asyncio.sleep(0.05)
        stopping = asyncio.ensure_future(client.stop())
        await asyncio.sleep(0.01)
        waiting.cancel()
        await stopping
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.05)
        assert client._client is None and client._users == {} and not client._closing
        assert made and all(pool.is_closed for pool in made), made
        assert client_sockets(silent_url) == 0

    run_async(run)
