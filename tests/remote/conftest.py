"""Fixtures of the remote-backend tests: a real `oxigraph serve` on 127.0.0.1 loaded
with `dipkg publish`, a recording proxy in front of it (to see what reaches the
backend and to break it on purpose), and real `dipkg serve` subprocesses: one
local, one with ``--sparql-backend`` (same limits)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from tests.conftest import cli_env
from tests.endpoint.conftest import (
    MAX_ROWS,
    QUERY_TIMEOUT,
    Server,
    server_in,
    serving,
    start_server,
)
from tests.oxigraph import oxigraph_serve

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def published_oxigraph(
    built_data: Path, location: Path | None = None, timeout_s: int | None = None
) -> Iterator[str]:
    """`oxigraph serve` on 127.0.0.1 loaded with `dipkg publish`; yields its base URL, then stops
    it."""
    with oxigraph_serve(location, timeout_s) as url:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dipkg.cli",
                "publish",
                "--to",
                f"{url}/store",
                "--data",
                str(built_data),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env(),
        )
        assert done.returncode == 0, done.stderr
        yield url


@pytest.fixture(scope="session")
def oxigraph_backend(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's backend (runaway queries go to a private one: Oxigraph keeps
    evaluating a query whose client has gone)."""
    with published_oxigraph(built_data, tmp_path_factory.mktemp("ox")) as url:
        yield url


@dataclass
class Proxy:
    """A loopback HTTP proxy to the backend that records every query it forwards.
    ``mode``: "forward", "down" (closes the connection), "500", "garbage" (a 200 that is not JSON),
    and the hostile backends: "bomb" (an RDF/XML entity bomb), "drip" (a 200 whose body comes
    one byte every ``drip_interval`` s, for up to ``drip_seconds``), "huge" (a SPARQL JSON
    answer with one literal of ``huge_bytes``), "deep" (JSON nested ``deep_levels`` deep),
    "echo" (a 500 whose body is the request's own header lines).
    ``spare_probe``: the hostile modes answer ASK queries (the start-up check, the /health
    probe) normally. ``auth``: the Authorization header of every request (or "")."""

    target: str
    url: str = ""
    mode: str = "forward"
    queries: list[str] = field(default_factory=list)
    forms: list[dict[str, list[str]]] = field(default_factory=list)  # each request's whole form
    drip_interval: float = 0.5
    drip_seconds: float = 30.0
    huge_bytes: int = 400 * 1024 * 1024
    deep_levels: int = 100_000
    spare_probe: bool = False
    bomb_levels: int = 7
    auth: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # added to each forwarded answer


def entity_bomb(levels: int) -> bytes:
    """RDF/XML whose one literal is 10**levels bytes once its entities are expanded."""
    entities = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, levels)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{entities}]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="http://example.org/s"><rdf:value>&a{levels - 1};</rdf:value>'
        "</rdf:Description></rdf:RDF>"
    ).encode()


HOSTILE = ("bomb", "drip", "huge", "deep", "echo")


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, body: bytes, query_string: str) -> None:
            form = parse_qs(body.decode("utf-8")) if body else parse_qs(query_string)
            proxy.queries.extend(form.get("query", []))
            proxy.forms.append(form)
            if proxy.mode == "down":
                self.close_connection = True
                self.connection.close()
                return
            if proxy.mode == "500":
                self._send(500, "text/plain", b"internal backend failure")
                return
            if proxy.mode == "garbage":
                self._send(
                    200,
                    "application/sparql-results+json",
                    b'{"head": {"vars": ["x"]}, "results": [',
                )
                return
            proxy.auth.append(self.headers.get("Authorization", ""))
            probe = any(q.lstrip().startswith("ASK") for q in form.get("query", []))
            if proxy.mode in HOSTILE and not (proxy.spare_probe and probe):
                getattr(self, "_" + proxy.mode)()
                return
            response = httpx.request(
                self.command,
                proxy.target + self.path,
                content=body or None,
                headers={
                    k: v for k, v in self.headers.items() if k.lower() in ("accept", "content-type")
                },
                timeout=60,
            )
            self._send(
                response.status_code,
                response.headers.get("content-type", ""),
                response.content,
                proxy.headers,
            )

        def _bomb(self) -> None:
            self._send(200, "application/rdf+xml", entity_bomb(proxy.bomb_levels))

        def _echo(self) -> None:
            self._send(500, "text/plain", (self.requestline + "\r\n" + str(self.headers)).encode())

        def _deep(self) -> None:
            n = proxy.deep_levels
            self._send(
                200,
                "application/sparql-results+json",
                b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "bnode", '
                b'"value": "nodeID://b1"}, "y": ' + b"[" * n + b"]" * n + b"}]}}",
            )

        def _huge(self) -> None:
            head = (
                b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": '
                b'{"type": "literal", "value": "'
            )
            tail = b'"}}]}}'
            chunk = b"a" * (1024 * 1024)
            self._stream(
                200,
                "application/sparql-results+json",
                len(head) + proxy.huge_bytes + len(tail),
                [head, *(chunk for _ in range(proxy.huge_bytes // len(chunk))), tail],
                0,
            )

        def _drip(self) -> None:
            count = int(proxy.drip_seconds / proxy.drip_interval)
            self._stream(
                200,
                "application/sparql-results+json",
                10**6,
                (b" " for _ in range(count)),
                proxy.drip_interval,
            )

        def _stream(
            self, status: int, ctype: str, length: int, parts: Iterable[bytes], pause: float
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                for part in parts:
                    self.wfile.write(part)
                    self.wfile.flush()
                    if pause:
                        time.sleep(pause)
            except OSError:
                pass  # the client gave up (its deadline or byte cap)
            self.close_connection = True

        def _send(
            self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (the deadline)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(b"", self.path.partition("?")[2])

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            self._answer(self.rfile.read(length), self.path.partition("?")[2])

    return Handler


@pytest.fixture(scope="session")
def proxy(oxigraph_backend: str) -> Iterator[Proxy]:
    p = Proxy(target=oxigraph_backend)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(p))
    httpd.daemon_threads = True
    p.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield p
    httpd.shutdown()


LIMITS = {
    "DIPKG_QUERY_TIMEOUT": str(QUERY_TIMEOUT),
    "DIPKG_MAX_ROWS": str(MAX_ROWS),
    "DIPKG_QUERY_WORKERS": "2",
}


def start_cli_server(data: Path, workdir: Path, *args: str, **env: str) -> Server:
    """`dipkg serve --data DATA --host 127.0.0.1 --port P ARGS...` with the test limits."""
    return start_server(data, workdir, *args, cli=True, **{**LIMITS, **env})


@pytest.fixture(scope="session")
def local(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The local mode on the store on disk, as the backend (oxigraph serve) reads it: the
    same engine on the same store answers the same bytes, which the tests compare. (By
    default the workers read an in-memory copy, whose unordered answers come in its own
    order: ``local_in_memory``.)"""
    yield from serving(built_data, tmp_path_factory, "local", DIPKG_MEMORY_STORE_MB="0", **LIMITS)


@pytest.fixture(scope="session")
def local_in_memory(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The local mode with default settings: the workers on the in-memory copy."""
    yield from serving(built_data, tmp_path_factory, "local-memory", **LIMITS)


@pytest.fixture(scope="session")
def remote(
    built_data: Path, oxigraph_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`dipkg serve --sparql-backend http://127.0.0.1:PORT/query` straight onto oxigraph serve."""
    yield from serving(
        built_data,
        tmp_path_factory,
        "remote",
        "--sparql-backend",
        f"{oxigraph_backend}/query",
        cli=True,
        **LIMITS,
    )


@pytest.fixture()
def proxied(built_data: Path, proxy: Proxy, tmp_path: Path) -> Iterator[tuple[Server, Proxy]]:
    """A remote-mode server behind the recording proxy (set by DIPKG_SPARQL_BACKEND)."""
    proxy.mode = "forward"
    with server_in(
        built_data, tmp_path, cli=True, DIPKG_SPARQL_BACKEND=f"{proxy.url}/query", **LIMITS
    ) as srv:
        proxy.queries.clear()
        yield srv, proxy
        proxy.mode = "forward"
        proxy.spare_probe = False
        proxy.headers.clear()
