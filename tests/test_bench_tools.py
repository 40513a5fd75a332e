"""bench/floor.py and bench/webcost.py, the measuring tools of bench/PROFILE.md ("The
floor of a Python front"), still run and still measure what they say: the floor answers
a query with Oxigraph's own bytes in each of its variants, and each cost measure prints
a positive figure on a real build."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph as ox
import pytest

from tests.endpoint.conftest import free_port

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@contextmanager
def floor(nt: Path, *variant: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--nt", str(nt), "--port", str(port)]
        + ["--workers", "1", *variant],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the forked workers go with it
    )
    url = f"http://127.0.0.1:{port}/sparql?query={quote(COUNT)}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
            try:
                httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "bench.floor did not answer"
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("variant", [(), ("--asgi",), ("--features",)], ids=str)
def test_the_floor_answers_with_oxigraph_s_bytes(built_data: Path, variant: tuple) -> None:
    nt = built_data / "current" / "dumps" / "dipkg.nt"
    store = ox.Store()
    store.load(nt.read_bytes(), ox.RdfFormat.N_TRIPLES)
    expected = store.query(COUNT).serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]
    with floor(nt, *variant) as url:
        response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == expected
    if variant == ("--features",):  # dipkg's header block, with a request id of its own
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        assert response.headers["etag"].startswith('W/"')


@pytest.mark.parametrize("part", [("app",), ("app", "--no-lane"), ("pool",)], ids=" ".join)
def test_each_cost_measure_prints_a_positive_figure(built_data: Path, part: tuple) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.webcost", str(built_data), *part]
        + ["--requests", "200", "--warm", "20", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    figure = re.match(rf"{part[0]}: ([\d.]+) us of", out)
    assert figure is not None and float(figure.group(1)) > 0, out
