"""A real ``oxigraph serve`` on 127.0.0.1, for the tests that need Oxigraph's own server
(``dipkg publish --to``, the remote backend)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.endpoint.conftest import free_port

OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")


@contextmanager
def oxigraph_serve(location: Path | None = None, timeout_s: int | None = None) -> Iterator[str]:
    """``oxigraph serve`` on a free port (its store at ``location``, else in memory); yields
    its base URL once it answers a query, then kills it (an aborted runaway may still be
    running in it: it is not waited for). Skips the test when the server is not installed."""
    if not Path(OXIGRAPH).exists():
        pytest.skip("the `oxigraph` server (PyPI package oxigraph) is not installed")
    port = free_port()
    args = [OXIGRAPH, "serve", "--bind", f"127.0.0.1:{port}"]
    if location is not None:
        args += ["--location", str(location)]
    if timeout_s is not None:
        args += ["--timeout-s", str(timeout_s)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("oxigraph serve did not start")
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
