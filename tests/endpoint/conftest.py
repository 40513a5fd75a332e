"""Fixtures of the endpoint tests: a real uvicorn server (``python -m sparql_api.server``)
on 127.0.0.1 over the session's real build (``built_data`` in tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

# the test server's limits (small, so the limit tests are quick)
QUERY_TIMEOUT = 2.0
MAX_ROWS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Counting:
    """An ASGI app that counts the HTTP requests reaching ``app`` (a spy behind the bare
    path or the query lane: did this request go on to the layers?)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    def log_lines(self, *until: str, within: float = 10.0) -> list[str]:
        """The server's log, once one line holds every text of ``until`` (lines are written
        as the server goes: polled, not slept on, so a loaded machine only waits longer),
        or as it is after ``within`` seconds (the caller's assertion says what is missing)."""
        deadline = time.monotonic() + within
        while True:
            log = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
            if not until or any(all(u in x for u in until) for x in log):
                return log
            if time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def workers(self) -> list[psutil.Process]:
        """The query workers: every process below the server but the workers' fork server."""
        return [p for p in self.processes() if p.pid not in {z.pid for z in self.fork_servers()}]

    def processes(self) -> list[psutil.Process]:
        """Every process below the server: the workers and their fork server."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def fork_servers(self) -> list[psutil.Process]:
        """The workers' fork server (sparql_api/zygote.py), where the OS has one."""
        out = []
        for p in psutil.Process(self.proc.pid).children():
            try:
                if p.name() == "dipkg-zygote":
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out


def start_server(
    data: Path, workdir: Path, *args: str, cli: bool = False, nofile: int | None = None, **env: str
) -> Server:
    """A real server subprocess on 127.0.0.1, returned once /health answers 200: the
    endpoint's own entry point, or with ``cli=True`` the user's ``dipkg serve ... ARGS``.
    ``nofile``: its open-file limit (soft and hard, like ``ulimit -n``).

    The port is free when chosen, but the tests run on two processes (`make test`): if
    another server took it first, this one is started again on another port."""
    for _ in range(3):
        server = _start_server(data, workdir, args, cli, nofile, env)
        if server is not None:
            return server
    raise RuntimeError("three ports chosen free were taken before the server could bind")


def _listens(proc: subprocess.Popen[bytes], port: int) -> bool:
    try:
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == port
            for c in psutil.Process(proc.pid).net_connections(kind="tcp")
        )
    except psutil.Error:
        return False


def _start_server(
    data: Path,
    workdir: Path,
    args: tuple[str, ...],
    cli: bool,
    nofile: int | None,
    env: dict[str, str],
) -> Server | None:
    port = free_port()
    log = workdir / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIPKG_")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    command = ["dipkg.cli", "serve"] if cli else ["sparql_api.server"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *command,
                "--data",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            cwd=workdir,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
            if nofile
            else None,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if f"port {port} on 127.0.0.1 is already in use" in log.read_text(errors="replace"):
                return None  # taken meanwhile (by another test process's server)
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                if _listens(proc, port):
                    return Server(url, proc, log)
                proc.kill()  # another process's server answered on the port
                proc.wait()
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def serving(
    data: Path,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *args: str,
    cli: bool = False,
    **env: str,
) -> Iterator[Server]:
    """The body of a fixture that serves ``data`` for its scope (``yield from serving(...)``):
    :func:`start_server` in a fresh folder named ``name``, :func:`stop_server` after."""
    yield from serving_in(data, tmp_path_factory.mktemp(name), *args, cli=cli, **env)


def serving_in(
    data: Path, workdir: Path, *args: str, cli: bool = False, **env: str
) -> Iterator[Server]:
    """:func:`serving` in a folder of the fixture's own (``tmp_path``, or one it has put
    files in first): the server's working directory and log."""
    srv = start_server(data, workdir, *args, cli=cli, **env)
    try:
        yield srv
    finally:
        stop_server(srv)


#: :func:`serving_in` as a ``with`` block, for a fixture that does more around the server
#: than yield it (a client over it, a proxy in front, two servers)
server_in = contextlib.contextmanager(serving_in)


def stop_server(server: Server) -> None:
    children = server.processes()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=5)
    gone, alive = psutil.wait_procs(children, timeout=5)
    for p in alive:  # must not happen; do not leak them into other tests
        p.kill()
    assert not alive, f"worker processes outlived the server: {[p.pid for p in alive]}"


@pytest.fixture(scope="session")
def endpoint_data(built_data: Path) -> Path:
    return built_data


@pytest.fixture(scope="session")
def server(endpoint_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the tests play a reverse proxy at 127.0.0.1 (X-Forwarded-*): trusted here only
    yield from serving(
        endpoint_data,
        tmp_path_factory,
        "server",
        DIPKG_QUERY_TIMEOUT=str(QUERY_TIMEOUT),
        DIPKG_MAX_ROWS=str(MAX_ROWS),
        DIPKG_QUERY_WORKERS="2",
        DIPKG_TRUSTED_PROXIES='["127.0.0.1"]',
    )


@pytest.fixture()
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
