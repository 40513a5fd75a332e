"""Fixtures of the reliability tests: real uvicorn servers on 127.0.0.1 (the pattern of
tests/endpoint/conftest.py), a copy of the session's build with canary files planted
around the published data, and the figures file ``test-artifacts/reliability.json``."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from dipkg.core.release import open_release
from tests.endpoint.conftest import Server, serving_in

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "test-artifacts" / "reliability.json"
#: a secret that must never appear in any response body
CANARY = "dipkg-canary-7f3a9c1e-never-serve-me"


def lane_client(base: str) -> httpx.AsyncClient:
    """The HTTP client of one lane of a load test: one keep-alive connection. A client per
    lane rather than one pool for all: httpcore 1.0's pool walks all its connections and
    waiting requests at each request's start and end, and at 32 lanes that cost the test's
    process more CPU than the server spent answering (the soak ran at ~200 requests a
    second, its client the bottleneck)."""
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base, timeout=30, limits=one, follow_redirects=False)


def record(section: str, figures: dict[str, Any]) -> None:
    """Merge ``figures`` under ``section`` into test-artifacts/reliability.json (under a
    lock: the test files may run on several processes, `make test`). A section's keys are
    merged too: one file's tests may be split between `make test`'s two runs (the serial
    ones after the rest), each recording its own figures under the file's section."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with open(FIGURES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(FIGURES.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        old = data.get(section)
        data[section] = {**old, **figures} if isinstance(old, dict) else figures
        tmp = FIGURES.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, FIGURES)


def run_async(make: Callable[[], Awaitable[Any]]) -> Any:
    """``asyncio.run(make())`` on a thread of its own: an earlier test (Playwright's sync
    API) may have left an event loop running on the main thread."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001  (re-raised on the test's thread)
            out["error"] = exc

    thread = threading.Thread(target=target, name="reliability-client")
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def tree_rss(server: Server) -> int:
    """Resident memory (bytes) of the server process and its workers."""
    total = 0
    parent = psutil.Process(server.proc.pid)
    for p in [parent, *parent.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def zombies(server: Server) -> list[int]:
    out = []
    for child in psutil.Process(server.proc.pid).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                out.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture(scope="session")
def canary_data(built_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the build with the canary planted next to the data folder, inside it,
    and inside the release (outside its dumps/), where no route may reach it."""
    top = tmp_path_factory.mktemp("canary")
    data = top / "data"
    src = open_release(built_data).root
    shutil.copytree(src, data / "releases" / src.name, symlinks=True)
    (data / "current").symlink_to(Path("releases") / src.name)
    for place in (
        top / "secret.txt",
        top / "passwd",
        data / "secret.txt",
        data / "releases" / "secret.txt",
        data / "releases" / src.name / "secret.txt",
        data / "releases" / src.name / "dumps" / ".." / "canary.ttl",
    ):
        place.write_text(CANARY + "\n", encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def canary_server(canary_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("rel-server")
    (workdir / "secret.txt").write_text(CANARY + "\n", encoding="utf-8")  # the server's cwd
    yield from serving_in(
        canary_data,
        workdir,
        DIPKG_QUERY_TIMEOUT="3",
        DIPKG_QUERY_WORKERS="2",
        DIPKG_MAX_ROWS="1000",
    )
